//! Member verification (membership screening) and join requests. While a guild's gate is on,
//! whoever joins is `pending`: they see the guild read-only and cannot speak until they submit
//! the form (`PUT /guilds/{id}/requests/@me`). A form of only `TERMS` is accepted on submission;
//! any other question makes the submission a join request that a moderator (KICK_MEMBERS)
//! approves — the member stops being pending — or rejects — the member is removed, as on
//! Discord. Applicants and moderators follow it through GUILD_JOIN_REQUEST_CREATE/UPDATE/DELETE.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{State, double_option, setup};
use crate::actors::{Reply, reply};
use crate::config::OnboardingLimits;
use crate::error::{ApiError, FieldError, FieldErrors, Unknown};
use crate::events::Dispatch;
use crate::id::{JoinRequestId, UserId};
use crate::model::{
    FormField, FormFieldType, JoinRequestRecord, JoinRequestStatus, MemberVerification, Timestamp,
};
use crate::permissions::Permissions;
use crate::validate;

/// The guild feature an enabled gate shows as.
pub const GATE_FEATURE: &str = "MEMBER_VERIFICATION_GATE_ENABLED";
/// Discord's audit log event for a change of the form (GUILD_MEMBER_VERIFICATION_UPDATE).
const MEMBER_VERIFICATION_UPDATE: u16 = 210;
/// Most join requests one `GET /guilds/{id}/requests` returns (Discord: 100).
pub const MAX_LIST_LIMIT: usize = 100;

pub enum VerificationMsg {
    /// `GET /guilds/{id}/member-verification`.
    Get {
        user: UserId,
        with_guild: bool,
        reply: Reply<Value>,
    },
    /// `PATCH /guilds/{id}/member-verification`.
    Update {
        user: UserId,
        body: VerificationPatch,
        reply: Reply<Value>,
    },
    /// `PUT /guilds/{id}/requests/@me`.
    Submit {
        user: UserId,
        body: JoinRequestSubmit,
        reply: Reply<Value>,
    },
    /// `DELETE /guilds/{id}/requests/@me`: withdraws a request awaiting review.
    Withdraw { user: UserId, reply: Reply<()> },
    /// `GET /guilds/{id}/requests`.
    List {
        user: UserId,
        query: JoinRequestQuery,
        reply: Reply<Value>,
    },
    /// `PATCH /guilds/{id}/requests/{request_id}`.
    Action {
        user: UserId,
        request: JoinRequestId,
        body: JoinRequestAction,
        reply: Reply<Value>,
    },
}

/// Body of `PATCH /guilds/{id}/member-verification`. `form_fields` may be an array or, as
/// Discord's older clients send it, that array serialized in a string.
#[derive(Debug, Default, Deserialize)]
pub struct VerificationPatch {
    pub enabled: Option<bool>,
    pub form_fields: Option<Value>,
    #[serde(default, deserialize_with = "double_option")]
    pub description: Option<Option<String>>,
    /// When the gate is turned off: what becomes of submitted requests (APPROVED by default).
    pub bulk_action: Option<String>,
}

/// One form field as a client sends it (a question, or an answer with `response`).
#[derive(Debug, Default, Deserialize)]
pub struct FieldBody {
    pub field_type: Option<String>,
    pub label: Option<String>,
    pub description: Option<String>,
    pub required: Option<bool>,
    pub values: Option<Vec<String>>,
    pub choices: Option<Vec<String>>,
    pub placeholder: Option<String>,
    pub response: Option<Value>,
}

/// Body of `PUT /guilds/{id}/requests/@me`: the answered form.
#[derive(Debug, Default, Deserialize)]
pub struct JoinRequestSubmit {
    pub version: Option<String>,
    pub form_fields: Option<Vec<FieldBody>>,
}

/// Query of `GET /guilds/{id}/requests` (checked by the route).
#[derive(Debug, Clone, Default)]
pub struct JoinRequestQuery {
    pub status: Option<JoinRequestStatus>,
    pub limit: usize,
    pub before: Option<JoinRequestId>,
    pub after: Option<JoinRequestId>,
}

