//! End-to-end tests of the emulator over real HTTPS: tokens, ARM reads and errors, operations, and conformance
//! with the recorded Azure sessions under `testdata/azure-api`.

mod arm;
mod cassette;
mod compute;
mod conformance;
mod discovery;
mod faults;
mod lifecycle;
mod operations;
mod prices;
mod protocols;
mod tokens;
mod util;
