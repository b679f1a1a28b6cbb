//! A guild's auto-moderation rules: list/get/create/modify/delete (MANAGE_GUILD), each change
//! announced as AUTO_MODERATION_RULE_* to members with MANAGE_GUILD (and the
//! AUTO_MODERATION_CONFIGURATION intent), recorded in the audit log (140/141/142), and compiled
//! into the guild's [`crate::automod::CompiledRules`] for the channel actors. When a rule fires
//! on a message the channel actor tells this actor ([`AutoModMsg::Executed`]), which runs the
//! actions that reach beyond the channel: AUTO_MODERATION_ACTION_EXECUTION, audit entries
//! (143/144/145, and 146 for a profile quarantine), the alert message and the timeout. Member
//! profile rules are judged here (`automod_profile`), and mention spam feeds mention raid
//! protection (`automod_raid`).

use serde::Deserialize;
use serde_json::{Value, json};

use super::{State, audit, double_option};
use crate::actors::Reply;
use crate::actors::channel::ChannelMsg;
use crate::automod::{CompiledRules, Hit};
use crate::config::AutoModLimits;
use crate::error::{ApiError, FieldError, FieldErrors, Unknown};
use crate::events::Dispatch;
use crate::id::{AutoModRuleId, ChannelId, MessageId, RoleId, UserId};
use crate::model::{
    ActionMetadata, ActionType, AutoModAction, AutoModEventType, AutoModRuleRecord, KeywordPreset,
    Timestamp, TriggerMetadata, TriggerType,
};
use crate::permissions::Permissions;

/// Requests about a guild's auto-moderation rules (one `GuildMsg` variant, so the feature stays
/// in this file).
pub enum AutoModMsg {
    List {
        user: UserId,
        reply: Reply<Value>,
    },
    Get {
        user: UserId,
        id: AutoModRuleId,
        reply: Reply<Value>,
    },
    Create {
        user: UserId,
        id: AutoModRuleId,
        body: RuleBody,
        reply: Reply<Value>,
    },
    Update {
        user: UserId,
        id: AutoModRuleId,
        body: RuleBody,
        reply: Reply<Value>,
    },
    Delete {
        user: UserId,
        id: AutoModRuleId,
        reply: Reply<()>,
    },
    /// From a channel actor: rules fired on a message (told, never asked, so the message path
    /// does not wait for this actor).
    Executed(Box<Execution>),
}

/// What a channel actor reports when rules fire.
#[derive(Debug)]
pub struct Execution {
    pub user: UserId,
    /// Where the message was; `None` for a member profile rule.
    pub channel: Option<ChannelId>,
    /// The message, when it was not blocked.
    pub message_id: Option<MessageId>,
    pub content: String,
    pub hits: Vec<Hit>,
}

/// Body of `POST` and `PATCH /guilds/{id}/auto-moderation/rules…`. Numbers are read wide so an
/// out-of-range value becomes a field error, not a parse failure.
#[derive(Debug, Default, Deserialize)]
pub struct RuleBody {
    pub name: Option<String>,
    pub event_type: Option<i64>,
    pub trigger_type: Option<i64>,
    #[serde(default, deserialize_with = "double_option")]
    pub trigger_metadata: Option<Option<MetadataBody>>,
    pub actions: Option<Vec<ActionBody>>,
    pub enabled: Option<bool>,
    pub exempt_roles: Option<Vec<RoleId>>,
    pub exempt_channels: Option<Vec<ChannelId>>,
}

/// `trigger_metadata` as sent; fields of other trigger types are accepted and ignored.
#[derive(Debug, Default, Deserialize)]
pub struct MetadataBody {
    pub keyword_filter: Option<Vec<String>>,
    pub regex_patterns: Option<Vec<String>>,
    pub presets: Option<Vec<i64>>,
    pub allow_list: Option<Vec<String>>,
    pub mention_total_limit: Option<i64>,
    pub mention_raid_protection_enabled: Option<bool>,
}

