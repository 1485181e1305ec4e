//! Runs one process and measures it: wall time from spawn to exit, and the kernel's peak RSS for it.
//!
//! Peak RSS comes from `wait4(2)`: its `ru_maxrss` is the kernel's own high-water mark of the child's resident set,
//! read once the child has exited. Sampling `/proc/<pid>/status` (VmHWM) while it runs would race with the exit
//! and could miss a short peak; `wait4` has neither problem and costs nothing while the child runs.

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// What one measured run gave.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    /// From just before spawn to just after the exit was reaped.
    pub wall: Duration,
    /// The child's peak resident set size, in KiB (`ru_maxrss` on Linux).
    pub peak_rss_kib: u64,
    /// The exit code, or `None` when a signal ended the child.
    pub exit_code: Option<i32>,
}

impl Measured {
    /// Peak RSS in MiB.
    pub fn peak_rss_mb(&self) -> f64 {
        self.peak_rss_kib as f64 / 1024.0
    }
}

/// Runs `command` to its end with stdout and stderr written to `stdout` and `stderr`, and measures it.
pub fn run(command: &mut Command, stdout: &Path, stderr: &Path) -> anyhow::Result<Measured> {
    let out = File::create(stdout).with_context(|| format!("cannot create {}", stdout.display()))?;
    let err = File::create(stderr).with_context(|| format!("cannot create {}", stderr.display()))?;
    command.stdin(Stdio::null()).stdout(out).stderr(err);
    let started = Instant::now();
    let child = command.spawn().with_context(|| format!("cannot start {:?}", command.get_program()))?;
    let pid = libc::pid_t::try_from(child.id()).context("child pid does not fit pid_t")?;
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain old data, so all-zero bytes are a valid value for wait4 to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own child, not yet reaped (the `Child` handle is never waited on), and both
        // out-pointers point at live, writable locals of the right types.
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            break;
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            bail!("wait4 on pid {pid} failed: {error}");
        }
    }
    let wall = started.elapsed();
    drop(child);
    let exit_code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    Ok(Measured { wall, peak_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0), exit_code })
}
