//! Integration tests of autostop-azure, in one test binary. Against a scripted transport: the ARM client
//! (`client`), credentials (`credentials`), retries and the budget (`limits`), the recorded sessions (`replay`).
//! Against the local emulator (`rig`): everything end to end (`emulator`), faults and throttling (`faults`), retail prices (`prices`).

mod client;
mod credentials;
mod emulator;
mod fake;
mod faults;
mod limits;
mod prices;
mod replay;
mod rig;