/// One action as sent.
#[derive(Debug, Default, Deserialize)]
pub struct ActionBody {
    #[serde(rename = "type")]
    pub kind: i64,
    pub metadata: Option<ActionMetadataBody>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ActionMetadataBody {
    pub channel_id: Option<ChannelId>,
    pub duration_seconds: Option<i64>,
    pub custom_message: Option<String>,
}

/// Checks a list of strings against a count and a per-entry length.
fn check_list(errs: &mut FieldErrors, path: &str, list: &[String], max_items: u32, max_len: u32) {
    if list.len() > max_items as usize {
        errs.add(
            path,
            FieldError::TooMany {
                max: max_items as usize,
            },
        );
    }
    for (i, s) in list.iter().enumerate() {
        let n = s.chars().count();
        if n == 0 || n > max_len as usize {
            errs.add(
                &format!("{path}.{i}"),
                FieldError::BadLength {
                    min: 1,
                    max: max_len as usize,
                },
            );
        }
    }
}

fn trigger_of(n: i64) -> Option<TriggerType> {
    u8::try_from(n).ok().and_then(|n| n.try_into().ok())
}

/// The audit log entry of an action taken (143/144/145).
fn action_audit_type(kind: ActionType) -> Option<u16> {
    match kind {
        ActionType::BlockMessage => Some(audit::AUTO_MODERATION_BLOCK_MESSAGE),
        ActionType::SendAlertMessage => Some(audit::AUTO_MODERATION_FLAG_TO_CHANNEL),
        ActionType::Timeout => Some(audit::AUTO_MODERATION_USER_COMMUNICATION_DISABLED),
        ActionType::BlockMemberInteraction => Some(audit::AUTO_MODERATION_QUARANTINE_USER),
    }
}

impl State {
    pub(super) async fn handle_automod(&mut self, msg: AutoModMsg) {
        use crate::actors::reply;
        match msg {
            AutoModMsg::List { user, reply: r } => reply(r, self.list_rules(user)),
            AutoModMsg::Get { user, id, reply: r } => reply(r, self.get_rule(user, id)),
            AutoModMsg::Create {
                user,
                id,
                body,
                reply: r,
            } => reply(r, self.create_rule(user, id, body).await),
            AutoModMsg::Update {
                user,
                id,
                body,
                reply: r,
            } => reply(r, self.update_rule(user, id, body).await),
            AutoModMsg::Delete { user, id, reply: r } => reply(r, self.delete_rule(user, id).await),
            AutoModMsg::Executed(e) => self.automod_executed(*e).await,
        }
    }

    /// Compiles the current rules and hands them to the channel actors (through the rule book).
    /// Member profile rules stay with this actor, which judges profiles.
    pub(super) fn publish_rules(&mut self) {
        let repeats = self.services.config.get().limits.automod.spam_repeats;
        self.services
            .automod
            .publish(self.id(), CompiledRules::compile(&self.automod, repeats));
        self.profile_rules =
            CompiledRules::compile_for(&self.automod, AutoModEventType::MemberUpdate, repeats);
    }

    /// After a rule change: profile rules re-judge the members they may have quarantined.
    async fn rules_changed(&mut self, trigger: TriggerType) {
        self.publish_rules();
        if trigger == TriggerType::MemberProfile {
            self.rejudge_quarantined().await;
        }
    }

    fn list_rules(&self, user: UserId) -> Result<Value, ApiError> {
        self.require_guild(user, Permissions::MANAGE_GUILD)?;
        Ok(json!(self.automod))
    }

    fn rule_index(&self, user: UserId, id: AutoModRuleId) -> Result<usize, ApiError> {
        self.require_guild(user, Permissions::MANAGE_GUILD)?;
        self.automod
            .iter()
            .position(|r| r.id == id)
            .ok_or(ApiError::Unknown(Unknown::AutoModRule))
    }

    fn get_rule(&self, user: UserId, id: AutoModRuleId) -> Result<Value, ApiError> {
        let i = self.rule_index(user, id)?;
        Ok(json!(self.automod[i]))
    }

