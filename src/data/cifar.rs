//! CIFAR-10 in its binary form (`cifar-10-batches-bin`): `data_batch_1.bin` … `data_batch_5.bin`
//! and `test_batch.bin`, each a run of 3,073-byte records (a label byte, then 32×32 red, green
//! and blue planes). Any subset of the batch files will do; without `test_batch.bin` (or
//! `data.test_path`) the training batches are split by `data.test_fraction`.

use std::path::{Path, PathBuf};

use super::augment::Augment;
use super::batch::{Examples, Features};
use super::files::{self, err, file_name, normalise_pixel};
use super::{split, DataShape, Dataset};
use crate::config::DataSection;
use crate::error::EbtError;

const SIDE: usize = 32;
const PIXELS: usize = 3 * SIDE * SIDE;
const RECORD: usize = 1 + PIXELS;
const CLASS_NAMES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];
/// The directory inside the official archive, accepted one level below `data.path`.
const ARCHIVE_DIR: &str = "cifar-10-batches-bin";

pub fn load(section: &DataSection, seed: u64) -> Result<Dataset, EbtError> {
    let path = files::data_path(section)?;
    let (train_files, test_file) = locate(path)?;
    let pool = read_batches(&train_files)?;
    let test = match (&section.test_path, test_file) {
        (Some(tp), _) => {
            let (tp_train, tp_test) = locate(tp)?;
            Some(match tp_test {
                Some(t) => read_batches(&[t])?,
                None => read_batches(&tp_train)?,
            })
        }
        (None, Some(t)) => Some(read_batches(&[t])?),
        (None, None) => None,
    };
    let (mut train, test) = split::train_test(pool, test, CLASS_NAMES.len(), section, seed);
    if section.augment {
        train.augment = Some(Augment::CROP_FLIP);
    }
    Ok(Dataset {
        name: "cifar10".into(),
        shape: DataShape::Image {
            channels: 3,
            height: SIDE,
            width: SIDE,
        },
        class_names: CLASS_NAMES.iter().map(|s| s.to_string()).collect(),
        train,
        test,
    })
}

/// The training batches (or the only batch file) and the test batch when both kinds are present.
fn locate(path: &Path) -> Result<(Vec<PathBuf>, Option<PathBuf>), EbtError> {
    if path.is_file() {
        return Ok((vec![path.to_path_buf()], None));
    }
    let mut dir = path.to_path_buf();
    if !dir.join("test_batch.bin").is_file() && dir.join(ARCHIVE_DIR).is_dir() {
        dir = dir.join(ARCHIVE_DIR);
    }
    let entries = files::list_dir(&dir)?;
    let train: Vec<PathBuf> = entries
        .iter()
        .filter(|p| {
            let n = file_name(p);
            n.starts_with("data_batch_") && n.ends_with(".bin")
        })
        .cloned()
        .collect();
    let test = entries
        .iter()
        .find(|p| file_name(p) == "test_batch.bin")
        .cloned();
    match (train.is_empty(), test) {
        (true, None) => Err(err(
            &dir,
            "no CIFAR-10 batch files (expected data_batch_1.bin … data_batch_5.bin and/or test_batch.bin)",
        )),
        (true, Some(t)) => Ok((vec![t], None)),
        (false, t) => Ok((train, t)),
    }
}

/// All records of `paths`, in order: `(N, 3·32·32)` pixels in [-1, 1] and labels.
fn read_batches(paths: &[PathBuf]) -> Result<Examples, EbtError> {
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for path in paths {
        let bytes = std::fs::read(path).map_err(|e| err(path, format!("cannot read: {e}")))?;
        if bytes.is_empty() {
            return Err(err(path, "empty file"));
        }
        if bytes.len() % RECORD != 0 {
            return Err(err(
                path,
                format!(
                    "{} bytes is not a whole number of {RECORD}-byte records (record {} is cut short)",
                    bytes.len(),
                    bytes.len() / RECORD + 1
                ),
            ));
        }
        pixels.reserve(bytes.len() / RECORD * PIXELS);
        for (i, rec) in bytes.chunks_exact(RECORD).enumerate() {
            let y = rec[0] as usize;
            if y >= CLASS_NAMES.len() {
                return Err(err(
                    path,
                    format!("record {}: label {y} is not in 0..=9", i + 1),
                ));
            }
            labels.push(y as u32);
            // The record's planes are already (C, H, W), the layout of `Features::Images`.
            pixels.extend(rec[1..].iter().map(|&v| normalise_pixel(v)));
        }
    }
    Ok(Examples::new(Features::Images(pixels), labels))
}
