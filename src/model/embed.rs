//! A rich embed as the server builds one itself (Slack attachments and GitHub events turned into
//! embeds). Client-sent embeds are kept as the client sent them; this type exists so the embeds
//! we author are typed and carry only the fields Discord's embed object documents.

use serde::Serialize;

use super::timestamp::Timestamp;

/// Discord's embed object, the fields we fill. `None`s are left out of the JSON, as Discord
/// leaves out the parts an embed doesn't have.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Embed {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<EmbedAuthor>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub footer: Option<EmbedFooter>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<EmbedMedia>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<EmbedMedia>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<EmbedField>,
}

impl Embed {
    /// An empty `rich` embed.
    pub fn rich() -> Self {
        Self {
            kind: "rich",
            ..Self::default()
        }
    }

    /// As JSON, the form messages keep their embeds in.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EmbedAuthor {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icon_url: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EmbedFooter {
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icon_url: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EmbedMedia {
    pub url: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EmbedField {
    pub name: String,
    pub value: String,
    pub inline: bool,
}

/// `s` cut to at most `max` characters (not bytes), with `…` standing for the rest: Discord
/// shortens long commit messages and comment bodies this way in the embeds it writes.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_by_characters() {
        assert_eq!(truncate("héllo", 5), "héllo");
        assert_eq!(truncate("héllo wörld", 6), "héllo…");
        assert_eq!(truncate("ab", 0), "…");
    }

    #[test]
    fn leaves_out_what_is_absent() {
        let e = Embed {
            title: Some("t".into()),
            ..Embed::rich()
        };
        assert_eq!(
            e.to_value(),
            serde_json::json!({"type": "rich", "title": "t"})
        );
    }
}
