//! Runs one process and measures it: wall time from spawn to exit, and the kernel's peak RSS for it.
//!
//! Peak RSS comes from `wait4(2)`: its `ru_maxrss` is the kernel's own high-water mark of the child's resident set,
//! read once the child has exited. Sampling `/proc/<pid>/status` (VmHWM) while it runs would race with the exit
//! and could miss a short peak; `wait4` has neither problem and costs nothing while the child runs. The same call
//! gives the child's CPU time (user + system), which says whether a process was busy or waiting. The measured
//! process is spawned by a small helper process (see [`run`]), so that its `ru_maxrss` is its own.

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// What one measured run gave.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
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

/// The hidden task under which xtask runs as the measured process's parent (`xtask measure-child RESULT STDOUT
/// STDERR -- PROGRAM ARGS...`).
pub const MEASURE_TASK: &str = "measure-child";

/// Runs `program` with `args` and only the variables `env` to its end, stdout and stderr written to `stdout` and
/// `stderr`, and measures it.
///
/// The process is not spawned from here but from a fresh `xtask measure-child`: the kernel carries the high-water
/// RSS of the address space a process `exec`s from into its own `ru_maxrss`, and spawning from this process, which
/// holds fleets and parsed outputs, would report this process's peak as the child's (78.7 MiB for an
/// `autostop list` whose own peak was far lower). The helper's address space stays small.
pub fn run(
    program: &Path,
    args: &[String],
    env: &[(String, String)],
    stdout: &Path,
    stderr: &Path,
) -> anyhow::Result<Measured> {
    let result = stdout.with_extension("measured.json");
    let helper = std::env::current_exe().context("cannot find the xtask executable")?;
    let status = Command::new(&helper)
        .env_clear()
        .envs(env.iter().map(|(name, value)| (name, value)))
        .arg(MEASURE_TASK)
        .args([&result, stdout, stderr])
        .arg("--")
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .status()
        .with_context(|| format!("cannot start {}", helper.display()))?;
    if !status.success() {
        bail!("measuring {} failed ({status}); see {}", program.display(), stderr.display());
    }
    let text = std::fs::read_to_string(&result).with_context(|| format!("cannot read {}", result.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a measurement", result.display()))
}

/// `xtask measure-child RESULT STDOUT STDERR -- PROGRAM ARGS...`: runs the program (with this process's
/// environment) to its end and writes its [`Measured`] to RESULT as JSON.
pub fn measure_child(args: &[String]) -> anyhow::Result<()> {
    let [result, stdout, stderr, separator, program, rest @ ..] = args else {
        bail!("usage: xtask {MEASURE_TASK} RESULT STDOUT STDERR -- PROGRAM ARGS...");
    };
    if separator != "--" {
        bail!("expected -- before the program, found {separator}");
    }
    let out = File::create(stdout).with_context(|| format!("cannot create {stdout}"))?;
    let err = File::create(stderr).with_context(|| format!("cannot create {stderr}"))?;
    let mut command = Command::new(program);
    command.args(rest).stdin(Stdio::null()).stdout(out).stderr(err);
    let started = Instant::now();
    let child = command.spawn().with_context(|| format!("cannot start {program}"))?;
    let reaped = reap(&child, Wait::Block)?.context("wait4 returned without the child's exit")?;
    let wall = started.elapsed();
    drop(child);
    let measured = Measured { wall, ..reaped };
    let text = serde_json::to_string(&measured).context("cannot serialize the measurement")?;
    std::fs::write(result, text).with_context(|| format!("cannot write {result}"))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_helper_runs_the_program_and_writes_what_it_measured() {
        let dir = std::env::temp_dir().join(format!("xtask-measure-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = |name: &str| dir.join(name).display().to_string();
        let args = [path("result.json"), path("out"), path("err"), "--".into(), "/bin/sh".into(), "-c".into()]
            .into_iter()
            .chain(["echo measured; echo oops >&2; exit 3".to_owned()])
            .collect::<Vec<_>>();
        measure_child(&args).expect("measured");
        let measured: Measured =
            serde_json::from_str(&std::fs::read_to_string(path("result.json")).expect("result")).expect("json");
        assert_eq!(measured.exit_code, Some(3));
        assert!(measured.peak_rss_kib > 0 && measured.wall > Duration::ZERO, "{measured:?}");
        assert_eq!(std::fs::read_to_string(path("out")).expect("stdout"), "measured\n");
        assert_eq!(std::fs::read_to_string(path("err")).expect("stderr"), "oops\n");
        assert!(measure_child(&args[..4]).is_err(), "no program is a usage error");
        std::fs::remove_dir_all(&dir).expect("cleaned");
    }
}
