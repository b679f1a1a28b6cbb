// Acceptance test: discord.js v14, unmodified, against an Accord server.
//
//   node bot.mjs <server-url> <scenario.json>
//   (or ACCORD_URL / ACCORD_SCENARIO in the environment; ACCORD_SCENARIO may be the JSON itself)
//
// The scenario is prepared by the caller (tests/clients.rs) over REST:
//   { user_token, user_id, guild_id, channel_id, bot_token, bot_id, application_id,
//     invite_code, joiner_token, joiner_id }
// The bot logs in with discord.js; the "user" side (posting, joining) is plain REST with the
// user tokens. Every scenario prints one `PASS discord.js: <name>` or `FAIL discord.js: <name>: why`
// line; any failure makes the exit code non-zero. Set ACCORD_DEBUG=1 for discord.js debug output.

import { readFileSync } from 'node:fs';
import {
  ApplicationCommandOptionType,
  ChannelType,
  Client,
  EmbedBuilder,
  Events,
  ForumLayoutType,
  GatewayIntentBits,
  MessageFlags,
  PermissionFlagsBits,
  SortOrderType,
} from 'discord.js';

const LIB = 'discord.js';
const STEP_TIMEOUT_MS = Number(process.env.ACCORD_STEP_TIMEOUT_MS ?? 20_000);

const base = (process.argv[2] ?? process.env.ACCORD_URL ?? '').replace(/\/+$/, '');
const scenarioArg = process.argv[3] ?? process.env.ACCORD_SCENARIO ?? '';
if (!base || !scenarioArg) {
  console.error('usage: node bot.mjs <server-url> <scenario.json | scenario JSON>');
  process.exit(2);
}
const sc = JSON.parse(scenarioArg.trim().startsWith('{') ? scenarioArg : readFileSync(scenarioArg, 'utf8'));