    /// Rules of a trigger type a guild may have (Discord: 6 keyword rules, 1 of each other).
    fn max_rules_of(limits: &AutoModLimits, trigger: TriggerType) -> u32 {
        match trigger {
            TriggerType::Keyword => limits.max_keyword_rules,
            TriggerType::Spam => limits.max_spam_rules,
            TriggerType::KeywordPreset => limits.max_preset_rules,
            TriggerType::MentionSpam => limits.max_mention_spam_rules,
            TriggerType::MemberProfile => limits.max_profile_rules,
        }
    }

    async fn create_rule(
        &mut self,
        user: UserId,
        id: AutoModRuleId,
        body: RuleBody,
    ) -> Result<Value, ApiError> {
        self.require_guild(user, Permissions::MANAGE_GUILD)?;
        let limits = self.services.config.get().limits.automod.clone();
        let mut errs = FieldErrors::default();
        for (field, missing) in [
            ("name", body.name.is_none()),
            ("event_type", body.event_type.is_none()),
            ("trigger_type", body.trigger_type.is_none()),
            ("actions", body.actions.is_none()),
        ] {
            if missing {
                errs.add(field, FieldError::Required);
            }
        }
        let trigger = match body.trigger_type.map(trigger_of) {
            Some(Some(t)) => t,
            Some(None) => {
                errs.add(
                    "trigger_type",
                    FieldError::Choice {
                        allowed: "1, 3, 4, 5, 6".into(),
                    },
                );
                return errs.into_result().map(|()| Value::Null);
            }
            None => return errs.into_result().map(|()| Value::Null),
        };
        let max = Self::max_rules_of(&limits, trigger);
        if self
            .automod
            .iter()
            .filter(|r| r.trigger_type == trigger)
            .count()
            >= max as usize
        {
            errs.add(
                "trigger_type",
                FieldError::AutoModMaxRulesOfType { max: max as usize },
            );
        }
        let mut rule = AutoModRuleRecord {
            id,
            guild_id: self.id(),
            name: String::new(),
            creator_id: user,
            event_type: if trigger == TriggerType::MemberProfile {
                AutoModEventType::MemberUpdate
            } else {
                AutoModEventType::MessageSend
            },
            trigger_type: trigger,
            trigger_metadata: TriggerMetadata::empty_for(trigger),
            actions: Vec::new(),
            enabled: false,
            exempt_roles: Vec::new(),
            exempt_channels: Vec::new(),
        };
        self.apply_rule_body(user, &mut rule, body, &limits, &mut errs);
        errs.into_result()?;
        self.services.store.put_automod_rule(&rule).await?;
        self.automod.push(rule.clone());
        self.rules_changed(trigger).await;
        let data = json!(rule);
        self.dispatch_to_managers(Dispatch::new("AUTO_MODERATION_RULE_CREATE", &data, true));
        self.audit_change(
            user,
            audit::AUTO_MODERATION_RULE_CREATE,
            Some(id.snowflake()),
            None,
            Some(data.clone()),
        )
        .await;
        Ok(data)
    }

    async fn update_rule(
        &mut self,
        user: UserId,
        id: AutoModRuleId,
        mut body: RuleBody,
    ) -> Result<Value, ApiError> {
        let i = self.rule_index(user, id)?;
        let limits = self.services.config.get().limits.automod.clone();
        let before = self.automod[i].clone();
        let mut errs = FieldErrors::default();
        // Discord: a rule's trigger type is fixed at creation.
        if let Some(t) = body.trigger_type.take()
            && trigger_of(t) != Some(before.trigger_type)
        {
            errs.add(
                "trigger_type",
                FieldError::Choice {
                    allowed: u8::from(before.trigger_type).to_string(),
                },
            );
        }
        let mut rule = before.clone();
        self.apply_rule_body(user, &mut rule, body, &limits, &mut errs);
        errs.into_result()?;
        self.services.store.put_automod_rule(&rule).await?;
        self.automod[i] = rule.clone();
        self.rules_changed(rule.trigger_type).await;
        let data = json!(rule);
        self.dispatch_to_managers(Dispatch::new("AUTO_MODERATION_RULE_UPDATE", &data, true));
        self.audit_change(
            user,
            audit::AUTO_MODERATION_RULE_UPDATE,
            Some(id.snowflake()),
            Some(json!(before)),
            Some(data.clone()),
        )
        .await;
        Ok(data)
    }

