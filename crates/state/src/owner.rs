//! Who holds a claim: the run, and the process (host and pid) that runs it, so that a later evaluation can tell
//! a claim whose process died from one still being worked on.

use serde::Serialize;

/// The process behind a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Owner {
    /// The host name, as the kernel reports it (`unknown` when it cannot be read).
    pub host: String,
    /// The process id on that host.
    pub pid: u32,
}

impl Owner {
    /// This process.
    pub fn this_process() -> Owner {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| std::fs::read_to_string("/etc/hostname"))
            .map(|text| text.trim().to_owned())
            .ok()
            .filter(|host| !host.is_empty())
            .unwrap_or_else(|| "unknown".to_owned());
        Owner { host, pid: std::process::id() }
    }

    /// Whether this owner is known to be gone: it ran on this host and no process has its pid any more.
    /// `false` means "maybe alive" (another host, or a process with that pid exists).
    pub fn is_known_dead(&self) -> bool {
        let here = Owner::this_process();
        if self.host != here.host || self.host == "unknown" {
            return false;
        }
        if self.pid == here.pid {
            return false;
        }
        let proc = std::path::Path::new("/proc");
        proc.is_dir() && !proc.join(self.pid.to_string()).exists()
    }
}
