//! PLACEHOLDER until the dashboard lands.
pub struct DashboardOptions {
    pub mouse: bool,
    pub run_dir: std::path::PathBuf,
    pub tick: std::time::Duration,
}
pub fn stdout_is_tty() -> bool {
    false
}
pub fn run_terminal(
    _e: crossbeam_channel::Receiver<crate::engine::events::TrainerEvent>,
    _c: crossbeam_channel::Sender<crate::engine::events::Command>,
    _o: DashboardOptions,
) -> color_eyre::Result<()> {
    Ok(())
}