    async fn delete_rule(&mut self, user: UserId, id: AutoModRuleId) -> Result<(), ApiError> {
        let i = self.rule_index(user, id)?;
        self.services
            .store
            .delete_automod_rule(self.id(), id)
            .await?;
        let rule = self.automod.remove(i);
        self.rules_changed(rule.trigger_type).await;
        let data = json!(rule);
        self.dispatch_to_managers(Dispatch::new("AUTO_MODERATION_RULE_DELETE", &data, true));
        self.audit_change(
            user,
            audit::AUTO_MODERATION_RULE_DELETE,
            Some(id.snowflake()),
            Some(data),
            None,
        )
        .await;
        Ok(())
    }

    /// Applies a body to a rule (a new one starts from its trigger type's defaults) and checks
    /// every limit on the result; `errs` collects every field error.
    fn apply_rule_body(
        &self,
        user: UserId,
        rule: &mut AutoModRuleRecord,
        body: RuleBody,
        limits: &AutoModLimits,
        errs: &mut FieldErrors,
    ) {
        let trigger = rule.trigger_type;
        if let Some(name) = body.name {
            let n = name.chars().count();
            if n == 0 || n > limits.max_name as usize {
                errs.add(
                    "name",
                    FieldError::BadLength {
                        min: 1,
                        max: limits.max_name as usize,
                    },
                );
            }
            rule.name = name;
        }
        if let Some(e) = body.event_type {
            // MEMBER_PROFILE rules watch member updates; every other trigger, messages.
            let wanted = if trigger == TriggerType::MemberProfile {
                AutoModEventType::MemberUpdate
            } else {
                AutoModEventType::MessageSend
            };
            if e != i64::from(u8::from(wanted)) {
                errs.add(
                    "event_type",
                    FieldError::Choice {
                        allowed: u8::from(wanted).to_string(),
                    },
                );
            }
            rule.event_type = wanted;
        }
        if let Some(Some(m)) = body.trigger_metadata {
            self.apply_metadata(rule, m, limits, errs);
        }
        if let Some(actions) = body.actions {
            rule.actions = self.check_actions(user, trigger, actions, limits, errs);
        }
        if let Some(e) = body.enabled {
            rule.enabled = e;
        }
        if let Some(roles) = body.exempt_roles {
            if roles.len() > limits.max_exempt_roles as usize {
                errs.add(
                    "exempt_roles",
                    FieldError::TooMany {
                        max: limits.max_exempt_roles as usize,
                    },
                );
            }
            for (i, r) in roles.iter().enumerate() {
                if !self.roles.iter().any(|x| x.id == *r) {
                    errs.add(&format!("exempt_roles.{i}"), FieldError::InvalidSnowflake);
                }
            }
            let mut roles = roles;
            roles.sort();
            roles.dedup();
            rule.exempt_roles = roles;
        }
        if let Some(channels) = body.exempt_channels {
            if channels.len() > limits.max_exempt_channels as usize {
                errs.add(
                    "exempt_channels",
                    FieldError::TooMany {
                        max: limits.max_exempt_channels as usize,
                    },
                );
            }
            for (i, c) in channels.iter().enumerate() {
                if !self.channels.contains_key(c) {
                    errs.add(
                        &format!("exempt_channels.{i}"),
                        FieldError::InvalidSnowflake,
                    );
                }
            }
            let mut channels = channels;
            channels.sort();
            channels.dedup();
            rule.exempt_channels = channels;
        }
        if rule.actions.is_empty() && errs.get("actions").is_none() {
            errs.add("actions", FieldError::Required);
        }
    }

