//! A progress bar on stderr for runs with many operations, only when stderr is a terminal; silent otherwise
//! (pipes, CI, logs, JSON consumers see nothing of it).

use std::io::IsTerminal as _;

use indicatif::{ProgressBar, ProgressStyle};

/// A bar counting `len` operations described by `message`, hidden unless stderr is a terminal and there are at
/// least two operations.
pub fn bar(len: usize, message: &str) -> ProgressBar {
    if len < 2 || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    styled(ProgressBar::new(len as u64), message)
}

/// A bar counting operations described by `message` whose number grows as they become known (its length is raised
/// as they come), hidden unless stderr is a terminal.
pub fn growing(message: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    styled(ProgressBar::new(0), message)
}

/// `bar` with the style and message every bar here has.
fn styled(bar: ProgressBar, message: &str) -> ProgressBar {
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {elapsed}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message.to_owned());
    bar
}