// --- the "user" side: plain REST, as a user client would do it
async function api(method, path, token, body) {
  const res = await fetch(`${base}/api/v10${path}`, {
    method,
    headers: { authorization: token, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  return { status: res.status, body: json };
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Resolves with the first `event` whose arguments satisfy `pred` (start waiting before acting). */
function waitFor(emitter, event, pred = () => true, ms = STEP_TIMEOUT_MS) {
  let listener;
  const p = new Promise((resolve) => {
    listener = (...args) => {
      let ok = false;
      try {
        ok = pred(...args);
      } catch {
        ok = false;
      }
      if (ok) resolve(args.length > 1 ? args : args[0]);
    };
    emitter.on(event, listener);
  });
  const waited = withTimeout(p, ms, `event ${event}`).finally(() => emitter.off(event, listener));
  // A step that fails before awaiting this must not turn its timeout into an unhandled rejection.
  waited.catch(() => {});
  return waited;
}

// --- scenario runner
const results = [];
const state = {};

async function step(name, needs, fn) {
  const missing = needs.filter((n) => !state[n]);
  if (missing.length) {
    results.push(false);
    console.log(`FAIL ${LIB}: ${name}: not run, needs ${missing.join(', ')}`);
    return;
  }
  const started = Date.now();
  try {
    await withTimeout(Promise.resolve().then(fn), STEP_TIMEOUT_MS * 2, name);
    state[name] = true;
    results.push(true);
    console.log(`PASS ${LIB}: ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    results.push(false);
    const why = (e?.stack ?? String(e)).split('\n').slice(0, 4).join(' | ');
    console.log(`FAIL ${LIB}: ${name}: ${why}`);
  }
}

const client = new Client({
  intents: [
    GatewayIntentBits.Guilds,
    GatewayIntentBits.GuildMessages,
    GatewayIntentBits.MessageContent,
    GatewayIntentBits.GuildMembers,
  ],
  // Only the REST base is overridden: the gateway URL comes from GET /gateway/bot, and
  // resume_gateway_url from READY, exactly as against Discord.
  rest: { api: `${base}/api` },
});
if (process.env.ACCORD_DEBUG) {
  client.on(Events.Debug, (m) => console.error(`[debug] ${m}`));
  client.rest.on('response', (req, res) => console.error(`[rest] ${req.method} ${req.path} -> ${res.status}`));
}

// What the library complains about while it runs (a field it could not parse, an event handler
// that threw, a warning) fails the last scenario: such trouble often never reaches a step.
const complaints = [];
const complain = (kind) => (e) => {
  const text = `${kind}: ${(e?.stack ?? String(e)).split('\n').slice(0, 3).join(' | ')}`;
  complaints.push(text);
  console.error(`[${text}]`);
};
client.on(Events.Error, complain('client error'));
client.on(Events.Warn, complain('client warning'));
client.on(Events.ShardError, complain('shard error'));
process.on('unhandledRejection', complain('unhandled rejection'));
process.on('warning', complain('process warning'));

let guild;
let userMessage;
let botReply;

await step('ready', [], async () => {
  const ready = waitFor(client, Events.ClientReady);
  await client.login(sc.bot_token);
  await ready;
  assert(client.user.id === sc.bot_id, `client.user.id ${client.user.id} != bot ${sc.bot_id}`);
  assert(client.user.bot, 'client.user.bot is false');
  assert(client.application?.id === sc.application_id, `application id ${client.application?.id}`);
});

await step('guild cache', ['ready'], async () => {
  guild = client.guilds.cache.get(sc.guild_id);
  assert(guild, `guild ${sc.guild_id} not in cache (have ${[...client.guilds.cache.keys()]})`);
  assert(guild.available, 'guild unavailable');
  const channel = guild.channels.cache.get(sc.channel_id);
  assert(channel, `channel ${sc.channel_id} not in guild cache`);
  assert(channel.isTextBased(), 'channel is not text based');
  assert(guild.roles.everyone?.id === sc.guild_id, '@everyone role missing');
  assert(guild.ownerId === sc.user_id, `ownerId ${guild.ownerId} != ${sc.user_id}`);
  assert(guild.members.me?.id === sc.bot_id, 'guild.members.me missing');
  const perms = channel.permissionsFor(client.user);
  assert(perms?.has(PermissionFlagsBits.SendMessages), 'bot cannot send messages in the channel');
});

await step('messageCreate', ['guild cache'], async () => {
  const content = `hello bot ${Date.now()}`;
  const seen = waitFor(client, Events.MessageCreate, (m) => m.channelId === sc.channel_id && m.author.id === sc.user_id);
  const posted = await api('POST', `/channels/${sc.channel_id}/messages`, sc.user_token, { content });
  assert(posted.status === 200, `user post: ${posted.status} ${JSON.stringify(posted.body)}`);
  userMessage = await seen;
  assert(userMessage.id === posted.body.id, `event id ${userMessage.id} != ${posted.body.id}`);
  assert(userMessage.content === content, `content not visible: ${JSON.stringify(userMessage.content)}`);
  assert(userMessage.guildId === sc.guild_id, 'message has no guild id');
  assert(userMessage.member?.id === sc.user_id, 'message has no member');
});

await step('reply', ['messageCreate'], async () => {
  const echo = waitFor(client, Events.MessageCreate, (m) => m.author.id === sc.bot_id);
  botReply = await userMessage.reply('pong');
  assert(botReply.content === 'pong', `reply content ${botReply.content}`);
  assert(botReply.reference?.messageId === userMessage.id, 'reply has no reference');
  const fromRest = await api('GET', `/channels/${sc.channel_id}/messages/${botReply.id}`, sc.user_token);
  assert(fromRest.status === 200, `GET reply: ${fromRest.status}`);
  const ref = fromRest.body.message_reference;
  assert(ref?.message_id === userMessage.id, `message_reference over REST: ${JSON.stringify(ref)}`);
  assert(fromRest.body.type === 19, `reply type ${fromRest.body.type}, expected 19`);
  const own = await echo;
  assert(own.id === botReply.id, 'the bot did not see its own reply');
});

await step('react', ['messageCreate'], async () => {
  const reaction = await userMessage.react('👍');
  assert(reaction.me, 'reaction.me is false');
  const users = await api(
    'GET',
    `/channels/${sc.channel_id}/messages/${userMessage.id}/reactions/${encodeURIComponent('👍')}`,
    sc.user_token,
  );
  assert(users.status === 200, `GET reactions: ${users.status} ${JSON.stringify(users.body)}`);
  assert(users.body.some((u) => u.id === sc.bot_id), `bot not among reactors: ${JSON.stringify(users.body)}`);
});

await step('edit and delete', ['reply'], async () => {
  const edited = await botReply.edit('pong (edited)');
  assert(edited.content === 'pong (edited)', `edited content ${edited.content}`);
  assert(edited.editedTimestamp, 'no edited_timestamp');
  const deleted = waitFor(client, Events.MessageDelete, (m) => m.id === botReply.id);
  await edited.delete();
  await deleted;
  const gone = await api('GET', `/channels/${sc.channel_id}/messages/${botReply.id}`, sc.user_token);
  assert(gone.status === 404 && gone.body?.code === 10008, `deleted message: ${gone.status} ${JSON.stringify(gone.body)}`);
});

await step('role create and assign', ['guild cache'], async () => {
  const role = await guild.roles.create({
    name: 'accord-tester',
    colors: { primaryColor: 0x3498db },
    hoist: true,
    mentionable: true,
    permissions: [PermissionFlagsBits.SendMessages, PermissionFlagsBits.AddReactions],
    reason: 'acceptance test',
  });
  assert(role.name === 'accord-tester', `role name ${role.name}`);
  assert(role.colors?.primaryColor === 0x3498db || role.color === 0x3498db, `role color ${role.color}`);
  assert(guild.roles.cache.has(role.id), 'role not cached');
  const member = await guild.members.fetch({ user: sc.user_id, force: true });
  const updated = waitFor(client, Events.GuildMemberUpdate, (_old, m) => m.id === sc.user_id && m.roles.cache.has(role.id));
  await member.roles.add(role, 'acceptance test');
  await updated;
  const fromRest = await api('GET', `/guilds/${sc.guild_id}/members/${sc.user_id}`, sc.user_token);
  assert(fromRest.status === 200, `GET member: ${fromRest.status}`);
  assert(fromRest.body.roles.includes(role.id), `member roles over REST: ${JSON.stringify(fromRest.body.roles)}`);
});

await step('fetch members', ['guild cache'], async () => {
  const members = await guild.members.fetch({ time: STEP_TIMEOUT_MS });
  assert(members.has(sc.user_id), 'owner missing from fetched members');
  assert(members.has(sc.bot_id), 'bot missing from fetched members');
  const one = await guild.members.fetch({ user: sc.user_id, force: true });
  assert(one.user.id === sc.user_id, 'REST member fetch returned the wrong user');
});

await step('guildMemberAdd', ['guild cache'], async () => {
  const added = waitFor(client, Events.GuildMemberAdd, (m) => m.id === sc.joiner_id);
  const joined = await api('POST', `/invites/${sc.invite_code}`, sc.joiner_token, {});
  assert(joined.status === 200, `join via invite: ${joined.status} ${JSON.stringify(joined.body)}`);
  const member = await added;
  assert(member.guild.id === sc.guild_id, 'member added to the wrong guild');
  assert(guild.members.cache.has(sc.joiner_id), 'new member not cached');
});

await step('resume after server close', ['guild cache'], async () => {
  // An unknown opcode makes the server close the socket with 4001, a resumable close: the
  // library must reconnect to resume_gateway_url and RESUME the same session.
  const resumed = waitFor(client, Events.ShardResume);
  const closed = waitFor(client.ws._ws, 'closed');
  await client.ws._ws.send(0, { op: 99, d: null });
  const close = await closed;
  assert(close?.code === 4001, `server closed with ${close?.code}, expected 4001`);
  await resumed;
  const content = `after resume ${Date.now()}`;
  const seen = waitFor(client, Events.MessageCreate, (m) => m.content === content);
  const posted = await api('POST', `/channels/${sc.channel_id}/messages`, sc.user_token, { content });
  assert(posted.status === 200, `user post: ${posted.status}`);
  await seen;
});

// --- beyond the acceptance list: what bots commonly do
let channel;

await step('embed and history', ['guild cache'], async () => {
  channel = guild.channels.cache.get(sc.channel_id);
  const embed = new EmbedBuilder().setTitle('Accord').setDescription('an embed').setColor(0x5865f2).addFields({ name: 'a', value: 'b' });
  const sent = await channel.send({ content: 'with embed', embeds: [embed] });
  assert(sent.embeds[0]?.title === 'Accord', `embed not echoed: ${JSON.stringify(sent.embeds)}`);
  const history = await channel.messages.fetch({ limit: 10, cache: false });
  assert(history.has(sent.id), 'sent message missing from history');
  assert(history.has(userMessage?.id ?? sent.id), 'user message missing from history');
  const one = await channel.messages.fetch({ message: sent.id, force: true });
  assert(one.embeds[0]?.description === 'an embed', 'embed lost over GET');
  const before = await channel.messages.fetch({ before: sent.id, limit: 2, cache: false });
  assert(!before.has(sent.id) && before.size > 0, 'before= paging');
});

await step('typing', ['guild cache'], async () => {
  await guild.channels.cache.get(sc.channel_id).sendTyping();
});

await step('pins', ['messageCreate'], async () => {
  await userMessage.pin();
  const { items } = await userMessage.channel.messages.fetchPins();
  assert(items.some((i) => i.message.id === userMessage.id), 'pinned message missing from fetchPins');
  assert(items.every((i) => Number.isFinite(i.pinnedTimestamp)), 'pinned_at missing');
  await userMessage.unpin();
  const after = await userMessage.channel.messages.fetchPins();
  assert(!after.items.some((i) => i.message.id === userMessage.id), 'unpinned message still listed');
});

await step('bulk delete', ['guild cache'], async () => {
  const ch = guild.channels.cache.get(sc.channel_id);
  const a = await ch.send('bulk 1');
  const b = await ch.send('bulk 2');
  const gone = waitFor(client, Events.MessageBulkDelete, (msgs) => msgs.has(a.id) && msgs.has(b.id));
  const deleted = await ch.bulkDelete([a.id, b.id]);
  assert(deleted.size === 2, `bulkDelete deleted ${deleted.size}`);
  await gone;
});

await step('direct message', ['guild cache'], async () => {
  const user = await client.users.fetch(sc.user_id, { force: true });
  assert(user.username, 'user has no username');
  const dm = await user.send('hello in private');
  assert(dm.channel.type === ChannelType.DM, `DM channel type ${dm.channel.type}`);
  const channels = await api('GET', '/users/@me/channels', sc.user_token);
  assert(channels.status === 200, `GET DMs: ${channels.status}`);
  const mine = channels.body.find((c) => c.id === dm.channelId);
  assert(mine?.recipients?.some((r) => r.id === sc.bot_id), `user does not see the DM: ${JSON.stringify(channels.body)}`);
});

await step('channel create and delete', ['guild cache'], async () => {
  const created = waitFor(client, Events.ChannelCreate, (c) => c.name === 'bot-made');
  const ch = await guild.channels.create({ name: 'bot-made', type: ChannelType.GuildText, topic: 'made by a bot' });
  await created;
  assert(ch.topic === 'made by a bot', `topic ${ch.topic}`);
  const edited = await ch.edit({ name: 'bot-renamed' });
  assert(edited.name === 'bot-renamed', `rename: ${edited.name}`);
  const deleted = waitFor(client, Events.ChannelDelete, (c) => c.id === ch.id);
  await ch.delete();
  await deleted;
});

await step('nickname and fetches', ['guild cache'], async () => {
  const me = await guild.members.me.setNickname('Botty');
  assert(me.nickname === 'Botty', `nickname ${me.nickname}`);
  const fetched = await client.guilds.fetch({ guild: sc.guild_id, force: true });
  assert(fetched.id === sc.guild_id, 'guild fetch');
  const roles = await guild.roles.fetch(undefined, { force: true });
  assert(roles.has(sc.guild_id), 'roles fetch lacks @everyone');
  const channels = await guild.channels.fetch(undefined, { force: true });
  assert(channels.has(sc.channel_id), 'channels fetch');
  const app = await client.application.fetch();
  assert(app.id === sc.application_id, 'application fetch');
});

await step('slash commands', ['guild cache'], async () => {
  // Registration the way bots do it: bulk overwrite of the global commands, one guild command.
  const global = await client.application.commands.set([{ name: 'hello', description: 'Says hello' }]);
  assert(global.size === 1 && global.first().name === 'hello', `global commands: ${[...global.values()].map((c) => c.name)}`);
  const cmd = await client.application.commands.create(
    {
      name: 'echo',
      description: 'Says it back',
      options: [{ type: ApplicationCommandOptionType.String, name: 'text', description: 'What to say', required: true }],
    },
    sc.guild_id,
  );
  const fetched = await client.application.commands.fetch({ guildId: sc.guild_id });
  assert(fetched.has(cmd.id), 'guild command missing from fetch');

  // The bot answers like a typical command handler: defer, edit the reply, follow up
  // ephemerally.
  const handled = new Promise((resolve, reject) => {
    const onInteraction = async (interaction) => {
      if (!interaction.isChatInputCommand() || interaction.commandName !== 'echo') return;
      client.off(Events.InteractionCreate, onInteraction);
      try {
        assert(interaction.guildId === sc.guild_id, `interaction guild ${interaction.guildId}`);
        assert(interaction.user.id === sc.user_id, `interaction user ${interaction.user.id}`);
        assert(interaction.memberPermissions?.has(PermissionFlagsBits.UseApplicationCommands), 'member permissions');
        const text = interaction.options.getString('text', true);
        await interaction.deferReply();
        const edited = await interaction.editReply(`you said: ${text}`);
        assert(edited.content === `you said: ${text}`, `editReply content ${edited.content}`);
        const follow = await interaction.followUp({ content: 'just for you', flags: MessageFlags.Ephemeral });
        assert(follow.flags.has(MessageFlags.Ephemeral), 'follow-up not ephemeral');
        const original = await interaction.fetchReply();
        resolve(original);
      } catch (e) {
        reject(e);
      }
    };
    client.on(Events.InteractionCreate, onInteraction);
  });
  const invoked = await api('POST', '/interactions', sc.user_token, {
    type: 2,
    application_id: sc.application_id,
    guild_id: sc.guild_id,
    channel_id: sc.channel_id,
    session_id: 'acceptance',
    nonce: String(Date.now()),
    data: { id: cmd.id, name: 'echo', type: 1, version: cmd.version, options: [{ type: 3, name: 'text', value: 'hi' }] },
  });
  assert(invoked.status === 204, `POST /interactions: ${invoked.status} ${JSON.stringify(invoked.body)}`);
  const original = await withTimeout(handled, STEP_TIMEOUT_MS, 'the command handler');
  const fromRest = await api('GET', `/channels/${sc.channel_id}/messages/${original.id}`, sc.user_token);
  assert(fromRest.status === 200, `GET response: ${fromRest.status}`);
  assert(fromRest.body.content === 'you said: hi', `response content over REST: ${fromRest.body.content}`);
  assert(fromRest.body.interaction_metadata?.user?.id === sc.user_id, 'response lacks interaction_metadata');
  await client.application.commands.delete(cmd.id, sc.guild_id);
});

await step('threads', ['messageCreate'], async () => {
  // A thread from a message, as bots start one: posts in it both ways, members, archive,
  // the archived and active lists, and deletion by the guild's owner.
  const channel = guild.channels.cache.get(sc.channel_id);
  const starter = await channel.send('a thread starts here');
  const created = waitFor(client, Events.ThreadCreate, (t) => t.id === starter.id);
  const thread = await starter.startThread({ name: 'bot thread', autoArchiveDuration: 60 });
  await created;
  assert(thread.isThread(), 'startThread did not give a thread');
  assert(thread.id === starter.id, `thread id ${thread.id} != starter ${starter.id}`);
  assert(thread.parentId === sc.channel_id, `parentId ${thread.parentId}`);
  assert(thread.ownerId === sc.bot_id, `ownerId ${thread.ownerId}`);
  assert(thread.autoArchiveDuration === 60, `autoArchiveDuration ${thread.autoArchiveDuration}`);
  const seen = waitFor(client, Events.MessageCreate, (m) => m.channelId === thread.id && m.author.id === sc.user_id);
  const posted = await api('POST', `/channels/${thread.id}/messages`, sc.user_token, { content: 'in the thread' });
  assert(posted.status === 200, `user post in thread: ${posted.status} ${JSON.stringify(posted.body)}`);
  const userPost = await seen;
  assert(userPost.channel?.isThread(), 'the message is not in a thread channel');
  const own = await thread.send('the bot answers in the thread');
  assert(own.channelId === thread.id, `bot message channel ${own.channelId}`);
  const starterRest = await api('GET', `/channels/${sc.channel_id}/messages/${starter.id}`, sc.user_token);
  assert(starterRest.body?.thread?.id === thread.id, `starter's thread over REST: ${JSON.stringify(starterRest.body?.thread)}`);

  await thread.members.add(sc.user_id);
  const members = await thread.members.fetch({ cache: false });
  assert(members.has(sc.user_id) && members.has(sc.bot_id), `thread members: ${[...members.keys()]}`);

  const active = await guild.channels.fetchActiveThreads();
  assert(active.threads.has(thread.id), 'the thread is not among the active ones');
  const archivedEvent = waitFor(client, Events.ThreadUpdate, (_old, t) => t.id === thread.id && t.archived);
  await thread.setArchived(true);
  await archivedEvent;
  const archived = await channel.threads.fetchArchived({ type: 'public' });
  assert(archived.threads.has(thread.id), `archived list: ${[...archived.threads.keys()]}`);

  const deleted = waitFor(client, Events.ThreadDelete, (t) => t.id === thread.id);
  const gone = await api('DELETE', `/channels/${thread.id}`, sc.user_token);
  assert(gone.status === 200, `owner deletes the thread: ${gone.status} ${JSON.stringify(gone.body)}`);
  await deleted;
});

await step('forum', ['guild cache'], async () => {
  // A forum as a bot builds one: tags, a default reaction, sort order and layout; a post with
  // a tag and its starter message; tags changed on the post and on the forum; then gone.
  const made = waitFor(client, Events.ChannelCreate, (c) => c.name === 'bot-forum');
  const forum = await guild.channels.create({
    name: 'bot-forum',
    type: ChannelType.GuildForum,
    topic: 'guidelines for posts',
    availableTags: [{ name: 'question' }, { name: 'answered', moderated: true, emoji: { name: '✅' } }],
    defaultReactionEmoji: { name: '👍' },
    defaultSortOrder: SortOrderType.LatestActivity,
    defaultForumLayout: ForumLayoutType.ListView,
  });
  await made;
  assert(forum.type === ChannelType.GuildForum, `type ${forum.type}`);
  assert(forum.availableTags.length === 2, `tags ${JSON.stringify(forum.availableTags)}`);
  const question = forum.availableTags.find((t) => t.name === 'question');
  const answered = forum.availableTags.find((t) => t.name === 'answered');
  assert(question?.id && answered?.moderated === true && answered.emoji?.name === '✅', `tags ${JSON.stringify(forum.availableTags)}`);
  assert(forum.defaultReactionEmoji?.name === '👍', `default reaction ${JSON.stringify(forum.defaultReactionEmoji)}`);
  assert(forum.defaultSortOrder === SortOrderType.LatestActivity, `sort ${forum.defaultSortOrder}`);
  assert(forum.defaultForumLayout === ForumLayoutType.ListView, `layout ${forum.defaultForumLayout}`);

  const opened = waitFor(client, Events.ThreadCreate, (t) => t.parentId === forum.id);
  const post = await forum.threads.create({
    name: 'how do forums work?',
    message: { content: 'the first words of the post' },
    appliedTags: [question.id],
  });
  await opened;
  assert(post.parentId === forum.id, `parentId ${post.parentId}`);
  assert(post.type === ChannelType.PublicThread, `post type ${post.type}`);
  assert(post.appliedTags.length === 1 && post.appliedTags[0] === question.id, `applied ${post.appliedTags}`);
  const starter = await post.fetchStarterMessage();
  assert(starter.content === 'the first words of the post', `starter ${starter.content}`);
  assert(starter.id === post.id, `starter id ${starter.id} != post ${post.id}`);
  const reply = await post.send('an answer in the post');
  assert(reply.channelId === post.id, `reply channel ${reply.channelId}`);

  // A moderated tag takes MANAGE_THREADS, which the bot was not given: refused as on Discord.
  const refused = await post.setAppliedTags([answered.id]).then(() => null, (e) => e);
  assert(refused?.code === 50013, `moderated tag without MANAGE_THREADS: ${refused}`);
  // The owner may; the bot sees the change.
  const retagged = waitFor(client, Events.ThreadUpdate, (_old, t) => t.id === post.id && t.appliedTags[0] === answered.id);
  const patched = await api('PATCH', `/channels/${post.id}`, sc.user_token, { applied_tags: [answered.id] });
  assert(patched.status === 200 && patched.body.applied_tags?.[0] === answered.id, `owner retags: ${patched.status} ${JSON.stringify(patched.body)}`);
  await retagged;
  // Keeping a moderated tag while adding another is no moderation; removing it is.
  const both = await post.setAppliedTags([question.id, answered.id]);
  assert(both.appliedTags.length === 2, `keep the moderated tag, add one: ${both.appliedTags}`);
  const removed = await post.setAppliedTags([question.id]).then(() => null, (e) => e);
  assert(removed?.code === 50013, `removing a moderated tag without MANAGE_THREADS: ${removed}`);
  const fewer = await forum.setAvailableTags([{ id: answered.id, name: 'answered', moderated: true }]);
  assert(fewer.availableTags.length === 1 && fewer.availableTags[0].id === answered.id, `forum tags ${JSON.stringify(fewer.availableTags)}`);
  const active = await forum.threads.fetchActive();
  assert(active.threads.has(post.id), `active posts: ${[...active.threads.keys()]}`);

  const deleted = waitFor(client, Events.ChannelDelete, (c) => c.id === forum.id);
  await forum.delete();
  await deleted;
});

await step('no library errors or warnings', ['ready'], async () => {
  assert(complaints.length === 0, complaints.join(' || '));
});

await client.destroy();
const passed = results.filter(Boolean).length;
const failed = results.length - passed;
console.log(`${LIB}: ${passed} of ${results.length} scenarios passed${failed ? `, ${failed} failed` : ''}`);
process.exit(failed ? 1 : 0);
