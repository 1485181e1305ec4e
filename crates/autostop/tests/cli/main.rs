//! End-to-end tests of the core verbs (`list`, `stop`, `start`, `demo`): the built binary against the emulator.

mod credentials;
mod errors;
mod list;
mod stop_start;
mod util;
