//! `ebt-tui`: the dashboard (default) or `--headless` for scripts and CI. Same flags, same run
//! directory, same pipeline.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use ebt::config::ExperimentConfig;
use ebt::engine::{self, EngineOptions};
use ebt::run_dir::RunDir;

/// Find early-bird lottery tickets in Transformers and watch the search live.
#[derive(Parser, Debug)]
#[command(name = "ebt-tui", version, about)]
struct Args {
    /// Experiment file (TOML); default: the embedded configs/digits-vit.toml.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Run directory (default: runs/<date>-<model>-<dataset>).
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// Override a config key, value in TOML syntax: --set train.epochs=5 --set search.ratios=[0.1,0.3].
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Print progress lines instead of the dashboard; take the ticket at ticket.ratio automatically.
    #[arg(long)]
    headless: bool,
    /// Capture the mouse in the dashboard (off by default: it blocks text selection).
    #[arg(long)]
    mouse: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let cfg = match ExperimentConfig::load(args.config.as_deref(), &args.set) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ebt-tui: {e}");
            return ExitCode::from(2);
        }
    };
    // candle's kernels spin-wait between parallel chunks, so with every core computing, one more
    // busy thread stalls every op. Measured on 2 cores: 2 compute threads + the dashboard trained 2x
    // slower than headless, and 10x slower headless while a compiler ran; 1 thread was as fast as 2
    // on a quiet machine and kept its speed under load. So by default one core stays free.
    let threads = match cfg.train.threads {
        0 => std::thread::available_parallelism()
            .map(|n| n.get().saturating_sub(1).max(1))
            .unwrap_or(1),
        n => n,
    };
    if threads > 0 {
        // candle reads this when it sizes its thread pool.
        std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    }
    let run_dir = args.out.clone().unwrap_or_else(|| {
        RunDir::default_path(&PathBuf::from("runs"), &cfg.model.arch, &cfg.data.source)
    });
    if !args.headless && !ebt::ui::stdout_is_tty() {
        eprintln!("ebt-tui: stdout is not a terminal; run with --headless for scripts and CI");
        return ExitCode::from(2);
    }
    let options = EngineOptions {
        interactive: !args.headless,
        run_dir: run_dir.clone(),
    };
    let handle = engine::spawn(cfg, options);
    if args.headless {
        ebt::headless::print_events(
            &handle.events,
            &mut std::io::stdout(),
            &mut std::io::stderr(),
        );
        let code = handle.thread.join().unwrap_or(1);
        return ExitCode::from(code.clamp(0, 255) as u8);
    }
    if let Err(e) = color_eyre::install() {
        eprintln!("ebt-tui: {e}");
    }
    let opts = ebt::ui::DashboardOptions {
        mouse: args.mouse,
        run_dir,
        tick: std::time::Duration::from_millis(100),
    };
    let result = ebt::ui::run_terminal(handle.events.clone(), handle.commands.clone(), opts);
    // The dashboard sends Stop on quit; wait for the trainer to flush its files.
    let _ = handle.commands.send(ebt::engine::events::Command::Stop);
    let code = handle.thread.join().unwrap_or(1);
    match result {
        Ok(_) => ExitCode::from(if code == 130 {
            0
        } else {
            code.clamp(0, 255) as u8
        }),
        Err(e) => {
            eprintln!("ebt-tui: {e}");
            ExitCode::from(1)
        }
    }
}
