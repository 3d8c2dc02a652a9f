//! Every file name of a run directory lives here (open_lth's `paths.py`), plus the atomic write
//! that all outputs go through (temp file + rename), so a crash never leaves half a CSV.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::EbtError;

/// The folder of one run and the names of everything in it.
#[derive(Clone, Debug, PartialEq)]
pub struct RunDir {
    root: PathBuf,
}

impl RunDir {
    /// Uses `root` as the run directory, creating it.
    pub fn create(root: &Path) -> Result<Self, EbtError> {
        std::fs::create_dir_all(root).map_err(|e| EbtError::io(root, e))?;
        Ok(Self {
            root: root.to_path_buf(),
        })
    }

    /// `runs/<date>-<model>-<dataset>` under `base`, with a numeric suffix if it already exists.
    pub fn default_path(base: &Path, model: &str, dataset: &str) -> PathBuf {
        let stamp = timestamp();
        let stem = format!("{stamp}-{model}-{dataset}");
        let mut p = base.join(&stem);
        let mut n = 2;
        while p.exists() {
            p = base.join(format!("{stem}-{n}"));
            n += 1;
        }
        p
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn config(&self) -> PathBuf {
        self.root.join("config.toml")
    }
    pub fn metrics(&self) -> PathBuf {
        self.root.join("metrics.csv")
    }
    pub fn sparsity(&self) -> PathBuf {
        self.root.join("sparsity.csv")
    }
    pub fn distances(&self, ratio: f64) -> PathBuf {
        self.root.join(distances_file_name(ratio))
    }
    /// The same matrix normalised by the pruned count (|A Δ B| / 2k).
    pub fn pruned_distances(&self, ratio: f64) -> PathBuf {
        self.root
            .join(format!("distances_pruned_p{}.csv", format_ratio(ratio)))
    }
    pub fn ticket(&self) -> PathBuf {
        self.root.join("ticket.json")
    }
    pub fn summary(&self) -> PathBuf {
        self.root.join("summary.json")
    }
    pub fn pruned_weights(&self) -> PathBuf {
        self.root.join("pruned.safetensors")
    }
    pub fn pruned_config(&self) -> PathBuf {
        self.root.join("pruned_config.json")
    }
    pub fn pruned_mask(&self) -> PathBuf {
        self.root.join("pruned_mask.json")
    }
    /// The tokenizer the run's texts were encoded with (HF `tokenizer.json`; absent for bytes).
    pub fn tokenizer(&self) -> PathBuf {
        self.root.join("tokenizer.json")
    }
    /// A trained BPE shared by every run beside this one: `<parent>/.cache/tokenizers/<key>.json`
    /// (`runs/.cache/...` for the default run folders), so reruns on the same data reuse it.
    pub fn tokenizer_cache(&self, key: &str) -> PathBuf {
        self.root
            .parent()
            .unwrap_or(Path::new("."))
            .join(".cache")
            .join("tokenizers")
            .join(format!("{key}.json"))
    }
    /// Dashboard export folder for the snapshot taken at `epoch`.
    pub fn snapshot(&self, epoch: usize) -> PathBuf {
        self.root.join(format!("snapshot-{epoch}"))
    }
}

/// `distances_p0.3.csv`: the ratio printed without trailing zeros.
pub fn distances_file_name(ratio: f64) -> String {
    format!("distances_p{}.csv", format_ratio(ratio))
}

/// 0.3 → "0.3", 0.25 → "0.25", 0.5 → "0.5".
pub fn format_ratio(ratio: f64) -> String {
    let s = format!("{ratio:.4}");
    let s = s.trim_end_matches('0');
    s.trim_end_matches('.').to_string()
}

/// Writes `bytes` to `path` atomically: a temp file in the same folder, then a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), EbtError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| EbtError::io(dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "out".into());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let mut f = std::fs::File::create(&tmp).map_err(|e| EbtError::io(&tmp, e))?;
    f.write_all(bytes).map_err(|e| EbtError::io(&tmp, e))?;
    f.sync_all().map_err(|e| EbtError::io(&tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| EbtError::io(path, e))
}

/// UTC `YYYYmmdd-HHMMSS` without a date crate.
fn timestamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if mo <= 2 { 1 } else { 0 };
    format!("{y:04}{mo:02}{d:02}-{h:02}{m:02}{s:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_names() {
        assert_eq!(distances_file_name(0.3), "distances_p0.3.csv");
        assert_eq!(distances_file_name(0.25), "distances_p0.25.csv");
        assert_eq!(format_ratio(0.5), "0.5");
    }

    #[test]
    fn atomic_write_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b.csv");
        write_atomic(&p, b"x").unwrap();
        write_atomic(&p, b"yz").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"yz");
        assert_eq!(std::fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn timestamp_shape() {
        let t = timestamp();
        assert_eq!(t.len(), 15);
        assert!(t.starts_with("20"));
    }
}
