//! Domain and wire types. Stored records (`*Record`) carry everything the server knows; the wire
//! types are what Discord's API returns. Keeping them apart means a password hash or an email can
//! never reach a client by a forgotten `#[serde(skip)]`.

pub mod application;
pub mod channel;
pub mod guild;
pub mod invite;
pub mod member;
pub mod message;
pub mod role;
pub mod timestamp;
pub mod user;

pub use application::ApplicationRecord;
pub use channel::{ChannelKind, ChannelRecord};
pub use guild::GuildRecord;
pub use invite::InviteRecord;
pub use member::MemberRecord;
pub use message::MessageRecord;
pub use role::Role;
pub use timestamp::Timestamp;
pub use user::{PublicUser, UserRecord};
