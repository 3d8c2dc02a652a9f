//! The dashboard in a real terminal: `ebt-tui` runs inside a private tmux server, keys are sent
//! to it, and the pane is read back. Checks that `q` → `y`, Ctrl-C and SIGTERM each end the run
//! and leave the terminal restored (alternate screen left, cooked mode back). Skipped, with a
//! note, where tmux is not installed.

use std::path::Path;
use std::process::{Command, Output};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// How long the dashboard may take to come up or to wind down on a busy 2-core machine.
const PATIENCE: Duration = Duration::from_secs(25);

/// A tmux server of its own (own socket) with one 100×30 session running the dashboard; the
/// server is killed on drop.
struct Pane {
    socket: String,
}

impl Pane {
    fn start(name: &str, out: &Path) -> Option<Self> {
        Self::start_with(name, out, "--set train.epochs=30")
    }

    /// Starts `ebt-tui --out OUT ARGS` in a fresh 100×30 pane.
    fn start_with(name: &str, out: &Path, args: &str) -> Option<Self> {
        let ok = Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            eprintln!("tmux not installed: skipping the real-terminal test");
            return None;
        }
        let socket = format!("ebt-ui-{}-{name}", std::process::id());
        let script = format!(
            "'{}' --out '{}' {args}; echo EXIT=$?; stty -a; echo TTY-CHECKED; sleep 60",
            env!("CARGO_BIN_EXE_ebt-tui"),
            out.display()
        );
        let pane = Pane { socket };
        let started = pane.tmux(&[
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            "100",
            "-y",
            "30",
            &script,
        ]);
        assert!(started.status.success(), "{started:?}");
        Some(pane)
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .env("NO_COLOR", "1")
            .output()
            .expect("tmux ran a moment ago")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-t", "t", "-p"]).stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            self.tmux(&["send-keys", "-t", "t", k]);
            sleep(Duration::from_millis(150));
        }
    }

    /// Waits until the pane shows `needle`; the pane is in the panic message otherwise.
    fn wait_for(&self, needle: &str) -> String {
        self.wait_for_within(needle, PATIENCE)
    }

    fn wait_for_within(&self, needle: &str, patience: Duration) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(needle) {
                return s;
            }
            assert!(start.elapsed() < patience, "no {needle:?} on screen:\n{s}");
            sleep(Duration::from_millis(100));
        }
    }

    /// Process id of the dashboard: the only child of the pane's shell.
    fn dashboard_pid(&self) -> String {
        let shell = self.tmux(&["display-message", "-p", "-t", "t", "#{pane_pid}"]);
        let shell = String::from_utf8_lossy(&shell.stdout).trim().to_string();
        let out = Command::new("pgrep").args(["-P", &shell]).output().unwrap();
        let pid = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(
            !pid.is_empty() && !pid.contains('\n'),
            "children of {shell}: {pid:?}"
        );
        pid
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        self.tmux(&["kill-server"]);
    }
}

/// After the dashboard: its panels are gone (alternate screen left) and the tty is back in
/// cooked mode with echo.
fn assert_restored(screen: &str) {
    assert!(!screen.contains("Mask distance"), "{screen}");
    let flags: Vec<&str> = screen.split_whitespace().collect();
    assert!(
        flags.contains(&"icanon") && flags.contains(&"echo"),
        "{screen}"
    );
}

#[test]
fn q_then_y_stops_the_run_and_restores_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let Some(pane) = Pane::start("quit", dir.path()) else {
        return;
    };
    pane.wait_for(" searching ");
    pane.keys(&["q"]);
    pane.wait_for("Stop training? y/n");
    pane.keys(&["y"]);
    let screen = pane.wait_for("TTY-CHECKED");
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert_restored(&screen);
    assert!(dir.path().join("config.toml").is_file());
}

#[test]
fn ctrl_c_quits_at_once_and_restores_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let Some(pane) = Pane::start("ctrlc", dir.path()) else {
        return;
    };
    pane.wait_for(" searching ");
    pane.keys(&["?", "C-c"]);
    let screen = pane.wait_for("TTY-CHECKED");
    assert_restored(&screen);
}

#[test]
fn sigterm_restores_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let Some(pane) = Pane::start("term", dir.path()) else {
        return;
    };
    pane.wait_for(" searching ");
    let pid = pane.dashboard_pid();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let screen = pane.wait_for("TTY-CHECKED");
    assert_restored(&screen);
}

/// The whole interactive flow on a tiny config: the heatmap grows, the ticket is offered and
/// confirmed with Enter then `y`, `e` exports a CSV snapshot, the pipeline finishes, `q` quits
/// without asking, and the run directory holds the exported files.
#[test]
fn confirm_ticket_export_finish_and_quit() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("tiny.toml");
    std::fs::write(
        &cfg,
        "[model]\narch = \"vit\"\nhidden_size = 16\nnum_layers = 2\nnum_heads = 2\nintermediate_size = 32\n\
         [data]\nmax_per_class = 40\n[train]\nepochs = 8\nbatch_size = 64\n\
         [search]\nratios = [0.25, 0.5]\nwindow = 2\nepsilon = 0.5\n[ticket]\nratio = 0.5\n[retrain]\nepochs = 2\n",
    )
    .unwrap();
    let out = dir.path().join("run");
    let Some(pane) = Pane::start_with("e2e", &out, &format!("--config '{}'", cfg.display())) else {
        return;
    };
    pane.wait_for("Mask distance");
    let offered = pane.wait_for("ticket offered");
    assert!(offered.contains("Mask distance p=0.5"), "{offered}");
    pane.keys(&["Enter"]);
    let dialog = pane.wait_for("Take the ticket at p=0.5");
    assert!(dialog.contains("window distances"), "{dialog}");
    pane.keys(&["y"]);
    pane.keys(&["e"]);
    pane.wait_for("exported");
    let done = pane.wait_for_within("finished", Duration::from_secs(60));
    assert!(done.contains("finished"), "{done}");
    pane.keys(&["q"]);
    let screen = pane.wait_for("TTY-CHECKED");
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert_restored(&screen);

    let snapshot = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("snapshot-"))
        })
        .expect("a snapshot-<epoch> folder");
    for f in [
        "distances_p0.25.csv",
        "distances_p0.5.csv",
        "sparsity.csv",
        "metrics.csv",
    ] {
        let text = std::fs::read_to_string(snapshot.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(text.lines().count() >= 2, "{f}: {text}");
    }
    let metrics = std::fs::read_to_string(snapshot.join("metrics.csv")).unwrap();
    assert!(
        metrics.starts_with("phase,epoch,train_loss,eval_loss,eval_acc,lr,seconds"),
        "{metrics}"
    );
    let d = std::fs::read_to_string(snapshot.join("distances_p0.5.csv")).unwrap();
    assert!(d.starts_with("epoch,1,2"), "{d}");
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(summary.contains("\"ratio\": 0.5"), "{summary}");
}

/// Closing the terminal under a running dashboard (tmux server killed: the pty hangs up) ends
/// the process instead of leaving it training, or spinning on the dead terminal.
#[test]
fn a_closed_terminal_ends_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let Some(pane) = Pane::start("hangup", dir.path()) else {
        return;
    };
    pane.wait_for(" searching ");
    let pid = pane.dashboard_pid();
    pane.tmux(&["kill-server"]);
    let start = Instant::now();
    while Path::new(&format!("/proc/{pid}")).exists() {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if state.split_whitespace().nth(2) == Some("Z") {
            break;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "ebt-tui {pid} still running after its terminal closed"
        );
        sleep(Duration::from_millis(100));
    }
}
