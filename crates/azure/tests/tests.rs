//! Integration tests of autostop-azure, in one test binary: the ARM client against a scripted transport
//! (`client`), and everything against the local emulator (`emulator`).

mod client;
mod credentials;
mod emulator;
mod fake;
mod faults;
mod limits;
mod replay;
mod rig;