/// Body of `PATCH /guilds/{id}/requests/{request_id}`.
#[derive(Debug, Default, Deserialize)]
pub struct JoinRequestAction {
    pub action: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub rejection_reason: Option<Option<String>>,
}

/// A moderator's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Approve,
    Reject,
}

impl Decision {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "APPROVED" => Some(Self::Approve),
            "REJECTED" => Some(Self::Reject),
            _ => None,
        }
    }
}

fn decision_choice() -> FieldError {
    FieldError::Choice {
        allowed: "APPROVED, REJECTED".into(),
    }
}

/// Checks one question of a form; `None` when it is unusable (the errors say why).
fn build_field(
    errs: &mut FieldErrors,
    limits: &OnboardingLimits,
    i: usize,
    f: FieldBody,
) -> Option<FormField> {
    let at = |name: &str| format!("form_fields.{i}.{name}");
    let kind = match f.field_type.as_deref().map(FormFieldType::parse) {
        Some(Some(kind)) => Some(kind),
        Some(None) => {
            errs.add(
                &at("field_type"),
                FieldError::Choice {
                    allowed: "TERMS, TEXT_INPUT, PARAGRAPH, MULTIPLE_CHOICE".into(),
                },
            );
            None
        }
        None => {
            errs.add(&at("field_type"), FieldError::Required);
            None
        }
    };
    let label = f.label.unwrap_or_default();
    validate::length(errs, &at("label"), &label, 1, limits.max_field_label);
    for (name, text) in [
        ("description", &f.description),
        ("placeholder", &f.placeholder),
    ] {
        if let Some(t) = text {
            validate::max_length(errs, &at(name), t, limits.max_field_label);
        }
    }
    // The list a field type needs: rules for TERMS, choices for MULTIPLE_CHOICE.
    let list = |errs: &mut FieldErrors, name: &str, items: Option<Vec<String>>, max, longest| {
        let items = items.unwrap_or_default();
        if items.is_empty() {
            errs.add(&at(name), FieldError::TooFew { min: 1 });
        } else if items.len() > max as usize {
            errs.add(&at(name), FieldError::TooMany { max: max as usize });
        }
        for (j, item) in items.iter().enumerate() {
            validate::length(errs, &format!("{}.{j}", at(name)), item, 1, longest);
        }
        items
    };
    let (mut values, mut choices) = (None, None);
    match kind? {
        FormFieldType::Terms => {
            values = Some(list(
                errs,
                "values",
                f.values,
                limits.max_field_terms,
                limits.max_field_term,
            ));
        }
        FormFieldType::MultipleChoice => {
            choices = Some(list(
                errs,
                "choices",
                f.choices,
                limits.max_field_choices,
                limits.max_field_choice,
            ));
        }
        FormFieldType::TextInput | FormFieldType::Paragraph => {}
    }
    Some(FormField {
        field_type: kind?,
        label,
        description: f.description.filter(|d| !d.is_empty()),
        required: f.required.unwrap_or(true),
        values,
        choices,
        placeholder: f.placeholder.filter(|p| !p.is_empty()),
        response: None,
    })
}

