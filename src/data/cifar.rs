//! CIFAR-10 in its binary form (`cifar-10-batches-bin`): `data_batch_1.bin` … `data_batch_5.bin`
//! and `test_batch.bin`, each a run of 3,073-byte records (a label byte, then 32×32 red, green
//! and blue planes). Any subset of the batch files will do; without `test_batch.bin` (or
//! `data.test_path`) the training batches are split by `data.test_fraction`.
//!
//! Or as parquet tables, the hub's form (`uoft-cs/cifar10`: `plain_text/train-*.parquet`,
//! `plain_text/test-*.parquet`): PNG images in column `img` (else `image`, or
//! `data.image_column`), class indices in `label` (or `data.label_column`); see `parquet.rs`.

use std::path::{Path, PathBuf};

use super::augment::Augment;
use super::batch::{Examples, Features};
use super::files::{self, err, file_name, normalise_pixel, SplitFiles};
use super::parquet::{self, Table};
use super::{split, DataShape, Dataset};
use crate::config::{Column, DataSection};
use crate::error::EbtError;
use crate::hub::HubEnv;

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

pub fn load(section: &DataSection, seed: u64, hub: &HubEnv) -> Result<Dataset, EbtError> {
    let path = files::data_path(section)?;
    let files = Files::locate("data.path", path, section, hub)?;
    let pool = files.read(&files.split().train, section)?;
    let test = match &section.test_path {
        Some(tp) => {
            let tp_files = Files::locate("data.test_path", tp, section, hub)?;
            Some(tp_files.read(tp_files.split().test_or_all(), section)?)
        }
        None if !files.split().test.is_empty() => Some(files.read(&files.split().test, section)?),
        None => None,
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
        tokenizer: None,
    })
}

/// The files of a CIFAR-10 source, in one of its two formats.
enum Files {
    Binary(SplitFiles),
    Parquet(SplitFiles),
}

impl Files {
    /// Parquet tables (a file, a directory or a hub repo at `path`) or else binary batches.
    fn locate(
        key: &str,
        path: &Path,
        section: &DataSection,
        hub: &HubEnv,
    ) -> Result<Files, EbtError> {
        Ok(
            match parquet::locate(key, path, section.revision.as_deref(), hub)? {
                Some(tables) => Files::Parquet(tables),
                None => Files::Binary(locate_batches(path)?),
            },
        )
    }

    fn split(&self) -> &SplitFiles {
        match self {
            Files::Binary(s) | Files::Parquet(s) => s,
        }
    }

    fn read(&self, paths: &[PathBuf], section: &DataSection) -> Result<Examples, EbtError> {
        match self {
            Files::Binary(_) => read_batches(paths),
            Files::Parquet(_) => read_tables(paths, section),
        }
    }
}

/// The training batches (or the only batch file) and the test batch when both kinds are present.
fn locate_batches(path: &Path) -> Result<SplitFiles, EbtError> {
    if path.is_file() {
        return Ok(SplitFiles::pool(path));
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
    let test: Vec<PathBuf> = entries
        .iter()
        .filter(|p| file_name(p) == "test_batch.bin")
        .cloned()
        .collect();
    SplitFiles::new(train, test).ok_or_else(|| {
        err(
            &dir,
            "no CIFAR-10 batch files (expected data_batch_1.bin … data_batch_5.bin and/or test_batch.bin) and no .parquet tables",
        )
    })
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

/// All rows of the parquet tables `paths`, in order: 32×32 RGB images (grey or RGBA are
/// converted) and labels 0..=9 (or class names).
fn read_tables(paths: &[PathBuf], section: &DataSection) -> Result<Examples, EbtError> {
    let default_image = [Column::Name("img".into()), Column::Name("image".into())];
    let default_label = [Column::Name("label".into())];
    let image = parquet::column_or(&section.image_column, &default_image);
    let label = parquet::column_or(&section.label_column, &default_label);
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for path in paths {
        let table = Table::read(path, &[image, label])?;
        // Without an "unlabelled" value every row has a class.
        labels.extend(table.labels(1, &CLASS_NAMES, None)?.into_iter().flatten());
        pixels.extend(table.images(0, 3, SIDE as u32)?);
    }
    Ok(Examples::new(Features::Images(pixels), labels))
}
