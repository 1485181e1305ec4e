//! Owners in the loop: what autostop sends to the owners of the instances it is about to stop, and the signed
//! links they answer with. Pure: signing and checking a link read no clock (`now` is passed in) and do no I/O.
//!
//! - [`link`]: signed notice links (postpone a stop by `+1h`, `+2h`, `+4h`, or skip it);
//! - [`notice`]: the digest a channel receives before a stop (its JSON is a contract).

pub mod link;
pub mod notice;

pub use link::{Link, LinkError, LinkKey, LinkQuery, POSTPONE_PATH};
pub use notice::{Notice, NoticeInstance, PostponeLink};
