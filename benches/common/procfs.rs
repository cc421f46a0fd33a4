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

/// CPU time (user, system; in clock ticks) of every running process, summed by program
/// name: what each program of a run took, as the difference of two of these. Kernel
/// threads are left out: their names change with the work they do.
pub fn cpu_by_program() -> std::collections::BTreeMap<String, (u64, u64)> {
    let mut by = std::collections::BTreeMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return by;
    };
    for entry in dir.flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid …": the name may hold spaces and parentheses.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        let field = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
        };
        // ppid 2 is kthreadd, the parent of every kernel thread.
        if field(1) == 2 || stat.starts_with("2 ") {
            continue;
        }
        // utime and stime: fields (14) and (15) of proc(5), the 12th and 13th after the
        // name; in USER_HZ ticks, 100 a second.
        let t: &mut (u64, u64) = by.entry(stat[open + 1..close].to_string()).or_default();
        t.0 += field(11);
        t.1 += field(12);
    }
    by
}
