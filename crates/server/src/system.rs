//! What the operating system says about this process and the disk (Linux `/proc`),
//! for health checks and process metrics.

use std::path::Path;

/// A snapshot of this process.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessStats {
    pub rss_bytes: u64,
    pub virtual_bytes: u64,
    pub cpu_seconds: f64,
    pub threads: u64,
    pub open_fds: u64,
    pub max_fds: Option<u64>,
}

impl ProcessStats {
    /// Read `/proc/self`. Missing pieces (a non-Linux host) read as zero.
    pub fn read() -> Self {
        let mut stats = ProcessStats::default();
        if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
            // Fields after the command name, which is in parentheses and may hold spaces.
            if let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) {
                let f: Vec<&str> = rest.split_whitespace().collect();
                let ticks = rustix::param::clock_ticks_per_second() as f64;
                let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
                // Index 0 here is field 3 (state) of proc(5).
                stats.cpu_seconds = (num(11) + num(12)) as f64 / ticks;
                stats.threads = num(17);
                stats.virtual_bytes = num(20);
                stats.rss_bytes = num(21) * rustix::param::page_size() as u64;
            }
        }
        stats.open_fds = std::fs::read_dir("/proc/self/fd").map(|d| d.count() as u64).unwrap_or(0);
        stats.max_fds = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
        stats
    }
}

/// Memory the system could still hand out, from `/proc/meminfo`.
pub fn mem_available_bytes() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Free and total bytes of the filesystem holding `path`.
pub fn disk_space(path: &Path) -> std::io::Result<(u64, u64)> {
    let st = rustix::fs::statvfs(path)?;
    Ok((st.f_bavail * st.f_frsize, st.f_blocks * st.f_frsize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let s = ProcessStats::read();
        assert!(s.rss_bytes > 1_000_000, "{s:?}");
        assert!(s.threads >= 1 && s.open_fds >= 3, "{s:?}");
        let (free, total) = disk_space(Path::new(".")).unwrap();
        assert!(total > 0 && free <= total);
        assert!(mem_available_bytes().unwrap() > 0);
    }
}
