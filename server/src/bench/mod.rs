//! Benchmarks: commands that print figures (never timed assertions in tests).

pub mod api;
pub mod export;
pub mod import;
pub mod jobs;
pub mod live;
pub mod sync;

/// Peak resident memory of this process so far, in MiB (Linux `VmHWM`).
pub fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
