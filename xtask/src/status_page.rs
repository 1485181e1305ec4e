//! The status-page scenario's measuring side: `autostop serve` as a child process, its page fetched over plain
//! HTTP/1.1 on loopback (a `TcpStream`, so the harness still needs no HTTP client), each fetch timed from the
//! connection to the last byte, and the percentiles of those times.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::measure::{self, Wait};

/// How long one fetch may take before the scenario fails.
const FETCH_LIMIT: Duration = Duration::from_secs(120);
/// How long the daemon has to answer `/healthz` after it is spawned.
const READY_LIMIT: Duration = Duration::from_secs(60);

/// One answer of the daemon.
pub struct Fetched {
    /// The HTTP status code.
    pub status: u16,
    /// The body (the page is HTML; decoded lossily).
    pub body: String,
    /// From connecting to the last byte read.
    pub elapsed: Duration,
}

/// A free loopback port, found by binding port 0 and letting it go (the daemon binds it right after).
pub fn free_port() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot bind a loopback port")?;
    listener.local_addr().context("no local address")
}

/// `GET path` on `addr` with `Connection: close`, read to the end and timed.
pub fn get(addr: SocketAddr, path: &str) -> anyhow::Result<Fetched> {
    let started = Instant::now();
    let mut stream =
        TcpStream::connect_timeout(&addr, FETCH_LIMIT).with_context(|| format!("cannot connect to {addr}"))?;
    stream.set_read_timeout(Some(FETCH_LIMIT)).context("cannot set the read timeout")?;
    // One buffer, one `write_all`: `write!` on a socket sends each formatted piece as a segment of its own.
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).with_context(|| format!("cannot send GET {path}"))?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).with_context(|| format!("cannot read the answer to GET {path}"))?;
    let elapsed = started.elapsed();
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").with_context(|| format!("GET {path}: no HTTP header ends"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("GET {path}: no status in {:?}", head.lines().next()))?;
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        bail!("GET {path}: a chunked answer (this harness reads whole bodies only)");
    }
    Ok(Fetched { status, body: body.to_owned(), elapsed })
}

/// Waits until `addr/healthz` answers 200, or fails after [`READY_LIMIT`] naming `log`.
pub fn wait_ready(addr: SocketAddr, log: &Path) -> anyhow::Result<()> {
    let deadline = Instant::now() + READY_LIMIT;
    loop {
        if let Ok(fetched) = get(addr, "/healthz")
            && fetched.status == 200
        {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("autostop serve did not answer /healthz on {addr} within {READY_LIMIT:?}; see {}", log.display());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `autostop serve --config CONFIG --listen ADDR` with exactly `env`, its output to `log`.
pub fn spawn_serve(
    autostop: &Path,
    config: &Path,
    addr: SocketAddr,
    env: &[(String, String)],
    log: &Path,
) -> anyhow::Result<Child> {
    let out = std::fs::File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
    let err = out.try_clone().context("cannot share the log file")?;
    Command::new(autostop)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .arg("serve")
        .arg("--config")
        .arg(config)
        .arg("--listen")
        .arg(addr.to_string())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .with_context(|| format!("cannot start {} serve", autostop.display()))
}

/// The daemon's peak resident set so far, MiB, from `/proc/PID/status` (`VmHWM`: the new process image's own
/// high-water mark, unlike `ru_maxrss`, which keeps the one it was `exec`ed from).
pub fn peak_rss_mib(child: &Child) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Stops the daemon with SIGTERM and reaps it; its CPU time (user + system), seconds.
pub fn stop_serve(child: Child) -> anyhow::Result<f64> {
    let pid = libc::pid_t::try_from(child.id()).context("serve pid does not fit pid_t")?;
    // SAFETY: `pid` is our own child, not yet reaped, so the signal cannot reach another process.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(usage) = measure::reap(&child, Wait::IfExited)? {
            return Ok(usage.cpu.as_secs_f64());
        }
        if Instant::now() >= deadline {
            // SAFETY: as above: still our own unreaped child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            measure::reap(&child, Wait::Block)?;
            bail!("autostop serve did not exit within 90 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The `p`-th percentile (0 to 100) of `times`, nearest rank; `None` when there are none.
pub fn percentile(times: &[Duration], p: f64) -> Option<Duration> {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len().max(1)) - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let times: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        assert_eq!(percentile(&times, 50.0), Some(Duration::from_millis(50)));
        assert_eq!(percentile(&times, 95.0), Some(Duration::from_millis(95)));
        assert_eq!(percentile(&times, 100.0), Some(Duration::from_millis(100)));
        assert_eq!(percentile(&[Duration::from_millis(7)], 95.0), Some(Duration::from_millis(7)));
        assert_eq!(percentile(&[], 95.0), None);
    }

    #[test]
    fn a_page_is_fetched_and_timed_over_loopback() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("accept");
            // A request may arrive in several segments: read until its header ends.
            let mut request = Vec::new();
            let mut chunk = [0u8; 1024];
            while !request.ends_with(b"\r\n\r\n") {
                let n = stream.read(&mut chunk).expect("request");
                assert!(n > 0, "the client closed before its header ended: {request:?}");
                request.extend_from_slice(&chunk[..n]);
            }
            assert!(String::from_utf8_lossy(&request).starts_with("GET /?page=2 HTTP/1.1\r\n"));
            stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello").expect("answer");
        });
        let fetched = get(addr, "/?page=2").expect("fetched");
        server.join().expect("server thread");
        assert_eq!((fetched.status, fetched.body.as_str()), (200, "hello"));
        assert!(fetched.elapsed > Duration::ZERO);
    }
}
