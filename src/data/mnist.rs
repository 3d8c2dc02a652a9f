//! MNIST-style idx files (`*-images-idx3-ubyte[.gz]` + `*-labels-idx1-ubyte[.gz]`; Fashion-MNIST
//! and KMNIST use the same layout). `data.path` is a directory or an images file; a directory with
//! both `train-*` and `t10k-*` pairs gives both splits, one with a single pair is split by
//! `data.test_fraction`.

use std::path::{Path, PathBuf};

use super::batch::{Examples, Features};
use super::files::{self, err, file_name, normalise_pixel, read_bytes};
use super::{split, DataShape, Dataset};
use crate::config::DataSection;
use crate::error::EbtError;

const NUM_CLASSES: usize = 10;

/// Data type code of unsigned bytes in an idx header.
const UBYTE: u8 = 0x08;

/// An images file and its labels file.
#[derive(Clone, Debug, PartialEq)]
struct IdxPair {
    images: PathBuf,
    labels: PathBuf,
}

/// Images of one split: `(N, 1, rows, cols)` normalised pixels, labels and the image side.
struct Split {
    examples: Examples,
    rows: usize,
    cols: usize,
}

pub fn load(section: &DataSection, seed: u64) -> Result<Dataset, EbtError> {
    let path = files::data_path(section)?;
    let (pool, own_test) = locate(path)?;
    let pool = read_pair(&pool)?;
    let test = match (&section.test_path, own_test) {
        (Some(tp), _) => {
            let (tp_pool, tp_test) = locate(tp)?;
            Some(read_pair(&tp_test.unwrap_or(tp_pool))?)
        }
        (None, Some(te)) => Some(read_pair(&te)?),
        (None, None) => None,
    };
    let (rows, cols) = (pool.rows, pool.cols);
    let test = match test {
        Some(t) if (t.rows, t.cols) != (rows, cols) => {
            return Err(EbtError::data(format!(
                "mnist: test images are {}×{} but training images {rows}×{cols}",
                t.rows, t.cols
            )))
        }
        other => other.map(|t| t.examples),
    };
    let (train, test) = split::train_test(pool.examples, test, NUM_CLASSES, section, seed);
    Ok(Dataset {
        name: "mnist".into(),
        shape: DataShape::Image {
            channels: 1,
            height: rows,
            width: cols,
        },
        class_names: (0..NUM_CLASSES).map(|d| d.to_string()).collect(),
        train,
        test,
        tokenizer: None,
    })
}

/// The pairs at `path`: the training pair (or the only pair) and the test pair when there are both.
fn locate(path: &Path) -> Result<(IdxPair, Option<IdxPair>), EbtError> {
    if path.is_file() {
        return Ok((pair_of(path)?, None));
    }
    let entries = files::list_dir(path)?;
    let pair = |test: bool| -> Result<Option<IdxPair>, EbtError> {
        pick(
            path,
            entries
                .iter()
                .filter(|p| p.is_file() && is_test(p) == test && labels_for(p).is_some()),
        )?
        .map(|images| pair_of(&images))
        .transpose()
    };
    match (pair(false)?, pair(true)?) {
        (Some(train), test) => Ok((train, test)),
        (None, Some(test)) => Ok((test, None)),
        (None, None) => Err(err(
            path,
            "no idx images file (expected e.g. train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz)",
        )),
    }
}

/// An images file and the labels file beside it, gzipped or not whatever the images are.
fn pair_of(images: &Path) -> Result<IdxPair, EbtError> {
    let labels = labels_for(images).ok_or_else(|| {
        err(
            images,
            "not an idx images file (its name should contain images-idx3 or images.idx3)",
        )
    })?;
    [
        labels.clone(),
        with_gz(&labels, true),
        with_gz(&labels, false),
    ]
    .into_iter()
    .find(|p| p.is_file())
    .map(|labels| IdxPair {
        images: images.to_path_buf(),
        labels,
    })
    .ok_or_else(|| {
        err(
            images,
            format!("no labels file beside it (expected {})", labels.display()),
        )
    })
}

