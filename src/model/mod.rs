//! Domain and wire types. Stored records (`*Record`) carry everything the server knows; the wire
//! types are what Discord's API returns. Keeping them apart means a password hash or an email can
//! never reach a client by a forgotten `#[serde(skip)]`.

pub mod application;
pub mod channel;
pub mod command;
pub mod connection;
pub mod emoji;
pub mod guild;
pub mod guild_setup;
pub mod integration;
pub mod invite;
pub mod member;
pub mod mention;
pub mod message;
pub mod poll;
pub mod read_state;
pub mod relationship;
pub mod role;
pub mod scheduled_event;
pub mod settings;
pub mod sticker;
pub mod team;
pub mod template;
pub mod timestamp;
pub mod user;
pub mod webhook;

pub use application::ApplicationRecord;
pub use channel::{ChannelKind, ChannelRecord, ThreadMemberRecord, ThreadMetadata};
pub use command::{CommandRecord, MessageInteraction};
pub use connection::ConnectedAccountRecord;
pub use emoji::EmojiRecord;
pub use guild::GuildRecord;
pub use guild_setup::GuildSetupRecord;
pub use integration::IntegrationRecord;
pub use invite::InviteRecord;
pub use member::MemberRecord;
pub use message::MessageRecord;
pub use poll::{PollExpiry, PollRecord};
pub use read_state::ReadStateRecord;
pub use relationship::{RelationshipKind, RelationshipRecord};
pub use role::Role;
pub use scheduled_event::{
    EntityMetadata, EntityType, EventStatus, PrivacyLevel, ScheduledEventObject,
    ScheduledEventRecord,
};
pub use settings::{UserConsent, UserSettings};
pub use sticker::{StickerFormat, StickerItem, StickerRecord};
pub use team::{MembershipState, TeamMemberRecord, TeamRecord, TeamRole};
pub use template::{TemplateRecord, TemplateSnapshot};
pub use timestamp::Timestamp;
pub use user::{PublicUser, UserRecord};
pub use webhook::{WebhookAuthor, WebhookRecord};
