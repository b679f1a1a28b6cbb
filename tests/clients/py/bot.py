"""Acceptance test: discord.py 2.x, unmodified, against an Accord server.

    .venv/bin/python bot.py <server-url> <scenario.json>
    (or ACCORD_URL / ACCORD_SCENARIO in the environment; ACCORD_SCENARIO may be the JSON itself)

The scenario is prepared by the caller (tests/clients.rs) over REST:
    { user_token, user_id, guild_id, channel_id, bot_token, bot_id, application_id,
      invite_code, joiner_token, joiner_id }
The bot logs in with discord.py; the "user" side (posting, joining) is plain REST with the user
tokens. Every scenario prints one `PASS discord.py: <name>` or `FAIL discord.py: <name>: why`
line; any failure makes the exit code non-zero. ACCORD_DEBUG=1 turns on discord.py's logging.

Pointing discord.py at Accord takes what the library itself supports: `Route.BASE` (the REST
base) and `DiscordWebSocket.DEFAULT_GATEWAY` (discord.py has no "use GET /gateway/bot" mode for
an unsharded client), set from the library's own `HTTPClient.get_bot_gateway()` call.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
import os
import sys
import time
import traceback
from urllib.parse import quote

import aiohttp
import discord
import discord.gateway
import discord.http
import yarl

LIB = "discord.py"
STEP_TIMEOUT = float(os.environ.get("ACCORD_STEP_TIMEOUT_MS", "20000")) / 1000.0


def load_args() -> tuple[str, dict]:
    base = (sys.argv[1] if len(sys.argv) > 1 else os.environ.get("ACCORD_URL", "")).rstrip("/")
    arg = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("ACCORD_SCENARIO", "")
    if not base or not arg:
        print("usage: bot.py <server-url> <scenario.json | scenario JSON>", file=sys.stderr)
        sys.exit(2)
    if arg.strip().startswith("{"):
        return base, json.loads(arg)
    with open(arg, encoding="utf-8") as f:
        return base, json.load(f)


BASE, SC = load_args()
discord.http.Route.BASE = f"{BASE}/api/v10"


# What discord.py logs at WARNING or above while it runs (an event it could not parse, a handler
# that raised, a protocol oddity) fails the last scenario. Voice needs optional packages the tests
# don't install; those notices are expected.
LIBRARY_COMPLAINTS: list[str] = []


class ComplaintHandler(logging.Handler):
    EXPECTED = ("PyNaCl is not installed", "davey is not installed")

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if any(e in text for e in self.EXPECTED):
            return
        if record.exc_info and record.exc_info[1] is not None:
            text += f" ({record.exc_info[1]!r})"
        LIBRARY_COMPLAINTS.append(f"{record.levelname} {record.name}: {text}")
        print(f"[{record.levelname} {record.name}: {text}]", file=sys.stderr, flush=True)


class Failed(Exception):
    pass


def check(cond: object, msg: str) -> None:
    if not cond:
        raise Failed(msg)


class Runner:
    def __init__(self) -> None:
        self.results: list[bool] = []
        self.done: set[str] = set()

    async def step(self, name: str, needs: list[str], fn) -> None:
        missing = [n for n in needs if n not in self.done]
        if missing:
            self.results.append(False)
            print(f"FAIL {LIB}: {name}: not run, needs {', '.join(missing)}", flush=True)
            return
        started = time.monotonic()
        try:
            await asyncio.wait_for(fn(), STEP_TIMEOUT * 2)
        except Exception as e:  # noqa: BLE001 - every failure is reported, none is fatal
            self.results.append(False)
            if isinstance(e, (Failed, asyncio.TimeoutError)):
                why = str(e) or type(e).__name__
            else:
                why = " | ".join(traceback.format_exception(e)[-3:]).replace("\n", " ")
            print(f"FAIL {LIB}: {name}: {why}", flush=True)
            return
        self.done.add(name)
        self.results.append(True)
        print(f"PASS {LIB}: {name} ({int((time.monotonic() - started) * 1000)} ms)", flush=True)


class User:
    """The human side, over plain REST."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def api(self, method: str, path: str, token: str, body: object = None) -> tuple[int, object]:
        async with self.session.request(
            method,
            f"{BASE}/api/v10{path}",
            headers={"authorization": token},
            json=body,
        ) as r:
            text = await r.text()
            try:
                return r.status, json.loads(text) if text else None
            except ValueError:
                return r.status, text


