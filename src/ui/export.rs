//! `e`: a CSV snapshot of what the dashboard holds, under `<run dir>/snapshot-<epoch>/` —
//! the distance matrices per ratio (Hamming and pruned-normalised), the per-block sparsity of
//! every snapshot, and the metrics of every epoch. File names come from `run_dir`; every file is written atomically.

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::engine::recorder::{metrics_csv, push_sparsity_row, SPARSITY_HEADER};
use crate::error::EbtError;
use crate::run_dir::{write_atomic, RunDir};
use crate::ui::app::App;
use crate::ui::snapshots::{DistanceKind, SnapshotHistory};

/// Writes the export and returns its folder, `<run dir>/snapshot-<epoch of the newest snapshot>`.
pub(crate) fn write_export(app: &App) -> Result<PathBuf, EbtError> {
    let epoch = app
        .snapshots
        .last()
        .map(|s| s.epoch)
        .or_else(|| app.metrics.back().map(|m| m.epoch))
        .unwrap_or(0);
    let folder = RunDir::create(&app.run_dir)?.snapshot(epoch);
    let names = RunDir::create(&folder)?;
    for &r in &app.ratios {
        let hamming = distances_csv(app, r, DistanceKind::Hamming);
        write_atomic(&names.distances(r), hamming.as_bytes())?;
        let pruned = distances_csv(app, r, DistanceKind::Pruned);
        write_atomic(&names.pruned_distances(r), pruned.as_bytes())?;
    }
    write_atomic(&names.sparsity(), sparsity_csv(app).as_bytes())?;
    write_atomic(&names.metrics(), metrics_csv(&app.metrics).as_bytes())?;
    Ok(folder)
}

/// `epoch,1,2,…` then one row per snapshot: the full symmetric matrix, 6 decimals; an empty
/// field where the distance is unknown.
fn distances_csv(app: &App, ratio: f64, kind: DistanceKind) -> String {
    let records: Vec<_> = app.snapshots.records().collect();
    let mut out = String::from("epoch");
    for r in &records {
        let _ = write!(out, ",{}", r.epoch);
    }
    out.push('\n');
    for a in &records {
        let _ = write!(out, "{}", a.epoch);
        for b in &records {
            match SnapshotHistory::distance(a, b, ratio, kind) {
                Some(d) => {
                    let _ = write!(out, ",{d:.6}");
                }
                None => out.push(','),
            }
        }
        out.push('\n');
    }
    out
}

/// The same columns as the run directory's `sparsity.csv`, for the snapshots the dashboard holds.
fn sparsity_csv(app: &App) -> String {
    let mut out = String::from(SPARSITY_HEADER);
    for s in app.snapshots.records() {
        for r in &s.ratios {
            for l in &r.layers {
                push_sparsity_row(&mut out, s.index, s.epoch, s.step, r.ratio, l);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::demo::DemoRun;
    use crate::ui::theme::ColorMode;

    /// The demo after `epochs` epochs, exporting into a fresh temporary run directory.
    fn app_after(epochs: usize) -> (App, tempfile::TempDir) {
        let mut app = App::new("ignored".into(), ColorMode::Mono);
        for ev in DemoRun::standard().search_events(epochs) {
            app.update(ev);
        }
        let dir = tempfile::tempdir().unwrap();
        app.run_dir = dir.path().join("run");
        (app, dir)
    }

    #[test]
    fn files_and_contents() {
        let (app, dir) = app_after(3);
        let folder = write_export(&app).unwrap();
        assert_eq!(folder, dir.path().join("run/snapshot-3"));
        let mut names: Vec<String> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "distances_p0.1.csv",
                "distances_p0.3.csv",
                "distances_p0.5.csv",
                "distances_pruned_p0.1.csv",
                "distances_pruned_p0.3.csv",
                "distances_pruned_p0.5.csv",
                "metrics.csv",
                "sparsity.csv",
            ]
        );
        let read = |name: &str| std::fs::read_to_string(folder.join(name)).unwrap();
        let demo = DemoRun::standard();
        let d = |i, j| format!("{:.6}", demo.hamming(i, j, 0.3));
        let expected = format!(
            "epoch,1,2,3\n1,0.000000,{},{}\n2,{},0.000000,{}\n3,{},{},0.000000\n",
            d(1, 0),
            d(2, 0),
            d(1, 0),
            d(2, 1),
            d(2, 0),
            d(2, 1)
        );
        assert_eq!(read("distances_p0.3.csv"), expected);
        let pruned = read("distances_pruned_p0.3.csv");
        let row2: Vec<&str> = pruned.lines().nth(2).unwrap().split(',').collect();
        assert_eq!(row2[1], format!("{:.6}", demo.pruned_distance(1, 0, 0.3)));
        let sparsity = read("sparsity.csv");
        let sparsity: Vec<&str> = sparsity.lines().collect();
        assert_eq!(sparsity.len(), 1 + 3 * 3 * 4);
        // The run directory's columns: snapshot, epoch and step first.
        assert_eq!(format!("{}\n", sparsity[0]), SPARSITY_HEADER);
        assert_eq!(sparsity[1], "0,1,45,0.1,0,0.900000,4,4,115,128");
        let metrics = read("metrics.csv");
        let metrics: Vec<&str> = metrics.lines().collect();
        assert_eq!(metrics.len(), 4);
        assert_eq!(
            metrics[0],
            "phase,epoch,train_loss,eval_loss,eval_acc,lr,seconds"
        );
        assert!(metrics[1].starts_with("search,1,"), "{}", metrics[1]);
    }

    #[test]
    fn unwritable_run_dir_names_the_path() {
        let (mut app, dir) = app_after(1);
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, b"x").unwrap();
        app.run_dir = blocker.join("run");
        let err = write_export(&app).unwrap_err().to_string();
        assert!(err.contains("file/run"), "{err}");
    }
}
