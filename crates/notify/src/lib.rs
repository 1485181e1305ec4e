//! Owners in the loop: what autostop sends to the owners of the instances it is about to stop, and the signed
//! links they answer with. Pure: signing and checking a link read no clock (`now` is passed in) and do no I/O.
//!
//! - [`link`]: signed notice links (postpone a stop by `+1h`, `+2h`, `+4h`, or skip it);
//! - [`notice`]: the digest a channel receives before a stop (its JSON is a contract);
//! - [`route`]: which messages a channel receives for a notice (one, or one per owner) and their claim keys;
//! - [`teams`], [`slack`], [`email`]: the notice as each kind of channel shows it.

pub mod email;
pub mod link;
pub mod notice;
pub mod route;
pub mod slack;
pub mod teams;

pub use link::{Link, LinkError, LinkKey, LinkQuery, POSTPONE_PATH};
pub use notice::{Notice, NoticeInstance, PostponeLink};
pub use route::{Parcel, To, parcels};