/// Checks the answer to `field` (question `i`); the answered field, or None if unanswered.
fn check_answer(
    errs: &mut FieldErrors,
    limits: &OnboardingLimits,
    i: usize,
    field: &FormField,
    response: Option<&Value>,
) -> Option<Value> {
    let at = format!("form_fields.{i}.response");
    let given = response.filter(|v| !v.is_null());
    let answer = match (field.field_type, given) {
        (_, None) => None,
        (FormFieldType::Terms, Some(Value::Bool(true))) => Some(json!(true)),
        (FormFieldType::Terms, Some(Value::Bool(false))) => None,
        (FormFieldType::Terms, Some(_)) => {
            errs.add(
                &at,
                FieldError::BadType {
                    expected: "boolean".into(),
                },
            );
            return None;
        }
        (FormFieldType::TextInput | FormFieldType::Paragraph, Some(Value::String(s))) => {
            let max = if field.field_type == FormFieldType::Paragraph {
                limits.max_paragraph_answer
            } else {
                limits.max_text_answer
            };
            validate::max_length(errs, &at, s, max);
            let s = s.trim();
            (!s.is_empty()).then(|| json!(s))
        }
        (FormFieldType::MultipleChoice, Some(Value::Number(n))) => {
            let count = field.choices.as_ref().map_or(0, Vec::len);
            match n.as_u64() {
                Some(k) if (k as usize) < count => Some(json!(k)),
                _ => {
                    errs.add(
                        &at,
                        FieldError::NumberMax {
                            max: count as i64 - 1,
                        },
                    );
                    return None;
                }
            }
        }
        (FormFieldType::TextInput | FormFieldType::Paragraph, Some(_)) => {
            errs.add(
                &at,
                FieldError::BadType {
                    expected: "string".into(),
                },
            );
            return None;
        }
        (FormFieldType::MultipleChoice, Some(_)) => {
            errs.add(
                &at,
                FieldError::BadType {
                    expected: "integer".into(),
                },
            );
            return None;
        }
    };
    if answer.is_none() && field.required {
        errs.add(&at, FieldError::Required);
    }
    answer
}

impl State {
    pub(super) async fn handle_verification(&mut self, msg: VerificationMsg) {
        match msg {
            VerificationMsg::Get {
                user,
                with_guild,
                reply: r,
            } => reply(r, self.member_verification(user, with_guild)),
            VerificationMsg::Update {
                user,
                body,
                reply: r,
            } => reply(r, self.set_member_verification(user, body).await),
            VerificationMsg::Submit {
                user,
                body,
                reply: r,
            } => reply(r, self.submit_join_request(user, body).await),
            VerificationMsg::Withdraw { user, reply: r } => {
                reply(r, self.withdraw_join_request(user).await)
            }
            VerificationMsg::List {
                user,
                query,
                reply: r,
            } => reply(r, self.list_join_requests(user, query).await),
            VerificationMsg::Action {
                user,
                request,
                body,
                reply: r,
            } => reply(r, self.action_join_request(user, request, body).await),
        }
    }

    fn gate(&self) -> &MemberVerification {
        &self.setup.member_verification
    }

    /// Whether `user`, joining now, starts out pending (bots never are, as on Discord).
    pub(super) async fn gate_applies(&self, user: UserId) -> Result<bool, ApiError> {
        if !self.gate().enabled {
            return Ok(false);
        }
        Ok(!self.services.users.public(user).await?.bot)
    }

    /// `PATCH /guilds/{id}` changed the MEMBER_VERIFICATION_GATE_ENABLED feature (Discord lets
    /// managers flip it there too): the form follows, and turning it off lets pending members
    /// in as turning it off on the form does. The guild route checked there is a form.
    pub(super) async fn follow_gate_feature(
        &mut self,
        by: UserId,
        enabled: bool,
    ) -> Result<(), ApiError> {
        let mut record = self.setup.clone();
        record.member_verification.enabled = enabled;
        record.member_verification.version = Some(Timestamp::now());
        self.services.store.put_guild_setup(&record).await?;
        self.setup = record;
        if !enabled {
            self.open_gate(by, Decision::Approve).await?;
        }
        Ok(())
    }

    /// Whether turning the gate on through the guild's features has a form to show.
    pub(super) fn gate_has_form(&self) -> bool {
        !self.gate().form_fields.is_empty()
    }

    /// `GET /guilds/{id}/member-verification`: while the gate is on, to anyone (Discord's
    /// client shows the form from an invite, before joining; `with_guild` adds the guild for a
    /// non-member); while it is off, to members with MANAGE_GUILD, who edit it.
    fn member_verification(&self, user: UserId, with_guild: bool) -> Result<Value, ApiError> {
        if !self.gate().enabled {
            self.require_guild(user, Permissions::MANAGE_GUILD)?;
        }
        let mut v = self.gate().to_wire();
        if with_guild && !self.members.contains_key(&user) {
            v["guild"] = json!({
                "id": self.id(),
                "name": self.guild.name,
                "icon": self.guild.icon,
                "description": self.guild.description,
                "splash": self.guild.splash,
                "discovery_splash": null,
                "home_header": null,
                "banner": self.guild.banner,
                "verification_level": self.guild.verification_level,
                "features": self.guild.features,
                "emojis": self.emojis_json(),
                "approximate_member_count": self.members.len(),
                "approximate_presence_count": self.presence_count(),
            });
        }
        Ok(v)
    }

