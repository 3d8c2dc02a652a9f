//! Helpers shared by the integration tests (each test file compiles this module on its own, so a
//! file that uses only some of them must not warn about the rest).
#![allow(dead_code)]

use std::path::PathBuf;

use ebt::config::{DataSection, ExperimentConfig, ModelSection};
use ebt::data::{self, Dataset};
use ebt::engine::events::TrainerEvent;
use ebt::engine::{spawn, EngineOptions};
use ebt::error::EbtError;
use ebt::hub::HubEnv;
use ebt::run_dir::RunDir;

/// `data::load_with_hub` with a throw-away run directory (bytes and images write nothing there).
pub fn load_with_hub(s: &DataSection, seed: u64, hub: &HubEnv) -> Result<Dataset, EbtError> {
    let dir = tempfile::tempdir().unwrap();
    let run = RunDir::create(dir.path()).unwrap();
    data::load_with_hub(s, &ModelSection::default(), &run, seed, hub)
}

/// `data::load` with a throw-away run directory and the process's hub environment.
pub fn load(s: &DataSection, seed: u64) -> Result<Dataset, EbtError> {
    load_with_hub(s, seed, &HubEnv::from_env())
}

/// Runs the whole pipeline headless into `run_dir`: every event, and the engine's exit code.
pub fn run_headless(cfg: ExperimentConfig, run_dir: PathBuf) -> (Vec<TrainerEvent>, i32) {
    let h = spawn(
        cfg,
        EngineOptions {
            interactive: false,
            run_dir,
        },
    );
    let events: Vec<TrainerEvent> = h.events.iter().collect();
    let code = h.thread.join().unwrap();
    (events, code)
}
