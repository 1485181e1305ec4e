//! End-to-end tests of the binary against the emulator: the core verbs (`list`, `stop`, `start`, `demo`) and the
//! policy verbs (`run`, `plan`, `history`, `check`), with holiday calendars.

#[path = "../../../state/tests/common/azurite.rs"]
mod azurite;
mod blob_state;
mod calendars;
mod channels;
mod credentials;
mod errors;
mod faults;
mod idle;
mod list;
mod machines;
mod owners;
mod policy;
#[path = "../support/relay.rs"]
mod relay;
#[path = "../support/requests.rs"]
mod requests;
mod savings;
mod stop_start;
#[path = "../../../../tests/testenv.rs"]
mod testenv;
mod timeline;
mod trust;
mod util;
