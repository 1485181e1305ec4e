//! Logging for every verb: human lines on a terminal, JSON lines (one object per event) everywhere else.
//!
//! The filter comes from `AUTOSTOP_LOG` (then `RUST_LOG`), in `tracing_subscriber`'s `EnvFilter` syntax, and
//! defaults to `info` for `serve` and `warn` for the other verbs. Secrets never reach a log: the types that hold them redact their Debug output.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;

/// Where log lines go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogStream {
    /// Standard error: for verbs whose standard output is their result (tables, JSON).
    #[default]
    Stderr,
    /// Standard output: for the long-running `serve`, whose only output is its log.
    Stdout,
}

impl LogStream {
    /// The filter when neither `AUTOSTOP_LOG` nor `RUST_LOG` is set: `info` for the daemon, whose log is its
    /// output; `warn` for the verbs, whose output is their result.
    fn default_filter(self) -> &'static str {
        match self {
            LogStream::Stdout => "info",
            LogStream::Stderr => "warn",
        }
    }
}

/// How to log.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoggingOptions {
    /// Where log lines go; JSON when that stream is not a terminal.
    pub stream: LogStream,
}

/// Installs the global logger; a second call keeps the first logger.
pub fn init_logging(options: LoggingOptions) {
    let filter = std::env::var("AUTOSTOP_LOG")
        .ok()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .and_then(|spec| EnvFilter::try_new(spec).ok())
        .unwrap_or_else(|| EnvFilter::new(options.stream.default_filter()));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let result = match options.stream {
        LogStream::Stdout if !std::io::stdout().is_terminal() => {
            builder.json().flatten_event(true).with_current_span(false).with_writer(std::io::stdout).try_init()
        }
        LogStream::Stdout => builder.with_writer(std::io::stdout).try_init(),
        LogStream::Stderr if !std::io::stderr().is_terminal() => {
            builder.json().flatten_event(true).with_current_span(false).with_writer(std::io::stderr).try_init()
        }
        LogStream::Stderr => builder.with_writer(std::io::stderr).try_init(),
    };
    // A logger is already installed (e.g. by a test harness): keep it.
    drop(result);
}
