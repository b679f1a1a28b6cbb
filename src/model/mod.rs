//! Domain and wire types. Stored records (`*Record`) carry everything the server knows; the wire
//! types are what Discord's API returns. Keeping them apart means a password hash or an email can
//! never reach a client by a forgotten `#[serde(skip)]`.

/// Declares a `u8`-backed enum that (de)serializes as Discord's number.
macro_rules! discord_number {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $n:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(into = "u8", try_from = "u8")]
        pub enum $name {
            $($(#[$vdoc])* $variant = $n),*
        }

        impl From<$name> for u8 {
            fn from(v: $name) -> u8 {
                v as u8
            }
        }

        impl TryFrom<u8> for $name {
            type Error = String;

            fn try_from(v: u8) -> Result<Self, String> {
                match v {
                    $($n => Ok(Self::$variant),)*
                    other => Err(format!(concat!("unknown ", stringify!($name), " {}"), other)),
                }
            }
        }
    };
}

pub mod app_emoji;
pub mod application;
pub mod automod;
pub mod channel;
pub mod command;
pub mod command_permissions;
pub mod connection;
pub mod embed;
pub mod emoji;
pub mod entitlement;
pub mod guild;
pub mod guild_setup;
pub mod integration;
pub mod invite;
pub mod join_request;
pub mod member;
pub mod mention;
pub mod message;
pub mod oauth;
pub mod poll;
pub mod read_state;
pub mod recurrence;
pub mod relationship;
pub mod role;
pub mod role_connection;
pub mod scheduled_event;
pub mod settings;
pub mod soundboard;
pub mod sticker;
pub mod team;
pub mod template;
pub mod timestamp;
pub mod user;
pub mod webhook;

pub use app_emoji::AppEmojiRecord;
pub use application::ApplicationRecord;
pub use automod::{
    ActionMetadata, ActionType, AutoModAction, AutoModRuleRecord, EventType as AutoModEventType,
    KeywordPreset, TriggerMetadata, TriggerType,
};
pub use channel::{ChannelKind, ChannelRecord, ThreadMemberRecord, ThreadMetadata};
pub use command::{CommandRecord, MessageInteraction};
pub use command_permissions::{CommandPermission, CommandPermissionsRecord};
pub use connection::ConnectedAccountRecord;
pub use emoji::EmojiRecord;
pub use entitlement::EntitlementRecord;
pub use guild::GuildRecord;
pub use guild_setup::GuildSetupRecord;
pub use integration::IntegrationRecord;
pub use invite::{InviteRecord, InviteTargetUsersRecord, TargetUsersJob, TargetUsersJobStatus};
pub use join_request::{
    FormField, FormFieldType, JoinRequestRecord, JoinRequestStatus, MemberVerification,
};
pub use member::MemberRecord;
pub use message::MessageRecord;
pub use oauth::{OAuthScopes, OAuthTokenKind, OAuthTokenRecord};
pub use poll::{PollExpiry, PollRecord};
pub use read_state::ReadStateRecord;
pub use relationship::{RelationshipKind, RelationshipRecord};
pub use role::Role;
pub use role_connection::{RoleConnectionMetadata, UserRoleConnectionRecord};
pub use scheduled_event::{
    EntityMetadata, EntityType, EventException, EventExceptionObject, EventExceptionUser,
    EventStatus, PrivacyLevel, ScheduledEventObject, ScheduledEventRecord,
};
pub use settings::{UserConsent, UserSettings};
pub use soundboard::{SoundFormat, SoundRecord};
pub use sticker::{StickerFormat, StickerItem, StickerRecord};
pub use team::{MembershipState, TeamMemberRecord, TeamRecord, TeamRole};
pub use template::{TemplateRecord, TemplateSnapshot};
pub use timestamp::Timestamp;
pub use user::{PublicUser, UserRecord};
pub use webhook::{WebhookAuthor, WebhookRecord};