/// One images file among `candidates`; a plain file wins over its gzipped twin (`gunzip -k`).
fn pick<'a>(
    dir: &Path,
    candidates: impl Iterator<Item = &'a PathBuf>,
) -> Result<Option<PathBuf>, EbtError> {
    let all: Vec<&PathBuf> = candidates.collect();
    let kept: Vec<&PathBuf> = all
        .iter()
        .copied()
        .filter(|p| {
            let plain = with_gz(p, false);
            plain == **p || !all.contains(&&plain)
        })
        .collect();
    match kept.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some((*one).clone())),
        many => Err(err(
            dir,
            format!(
                "several idx images files for one split: {} (point data.path at one of them)",
                many.iter()
                    .map(|p| file_name(p))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// `p` with `.gz` added (`add`) or removed.
fn with_gz(p: &Path, add: bool) -> PathBuf {
    let name = file_name(p);
    match (add, name.strip_suffix(".gz")) {
        (true, None) => p.with_file_name(format!("{name}.gz")),
        (false, Some(stem)) => p.with_file_name(stem),
        _ => p.to_path_buf(),
    }
}

/// MNIST names its test files `t10k-*`; other sets say `test`.
fn is_test(p: &Path) -> bool {
    let n = file_name(p).to_ascii_lowercase();
    n.contains("t10k") || n.contains("test")
}

/// The labels file that goes with an images file name, or `None` when it is not one.
fn labels_for(images: &Path) -> Option<PathBuf> {
    let name = file_name(images);
    ["images-idx3", "images.idx3"]
        .iter()
        .find(|pat| name.contains(*pat))
        .map(|pat| {
            images.with_file_name(name.replace(
                pat,
                &pat.replace("images", "labels").replace("idx3", "idx1"),
            ))
        })
}

fn read_pair(pair: &IdxPair) -> Result<Split, EbtError> {
    let (dims, pixels) = read_idx(&pair.images, 3)?;
    let (ldims, labels) = read_idx(&pair.labels, 1)?;
    let (n, rows, cols) = (dims[0], dims[1], dims[2]);
    if ldims[0] != n {
        return Err(err(
            &pair.labels,
            format!(
                "{} labels for {n} images in {}",
                ldims[0],
                pair.images.display()
            ),
        ));
    }
    if rows == 0 || cols == 0 {
        return Err(err(&pair.images, format!("images of {rows}×{cols} pixels")));
    }
    if let Some(i) = labels.iter().position(|&y| y as usize >= NUM_CLASSES) {
        return Err(err(
            &pair.labels,
            format!(
                "record {}: label {} is not in 0..={}",
                i + 1,
                labels[i],
                NUM_CLASSES - 1
            ),
        ));
    }
    Ok(Split {
        examples: Examples::new(
            Features::Images(pixels.iter().map(|&v| normalise_pixel(v)).collect()),
            labels.iter().map(|&y| y as u32).collect(),
        ),
        rows,
        cols,
    })
}

/// Dimensions and payload of an idx file of unsigned bytes with `ndim` dimensions; checks the
/// magic number and that the payload is exactly the size the header announces.
fn read_idx(path: &Path, ndim: u8) -> Result<(Vec<usize>, Vec<u8>), EbtError> {
    let mut bytes = read_bytes(path)?;
    let head = 4 + 4 * ndim as usize;
    if bytes.len() < head {
        return Err(err(
            path,
            format!(
                "{} bytes is shorter than an idx header ({head} bytes)",
                bytes.len()
            ),
        ));
    }
    let magic = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    let expected = ((UBYTE as u32) << 8) | ndim as u32;
    if magic != expected {
        return Err(err(
            path,
            format!(
                "bad magic number 0x{magic:08x} (expected 0x{expected:08x}: idx, unsigned bytes, {ndim} dimension{})",
                if ndim == 1 { "" } else { "s" }
            ),
        ));
    }
    let dims: Vec<usize> = (0..ndim as usize)
        .map(|d| {
            let o = 4 + 4 * d;
            u32::from_be_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]) as usize
        })
        .collect();
    if dims[0] == 0 {
        return Err(err(path, "the header announces 0 records"));
    }
    let payload = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| err(path, format!("header dimensions {dims:?} overflow")))?;
    let have = bytes.len() - head;
    if have != payload {
        let per = payload / dims[0];
        return Err(err(
            path,
            format!(
                "the header announces {} records ({payload} bytes) but the file holds {have} bytes{}",
                dims[0],
                if have < payload {
                    format!(" (record {} is cut short)", have / per.max(1) + 1)
                } else {
                    String::new()
                }
            ),
        ));
    }
    bytes.drain(..head);
    Ok((dims, bytes))
}
