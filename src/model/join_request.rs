//! Member verification ("membership screening", "apply to join"): the form a guild's managers
//! set, and the join requests applicants submit with their answers. The form lives in the
//! guild's setup record (one per guild, read with it); join requests are their own records,
//! one per application, kept in the guild's partition.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::id::{GuildId, JoinRequestId, UserId};
use crate::model::{PublicUser, Timestamp};

/// Discord's form field types. `TERMS` fields are acknowledged; the others are answered and
/// make the guild review each application by hand (Discord's manual approval).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FormFieldType {
    Terms,
    TextInput,
    Paragraph,
    MultipleChoice,
}

impl FormFieldType {
    /// The wire name, for error messages and query parsing.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "TERMS" => Some(Self::Terms),
            "TEXT_INPUT" => Some(Self::TextInput),
            "PARAGRAPH" => Some(Self::Paragraph),
            "MULTIPLE_CHOICE" => Some(Self::MultipleChoice),
            _ => None,
        }
    }
}

/// One question of the form; with `response` set it is one answer of a join request (Discord
/// sends the answered form back as the request's `form_responses`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormField {
    pub field_type: FormFieldType,
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub required: bool,
    /// The rules of a `TERMS` field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    /// The choices of a `MULTIPLE_CHOICE` field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    /// The applicant's answer: `true` for terms, the text, or the index of the choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Value>,
}

/// A guild's member verification. `enabled` shows as the guild's
/// `MEMBER_VERIFICATION_GATE_ENABLED` feature; `version` changes with every edit so an
/// applicant answering an outdated form is told so.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemberVerification {
    #[serde(default)]
    pub enabled: bool,
    pub version: Option<Timestamp>,
    pub description: Option<String>,
    #[serde(default)]
    pub form_fields: Vec<FormField>,
}

impl MemberVerification {
    /// Discord's member verification object.
    pub fn to_wire(&self) -> Value {
        json!({
            "version": self.version,
            "form_fields": self.form_fields,
            "description": self.description,
        })
    }

    /// Whether an application needs a moderator: any field other than `TERMS` (Discord's rule
    /// for manual approval); terms alone are accepted when submitted.
    pub fn needs_review(&self) -> bool {
        self.form_fields
            .iter()
            .any(|f| f.field_type != FormFieldType::Terms)
    }
}

/// Where an application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JoinRequestStatus {
    Started,
    Submitted,
    Rejected,
    Approved,
}

impl JoinRequestStatus {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "STARTED" => Some(Self::Started),
            "SUBMITTED" => Some(Self::Submitted),
            "REJECTED" => Some(Self::Rejected),
            "APPROVED" => Some(Self::Approved),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "STARTED",
            Self::Submitted => "SUBMITTED",
            Self::Rejected => "REJECTED",
            Self::Approved => "APPROVED",
        }
    }
}

/// One application to join a guild.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JoinRequestRecord {
    pub id: JoinRequestId,
    pub guild_id: GuildId,
    pub user_id: UserId,
    pub status: JoinRequestStatus,
    pub created_at: Timestamp,
    pub form_responses: Vec<FormField>,
    /// When a moderator (or, for terms only, the applicant's own submission) decided.
    pub actioned_at: Option<Timestamp>,
    pub actioned_by: Option<UserId>,
    pub rejection_reason: Option<String>,
}

impl JoinRequestRecord {
    /// Discord's guild join request object, with the applicant and the moderator who decided
    /// (`None`: not loaded / nobody yet).
    pub fn to_json(&self, user: Option<&PublicUser>, actioned_by: Option<&PublicUser>) -> Value {
        json!({
            "id": self.id,
            "join_request_id": self.id,
            "created_at": self.created_at,
            "reviewed_at": self.actioned_at,
            "actioned_at": self.actioned_at,
            "application_status": self.status,
            "rejection_reason": self.rejection_reason,
            "guild_id": self.guild_id,
            "user_id": self.user_id,
            "user": user,
            "form_responses": self.form_responses,
            "actioned_by_user": actioned_by,
            "last_seen": null,
            "interview_channel_id": null,
        })
    }
}
