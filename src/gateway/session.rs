//! A gateway session: from READY until it ends, across reconnects (RESUME).
//!
//! The session is a task, not a ractor actor, on purpose: what feeds it must be a *bounded*
//! queue (a slow client must not grow server memory), and ractor mailboxes are unbounded. Actors
//! reach it through a [`SessionHandle`] (a bounded sender). While its connection is gone the
//! session stays "parked" for `gateway.resume_window_secs`, still receiving events into its
//! replay buffer, so a RESUME replays exactly what was missed.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rand::RngCore;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tracing::Instrument;

use super::close::CloseCode;
use super::connection::{Connection, Inbound};
use super::intents::Intents;
use super::payload::{self, Identify, RequestGuildMembers};
use super::server::{Attach, now};
use super::state::{Action, ReplayBuffer, SessionMachine};
use crate::actors::guild::GuildMsg;
use crate::actors::remote::{CommandReply, GuildCommand, GuildQuery};
use crate::actors::sessions::{KillSwitch, Overflow, SessionHandle};
use crate::app::App;
use crate::cluster::Owned;
use crate::events::Dispatch;
use crate::id::{ChannelId, GuildId, UserId};
use crate::model::UserRecord;

/// Members per GUILD_MEMBERS_CHUNK, Discord's figure (and the guild actor's page size).
const MEMBERS_PER_CHUNK: usize = 1000;

/// Everything IDENTIFY produced, handed to [`run`].
pub struct Ready {
    user: Arc<UserRecord>,
    intents: Intents,
    handle: SessionHandle,
    events: mpsc::Receiver<Arc<Dispatch>>,
    overflow: Arc<Overflow>,
    session_id: String,
    guilds: Vec<GuildId>,
    ready: Value,
    guild_creates: Vec<Value>,
}

