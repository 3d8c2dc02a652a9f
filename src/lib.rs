//! ebt: early-bird lottery tickets in Transformers, with a live terminal dashboard.
//!
//! The engine (`engine`, `train`, `prune`, `models`, `data`) runs headless or under the
//! dashboard (`ui`); both consume the same `engine::events::TrainerEvent` stream.

pub mod config;
pub mod data;
pub mod engine;
pub mod error;
pub mod headless;
pub mod hub;
pub mod models;
pub mod prune;
pub mod report;
pub mod run_dir;
pub mod train;
pub mod ui;