    fn apply_metadata(
        &self,
        rule: &mut AutoModRuleRecord,
        m: MetadataBody,
        limits: &AutoModLimits,
        errs: &mut FieldErrors,
    ) {
        let trigger = rule.trigger_type;
        let meta = &mut rule.trigger_metadata;
        let p = "trigger_metadata";
        if meta.keyword_filter.is_some()
            && let Some(k) = m.keyword_filter
        {
            check_list(
                errs,
                &format!("{p}.keyword_filter"),
                &k,
                limits.max_keywords,
                limits.max_keyword_length,
            );
            meta.keyword_filter = Some(k);
        }
        if meta.regex_patterns.is_some()
            && let Some(r) = m.regex_patterns
        {
            let path = format!("{p}.regex_patterns");
            check_list(
                errs,
                &path,
                &r,
                limits.max_regex_patterns,
                limits.max_regex_length,
            );
            for (i, pattern) in r.iter().enumerate() {
                if crate::automod::compile_regex(pattern).is_err() {
                    errs.add(&format!("{path}.{i}"), FieldError::AutoModInvalidRegex);
                }
            }
            meta.regex_patterns = Some(r);
        }
        if meta.presets.is_some()
            && let Some(list) = m.presets
        {
            let mut presets: Vec<KeywordPreset> = Vec::new();
            for (i, n) in list.iter().enumerate() {
                match u8::try_from(*n).ok().and_then(|n| n.try_into().ok()) {
                    Some(preset) if !presets.contains(&preset) => presets.push(preset),
                    Some(_) => {}
                    None => errs.add(
                        &format!("{p}.presets.{i}"),
                        FieldError::Choice {
                            allowed: "1, 2, 3".into(),
                        },
                    ),
                }
            }
            meta.presets = Some(presets);
        }
        if meta.allow_list.is_some()
            && let Some(a) = m.allow_list
        {
            let max = if trigger == TriggerType::KeywordPreset {
                limits.max_preset_allow_list
            } else {
                limits.max_keyword_allow_list
            };
            check_list(
                errs,
                &format!("{p}.allow_list"),
                &a,
                max,
                limits.max_keyword_length,
            );
            meta.allow_list = Some(a);
        }
        if meta.mention_total_limit.is_some() {
            if let Some(n) = m.mention_total_limit {
                let max = i64::from(limits.max_mention_total);
                let path = format!("{p}.mention_total_limit");
                if n < 0 {
                    errs.add(&path, FieldError::NumberMin { min: 0 });
                } else if n > max {
                    errs.add(&path, FieldError::NumberMax { max });
                }
                meta.mention_total_limit = Some(n.clamp(0, max) as u32);
            }
            if let Some(b) = m.mention_raid_protection_enabled {
                meta.mention_raid_protection_enabled = Some(b);
            }
        }
    }

