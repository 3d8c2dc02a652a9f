//! Reading user files for the file-based sources. Every failure becomes one line that starts with
//! the file's path (`EbtError::Data`), so a bad file is found without a debugger; user data never
//! panics. Line and record numbers in messages are 1-based.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::config::DataSection;
use crate::error::EbtError;

/// `<path>: <msg>` as a data error.
pub fn err(path: &Path, msg: impl std::fmt::Display) -> EbtError {
    EbtError::data(format!("{}: {msg}", path.display()))
}

/// The whole file, gunzipped when it starts with the gzip magic bytes (whatever its name).
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, EbtError> {
    let raw = std::fs::read(path).map_err(|e| err(path, format!("cannot read: {e}")))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(raw.len() * 4);
        flate2::read::MultiGzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| err(path, format!("bad gzip data: {e}")))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// `bytes` as UTF-8, or an error naming the line of the first bad byte.
pub fn utf8<'a>(path: &Path, bytes: &'a [u8]) -> Result<&'a str, EbtError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        err(
            path,
            format!(
                "line {}: invalid UTF-8 (byte {at} of the file)",
                super::tokens::line_of(bytes, at)
            ),
        )
    })
}

/// Entries of a directory, sorted by name so every run sees the same order; hidden entries
/// (`.DS_Store`, `._x`) are skipped.
pub fn list_dir(dir: &Path) -> Result<Vec<PathBuf>, EbtError> {
    let rd = std::fs::read_dir(dir).map_err(|e| err(dir, format!("cannot list: {e}")))?;
    let mut out = Vec::new();
    for entry in rd {
        let p = entry
            .map_err(|e| err(dir, format!("cannot list: {e}")))?
            .path();
        if !file_name(&p).starts_with('.') {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

/// The last component of `p` as text ("" when there is none).
pub fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The lower-cased extension of `p` ("" when there is none).
pub fn extension(p: &Path) -> String {
    p.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

/// The files of one source: its training pool and its own test files (maybe none).
#[derive(Clone, Debug, PartialEq)]
pub struct SplitFiles {
    pub train: Vec<PathBuf>,
    pub test: Vec<PathBuf>,
}

impl SplitFiles {
    /// `train` and `test`; a source with test files only (a lone `test_batch.bin`, only
    /// `test-*.parquet`) has them as its pool. `None` when both are empty.
    pub fn new(train: Vec<PathBuf>, test: Vec<PathBuf>) -> Option<SplitFiles> {
        match (train.is_empty(), test.is_empty()) {
            (true, true) => None,
            (true, false) => Some(SplitFiles {
                train: test,
                test: Vec::new(),
            }),
            (false, _) => Some(SplitFiles { train, test }),
        }
    }

    /// One file that is the whole pool.
    pub fn pool(path: &Path) -> SplitFiles {
        SplitFiles {
            train: vec![path.to_path_buf()],
            test: Vec::new(),
        }
    }

    /// The test files, or the pool when there are none: what a `data.test_path` contributes.
    pub fn test_or_all(&self) -> &[PathBuf] {
        if self.test.is_empty() {
            &self.train
        } else {
            &self.test
        }
    }
}

/// `data.path`, which file-based sources need (config validation checks it too; this covers
/// callers that build a `DataSection` by hand).
pub fn data_path(section: &DataSection) -> Result<&Path, EbtError> {
    section.path.as_deref().ok_or_else(|| {
        EbtError::config(format!(
            "data.path: data.source = {:?} reads files: set data.path to its file or directory",
            section.source
        ))
    })
}

/// Pixel byte 0..=255 scaled to [-1, 1].
pub fn normalise_pixel(v: u8) -> f32 {
    v as f32 / 127.5 - 1.0
}

/// `f` over `items` (file paths, encoded images) on every available core, results in the order
/// of `items`; the error of the first failing item (in that order) wins. Loading thousands of
/// small files or images is dominated by per-item work, which splits evenly.
pub fn par_map<I: Sync, T: Send>(
    items: &[I],
    f: impl Fn(&I) -> Result<T, EbtError> + Sync,
) -> Result<Vec<T>, EbtError> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(items.len().max(1));
    let chunk = items.len().div_ceil(threads).max(1);
    let f = &f;
    let parts: Vec<Result<Vec<T>, EbtError>> = std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(f).collect()))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(EbtError::data("a data-reading thread panicked")))
            })
            .collect()
    });
    let mut out = Vec::with_capacity(items.len());
    for part in parts {
        out.extend(part?);
    }
    Ok(out)
}
