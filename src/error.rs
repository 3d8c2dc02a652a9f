//! Errors a user can act on. Each carries one line that names the file, key or value at fault;
//! the binary prints it and exits 2.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum EbtError {
    /// A bad config file, key or override.
    #[error("{0}")]
    Config(String),
    /// Unreadable or invalid data.
    #[error("{0}")]
    Data(String),
    /// A numeric failure inside the model (shape mismatch, ...).
    #[error("model: {0}")]
    Model(#[from] candle_core::Error),
    #[error("{0}")]
    Io(String),
    /// The user stopped the run.
    #[error("stopped by the user")]
    Stopped,
}

impl EbtError {
    pub fn config(msg: impl Into<String>) -> Self {
        EbtError::Config(msg.into())
    }
    pub fn data(msg: impl Into<String>) -> Self {
        EbtError::Data(msg.into())
    }
    pub fn io(path: &std::path::Path, e: impl std::fmt::Display) -> Self {
        EbtError::Io(format!("{}: {e}", path.display()))
    }
    /// Exit code: 2 for bad input (config, data), 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            EbtError::Config(_) | EbtError::Data(_) => 2,
            EbtError::Stopped => 130,
            _ => 1,
        }
    }
}

pub type Result<T, E = EbtError> = std::result::Result<T, E>;