    fn check_actions(
        &self,
        user: UserId,
        trigger: TriggerType,
        actions: Vec<ActionBody>,
        limits: &AutoModLimits,
        errs: &mut FieldErrors,
    ) -> Vec<AutoModAction> {
        if actions.is_empty() {
            errs.add("actions", FieldError::Required);
        }
        if actions.len() > limits.max_actions as usize {
            errs.add(
                "actions",
                FieldError::TooMany {
                    max: limits.max_actions as usize,
                },
            );
        }
        let mut out = Vec::with_capacity(actions.len());
        for (i, a) in actions.into_iter().enumerate() {
            let path = format!("actions.{i}");
            let kind: Option<ActionType> =
                u8::try_from(a.kind).ok().and_then(|n| n.try_into().ok());
            // BLOCK_MEMBER_INTERACTION is for member profile rules only; TIMEOUT for keyword
            // and mention spam rules (Discord's rules).
            let allowed = match kind {
                Some(ActionType::BlockMemberInteraction) => trigger == TriggerType::MemberProfile,
                Some(ActionType::Timeout) => {
                    matches!(trigger, TriggerType::Keyword | TriggerType::MentionSpam)
                }
                // Member profile rules may alert as well as block interaction.
                Some(ActionType::SendAlertMessage) => true,
                Some(_) => trigger != TriggerType::MemberProfile,
                None => false,
            };
            let Some(kind) = kind.filter(|_| allowed) else {
                errs.add(
                    &format!("{path}.type"),
                    FieldError::Choice {
                        allowed: "1, 2, 3, 4".into(),
                    },
                );
                continue;
            };
            let m = a.metadata.unwrap_or_default();
            let mut metadata = ActionMetadata::default();
            match kind {
                ActionType::BlockMessage => {
                    if let Some(msg) = m.custom_message.filter(|s| !s.is_empty()) {
                        let max = limits.max_custom_message as usize;
                        if msg.chars().count() > max {
                            errs.add(
                                &format!("{path}.metadata.custom_message"),
                                FieldError::MaxLength { max },
                            );
                        }
                        metadata.custom_message = Some(msg);
                    }
                }
                ActionType::SendAlertMessage => match m.channel_id {
                    Some(c) if self.channels.get(&c).is_some_and(|c| c.kind.is_text()) => {
                        metadata.channel_id = Some(c);
                    }
                    Some(_) => errs.add(
                        &format!("{path}.metadata.channel_id"),
                        FieldError::InvalidSnowflake,
                    ),
                    None => errs.add(&format!("{path}.metadata.channel_id"), FieldError::Required),
                },
                ActionType::Timeout => {
                    let max = i64::from(limits.max_timeout_seconds);
                    let p = format!("{path}.metadata.duration_seconds");
                    match m.duration_seconds {
                        None => errs.add(&p, FieldError::Required),
                        Some(d) if d < 0 => errs.add(&p, FieldError::NumberMin { min: 0 }),
                        Some(d) if d > max => errs.add(&p, FieldError::NumberMax { max }),
                        Some(d) => metadata.duration_seconds = Some(d as u32),
                    }
                }
                ActionType::BlockMemberInteraction => {}
            }
            out.push(AutoModAction { kind, metadata });
        }
        // Timing members out is MODERATE_MEMBERS' business: a rule may not do it for someone
        // who could not.
        if out.iter().any(|a| a.kind == ActionType::Timeout)
            && !self
                .guild_permissions(user)
                .contains(Permissions::MODERATE_MEMBERS)
        {
            errs.add(
                "actions",
                FieldError::Choice {
                    allowed: "actions without TIMEOUT (MODERATE_MEMBERS needed)".into(),
                },
            );
        }
        out
    }

    /// To the sessions of members with MANAGE_GUILD whose intents take the event (Discord's
    /// audience for every auto-moderation event).
    fn dispatch_to_managers(&mut self, event: std::sync::Arc<Dispatch>) {
        let mut dead = Vec::new();
        crate::actors::remote::fan_out(|| {
            for (key, s) in &self.online {
                if s.wants(&event)
                    && self
                        .guild_permissions(s.user_id)
                        .contains(Permissions::MANAGE_GUILD)
                    && !s.deliver(&event)
                {
                    dead.push(*key);
                }
            }
        });
        for k in dead {
            self.online.remove(&k);
        }
    }

    /// Runs what a rule's firing means beyond the channel: for each action, the alert message
    /// or the timeout, AUTO_MODERATION_ACTION_EXECUTION and an audit entry.
    pub(super) async fn automod_executed(&mut self, e: Execution) {
        if !self.members.contains_key(&e.user)
            && !e.channel.is_some_and(|c| self.channels.contains_key(&c))
        {
            return;
        }
        let mut raid_watched = false;
        for hit in &e.hits {
            let Some(rule) = self.automod.iter().find(|r| r.id == hit.rule_id).cloned() else {
                continue;
            };
            raid_watched |= rule.trigger_type == TriggerType::MentionSpam
                && rule.trigger_metadata.mention_raid_protection_enabled == Some(true);
            for action in hit.actions.iter() {
                let mut alert_id = None;
                match action.kind {
                    ActionType::SendAlertMessage => {
                        if let Some(c) = action.metadata.channel_id {
                            alert_id = self.post_alert(c, &e, hit, &rule).await;
                        }
                    }
                    ActionType::Timeout => {
                        if let Some(d) = action.metadata.duration_seconds {
                            self.automod_timeout(e.user, d).await;
                        }
                    }
                    ActionType::BlockMessage | ActionType::BlockMemberInteraction => {}
                }
                let mut data = json!({
                    "guild_id": self.id(),
                    "action": action,
                    "rule_id": rule.id,
                    "rule_trigger_type": rule.trigger_type,
                    "user_id": e.user,
                    "content": e.content,
                    "matched_keyword": hit.matched_keyword,
                    "matched_content": hit.matched_content,
                });
                if let Some(c) = e.channel {
                    data["channel_id"] = json!(c);
                }
                if let Some(m) = e.message_id {
                    data["message_id"] = json!(m);
                }
                if let Some(a) = alert_id {
                    data["alert_system_message_id"] = json!(a);
                }
                // `content` and `matched_content` need MESSAGE_CONTENT, as on Discord.
                let event =
                    Dispatch::message("AUTO_MODERATION_ACTION_EXECUTION", &data, true, vec![]);
                self.dispatch_to_managers(event);
                if let Some(action_type) = action_audit_type(action.kind) {
                    let mut options = json!({
                        "auto_moderation_rule_name": rule.name,
                        "auto_moderation_rule_trigger_type": u8::from(rule.trigger_type).to_string(),
                    });
                    if let Some(c) = e.channel {
                        options["channel_id"] = json!(c);
                    }
                    self.audit(
                        e.user,
                        action_type,
                        Some(e.user.snowflake()),
                        Vec::new(),
                        Some(options),
                    )
                    .await;
                }
            }
        }
        if raid_watched {
            self.note_mention_spam(e.user).await;
        }
    }

