//! A process's memory, read from /proc (shared by the benchmarks that print it).

#![allow(dead_code)]

/// A field of `/proc/<pid>/<file>` ("status", "smaps_rollup") given in kB, in MB; 0 when
/// it cannot be read. `pid` may be "self".
pub fn mb(pid: &str, file: &str, field: &str) -> f64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// VmRSS and VmHWM (the peak) of a process, in MB.
pub fn rss(pid: u32) -> (f64, f64) {
    let pid = pid.to_string();
    (mb(&pid, "status", "VmRSS:"), mb(&pid, "status", "VmHWM:"))
}

/// Of the resident memory, how much is anonymous (heap, stacks) and how much file pages
/// (the binary's code, shared libraries), in MB.
pub fn split(pid: u32) -> (f64, f64) {
    let pid = pid.to_string();
    let anon = mb(&pid, "smaps_rollup", "Anonymous:");
    (anon, mb(&pid, "smaps_rollup", "Rss:") - anon)
}
