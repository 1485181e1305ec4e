//! Runs one process and measures it: wall time from spawn to exit, and the kernel's peak RSS for it.
//!
//! Peak RSS comes from `wait4(2)`: its `ru_maxrss` is the kernel's own high-water mark of the child's resident set,
//! read once the child has exited. Sampling `/proc/<pid>/status` (VmHWM) while it runs would race with the exit
//! and could miss a short peak; `wait4` has neither problem and costs nothing while the child runs. The same call
//! gives the child's CPU time (user + system), which says whether a process was busy or waiting.

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// What one measured run gave.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    /// From just before spawn to just after the exit was reaped.
    pub wall: Duration,
    /// The child's peak resident set size, in KiB (`ru_maxrss` on Linux).
    pub peak_rss_kib: u64,
    /// CPU time the child used, user and system together (`ru_utime + ru_stime`).
    pub cpu: Duration,
    /// The exit code, or `None` when a signal ended the child.
    pub exit_code: Option<i32>,
}

impl Measured {
    /// Peak RSS in MiB (KiB / 1024).
    pub fn peak_rss_mib(&self) -> f64 {
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
    let reaped = reap(&child, Wait::Block)?.context("wait4 returned without the child's exit")?;
    let wall = started.elapsed();
    drop(child);
    Ok(Measured { wall, ..reaped })
}

/// Whether [`reap`] waits for the exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Until the child exits.
    Block,
    /// Only if it has already exited.
    IfExited,
}

/// Reaps `child` with `wait4(2)` and returns its exit and resource usage (`wall` left zero for the caller); `None`
/// when `wait` is [`Wait::IfExited`] and it is still running. The `Child` must not be waited on otherwise.
pub fn reap(child: &Child, wait: Wait) -> anyhow::Result<Option<Measured>> {
    let pid = libc::pid_t::try_from(child.id()).context("child pid does not fit pid_t")?;
    let flags = if wait == Wait::IfExited { libc::WNOHANG } else { 0 };
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain old data, so all-zero bytes are a valid value for wait4 to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own child, not yet reaped (the `Child` handle is never waited on), and both
        // out-pointers point at live, writable locals of the right types.
        let reaped = unsafe { libc::wait4(pid, &mut status, flags, &mut usage) };
        if reaped == pid {
            break;
        }
        if reaped == 0 {
            return Ok(None);
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            bail!("wait4 on pid {pid} failed: {error}");
        }
    }
    let exit_code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    let seconds = |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    Ok(Some(Measured {
        wall: Duration::ZERO,
        peak_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        cpu: seconds(usage.ru_utime) + seconds(usage.ru_stime),
        exit_code,
    }))
}