    /// `PATCH /guilds/{id}/member-verification` (MANAGE_GUILD). Turning the gate on needs a
    /// form; turning it off lets every pending member in, and settles submitted requests as
    /// `bulk_action` says. Audit entry 210; GUILD_UPDATE when the feature flips.
    async fn set_member_verification(
        &mut self,
        user: UserId,
        body: VerificationPatch,
    ) -> Result<Value, ApiError> {
        self.require_guild(user, Permissions::MANAGE_GUILD)?;
        let limits = self.services.config.get().limits.onboarding.clone();
        let mut errs = FieldErrors::default();
        let mut next = self.gate().clone();
        if let Some(enabled) = body.enabled {
            next.enabled = enabled;
        }
        if let Some(d) = body.description {
            if let Some(d) = &d {
                validate::max_length(
                    &mut errs,
                    "description",
                    d,
                    limits.max_verification_description,
                );
            }
            next.description = d.filter(|d| !d.is_empty());
        }
        if let Some(raw) = body.form_fields {
            let raw = match raw {
                Value::String(s) => serde_json::from_str(&s).unwrap_or(Value::Null),
                other => other,
            };
            match serde_json::from_value::<Vec<FieldBody>>(raw) {
                Ok(fields) => {
                    let max = limits.max_verification_fields as usize;
                    if fields.len() > max {
                        errs.add("form_fields", FieldError::TooMany { max });
                    }
                    next.form_fields = fields
                        .into_iter()
                        .enumerate()
                        .filter_map(|(i, f)| build_field(&mut errs, &limits, i, f))
                        .collect();
                }
                Err(_) => errs.add(
                    "form_fields",
                    FieldError::BadType {
                        expected: "array".into(),
                    },
                ),
            }
        }
        let bulk = match body.bulk_action.as_deref() {
            None => Decision::Approve,
            Some(s) => Decision::parse(s).unwrap_or_else(|| {
                errs.add("bulk_action", decision_choice());
                Decision::Approve
            }),
        };
        if next.enabled && next.form_fields.is_empty() {
            // A gate with nothing to answer would let nobody through.
            errs.add("form_fields", FieldError::TooFew { min: 1 });
        }
        errs.into_result()?;
        if next == *self.gate() {
            return Ok(self.gate().to_wire());
        }
        let turned_off = self.gate().enabled && !next.enabled;
        let before = self.verification_audit_view();
        next.version = Some(Timestamp::now());
        let mut record = self.setup.clone();
        record.member_verification = next;
        let mut features = self.guild.features.clone();
        setup::set_feature(
            &mut features,
            GATE_FEATURE,
            record.member_verification.enabled,
        );
        self.save_setup(record, features).await?;
        if turned_off {
            self.open_gate(user, bulk).await?;
        }
        let after = self.verification_audit_view();
        let target = Some(self.id().snowflake());
        self.audit_change(
            user,
            MEMBER_VERIFICATION_UPDATE,
            target,
            Some(before),
            Some(after),
        )
        .await;
        Ok(self.gate().to_wire())
    }

    /// What the audit entry compares: the form and Discord's `verification_enabled` key.
    fn verification_audit_view(&self) -> Value {
        let mut v = self.gate().to_wire();
        v["verification_enabled"] = json!(self.gate().enabled);
        v.as_object_mut().map(|o| o.remove("version"));
        v
    }

    /// The gate was turned off: submitted requests are decided (`bulk`), and every member
    /// still pending gets in.
    async fn open_gate(&mut self, by: UserId, bulk: Decision) -> Result<(), ApiError> {
        let submitted: Vec<JoinRequestId> = self
            .join_requests
            .iter()
            .filter(|r| r.status == JoinRequestStatus::Submitted)
            .map(|r| r.id)
            .collect();
        for id in submitted {
            self.decide(by, id, bulk, None).await?;
        }
        let pending: Vec<UserId> = self
            .members
            .values()
            .filter(|m| m.pending)
            .map(|m| m.user_id)
            .collect();
        for member in pending {
            self.clear_pending(member).await?;
        }
        Ok(())
    }

