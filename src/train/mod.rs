//! Optimisation: AdamW with decoupled decay on weight matrices only, a warmup + decay schedule,
//! global-norm gradient clipping, fixed masks, and the epoch / evaluation loops. The loop knows
//! nothing about pruning beyond "keep these entries at zero".

pub mod epoch;
pub mod optim;
pub mod schedule;

pub use epoch::{evaluate, median, train_epoch, EpochStats, StepControl};
pub use optim::AdamW;
pub use schedule::Schedule;