    /// SEND_ALERT_MESSAGE: a system message (type 24) in the alert channel with Discord's
    /// `auto_moderation_message` embed. Returns its id (None: the channel is gone).
    async fn post_alert(
        &mut self,
        channel: ChannelId,
        e: &Execution,
        hit: &Hit,
        rule: &AutoModRuleRecord,
    ) -> Option<MessageId> {
        self.channels.get(&channel)?;
        // The alert names the member; a webhook's message has none to name.
        self.members.get(&e.user)?;
        let actor = self.services.channel(channel).await.ok()?;
        let mut fields = vec![json!({"name": "rule_name", "value": rule.name, "inline": false})];
        if let Some(c) = e.channel {
            fields.push(json!({"name": "channel_id", "value": c.to_string(), "inline": false}));
        }
        fields.push(json!({"name": "decision_id", "value": "", "inline": false}));
        if let Some(k) = &hit.matched_keyword {
            fields.push(json!({"name": "keyword", "value": k, "inline": false}));
        }
        if let Some(c) = &hit.matched_content {
            fields.push(json!({"name": "keyword_matched_content", "value": c, "inline": false}));
        }
        let embed = json!({
            "type": "auto_moderation_message",
            "description": e.content,
            "fields": fields,
        });
        let id: MessageId = self.services.ids.next().ok()?;
        let alert = crate::actors::channel::SystemMessage {
            id,
            author: e.user,
            kind: 24,
            content: String::new(),
            embeds: vec![embed],
        };
        // Told, not asked: the channel actor may itself be waiting on this actor (permissions),
        // so the id is minted here and the message lands when the channel gets to it.
        crate::actors::tell(&actor, ChannelMsg::PostSystem(Box::new(alert))).ok()?;
        Some(id)
    }

    /// TIMEOUT: `communication_disabled_until` moves to now + `seconds` (never earlier than a
    /// timeout already running), with GUILD_MEMBER_UPDATE. The owner cannot be timed out.
    async fn automod_timeout(&mut self, user: UserId, seconds: u32) {
        if user == self.guild.owner_id {
            return;
        }
        let Some(mut m) = self.members.get(&user).cloned() else {
            return;
        };
        let until = Timestamp::from_millis(Timestamp::now().millis() + i64::from(seconds) * 1000);
        if m.communication_disabled_until.is_some_and(|t| t >= until) {
            return;
        }
        m.communication_disabled_until = Some(until);
        if let Err(e) = self.services.store.put_member(&m).await {
            tracing::warn!(error = %e, "automod timeout not stored");
            return;
        }
        self.members.insert(user, m.clone());
        self.invalidate_permissions(Some(user));
        if let Ok(mut v) = self.member_json(&m).await {
            if let Some(o) = v.as_object_mut() {
                o.insert("guild_id".into(), json!(self.id()));
            }
            self.dispatch_member("GUILD_MEMBER_UPDATE", &v, user);
        }
    }
}