    /// A member passes the gate: pending false, GUILD_MEMBER_UPDATE, fresh permissions.
    async fn clear_pending(&mut self, user: UserId) -> Result<(), ApiError> {
        let Some(mut m) = self.members.get(&user).cloned() else {
            return Ok(());
        };
        if !m.pending {
            return Ok(());
        }
        m.pending = false;
        self.services.store.put_member(&m).await?;
        self.members.insert(user, m.clone());
        self.invalidate_permissions(Some(user));
        let mut v = self.member_json(&m).await?;
        v["guild_id"] = json!(self.id());
        self.dispatch_member("GUILD_MEMBER_UPDATE", &v, user);
        Ok(())
    }

    /// Discord's join request object, with the applicant and the deciding moderator.
    async fn request_json(&self, r: &JoinRequestRecord) -> Result<Value, ApiError> {
        let user = self.services.users.public(r.user_id).await?;
        let by = match r.actioned_by {
            Some(id) => Some(self.services.users.public(id).await?),
            None => None,
        };
        Ok(r.to_json(Some(&user), by.as_ref()))
    }

    /// GUILD_JOIN_REQUEST_* to the applicant's sessions and to members with KICK_MEMBERS (who
    /// review requests), encoded once.
    fn dispatch_join_request(&mut self, name: &'static str, data: &Value, applicant: UserId) {
        let event = Dispatch::new(name, data, true);
        let mut dead = Vec::new();
        crate::actors::remote::fan_out(|| {
            for (key, s) in &self.online {
                let audience = s.user_id == applicant
                    || self
                        .guild_permissions(s.user_id)
                        .contains(Permissions::KICK_MEMBERS);
                if audience && !s.deliver(&event) {
                    dead.push(*key);
                }
            }
        });
        for k in dead {
            self.online.remove(&k);
        }
    }

    /// Stores `r` (new or changed), keeps it in memory and announces it.
    async fn save_request(
        &mut self,
        r: JoinRequestRecord,
        event: &'static str,
    ) -> Result<Value, ApiError> {
        self.services.store.put_join_request(&r).await?;
        match self.join_requests.iter_mut().find(|x| x.id == r.id) {
            Some(slot) => *slot = r.clone(),
            None => self.join_requests.push(r.clone()),
        }
        let v = self.request_json(&r).await?;
        let data = json!({"guild_id": self.id(), "status": r.status, "request": v});
        self.dispatch_join_request(event, &data, r.user_id);
        Ok(v)
    }

