//! The binary's edge: bad input gets one clear line on stderr and exit code 2, never a panic,
//! also without RUST_BACKTRACE (users don't set it).

use std::process::Command;

fn ebt() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ebt-tui"));
    c.env_remove("RUST_BACKTRACE").env("NO_COLOR", "1");
    c
}

fn assert_one_line_exit_2(out: std::process::Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(err.contains(needle), "stderr: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn missing_config_file() {
    let out = ebt()
        .args(["--headless", "--config", "/nonexistent/x.toml"])
        .output()
        .unwrap();
    assert_one_line_exit_2(out, "/nonexistent/x.toml");
}

#[test]
fn bad_key_value() {
    let out = ebt()
        .args(["--headless", "--set", "train.epochs=-3"])
        .output()
        .unwrap();
    assert_one_line_exit_2(out, "train.epochs");
    let out = ebt()
        .args(["--headless", "--set", "search.ratios=[0.1,2]"])
        .output()
        .unwrap();
    assert_one_line_exit_2(out, "search.ratios");
}

#[test]
fn malformed_toml() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.toml");
    std::fs::write(&p, "[model\narch = 3").unwrap();
    let out = ebt()
        .args(["--headless", "--config"])
        .arg(&p)
        .output()
        .unwrap();
    assert_one_line_exit_2(out, "bad.toml");
}

#[test]
fn dashboard_without_a_terminal_points_to_headless() {
    let out = ebt().output().unwrap();
    assert_one_line_exit_2(out, "--headless");
}

#[test]
fn missing_data_file_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = ebt()
        .args([
            "--headless",
            "--set",
            "data.source=mnist",
            "--set",
            "data.path=\"/nonexistent/mnist\"",
            "--out",
        ])
        .arg(dir.path().join("run"))
        .output()
        .unwrap();
    assert_one_line_exit_2(out, "/nonexistent/mnist");
}

#[test]
fn cuda_without_cuda_support_is_one_line_and_exit_2() {
    if cfg!(feature = "cuda") {
        return; // a CUDA build may have a GPU
    }
    let dir = tempfile::tempdir().unwrap();
    let out = ebt()
        .args(["--headless", "--set", "train.device=\"cuda\"", "--out"])
        .arg(dir.path().join("run"))
        .output()
        .unwrap();
    assert_one_line_exit_2(out, "--features cuda");
    let out = ebt()
        .args(["--headless", "--set", "train.device=\"gpu\""])
        .output()
        .unwrap();
    assert_one_line_exit_2(out, "train.device");
}

#[test]
fn hub_dataset_missing_offline_is_one_line_and_exit_2() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = ebt()
        .env("HF_HUB_CACHE", cache.path())
        .env("HF_HUB_OFFLINE", "1")
        .args([
            "--headless",
            "--set",
            "data.source=cifar10",
            "--set",
            "data.path=\"uoft-cs/cifar10\"",
            "--out",
        ])
        .arg(dir.path().join("run"))
        .output()
        .unwrap();
    assert_one_line_exit_2(
        out,
        "huggingface-cli download uoft-cs/cifar10 --repo-type dataset",
    );
}