class Bot(discord.Client):
    async def setup_hook(self) -> None:
        # The library's own GET /gateway/bot, then its documented knob for where to connect.
        _shards, url, _limits = await self.http.get_bot_gateway()
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)


async def scenario(client: Bot, runner: Runner, user: User) -> None:
    ctx: dict = {}

    async def guild_cache() -> None:
        guild = client.get_guild(int(SC["guild_id"]))
        check(guild is not None, f"guild {SC['guild_id']} not in cache ({[g.id for g in client.guilds]})")
        check(not guild.unavailable, "guild unavailable")
        channel = guild.get_channel(int(SC["channel_id"]))
        check(isinstance(channel, discord.TextChannel), f"channel {SC['channel_id']} not a cached text channel")
        check(guild.default_role.id == guild.id, "@everyone role missing")
        check(guild.owner_id == int(SC["user_id"]), f"owner_id {guild.owner_id}")
        check(guild.me is not None and guild.me.id == int(SC["bot_id"]), "guild.me missing")
        check(channel.permissions_for(guild.me).send_messages, "bot cannot send messages")
        ctx["guild"], ctx["channel"] = guild, channel

    async def on_message() -> None:
        content = f"hello bot {time.time()}"
        waiter = asyncio.ensure_future(
            client.wait_for(
                "message",
                check=lambda m: m.channel.id == int(SC["channel_id"]) and m.author.id == int(SC["user_id"]),
                timeout=STEP_TIMEOUT,
            )
        )
        await asyncio.sleep(0)
        status, body = await user.api("POST", f"/channels/{SC['channel_id']}/messages", SC["user_token"], {"content": content})
        check(status == 200, f"user post: {status} {body}")
        msg = await waiter
        check(str(msg.id) == body["id"], f"event id {msg.id} != {body['id']}")
        check(msg.content == content, f"content not visible: {msg.content!r}")
        check(isinstance(msg.author, discord.Member), "author is not a Member")
        ctx["message"] = msg

    async def reply() -> None:
        msg: discord.Message = ctx["message"]
        sent = await msg.reply("pong", mention_author=False)
        check(sent.content == "pong", f"reply content {sent.content!r}")
        check(sent.reference is not None and sent.reference.message_id == msg.id, "reply has no reference")
        status, body = await user.api("GET", f"/channels/{SC['channel_id']}/messages/{sent.id}", SC["user_token"])
        check(status == 200, f"GET reply: {status}")
        ref = body.get("message_reference") or {}
        check(ref.get("message_id") == str(msg.id), f"message_reference over REST: {ref}")
        ctx["reply"] = sent

    async def reaction() -> None:
        msg: discord.Message = ctx["message"]
        await msg.add_reaction("👍")
        status, body = await user.api(
            "GET",
            f"/channels/{SC['channel_id']}/messages/{msg.id}/reactions/{quote('👍')}",
            SC["user_token"],
        )
        check(status == 200, f"GET reactions: {status} {body}")
        check(any(u["id"] == SC["bot_id"] for u in body), f"bot not among reactors: {body}")

    async def edit_delete() -> None:
        sent: discord.Message = ctx["reply"]
        edited = await sent.edit(content="pong (edited)")
        check(edited.content == "pong (edited)", f"edited content {edited.content!r}")
        check(edited.edited_at is not None, "no edited_timestamp")
        await edited.delete()
        status, body = await user.api("GET", f"/channels/{SC['channel_id']}/messages/{sent.id}", SC["user_token"])
        check(status == 404 and body.get("code") == 10008, f"deleted message: {status} {body}")

    async def role() -> None:
        guild: discord.Guild = ctx["guild"]
        role = await guild.create_role(
            name="accord-py-tester",
            colour=discord.Colour(0x2ECC71),
            hoist=True,
            mentionable=True,
            permissions=discord.Permissions(send_messages=True, add_reactions=True),
            reason="acceptance test",
        )
        check(role.name == "accord-py-tester", f"role name {role.name}")
        check(role.colour.value == 0x2ECC71, f"role colour {role.colour.value:#x}")
        member = await guild.fetch_member(int(SC["user_id"]))
        await member.add_roles(role, reason="acceptance test")
        status, body = await user.api("GET", f"/guilds/{SC['guild_id']}/members/{SC['user_id']}", SC["user_token"])
        check(status == 200, f"GET member: {status}")
        check(str(role.id) in body["roles"], f"member roles over REST: {body['roles']}")

    async def members() -> None:
        guild: discord.Guild = ctx["guild"]
        chunked = await guild.chunk()
        ids = {m.id for m in chunked}
        check(int(SC["user_id"]) in ids and int(SC["bot_id"]) in ids, f"gateway chunk: {ids}")
        fetched = [m.id async for m in guild.fetch_members(limit=None)]
        check(int(SC["user_id"]) in fetched and int(SC["bot_id"]) in fetched, f"REST member list: {fetched}")

    async def member_join() -> None:
        waiter = asyncio.ensure_future(
            client.wait_for("member_join", check=lambda m: m.id == int(SC["joiner_id"]), timeout=STEP_TIMEOUT)
        )
        await asyncio.sleep(0)
        status, body = await user.api("POST", f"/invites/{SC['invite_code']}", SC["joiner_token"], {})
        check(status == 200, f"join via invite: {status} {body}")
        member = await waiter
        check(member.guild.id == int(SC["guild_id"]), "member added to the wrong guild")

    async def resume() -> None:
        # An unknown opcode makes the server close with 4001 (resumable): discord.py reconnects to
        # resume_gateway_url and RESUMEs.
        resumed = asyncio.ensure_future(client.wait_for("resumed", timeout=STEP_TIMEOUT))
        await asyncio.sleep(0)
        await client.ws.send_as_json({"op": 99, "d": None})
        await resumed
        content = f"after resume {time.time()}"
        waiter = asyncio.ensure_future(
            client.wait_for("message", check=lambda m: m.content == content, timeout=STEP_TIMEOUT)
        )
        await asyncio.sleep(0)
        status, _ = await user.api("POST", f"/channels/{SC['channel_id']}/messages", SC["user_token"], {"content": content})
        check(status == 200, f"user post: {status}")
        await waiter

    # --- beyond the acceptance list: what bots commonly do
    async def embed_history() -> None:
        channel: discord.TextChannel = ctx["channel"]
        embed = discord.Embed(title="Accord", description="an embed", colour=0x5865F2).add_field(name="a", value="b")
        sent = await channel.send("with embed", embed=embed)
        check(sent.embeds and sent.embeds[0].title == "Accord", f"embed not echoed: {sent.embeds}")
        history = [m.id async for m in channel.history(limit=10)]
        check(sent.id in history, "sent message missing from history")
        check(ctx["message"].id in history, "user message missing from history")
        older = [m.id async for m in channel.history(limit=2, before=sent)]
        check(older and sent.id not in older, f"before= paging: {older}")
        one = await channel.fetch_message(sent.id)
        check(one.embeds[0].description == "an embed", "embed lost over GET")

    async def typing() -> None:
        async with ctx["channel"].typing():
            pass

    async def pins() -> None:
        msg: discord.Message = ctx["message"]
        await msg.pin()
        pinned = [m.id async for m in msg.channel.pins()]
        check(msg.id in pinned, f"pinned message missing: {pinned}")
        await msg.unpin()
        pinned = [m.id async for m in msg.channel.pins()]
        check(msg.id not in pinned, "unpinned message still listed")

    async def poll() -> None:
        channel: discord.TextChannel = ctx["channel"]
        p = discord.Poll(question="Lunch?", duration=datetime.timedelta(hours=1))
        p.add_answer(text="pizza", emoji="\N{SLICE OF PIZZA}")
        p.add_answer(text="soup")
        msg = await channel.send(poll=p)
        check(msg.poll is not None, "sent message has no poll")
        check(msg.poll.question == "Lunch?", f"question {msg.poll.question!r}")
        check([a.text for a in msg.poll.answers] == ["pizza", "soup"], f"answers {msg.poll.answers!r}")
        waiter = asyncio.ensure_future(
            client.wait_for(
                "raw_poll_vote_add",
                check=lambda e: e.message_id == msg.id,
                timeout=STEP_TIMEOUT,
            )
        )
        await asyncio.sleep(0)
        path = f"/channels/{channel.id}/polls/{msg.id}/answers/@me"
        status, body = await user.api("PUT", path, SC["user_token"], {"answer_ids": [1]})
        check(status == 204, f"vote: {status} {body}")
        vote = await waiter
        check(vote.user_id == int(SC["user_id"]) and vote.answer_id == 1, f"vote event {vote!r}")
        voters = [u.id async for u in msg.poll.answers[0].voters()]
        check(voters == [int(SC["user_id"])], f"voters {voters}")
        ended = await msg.end_poll()
        check(ended.poll is not None and ended.poll.is_finalised(), "poll not final after end_poll")
        check(ended.poll.answers[0].vote_count == 1, f"final count {ended.poll.answers[0].vote_count}")

    async def bulk_delete() -> None:
        channel: discord.TextChannel = ctx["channel"]
        a = await channel.send("bulk 1")
        b = await channel.send("bulk 2")
        waiter = asyncio.ensure_future(
            client.wait_for(
                "raw_bulk_message_delete",
                check=lambda p: {a.id, b.id} <= set(p.message_ids),
                timeout=STEP_TIMEOUT,
            )
        )
        await asyncio.sleep(0)
        await channel.delete_messages([a, b])
        await waiter

    async def direct_message() -> None:
        u = await client.fetch_user(int(SC["user_id"]))
        dm = await u.send("hello in private")
        check(isinstance(dm.channel, discord.DMChannel), f"DM channel {dm.channel!r}")
        status, body = await user.api("GET", "/users/@me/channels", SC["user_token"])
        check(status == 200, f"GET DMs: {status}")
        mine = [c for c in body if c["id"] == str(dm.channel.id)]
        check(mine and any(r["id"] == SC["bot_id"] for r in mine[0]["recipients"]), f"user does not see the DM: {body}")

    async def channel_lifecycle() -> None:
        guild: discord.Guild = ctx["guild"]
        waiter = asyncio.ensure_future(
            client.wait_for("guild_channel_create", check=lambda c: c.name == "py-made", timeout=STEP_TIMEOUT)
        )
        await asyncio.sleep(0)
        ch = await guild.create_text_channel("py-made", topic="made by a bot")
        await waiter
        check(ch.topic == "made by a bot", f"topic {ch.topic}")
        edited = await ch.edit(name="py-renamed")
        check(edited is not None and edited.name == "py-renamed", f"rename: {edited}")
        await ch.delete()

    async def threads() -> None:
        # A thread from a message: posts in it both ways, a member, the active list, archive,
        # the archived list, and deletion by the guild's owner.
        channel: discord.TextChannel = ctx["channel"]
        guild: discord.Guild = ctx["guild"]
        starter = await channel.send("a thread starts here")
        created = asyncio.ensure_future(
            client.wait_for("thread_create", check=lambda t: t.id == starter.id, timeout=STEP_TIMEOUT)
        )
        await asyncio.sleep(0)
        thread = await starter.create_thread(name="py thread", auto_archive_duration=60)
        await created
        check(thread.id == starter.id, f"thread id {thread.id} != starter {starter.id}")
        check(thread.parent_id == channel.id, f"parent_id {thread.parent_id}")
        check(thread.owner_id == int(SC["bot_id"]), f"owner_id {thread.owner_id}")
        check(thread.auto_archive_duration == 60, f"auto_archive_duration {thread.auto_archive_duration}")
        waiter = asyncio.ensure_future(
            client.wait_for(
                "message",
                check=lambda m: m.channel.id == thread.id and m.author.id == int(SC["user_id"]),
                timeout=STEP_TIMEOUT,
            )
        )
        await asyncio.sleep(0)
        status, body = await user.api("POST", f"/channels/{thread.id}/messages", SC["user_token"], {"content": "in the thread"})
        check(status == 200, f"user post in thread: {status} {body}")
        msg = await waiter
        check(isinstance(msg.channel, discord.Thread), f"message channel {type(msg.channel).__name__}")
        own = await thread.send("the bot answers in the thread")
        check(own.channel.id == thread.id, f"bot message channel {own.channel.id}")
        await thread.add_user(discord.Object(id=int(SC["user_id"])))
        members = {m.id for m in await thread.fetch_members()}
        check({int(SC["user_id"]), int(SC["bot_id"])} <= members, f"thread members {members}")
        active = await guild.active_threads()
        check(any(t.id == thread.id for t in active), f"active threads {[t.id for t in active]}")
        updated = asyncio.ensure_future(
            client.wait_for("thread_update", check=lambda _b, a: a.id == thread.id and a.archived, timeout=STEP_TIMEOUT)
        )
        await asyncio.sleep(0)
        await thread.edit(archived=True)
        await updated
        archived = [t.id async for t in channel.archived_threads(limit=10)]
        check(thread.id in archived, f"archived threads {archived}")
        deleted = asyncio.ensure_future(
            client.wait_for("raw_thread_delete", check=lambda p: p.thread_id == thread.id, timeout=STEP_TIMEOUT)
        )
        await asyncio.sleep(0)
        status, body = await user.api("DELETE", f"/channels/{thread.id}", SC["user_token"])
        check(status == 200, f"owner deletes the thread: {status} {body}")
        await deleted

    async def nickname_fetches() -> None:
        guild: discord.Guild = ctx["guild"]
        me = await guild.me.edit(nick="Pybot")
        check(me is not None and me.nick == "Pybot", f"nickname {me and me.nick}")
        g = await client.fetch_guild(guild.id)
        check(g.id == guild.id, "guild fetch")
        roles = await guild.fetch_roles()
        check(any(r.id == guild.id for r in roles), "roles fetch lacks @everyone")
        channels = await guild.fetch_channels()
        check(any(c.id == int(SC["channel_id"]) for c in channels), "channels fetch")
        info = await client.application_info()
        check(info.id == int(SC["application_id"]), "application_info")

    async def quiet() -> None:
        check(not LIBRARY_COMPLAINTS, " || ".join(LIBRARY_COMPLAINTS))

    await runner.step("guild cache", ["ready"], guild_cache)
    await runner.step("on_message", ["guild cache"], on_message)
    await runner.step("reply", ["on_message"], reply)
    await runner.step("reaction", ["on_message"], reaction)
    await runner.step("edit and delete", ["reply"], edit_delete)
    await runner.step("role create and assign", ["guild cache"], role)
    await runner.step("fetch members", ["guild cache"], members)
    await runner.step("member_join", ["guild cache"], member_join)
    await runner.step("resume after server close", ["guild cache"], resume)
    await runner.step("embed and history", ["on_message"], embed_history)
    await runner.step("typing", ["guild cache"], typing)
    await runner.step("pins", ["on_message"], pins)
    await runner.step("poll: send, vote event, voters, end", ["guild cache"], poll)
    await runner.step("bulk delete", ["guild cache"], bulk_delete)
    await runner.step("direct message", ["guild cache"], direct_message)
    await runner.step("channel create and delete", ["guild cache"], channel_lifecycle)
    await runner.step("nickname and fetches", ["guild cache"], nickname_fetches)
    await runner.step("threads", ["guild cache"], threads)
    await runner.step("no library errors or warnings", ["ready"], quiet)