    /// `PUT /guilds/{id}/requests/@me` (a pending member): the answers are checked against the
    /// form (every required question answered, answers within their limits, `version` the
    /// form's current one). Terms only: accepted at once (the member stops being pending).
    /// Otherwise a request awaiting review; submitting again replaces its answers.
    async fn submit_join_request(
        &mut self,
        user: UserId,
        body: JoinRequestSubmit,
    ) -> Result<Value, ApiError> {
        self.member_guard(user)?;
        let form = self.gate().clone();
        if !form.enabled {
            return Err(ApiError::Unknown(Unknown::MemberVerificationForm));
        }
        if !self.members.get(&user).is_some_and(|m| m.pending) {
            return Err(ApiError::coded(
                axum::http::StatusCode::BAD_REQUEST,
                0,
                "member-verification-passed",
            ));
        }
        let limits = self.services.config.get().limits.onboarding.clone();
        let mut errs = FieldErrors::default();
        if let (Some(given), Some(current)) = (&body.version, form.version)
            && Timestamp::parse(given) != Some(current)
        {
            // The form changed since the applicant loaded it.
            errs.add(
                "version",
                FieldError::Choice {
                    allowed: current.to_string(),
                },
            );
        }
        let answers = body.form_fields.unwrap_or_default();
        if answers.len() != form.form_fields.len() {
            errs.add(
                "form_fields",
                FieldError::BadLength {
                    min: form.form_fields.len(),
                    max: form.form_fields.len(),
                },
            );
        }
        let responses: Vec<FormField> = form
            .form_fields
            .iter()
            .enumerate()
            .map(|(i, field)| {
                let given = answers.get(i).and_then(|a| a.response.as_ref());
                let mut answered = field.clone();
                answered.response = check_answer(&mut errs, &limits, i, field, given);
                answered
            })
            .collect();
        errs.into_result()?;
        let now = Timestamp::now();
        let open = self
            .join_requests
            .iter()
            .rev()
            .find(|r| r.user_id == user && r.status == JoinRequestStatus::Submitted)
            .cloned();
        let (mut request, event) = match open {
            Some(r) => (r, "GUILD_JOIN_REQUEST_UPDATE"),
            None => (
                JoinRequestRecord {
                    id: self.services.ids.next()?,
                    guild_id: self.id(),
                    user_id: user,
                    status: JoinRequestStatus::Submitted,
                    created_at: now,
                    form_responses: Vec::new(),
                    actioned_at: None,
                    actioned_by: None,
                    rejection_reason: None,
                },
                "GUILD_JOIN_REQUEST_CREATE",
            ),
        };
        request.form_responses = responses;
        if !form.needs_review() {
            // Terms only: the submission is the approval (the applicant "actioned" it, which
            // is how Discord's clients tell a bypassed request).
            request.status = JoinRequestStatus::Approved;
            request.actioned_at = Some(now);
            request.actioned_by = Some(user);
        }
        let approved = request.status == JoinRequestStatus::Approved;
        let v = self.save_request(request, event).await?;
        if approved {
            self.clear_pending(user).await?;
        }
        Ok(v)
    }

    /// `DELETE /guilds/{id}/requests/@me`: withdraws the caller's request awaiting review
    /// (they stay pending and may submit again).
    async fn withdraw_join_request(&mut self, user: UserId) -> Result<(), ApiError> {
        self.member_guard(user)?;
        let id = self
            .join_requests
            .iter()
            .rev()
            .find(|r| r.user_id == user && r.status == JoinRequestStatus::Submitted)
            .map(|r| r.id)
            .ok_or(ApiError::Unknown(Unknown::JoinRequest))?;
        self.drop_request(id).await
    }

    /// Deletes a request and announces GUILD_JOIN_REQUEST_DELETE.
    async fn drop_request(&mut self, id: JoinRequestId) -> Result<(), ApiError> {
        let Some(pos) = self.join_requests.iter().position(|r| r.id == id) else {
            return Ok(());
        };
        self.services
            .store
            .delete_join_request(self.id(), id)
            .await?;
        let r = self.join_requests.remove(pos);
        let data = json!({"guild_id": self.id(), "id": r.id, "user_id": r.user_id});
        self.dispatch_join_request("GUILD_JOIN_REQUEST_DELETE", &data, r.user_id);
        Ok(())
    }

    /// A member left (or was removed) while their request awaited review: it goes, as on
    /// Discord (the application is withdrawn).
    pub(super) async fn withdraw_requests_of(&mut self, user: UserId) -> Result<(), ApiError> {
        let open: Vec<JoinRequestId> = self
            .join_requests
            .iter()
            .filter(|r| r.user_id == user && r.status == JoinRequestStatus::Submitted)
            .map(|r| r.id)
            .collect();
        for id in open {
            self.drop_request(id).await?;
        }
        Ok(())
    }

