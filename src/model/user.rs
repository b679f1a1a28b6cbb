use serde::{Deserialize, Serialize, Serializer};

use crate::id::UserId;

/// Everything stored about a user or bot account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRecord {
    pub id: UserId,
    pub username: String,
    /// "0" for unique usernames, "0001"-style otherwise.
    pub discriminator: String,
    pub global_name: Option<String>,
    pub avatar: Option<String>,
    pub banner: Option<String>,
    pub accent_color: Option<u32>,
    pub bio: String,
    pub pronouns: String,
    pub email: Option<String>,
    /// argon2id PHC string; None for bots (they only have tokens).
    pub password_hash: Option<String>,
    pub date_of_birth: Option<String>,
    pub locale: String,
    pub bot: bool,
    pub system: bool,
    pub verified: bool,
    pub mfa_enabled: bool,
    pub flags: u64,
    pub premium_type: u8,
    /// Instance admin (dashboard, `/api/admin`).
    pub admin: bool,
    /// Disabled accounts cannot log in and their tokens are refused.
    pub disabled: bool,
    /// Bumped on logout-all/password change/bot token reset: tokens carry it, so old ones die.
    pub token_generation: u32,
}

impl UserRecord {
    pub fn public(&self) -> PublicUser {
        PublicUser {
            id: self.id,
            username: self.username.clone(),
            discriminator: self.discriminator.clone(),
            global_name: self.global_name.clone(),
            avatar: self.avatar.clone(),
            banner: self.banner.clone(),
            accent_color: self.accent_color,
            bot: self.bot,
            system: self.system,
            public_flags: self.flags,
            avatar_decoration_data: None,
        }
    }

    /// The `@me` shape: public fields plus the private ones only the user sees.
    pub fn private(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self.public()).unwrap_or_default();
        if let Some(obj) = v.as_object_mut() {
            obj.insert("email".into(), self.email.clone().into());
            obj.insert("verified".into(), self.verified.into());
            obj.insert("mfa_enabled".into(), self.mfa_enabled.into());
            obj.insert("flags".into(), self.flags.into());
            obj.insert("premium_type".into(), self.premium_type.into());
            obj.insert("locale".into(), self.locale.clone().into());
            obj.insert("bio".into(), self.bio.clone().into());
            obj.insert("pronouns".into(), self.pronouns.clone().into());
            obj.insert("phone".into(), serde_json::Value::Null);
            obj.insert("nsfw_allowed".into(), true.into());
            obj.insert("date_of_birth".into(), self.date_of_birth.clone().into());
        }
        v
    }
}

/// The user object every client sees (serialized with Discord's derived fields, see
/// [`PublicUser::serialize`]).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PublicUser {
    pub id: UserId,
    pub username: String,
    pub discriminator: String,
    pub global_name: Option<String>,
    pub avatar: Option<String>,
    pub banner: Option<String>,
    pub accent_color: Option<u32>,
    pub bot: bool,
    pub system: bool,
    pub public_flags: u64,
    pub avatar_decoration_data: Option<serde_json::Value>,
}

impl Serialize for PublicUser {
    /// The stored fields plus what Discord's user object always carries: `flags` (for another
    /// user, only the public ones are visible, so it equals `public_flags`), and `collectibles`
    /// and `primary_guild` (server tags), which nobody has here, as `null`. Discord's OpenAPI
    /// document requires `flags` and `primary_guild`; typed clients refuse a user without them.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            id: &'a UserId,
            username: &'a str,
            discriminator: &'a str,
            global_name: &'a Option<String>,
            avatar: &'a Option<String>,
            banner: &'a Option<String>,
            accent_color: Option<u32>,
            bot: bool,
            system: bool,
            public_flags: u64,
            flags: u64,
            avatar_decoration_data: &'a Option<serde_json::Value>,
            collectibles: Option<()>,
            primary_guild: Option<()>,
        }
        // Exhaustive on purpose: a new field must be added to `Wire` too.
        let PublicUser {
            id,
            username,
            discriminator,
            global_name,
            avatar,
            banner,
            accent_color,
            bot,
            system,
            public_flags,
            avatar_decoration_data,
        } = self;
        Wire {
            id,
            username,
            discriminator,
            global_name,
            avatar,
            banner,
            accent_color: *accent_color,
            bot: *bot,
            system: *system,
            public_flags: *public_flags,
            flags: *public_flags,
            avatar_decoration_data,
            collectibles: None,
            primary_guild: None,
        }
        .serialize(s)
    }
}