async def main() -> int:
    if os.environ.get("ACCORD_DEBUG"):
        discord.utils.setup_logging(level=logging.DEBUG)
    complaints = ComplaintHandler(level=logging.WARNING)
    logging.getLogger("discord").addHandler(complaints)
    runner = Runner()
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.message_content = True
    intents.members = True
    intents.polls = True
    client = Bot(intents=intents)
    ready = asyncio.Event()

    @client.event
    async def on_ready() -> None:
        ready.set()

    async with aiohttp.ClientSession() as session, client:
        user = User(session)
        runner_task = asyncio.ensure_future(client.start(SC["bot_token"]))

        async def wait_ready() -> None:
            waiter = asyncio.ensure_future(ready.wait())
            done, _ = await asyncio.wait({waiter, runner_task}, return_when=asyncio.FIRST_COMPLETED)
            if runner_task in done:
                waiter.cancel()
                runner_task.result()  # raises the login/connect error
                raise Failed("client stopped before READY")
            check(client.user is not None and client.user.id == int(SC["bot_id"]), f"client.user {client.user}")
            check(client.user.bot, "client.user.bot is false")
            check(client.application_id == int(SC["application_id"]), f"application_id {client.application_id}")

        await runner.step("ready", [], wait_ready)
        await scenario(client, runner, user)
        await client.close()
        try:
            await asyncio.wait_for(runner_task, 5)
        except Exception:  # noqa: BLE001 - already reported by the steps
            pass

    passed = sum(runner.results)
    failed = len(runner.results) - passed
    print(f"{LIB}: {passed} of {len(runner.results)} scenarios passed" + (f", {failed} failed" if failed else ""), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