    /// `GET /guilds/{id}/requests` (KICK_MEMBERS): `{guild_join_requests, total}`, in id order,
    /// filtered by status; `before`/`after` page by request id (`before` takes the newest
    /// `limit` below it). `total` counts every request of that status.
    async fn list_join_requests(
        &mut self,
        user: UserId,
        q: JoinRequestQuery,
    ) -> Result<Value, ApiError> {
        self.require_guild(user, Permissions::KICK_MEMBERS)?;
        let mut matching: Vec<&JoinRequestRecord> = self
            .join_requests
            .iter()
            .filter(|r| q.status.is_none_or(|s| r.status == s))
            .filter(|r| r.status != JoinRequestStatus::Started)
            .collect();
        matching.sort_by_key(|r| r.id);
        let total = matching.len();
        let page: Vec<JoinRequestRecord> = {
            let window: Vec<&JoinRequestRecord> = matching
                .into_iter()
                .filter(|r| q.after.is_none_or(|a| r.id > a))
                .filter(|r| q.before.is_none_or(|b| r.id < b))
                .collect();
            let skip = match (q.before, q.after) {
                (Some(_), None) => window.len().saturating_sub(q.limit),
                _ => 0,
            };
            window
                .into_iter()
                .skip(skip)
                .take(q.limit)
                .cloned()
                .collect()
        };
        let mut out = Vec::with_capacity(page.len());
        for r in &page {
            out.push(self.request_json(r).await?);
        }
        Ok(json!({"guild_join_requests": out, "total": total}))
    }

    /// `PATCH /guilds/{id}/requests/{request_id}` (KICK_MEMBERS): approve or reject a request
    /// awaiting review.
    async fn action_join_request(
        &mut self,
        user: UserId,
        request: JoinRequestId,
        body: JoinRequestAction,
    ) -> Result<Value, ApiError> {
        self.require_guild(user, Permissions::KICK_MEMBERS)?;
        let limits = self.services.config.get().limits.onboarding.clone();
        let mut errs = FieldErrors::default();
        let decision = match body.action.as_deref() {
            None => {
                errs.add("action", FieldError::Required);
                Decision::Approve
            }
            Some(s) => Decision::parse(s).unwrap_or_else(|| {
                errs.add("action", decision_choice());
                Decision::Approve
            }),
        };
        let reason = body.rejection_reason.flatten().filter(|r| !r.is_empty());
        if let Some(r) = &reason {
            validate::max_length(
                &mut errs,
                "rejection_reason",
                r,
                limits.max_rejection_reason,
            );
        }
        // Past this, `decision` is what the body asked for (a placeholder only came with an
        // error).
        errs.into_result()?;
        let Some(current) = self.join_requests.iter().find(|r| r.id == request) else {
            return Err(ApiError::Unknown(Unknown::JoinRequest));
        };
        if current.status != JoinRequestStatus::Submitted {
            return Err(ApiError::coded(
                axum::http::StatusCode::BAD_REQUEST,
                0,
                "join-request-not-submitted",
            ));
        }
        self.decide(user, request, decision, reason).await
    }

    /// Records a moderator's decision on a submitted request: approved, the member gets in;
    /// rejected, the request says why and the member is removed (after the applicant's
    /// sessions learned the decision).
    async fn decide(
        &mut self,
        by: UserId,
        id: JoinRequestId,
        decision: Decision,
        reason: Option<String>,
    ) -> Result<Value, ApiError> {
        let Some(mut r) = self.join_requests.iter().find(|r| r.id == id).cloned() else {
            return Err(ApiError::Unknown(Unknown::JoinRequest));
        };
        r.actioned_at = Some(Timestamp::now());
        r.actioned_by = Some(by);
        let applicant = r.user_id;
        match decision {
            Decision::Approve => {
                r.status = JoinRequestStatus::Approved;
                r.rejection_reason = None;
                let v = self.save_request(r, "GUILD_JOIN_REQUEST_UPDATE").await?;
                self.clear_pending(applicant).await?;
                Ok(v)
            }
            Decision::Reject => {
                r.status = JoinRequestStatus::Rejected;
                r.rejection_reason = reason;
                let v = self.save_request(r, "GUILD_JOIN_REQUEST_UPDATE").await?;
                if self.members.get(&applicant).is_some_and(|m| m.pending) {
                    // Removed as if they left: the moderator's say is the decision itself
                    // (a bulk rejection by a manager without KICK_MEMBERS included), and a
                    // pending member is never the owner.
                    self.remove_member(applicant, applicant, None).await?;
                }
                Ok(v)
            }
        }
    }
}