/// Authenticates IDENTIFY, registers the session with the actors and builds READY.
pub async fn identify(
    app: &App,
    identify: &Identify,
    intents: Intents,
) -> Result<Ready, CloseCode> {
    let caller = app
        .auth
        .authenticate(identify.bare_token())
        .await
        .map_err(|_| CloseCode::AuthenticationFailed)?;
    let user = match app.services.users.get(caller.user_id).await {
        Ok(Some(u)) => u,
        Ok(None) => return Err(CloseCode::AuthenticationFailed),
        Err(e) => {
            tracing::error!(error = %e, "identify: user lookup failed");
            return Err(CloseCode::UnknownError);
        }
    };
    // READY's `application.flags` (discord.py keeps them as `Client.application_flags`).
    let mut application_flags = 0;
    if user.bot {
        // Privileged intents need the application's flags (Discord's 4014).
        let application = app
            .store()
            .get_application(crate::id::ApplicationId(user.id.0))
            .await
            .map_err(|_| CloseCode::UnknownError)?;
        application_flags = application.as_ref().map_or(0, |a| a.flags);
        let allowed = application.is_some_and(|a| {
            a.allows(
                intents.contains(Intents::GUILD_PRESENCES),
                intents.contains(Intents::GUILD_MEMBERS),
                intents.contains(Intents::MESSAGE_CONTENT),
            )
        });
        if !allowed && intents.intersects(Intents::PRIVILEGED) {
            return Err(CloseCode::DisallowedIntents);
        }
    }
    let config = app.config().get();
    let max_sessions = config.gateway.max_sessions_per_user as usize;
    if app.services.sessions.count_of(user.id) >= max_sessions {
        return Err(CloseCode::RateLimited);
    }
    if user.bot {
        pace_identify(app, user.id, identify.shard).await;
    }
    let key = app.gateway.next_key();
    let (handle, events, overflow) = SessionHandle::new(
        key,
        user.id,
        user.bot,
        intents,
        config.gateway.session_queue_limit,
    );
    // Registered before subscribing to guilds: events from then on queue up behind READY.
    // The limit is checked again here, atomically: the check above is only the cheap early out.
    if !app.services.sessions.try_add(handle.clone(), max_sessions) {
        return Err(CloseCode::RateLimited);
    }
    // An administrator may have disabled the account between the check above and this
    // registration; `disconnect_user` sees the session from now on, so check once more.
    if app.auth.authenticate(identify.bare_token()).await.is_err() {
        app.services.sessions.remove(user.id, key);
        return Err(CloseCode::AuthenticationFailed);
    }
    // Cluster mode: this node hears the user's events from other nodes once its subscription
    // to the user's subject is confirmed; READY is built after that, so nothing made after
    // it can miss this session.
    if let Some(remote) = app.services.remote.get() {
        remote.user_interest().ready(user.id).await;
    }
    let guild_ids = app
        .store()
        .guilds_of_user(user.id)
        .await
        .map_err(|_| CloseCode::UnknownError)?;
    // Sharding: a shard gets the guilds with `(guild_id >> 22) % num_shards == shard_id`, and
    // DMs only on shard 0 (Discord's rule). A bot in many guilds must shard (4011).
    let (shard_id, shards) = identify.shard.map_or((0, 1), |[id, n]| (id, n.max(1)));
    let guild_ids: Vec<GuildId> = guild_ids
        .into_iter()
        .filter(|g| (g.get() >> 22) % u64::from(shards) == u64::from(shard_id))
        .collect();
    if user.bot && shards == 1 && guild_ids.len() > config.gateway.max_guilds_per_shard as usize {
        app.services.sessions.remove(user.id, key);
        return Err(CloseCode::ShardingRequired);
    }
    let mut guilds = Vec::with_capacity(guild_ids.len());
    let mut guild_creates = Vec::with_capacity(guild_ids.len());
    for id in guild_ids {
        // Cluster mode: a guild owned by another node is subscribed to there.
        if let Some(owner) = app.services.remote_owner(Owned::Guild(id.get())) {
            if let Some(payload) = subscribe_remote(app, &owner, id, &handle).await {
                guilds.push(id);
                guild_creates.push(payload);
            }
            continue;
        }
        let Ok(actor) = app.services.guild(id).await else {
            continue;
        };
        let subscribed = crate::actors::mailbox::call(
            &actor,
            |port| GuildMsg::Subscribe(handle.clone(), port),
            Some(app.services.call_timeout()),
        )
        .await;
        if let Ok(ractor::rpc::CallResult::Success(Some(subscribed))) = subscribed {
            guilds.push(id);
            guild_creates.push(subscribed.guild_create);
        }
    }
    let mut private_channels = Vec::new();
    let dms = if shard_id == 0 {
        app.store().private_channels_of_user(user.id).await
    } else {
        Ok(Vec::new())
    };
    if let Ok(channels) = dms {
        for c in channels {
            let others: Vec<UserId> = c
                .recipient_ids
                .iter()
                .copied()
                .filter(|u| *u != user.id)
                .collect();
            let users = app
                .services
                .users
                .public_many(&others)
                .await
                .unwrap_or_default();
            private_channels.push(c.to_json(Some(&users)));
        }
    }
    let mut id = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut id);
    let session_id = hex::encode(id);
    let mut ready = json!({
        "v": 10,
        "user": user.private(),
        "guilds": guilds.iter().map(|g| json!({"id": g, "unavailable": true})).collect::<Vec<_>>(),
        "session_id": session_id,
        "session_type": "normal",
        "resume_gateway_url": app.gateway_endpoint(),
        "private_channels": private_channels,
        "relationships": [],
        "presences": [],
        "user_settings": {},
        "user_guild_settings": {"entries": [], "partial": false, "version": 0},
        "read_state": {"entries": [], "partial": false, "version": 0},
        "guild_join_requests": [],
        "geo_ordered_rtc_regions": [],
    });
    if user.bot {
        ready["application"] = json!({"id": user.id, "flags": application_flags});
    }
    if let Some(shard) = identify.shard {
        ready["shard"] = json!(shard);
    }
    // Relationships, settings and read states: the user actor's (bots have none).
    if !user.bot
        && let Some(parts) = crate::actors::user::ready_parts(&app.services, user.id).await
    {
        ready["relationships"] = parts.relationships;
        ready["user_settings"] = parts.user_settings;
        ready["read_state"] = parts.read_state;
    }
    // What user clients read besides the documented fields.
    ready["sessions"] = json!([{
        "session_id": session_id,
        "status": "online",
        "activities": [],
        "active": true,
        "client_info": {"client": "web", "os": identify.properties.os, "version": 0},
    }]);
    let me = json!(user.id);
    let merged: Vec<Value> = guild_creates
        .iter()
        .map(|g| {
            let mine: Vec<Value> = g["members"]
                .as_array()
                .map(|ms| {
                    ms.iter()
                        .filter(|m| m["user"]["id"] == me)
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            Value::Array(mine)
        })
        .collect();
    if !user.bot {
        ready["guild_join_requests"] = own_join_requests(app, user.id, &guilds, &merged).await;
    }
    ready["merged_members"] = Value::Array(merged);
    tracing::debug!(user = %user.id, session = %session_id, guilds = guilds.len(), "session identified");
    Ok(Ready {
        user,
        intents,
        handle,
        events,
        overflow,
        session_id,
        guilds,
        ready,
        guild_creates,
    })
}

/// READY's `guild_join_requests`: the user's requests in the guilds where they are still
/// pending (held by member verification), read from the store for those guilds only, so a
/// user without pending memberships costs nothing here. `merged` is READY's `merged_members`
/// (the user's own member object per guild, in `guilds`' order).
async fn own_join_requests(app: &App, user: UserId, guilds: &[GuildId], merged: &[Value]) -> Value {
    let pending = guilds.iter().zip(merged).filter(|(_, mine)| {
        mine.as_array()
            .is_some_and(|ms| ms.iter().any(|m| m["pending"] == true))
    });
    let mut out = Vec::new();
    let mut applicant = None;
    for (guild, _) in pending {
        let Ok(requests) = app.store().guild_join_requests(*guild).await else {
            continue;
        };
        for r in requests.iter().filter(|r| r.user_id == user) {
            if applicant.is_none() {
                applicant = app.services.users.public(user).await.ok();
            }
            let by = match r.actioned_by {
                Some(id) => app.services.users.public(id).await.ok(),
                None => None,
            };
            out.push(r.to_json(applicant.as_ref(), by.as_ref()));
        }
    }
    Value::Array(out)
}

/// Discord's identify pacing for bots: `gateway.identify_max_concurrency` IDENTIFYs per 5 s per
/// rate-limit bucket (`shard_id % max_concurrency`). A flood waits its turn instead of failing.
async fn pace_identify(app: &App, user: UserId, shard: Option<[u32; 2]>) {
    loop {
        let per_window = app.config().get().gateway.identify_max_concurrency.max(1);
        let bucket = shard.map_or(0, |[id, _]| id % per_window);
        let key = format!("identify:{user}:{bucket}");
        // Counted at the account's home in a cluster: shards of one bot identify on any node.
        let hit = crate::ratelimit::Hit::new(key, per_window, Duration::from_secs(5));
        let (verdicts, _) = app.ratelimits.count(user.get(), &[hit]).await;
        let Some(v) = verdicts.first().filter(|v| !v.allowed) else {
            return;
        };
        tokio::time::sleep(Duration::from_secs_f64(v.reset_after.max(0.01))).await;
    }
}

struct Session {
    app: App,
    id: String,
    user: Arc<UserRecord>,
    intents: Intents,
    handle: SessionHandle,
    events: mpsc::Receiver<Arc<Dispatch>>,
    overflow: Arc<Overflow>,
    /// Tripped when an administrator disables the account.
    kill: Arc<KillSwitch>,
    guilds: Vec<GuildId>,
    seq: u64,
    buffer: ReplayBuffer,
    attach: mpsc::Receiver<Box<Attach>>,
    shutdown: tokio::sync::watch::Receiver<bool>,
}

/// How a connected stretch ended.
enum Disconnect {
    /// The socket is gone but the client may RESUME.
    Resumable,
    /// The session is over.
    End,
}

/// Runs the session until it ends; the connection already saw READY's preconditions.
pub async fn run(app: App, mut connection: Connection, mut machine: SessionMachine, ready: Ready) {
    let config = app.config().get();
    let (attach_tx, attach) = mpsc::channel(1);
    app.gateway
        .resumable
        .insert(ready.session_id.clone(), attach_tx);
    let mut s = Session {
        shutdown: app.shutdown.clone(),
        app: app.clone(),
        id: ready.session_id,
        user: ready.user,
        intents: ready.intents,
        kill: ready.handle.kill_switch(),
        handle: ready.handle,
        events: ready.events,
        overflow: ready.overflow,
        guilds: ready.guilds,
        seq: 0,
        buffer: ReplayBuffer::new(config.gateway.resume_buffer_events, 16 * 1024 * 1024),
        attach,
    };
    // A root span (no parent), attached with `Instrument`: a log line carries this session and
    // nothing of the connection or request that happened to create it.
    let span = tracing::info_span!(parent: None, "session", id = %s.id, user = %s.user.id);
    let (ready_data, guild_creates) = (ready.ready, ready.guild_creates);
    async move {
        // Built, sent and dropped here: nothing of READY stays in the session's state but what
        // the replay buffer keeps (until a heartbeat shows the client has it).
        let mut frames = vec![s.frame("READY", encode(&ready_data))];
        drop(ready_data);
        if s.intents.contains(Intents::GUILDS) {
            for g in &guild_creates {
                frames.push(s.frame("GUILD_CREATE", encode(g)));
            }
        }
        drop(guild_creates);
        let sent = connection.send_all(&frames).await.is_ok();
        drop(frames);
        // A client that resumes knows the session id, so it has READY: only what came after
        // READY can need a replay, and READY (often the largest frame) is not kept for it.
        s.buffer.acknowledge(1);
        if sent {
            loop {
                match s.connected(&mut connection, &mut machine).await {
                    Disconnect::End => break,
                    Disconnect::Resumable => {
                        // Release the socket before parking: a client that got our close frame
                        // (e.g. the `ws` package under discord.js) waits for the TCP connection to
                        // end before it reconnects, for up to 30 s.
                        drop(connection);
                        match Box::pin(s.parked()).await {
                            Some((c, m)) => {
                                connection = c;
                                machine = m;
                            }
                            None => break,
                        }
                    }
                }
            }
        }
        s.end();
    }
    .instrument(span)
    .await;
}

fn encode(v: &Value) -> Bytes {
    Bytes::from(serde_json::to_vec(v).unwrap_or_else(|_| b"{}".to_vec()))
}

impl Session {
    /// Numbers a dispatch and keeps it for replay.
    fn frame(&mut self, name: &'static str, data: Bytes) -> Bytes {
        self.seq += 1;
        let f = payload::dispatch_frame(self.seq, name, &data);
        // The buffer keeps the (shared) data, not this session's copy of the frame.
        self.buffer.push(self.seq, name, data);
        f
    }

    fn event_frame(&mut self, ev: &Dispatch) -> Bytes {
        let data = ev
            .payload_for(self.user.id, self.user.bot, self.intents)
            .clone();
        self.frame(ev.name, data)
    }

    async fn connected(
        &mut self,
        connection: &mut Connection,
        machine: &mut SessionMachine,
    ) -> Disconnect {
        loop {
            let deadline = tokio::time::Instant::from_std(machine.heartbeat_deadline_at());
            tokio::select! {
                biased;
                _ = self.shutdown.changed() => {
                    let _ = connection.send(&payload::reconnect()).await;
                    connection.close_raw(CloseCode::UnknownError.code(), "server restarting").await;
                    return Disconnect::End;
                }
                _ = self.kill.wait() => {
                    tracing::info!("the account's tokens were revoked; closing the session");
                    let code = CloseCode::AuthenticationFailed;
                    connection.close_raw(code.code(), code.reason()).await;
                    return Disconnect::End;
                }
                _ = self.overflow.wait() => {
                    tracing::warn!("session queue overflowed; closing (client must re-identify)");
                    crate::metrics::session_dropped_for_backpressure();
                    connection.close_raw(CloseCode::UnknownError.code(), "client too slow").await;
                    return Disconnect::End;
                }
                _ = tokio::time::sleep_until(deadline) => {
                    if let Some(Action::Close(code)) = machine.check_heartbeat(now()) {
                        connection.close_raw(code.code(), code.reason()).await;
                        return Disconnect::End;
                    }
                }
                ev = self.events.recv() => {
                    let Some(ev) = ev else { return Disconnect::End };
                    let f = self.event_frame(&ev);
                    // A client that stopped reading blocks this write once the socket buffers are
                    // full; its queue then overflows and the session is dropped, mid-frame if
                    // need be (no clean close is possible on a stuck socket).
                    tokio::select! {
                        sent = connection.send(&f) => if sent.is_err() {
                            return Disconnect::Resumable;
                        },
                        _ = self.overflow.wait() => {
                            tracing::warn!("client stopped reading; dropping the session");
                            crate::metrics::session_dropped_for_backpressure();
                            return Disconnect::End;
                        }
                    }
                }
                inbound = connection.recv() => match inbound {
                    Inbound::Ping(p) => {
                        if let Some(Action::Close(code)) = machine.on_ping(now()) {
                            connection.close_raw(code.code(), code.reason()).await;
                            return Disconnect::Resumable;
                        }
                        let _ = connection.pong(p).await;
                    }
                    Inbound::TooLarge => {
                        // Discord's answer to an oversized payload; the client may resume.
                        let code = CloseCode::DecodeError;
                        connection.close_raw(code.code(), code.reason()).await;
                        return Disconnect::Resumable;
                    }
                    Inbound::Closed(code) => {
                        tracing::debug!(?code, "client closed the connection");
                        // Closing with 1000/1001 ends the session, as on Discord.
                        return if matches!(code, Some(1000 | 1001)) { Disconnect::End } else { Disconnect::Resumable };
                    }
                    Inbound::Message(frame) => match machine.on_frame(&frame, now()) {
                        Action::HeartbeatAck => {
                            self.buffer.acknowledge(machine.heartbeat_seq());
                            if connection.send(&payload::heartbeat_ack()).await.is_err() {
                                return Disconnect::Resumable;
                            }
                        }
                        // Boxed, like every rare branch here: a future's size is that of its
                        // largest state, and this task lives as long as the session does.
                        Action::RequestGuildMembers(req) => {
                            if let Err(code) = Box::pin(self.request_members(connection, req)).await {
                                connection.close_raw(code.code(), code.reason()).await;
                                return Disconnect::End;
                            }
                        }
                        Action::Close(code) => {
                            connection.close_raw(code.code(), code.reason()).await;
                            return if code == CloseCode::SessionTimedOut || !code.can_reconnect() {
                                Disconnect::End
                            } else {
                                Disconnect::Resumable
                            };
                        }
                        Action::PresenceUpdate(p) => self.presence(p),
                        Action::VoiceStateUpdate(v) => self.voice(v),
                        Action::GuildSubscriptions(subs) => {
                            Box::pin(self.member_lists(subs)).await;
                        }
                        Action::RequestSoundboardSounds(r) => {
                            if let Err(code) = Box::pin(self.soundboard_sounds(connection, r)).await
                            {
                                connection.close_raw(code.code(), code.reason()).await;
                                return Disconnect::End;
                            }
                        }
                        _ => {}
                    },
                },
            }
        }
    }

    /// Without a connection: buffer events until a RESUME attaches one or the window closes.
    async fn parked(&mut self) -> Option<(Connection, SessionMachine)> {
        let window = Duration::from_secs(self.app.config().get().gateway.resume_window_secs);
        let until = tokio::time::Instant::now() + window;
        loop {
            tokio::select! {
                _ = self.shutdown.changed() => return None,
                _ = self.kill.wait() => return None,
                _ = self.overflow.wait() => return None,
                _ = tokio::time::sleep_until(until) => {
                    tracing::debug!("resume window passed");
                    return None;
                }
                ev = self.events.recv() => {
                    let ev = ev?;
                    self.event_frame(&ev);
                }
                attach = self.attach.recv() => {
                    let mut a = attach?;
                    match Box::pin(self.try_resume(&mut a)).await {
                        Ok(()) => return Some((a.connection, a.machine)),
                        Err(keep_parked) => {
                            let _ = a.connection.send(&payload::invalid_session(false)).await;
                            let _ = a.machine.resume_failed();
                            let _ = a.refused.send((a.connection, a.machine));
                            if !keep_parked {
                                return None;
                            }
                        }
                    }
                }
            }
        }
    }

    /// Replays what the client missed. `Err(true)`: refused but the session lives on (wrong
    /// token); `Err(false)`: refused and the session is over (replay no longer possible).
    async fn try_resume(&mut self, a: &mut Attach) -> Result<(), bool> {
        match self.app.auth.authenticate(a.resume.bare_token()).await {
            Ok(caller) if caller.user_id == self.user.id => {}
            _ => return Err(true),
        }
        let Some(missed) = self.buffer.since(a.resume.seq) else {
            return Err(false);
        };
        if a.machine.resumed().is_err() {
            return Err(true);
        }
        let resumed = self.frame("RESUMED", Bytes::from_static(b"{}"));
        let sent = async {
            a.connection.send_all(&missed).await?;
            a.connection.send(&resumed).await
        }
        .await;
        if sent.is_err() {
            return Err(true);
        }
        tracing::debug!(replayed = missed.len(), "session resumed");
        Ok(())
    }

    /// Op 8: answers with one GUILD_MEMBERS_CHUNK per guild.
    async fn request_members(
        &mut self,
        connection: &mut Connection,
        req: RequestGuildMembers,
    ) -> Result<(), CloseCode> {
        let query = req.query.clone().unwrap_or_default().to_lowercase();
        let everyone = query.is_empty() && req.user_ids.is_none();
        if everyone && !self.intents.contains(Intents::GUILD_MEMBERS) {
            return Err(CloseCode::DisallowedIntents);
        }
        // Limit 0 with an empty query means every member (Discord's rule); a query or a list
        // of ids without a limit gets Discord's search cap.
        let max = match req.limit {
            0 if everyone => usize::MAX,
            0 => MEMBERS_PER_CHUNK,
            n => usize::try_from(n).unwrap_or(usize::MAX),
        };
        // Only guilds this session is in, each once: an array of foreign or repeated ids must
        // not turn one payload into as many guild lookups.
        let mut guilds = req.guild_id.clone();
        guilds.retain(|g| self.guilds.contains(g));
        guilds.sort_unstable();
        guilds.dedup();
        let interval = self
            .app
            .config()
            .get()
            .gateway
            .request_all_members_interval_secs;
        for guild in guilds {
            if everyone
                && interval > 0
                && let Some(retry_after) = self.members_rate_limited(guild, interval)
            {
                let mut meta = json!({"guild_id": guild});
                if let Some(n) = &req.nonce {
                    meta["nonce"] = json!(n);
                }
                let data = json!({"opcode": 8, "retry_after": retry_after, "meta": meta});
                let f = self.frame("RATE_LIMITED", encode(&data));
                connection
                    .send(&f)
                    .await
                    .map_err(|_| CloseCode::UnknownError)?;
                continue;
            }
            let found =
                Box::pin(self.matching_members(guild, &query, req.user_ids.as_deref(), max)).await;
            let not_found: Vec<UserId> = req
                .user_ids
                .iter()
                .flatten()
                .copied()
                .filter(|id| !found.iter().any(|m| m["user"]["id"] == json!(id)))
                .collect();
            // Discord's chunks: at most 1,000 members each, numbered, the request's nonce on
            // every one; `not_found` rides on the first.
            let chunk_count = found.len().div_ceil(MEMBERS_PER_CHUNK).max(1);
            let mut chunks = found.chunks(MEMBERS_PER_CHUNK);
            for chunk_index in 0..chunk_count {
                let members = chunks.next().unwrap_or_default();
                let mut chunk = json!({
                    "guild_id": guild,
                    "members": members,
                    "chunk_index": chunk_index,
                    "chunk_count": chunk_count,
                    "not_found": if chunk_index == 0 { not_found.as_slice() } else { &[] },
                });
                if req.presences {
                    chunk["presences"] = json!([]);
                }
                if let Some(n) = &req.nonce {
                    chunk["nonce"] = json!(n);
                }
                let f = self.frame("GUILD_MEMBERS_CHUNK", encode(&chunk));
                connection
                    .send(&f)
                    .await
                    .map_err(|_| CloseCode::UnknownError)?;
            }
        }
        Ok(())
    }

    /// Members of `guild` matching an op-8 request, in user-id order, at most `max`: pages
    /// through the guild actor 1,000 at a time, so a guild of any size is answered whole.
    async fn matching_members(
        &self,
        guild: GuildId,
        query: &str,
        wanted: Option<&[UserId]>,
        max: usize,
    ) -> Vec<Value> {
        let user = self.user.id;
        let mut found = Vec::new();
        let mut after = UserId::default();
        while found.len() < max {
            let page_query = GuildQuery::ListMembers {
                user: user.get(),
                limit: MEMBERS_PER_CHUNK,
                after: after.get(),
            };
            let Some(Value::Array(page)) = self.query_guild(guild, page_query).await else {
                break;
            };
            let Some(last) = page
                .last()
                .and_then(|m| serde_json::from_value::<UserId>(m["user"]["id"].clone()).ok())
            else {
                break;
            };
            after = last;
            found.extend(page.into_iter().filter(|m| {
                let id: Option<UserId> = serde_json::from_value(m["user"]["id"].clone()).ok();
                match wanted {
                    Some(ids) => id.is_some_and(|id| ids.contains(&id)),
                    None => {
                        let name = m["user"]["username"].as_str().unwrap_or("").to_lowercase();
                        let nick = m["nick"].as_str().unwrap_or("").to_lowercase();
                        query.is_empty() || name.starts_with(query) || nick.starts_with(query)
                    }
                }
            }));
        }
        found.truncate(max);
        found
    }

    /// Reads `query` from `guild`'s actor, here or on its owner (cluster mode); `None` when
    /// refused or unanswered.
    async fn query_guild(&self, guild: GuildId, query: GuildQuery) -> Option<Value> {
        let services = &self.app.services;
        if let Some((owner, remote)) = self.remote_owner(guild) {
            return match remote
                .query(&owner, guild, query, services.call_timeout())
                .await
            {
                Ok(answer) => answer,
                Err(e) => {
                    tracing::warn!(error = %e, %guild, owner, "remote guild query failed");
                    None
                }
            };
        }
        query.ask(services, guild).await.ok()
    }

    /// Discord's limit on asking for every member of a guild (op 8 with an empty query): once
    /// per guild per `interval` seconds. Whole member lists are the costliest thing a client
    /// can ask for by gateway. `Some(seconds to wait)` when this request is over it.
    fn members_rate_limited(&self, guild: GuildId, interval: u64) -> Option<f64> {
        // Per session, so this node's own counters.
        let verdict = self.app.ratelimits.local().hit(
            &format!("op8:{}:{guild}", self.id),
            1,
            Duration::from_secs(interval),
            std::time::Instant::now(),
        );
        (!verdict.allowed).then_some(verdict.reset_after)
    }

    /// Ops 14/37: subscribes this session to the member lists of every channel each guild's
    /// subscription names (replacing the channels named before). The guild's actor sends the GUILD_MEMBER_LIST_UPDATEs itself, through its hold
    /// on the session, so the first SYNC and the updates after it arrive in order.
    async fn member_lists(&mut self, subs: Value) {
        let Some(guilds) = subs.as_object() else {
            return;
        };
        for (guild, sub) in guilds.iter().take(10) {
            let Ok(guild) = guild.parse::<GuildId>() else {
                continue;
            };
            // Every channel named, with its ranges (the guild actor bounds how many); an id or
            // ranges it cannot read are left out, like a channel the user cannot see.
            let channels = sub["channels"].as_object().map(|cs| {
                cs.iter()
                    .filter_map(|(channel, ranges)| {
                        let channel = channel.parse::<ChannelId>().ok()?;
                        let ranges: Vec<[usize; 2]> =
                            serde_json::from_value(ranges.clone()).unwrap_or_default();
                        Some((channel.get(), ranges))
                    })
                    .collect::<Vec<_>>()
            });
            let query = GuildQuery::member_list(
                self.user.id.get(),
                self.handle.origin_key(),
                channels,
                sub["threads"].as_bool().unwrap_or(false),
            );
            // Refusals (a channel the user cannot see) are silent, as on Discord.
            let _ = self.query_guild(guild, query).await;
        }
    }

    /// Op 31: one SOUNDBOARD_SOUNDS per requested guild the session is in.
    async fn soundboard_sounds(
        &mut self,
        connection: &mut Connection,
        r: payload::RequestSoundboardSounds,
    ) -> Result<(), CloseCode> {
        let wanted: Vec<GuildId> = r
            .guild_ids
            .into_iter()
            .filter(|g| self.guilds.contains(g))
            .collect();
        for guild in wanted {
            let query = GuildQuery::SoundboardSounds {
                user: self.user.id.get(),
            };
            let Some(list) = self.query_guild(guild, query).await else {
                continue;
            };
            let data = json!({"guild_id": guild, "soundboard_sounds": list["items"]});
            let f = self.frame("SOUNDBOARD_SOUNDS", encode(&data));
            connection
                .send(&f)
                .await
                .map_err(|_| CloseCode::UnknownError)?;
        }
        Ok(())
    }

    /// Op 3: every guild this session is in learns the new presence.
    fn presence(&self, p: super::payload::PresenceUpdate) {
        let presence =
            json!({"status": p.status, "activities": p.activities, "since": p.since, "afk": p.afk});
        for g in self.guilds.iter().copied() {
            if let Some(actor) = self.app.services.registry.running_guild(g) {
                let _ = crate::actors::tell(
                    &actor,
                    GuildMsg::Presence {
                        user: self.user.id,
                        presence: presence.clone(),
                    },
                );
            } else if let Some((owner, remote)) = self.remote_owner(g) {
                remote.tell(
                    &owner,
                    GuildCommand::Presence {
                        guild: g.get(),
                        user: self.user.id.get(),
                        presence: presence.clone(),
                    },
                );
            }
        }
    }

    /// Cluster mode: the owner of a guild run by another node, and the way to reach it.
    fn remote_owner(&self, guild: GuildId) -> Option<(String, &crate::actors::remote::Remote)> {
        let owner = self.app.services.remote_owner(Owned::Guild(guild.get()))?;
        Some((owner, self.app.services.remote.get()?))
    }

    /// Op 4: the guild records the voice state (no media server exists).
    fn voice(&self, v: super::payload::VoiceStateUpdate) {
        let Some(guild) = v.guild_id else { return };
        let state =
            json!({"channel_id": v.channel_id, "self_mute": v.self_mute, "self_deaf": v.self_deaf});
        self.send_voice(guild, state);
    }

    /// Hands a voice state to the guild's actor, here or on its owner node.
    fn send_voice(&self, guild: GuildId, state: Value) {
        if self.app.services.registry.running_guild(guild).is_none()
            && let Some((owner, remote)) = self.remote_owner(guild)
        {
            remote.tell(
                &owner,
                GuildCommand::VoiceState {
                    guild: guild.get(),
                    user: self.user.id.get(),
                    session_id: self.id.clone(),
                    state,
                },
            );
            return;
        }
        if let Some(actor) = self.app.services.registry.running_guild(guild) {
            let _ = crate::actors::tell(
                &actor,
                GuildMsg::VoiceState {
                    user: self.user.id,
                    session_id: self.id.clone(),
                    state,
                },
            );
        }
    }

    fn end(self) {
        self.app.gateway.resumable.remove(&self.id);
        // Discord forgets a voice state when the session that joined ends.
        for g in &self.guilds {
            let mut ended = serde_json::Map::new();
            ended.insert(
                crate::actors::guild::SESSION_ENDED.into(),
                Value::Bool(true),
            );
            self.send_voice(*g, Value::Object(ended));
        }
        self.app
            .services
            .sessions
            .remove(self.user.id, self.handle.key);
        for g in &self.guilds {
            if let Some(actor) = self.app.services.registry.running_guild(*g) {
                let _ = crate::actors::tell(&actor, GuildMsg::Unsubscribe(self.handle.key));
            } else if let Some((owner, remote)) = self.remote_owner(*g) {
                remote.unsubscribe(&owner, *g, self.handle.key);
            }
        }
        tracing::debug!("session ended");
    }
}

/// Subscribes `handle` to `guild` on its owner `owner` (cluster mode); its GUILD_CREATE, or
/// `None` when the owner refused or did not answer (the guild then stays unavailable in READY,
/// as on Discord during an outage).
async fn subscribe_remote(
    app: &App,
    owner: &str,
    guild: GuildId,
    handle: &SessionHandle,
) -> Option<serde_json::Value> {
    let remote = app.services.remote.get()?;
    match remote
        .subscribe(owner, guild, handle, app.services.call_timeout())
        .await
    {
        Ok(CommandReply::Subscribed {
            guild_create,
            incarnation,
        }) => {
            let subscriptions = &app.services.sessions.subscriptions;
            subscriptions.record(guild, handle.user_id, handle.key, incarnation);
            // Ended while the reply travelled: leave nothing behind.
            if app
                .services
                .sessions
                .get(handle.user_id, handle.key)
                .is_none()
            {
                subscriptions.forget(guild, handle.key);
            }
            Some(guild_create)
        }
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(error = %e, %guild, owner, "remote guild subscribe failed");
            None
        }
    }
}
