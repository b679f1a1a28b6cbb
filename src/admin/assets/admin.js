// The /admin dashboard's script: sign-in, then each page's data from /api/admin/*.
// Plain DOM, no framework, nothing loaded from elsewhere. Data is inserted with textContent
// (never innerHTML), so names and values from the server cannot inject markup.
"use strict";

(() => {
  const TOKEN_KEY = "accord.admin.token";
  const $ = (id) => document.getElementById(id);
  const page = document.body.dataset.page;

  // ---------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.message) || `HTTP ${status}`);
      this.status = status;
      this.body = body;
    }
  }

  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.Authorization = token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(`/api${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
    const text = await response.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = { message: text };
      }
    }
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  /// `errors` of a 50035 body flattened to {"a.b.c": "message; message"}.
  function fieldErrors(errors, prefix = "", out = {}) {
    if (!errors || typeof errors !== "object") return out;
    for (const [key, value] of Object.entries(errors)) {
      if (key === "_errors" && Array.isArray(value)) {
        out[prefix] = value.map((e) => e.message || e.code).join("; ");
      } else {
        fieldErrors(value, prefix ? `${prefix}.${key}` : key, out);
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- shell: sign-in, access

  function show(id) {
    for (const s of ["loading", "login", "denied", "content"]) $(s).hidden = s !== id;
  }

  function signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
    $("account").hidden = true;
    $("whoami").textContent = "";
    showLogin("");
  }

  function showLogin(message) {
    show("login");
    $("login-error").textContent = message || "";
    $("login-email").focus();
  }

  function denied(err) {
    show("denied");
    if (err && err.status === 403) {
      $("denied-text").textContent =
        "This account is not an instance administrator (HTTP 403). Nothing here is available to it.";
    }
    $("denied-title").focus?.();
  }

  /// Shows the page's content once an admin endpoint has answered.
  function reveal() {
    show("content");
    const h1 = document.querySelector("#content h1");
    if (h1 && document.activeElement === document.body) h1.focus();
  }

  /// Handles 401 (sign in again) and 403 (denied); anything else is the caller's.
  function accessProblem(err) {
    if (err instanceof ApiError && err.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      $("account").hidden = true;
      showLogin("Your session has ended. Please sign in again.");
      return true;
    }
    if (err instanceof ApiError && err.status === 403) {
      denied(err);
      return true;
    }
    return false;
  }

  async function whoami() {
    try {
      const me = await api("GET", "/users/@me");
      $("whoami").textContent = `Signed in as ${me.username}`;
      $("account").hidden = false;
    } catch {
      // The page's own request reports what matters.
    }
  }

  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const login = $("login-email").value.trim();
    const password = $("login-password").value;
    if (!login || !password) {
      $("login-error").textContent = "Enter your email (or username) and password.";
      return;
    }
    $("login-error").textContent = "";
    try {
      const r = await api("POST", "/auth/login", { login, password });
      sessionStorage.setItem(TOKEN_KEY, r.token);
      $("login-password").value = "";
      start();
    } catch (err) {
      const errors = err instanceof ApiError ? fieldErrors(err.body && err.body.errors) : {};
      $("login-error").textContent =
        errors.login || errors.password || (err.body && err.body.message) || "Sign-in failed.";
    }
  });

  for (const b of document.querySelectorAll('[data-action="signout"]')) {
    b.addEventListener("click", signOut);
  }

  // ---------------------------------------------------------------- confirm dialog

  /// Resolves to {reason} when confirmed, null when cancelled (Escape, Cancel).
  function confirmAction(title, text, okLabel) {
    const dialog = $("confirm");
    $("confirm-title").textContent = title;
    $("confirm-text").textContent = text;
    $("confirm-ok").textContent = okLabel;
    $("confirm-reason").value = "";
    return new Promise((resolve) => {
      dialog.addEventListener(
        "close",
        () => {
          resolve(dialog.returnValue === "confirm" ? { reason: $("confirm-reason").value.trim() } : null);
        },
        { once: true },
      );
      dialog.returnValue = "cancel";
      dialog.showModal();
      $("confirm-reason").focus();
    });
  }

  // ---------------------------------------------------------------- small DOM helpers

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    }
    for (const c of children) if (c != null) node.append(c);
    return node;
  }

  function definitionList(pairs) {
    const dl = el("dl", { class: "details" });
    for (const [term, value] of pairs) {
      dl.append(el("div", {}, el("dt", { text: term }), el("dd", { text: String(value) })));
    }
    return dl;
  }

  function valueText(v) {
    if (v === null || v === undefined) return "—";
    if (typeof v === "string") return v === "" ? '""' : v;
    return JSON.stringify(v);
  }

  function duration(secs) {
    const d = Math.floor(secs / 86400);
    const h = Math.floor((secs % 86400) / 3600);
    const m = Math.floor((secs % 3600) / 60);
    const s = secs % 60;
    return d ? `${d}d ${h}h ${m}m` : h ? `${h}h ${m}m ${s}s` : m ? `${m}m ${s}s` : `${s}s`;
  }

  const rate = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

  // ---------------------------------------------------------------- health

  let healthTimer = null;

  function drawChart(history) {
    const svg = $("chart");
    const ns = svg.namespaceURI;
    const W = 600;
    const H = 200;
    const points = history.slice(-100);
    const max = Math.max(1, ...points.map((p) => Math.max(p.messages_per_sec, p.events_per_sec)));
    const top = Math.pow(10, Math.ceil(Math.log10(max * 1.1)));
    const scale = max * 1.1 > top / 2 ? top : top / 2;
    const x = (i) => (points.length <= 1 ? W : (i / (points.length - 1)) * W);
    const y = (v) => H - (v / scale) * (H - 10);
    const line = (key) => points.map((p, i) => `${x(i).toFixed(1)},${y(p[key]).toFixed(1)}`).join(" ");
    $("chart-messages").setAttribute("points", line("messages_per_sec"));
    $("chart-events").setAttribute("points", line("events_per_sec"));
    const grid = $("chart-grid");
    grid.replaceChildren();
    for (const f of [0.25, 0.5, 0.75, 1]) {
      const l = document.createElementNS(ns, "line");
      l.setAttribute("x1", "0");
      l.setAttribute("x2", String(W));
      l.setAttribute("y1", String(y(scale * f)));
      l.setAttribute("y2", String(y(scale * f)));
      grid.append(l);
    }
    $("chart-max").textContent = String(scale);
    const last = points[points.length - 1];
    $("chart-summary").textContent = last
      ? `${points.length} samples. Latest: ${rate(last.messages_per_sec)} messages and ${rate(last.events_per_sec)} events per second.`
      : "No samples yet.";
  }

  async function loadHealth() {
    clearTimeout(healthTimer);
    try {
      const h = await api("GET", "/admin/health");
      reveal();
      $("health-error").textContent = "";
      $("h-sessions").textContent = `${h.sessions.online} (${h.sessions.resumable} resumable)`;
      $("h-mps").textContent = rate(h.rates.messages_per_sec);
      $("h-eps").textContent = rate(h.rates.events_per_sec);
      $("h-actors").textContent = `${h.actors.guild} guild · ${h.actors.channel} channel · ${h.actors.user} user · ${h.actors.session} session`;
      $("h-store").textContent = h.store.ok
        ? `${h.store.backend}, read in ${h.store.latency_ms.toFixed(2)} ms`
        : `${h.store.backend}: read FAILED`;
      $("h-uptime").textContent = duration(h.uptime_secs);
      $("h-version").textContent = h.version;
      $("h-totals").textContent =
        `${h.counters.messages_created} messages · ${h.counters.events_fanned_out} events · ` +
        `${h.counters.sessions_dropped_backpressure} slow sessions dropped`;
      $("health-updated").textContent = `Updated ${new Date().toLocaleTimeString()}.`;
      drawChart(h.history);
    } catch (err) {
      if (accessProblem(err)) return;
      reveal();
      $("health-error").textContent = `Could not load health figures: ${err.message}`;
    }
    healthTimer = setTimeout(() => {
      if (document.hidden) {
        document.addEventListener("visibilitychange", loadHealth, { once: true });
      } else {
        loadHealth();
      }
    }, 3000);
  }

  // ---------------------------------------------------------------- configuration

  let loadedConfig = null;

  function getPath(obj, path) {
    return path.split(".").reduce((o, k) => (o == null ? undefined : o[k]), obj);
  }

  function setPath(obj, path, value) {
    const keys = path.split(".");
    let o = obj;
    for (const k of keys.slice(0, -1)) o = o[k] ??= {};
    o[keys[keys.length - 1]] = value;
  }

  function configInputs() {
    return document.querySelectorAll("#config-form [data-path]");
  }

  function fillConfig(config) {
    loadedConfig = config;
    for (const input of configInputs()) {
      const v = getPath(config, input.dataset.path);
      switch (input.dataset.kind) {
        case "bool":
          input.checked = Boolean(v);
          break;
        case "list":
          input.value = Array.isArray(v) ? v.join("\n") : "";
          break;
        default:
          input.value = v == null ? "" : String(v);
      }
    }
    clearConfigErrors();
  }

  function clearConfigErrors() {
    for (const input of configInputs()) {
      input.removeAttribute("aria-invalid");
      $(`${input.id}-error`).textContent = "";
    }
  }

  function showFieldError(input, message) {
    input.setAttribute("aria-invalid", "true");
    $(`${input.id}-error`).textContent = message;
  }

  /// The input's value as JSON, or throws a message for the field.
  function inputValue(input, old) {
    switch (input.dataset.kind) {
      case "bool":
        return input.checked;
      case "integer":
      case "number": {
        const raw = input.value.trim();
        if (raw === "" || Number.isNaN(Number(raw))) throw new Error("Enter a number.");
        const n = Number(raw);
        if (input.dataset.kind === "integer" && !Number.isInteger(n)) throw new Error("Enter a whole number.");
        return n;
      }
      case "list": {
        const items = input.value.split("\n").map((s) => s.trim()).filter(Boolean);
        const numeric = Array.isArray(old) && old.length > 0 && old.every((x) => typeof x === "number");
        return numeric ? items.map(Number) : items;
      }
      default:
        return input.value;
    }
  }

  async function loadConfig() {
    try {
      fillConfig(await api("GET", "/admin/config"));
      reveal();
    } catch (err) {
      if (!accessProblem(err)) {
        reveal();
        $("config-status").textContent = `Could not load the configuration: ${err.message}`;
      }
    }
  }

  async function saveConfig(event) {
    event.preventDefault();
    clearConfigErrors();
    const status = $("config-status");
    const patch = {};
    const changed = [];
    let firstInvalid = null;
    for (const input of configInputs()) {
      const path = input.dataset.path;
      const old = getPath(loadedConfig, path);
      let value;
      try {
        value = inputValue(input, old);
      } catch (e) {
        showFieldError(input, e.message);
        firstInvalid ??= input;
        continue;
      }
      if (JSON.stringify(value) !== JSON.stringify(old)) {
        setPath(patch, path, value);
        changed.push(path);
      }
    }
    if (firstInvalid) {
      status.textContent = "Some values are not valid; nothing was saved.";
      firstInvalid.focus();
      return;
    }
    if (changed.length === 0) {
      status.textContent = "Nothing to save: no value was changed.";
      return;
    }
    status.textContent = "Saving…";
    try {
      fillConfig(await api("PATCH", "/admin/config", patch));
      status.textContent = `Saved ${changed.length} change${changed.length === 1 ? "" : "s"} (${changed.join(", ")}); applied live.`;
    } catch (err) {
      if (accessProblem(err)) return;
      const errors = fieldErrors(err.body && err.body.errors);
      const unplaced = [];
      for (const [path, message] of Object.entries(errors)) {
        const input = document.querySelector(`#config-form [data-path="${CSS.escape(path)}"]`);
        if (input) {
          showFieldError(input, message);
          firstInvalid ??= input;
        } else {
          unplaced.push(`${path}: ${message}`);
        }
      }
      status.textContent =
        `Not saved: ${err.message}.` + (unplaced.length ? ` ${unplaced.join("; ")}` : " See the marked fields.");
      if (firstInvalid) firstInvalid.focus();
    }
  }

  // ---------------------------------------------------------------- moderation

  function userCard(u) {
    const card = el("article", { class: "result", "aria-label": `Account ${u.username}` });
    const state = u.disabled ? "Disabled" : "Active";
    card.append(
      el("h3", {}, `${u.username}${u.discriminator && u.discriminator !== "0" ? "#" + u.discriminator : ""} `,
        el("span", { class: `badge ${u.disabled ? "badge-bad" : "badge-ok"}`, text: state })),
      definitionList([
        ["User id", u.id],
        ["Email", u.email || "—"],
        ["Created", u.created_at],
        ["Administrator", u.admin ? "yes" : "no"],
        ["Bot", u.bot ? "yes" : "no"],
        ["Guilds", u.guild_count],
        ["Sessions online", u.sessions_online],
      ]),
    );
    const label = u.disabled ? "Enable account" : "Disable account";
    const button = el("button", {
      type: "button",
      class: u.disabled ? "" : "danger",
      "data-user-action": u.disabled ? "enable" : "disable",
      text: label,
    });
    button.addEventListener("click", async () => {
      const disabling = !u.disabled;
      const answer = await confirmAction(
        `${label}?`,
        disabling
          ? `${u.username} will be signed out everywhere: live sessions are closed and every token stops working.`
          : `${u.username} will be able to sign in again (old tokens stay revoked).`,
        label,
      );
      if (!answer) {
        button.focus();
        return;
      }
      try {
        const updated = await api("PATCH", `/admin/users/${u.id}`, { disabled: disabling, reason: answer.reason || undefined });
        const closed = updated.sessions_closed ? ` ${updated.sessions_closed} session(s) closed.` : "";
        $("user-status").textContent = `${updated.username} is now ${updated.disabled ? "disabled" : "enabled"}.${closed}`;
        const fresh = userCard(updated);
        card.replaceWith(fresh);
        fresh.querySelector("button").focus();
      } catch (err) {
        if (!accessProblem(err)) $("user-status").textContent = `Failed: ${err.message}`;
      }
    });
    card.append(el("div", { class: "toolbar" }, button));
    return card;
  }

  function guildCard(g) {
    const card = el("article", { class: "result", "aria-label": `Guild ${g.name}` });
    const owner = g.owner ? `${g.owner.username} (${g.owner.id})` : g.owner_id;
    card.append(
      el("h3", { text: g.name }),
      definitionList([
        ["Guild id", g.id],
        ["Owner", owner],
        ["Members", g.member_count],
        ["Roles", g.role_count],
        ["Bans", g.ban_count],
        ["Sessions subscribed", g.online_sessions],
      ]),
    );
    const list = el("ul", { class: "channels", "aria-label": "Channels" });
    const kinds = { 0: "text", 2: "voice", 4: "category", 5: "announcement", 13: "stage", 15: "forum" };
    for (const c of g.channels) {
      list.append(el("li", {}, el("span", { text: `#${c.name ?? "?"}` }), el("span", { class: "muted", text: ` ${kinds[c.type] ?? "type " + c.type} · ${c.id}` })));
    }
    card.append(el("h4", { text: `Channels (${g.channels.length})` }), list);
    const button = el("button", { type: "button", class: "danger", "data-guild-action": "delete", text: "Delete guild" });
    button.addEventListener("click", async () => {
      const answer = await confirmAction(
        `Delete ${g.name}?`,
        `The guild, its ${g.channels.length} channels, roles and memberships are deleted for its ${g.member_count} members. This cannot be undone.`,
        "Delete guild",
      );
      if (!answer) {
        button.focus();
        return;
      }
      try {
        const q = answer.reason ? `?reason=${encodeURIComponent(answer.reason)}` : "";
        await api("DELETE", `/admin/guilds/${g.id}${q}`);
        $("guild-status").textContent = `Guild ${g.name} (${g.id}) was deleted.`;
        card.remove();
        $("guild-q").focus();
      } catch (err) {
        if (!accessProblem(err)) $("guild-status").textContent = `Failed: ${err.message}`;
      }
    });
    card.append(el("div", { class: "toolbar" }, button));
    return card;
  }

  async function findUser(event) {
    event?.preventDefault();
    const q = $("user-q").value.trim();
    const status = $("user-status");
    $("user-results").replaceChildren();
    if (!q) {
      status.textContent = "Enter a user id, an email address or a username.";
      $("user-q").focus();
      return;
    }
    status.textContent = "Searching…";
    try {
      const users = await api("GET", `/admin/users?q=${encodeURIComponent(q)}`);
      status.textContent = users.length ? `${users.length} account${users.length === 1 ? "" : "s"} found.` : "No account found.";
      for (const u of users) $("user-results").append(userCard(u));
    } catch (err) {
      if (!accessProblem(err)) status.textContent = `Search failed: ${err.message}`;
    }
  }

  async function findGuild(event) {
    event?.preventDefault();
    const q = $("guild-q").value.trim();
    const status = $("guild-status");
    $("guild-result").replaceChildren();
    if (!/^\d+$/.test(q)) {
      status.textContent = "Enter a guild id (digits).";
      $("guild-q").focus();
      return;
    }
    status.textContent = "Looking up…";
    try {
      const g = await api("GET", `/admin/guilds/${q}`);
      status.textContent = `Found ${g.name}.`;
      $("guild-result").append(guildCard(g));
    } catch (err) {
      if (accessProblem(err)) return;
      status.textContent = err.status === 404 ? "No guild with that id." : `Lookup failed: ${err.message}`;
    }
  }

  async function loadModeration() {
    try {
      // Any admin endpoint tells whether this account may see the page.
      await api("GET", "/admin/users?q=");
      reveal();
    } catch (err) {
      if (!accessProblem(err)) {
        reveal();
        $("user-status").textContent = err.message;
      }
    }
  }

  // ---------------------------------------------------------------- audit log

  let oldestAudit = null;

  function changesCell(changes) {
    if (!changes || changes.length === 0) return "—";
    const list = el("ul", { class: "changes" });
    for (const c of changes) {
      list.append(el("li", {}, el("code", { text: c.key }), ` ${valueText(c.old)} → ${valueText(c.new)}`));
    }
    return list;
  }

  async function loadAudit(more) {
    const status = $("audit-status");
    try {
      const q = more && oldestAudit ? `&before=${oldestAudit}` : "";
      const entries = await api("GET", `/admin/audit-log?limit=50${q}`);
      reveal();
      if (!more) $("audit-rows").replaceChildren();
      for (const e of entries) {
        const who = e.actor ? `${e.actor.username} (${e.actor.id})` : "—";
        $("audit-rows").append(
          el("tr", { "data-action": e.action },
            el("td", {}, el("time", { datetime: e.created_at, text: e.created_at.replace("T", " ").slice(0, 19) })),
            el("td", { text: who }),
            el("td", {}, el("code", { text: e.action })),
            el("td", { text: e.target_id ?? "—" }),
            el("td", {}, changesCell(e.changes)),
            el("td", { text: e.reason ?? "" }),
          ),
        );
        oldestAudit = e.id;
      }
      const total = $("audit-rows").children.length;
      status.textContent = total ? `${total} entr${total === 1 ? "y" : "ies"} shown.` : "No administrator actions yet.";
      $("audit-more").hidden = entries.length < 50;
    } catch (err) {
      if (!accessProblem(err)) {
        reveal();
        status.textContent = `Could not load the audit log: ${err.message}`;
      }
    }
  }

  // ---------------------------------------------------------------- start

  let wired = false;

  function wire() {
    if (wired) return;
    wired = true;
    if (page === "config") {
      $("config-form").addEventListener("submit", saveConfig);
      $("config-discard").addEventListener("click", () => {
        if (loadedConfig) fillConfig(loadedConfig);
        $("config-status").textContent = "Changes discarded.";
      });
    } else if (page === "moderation") {
      $("user-search").addEventListener("submit", findUser);
      $("guild-search").addEventListener("submit", findGuild);
    } else if (page === "audit") {
      $("audit-more").addEventListener("click", () => loadAudit(true));
    }
  }

  function start() {
    if (!sessionStorage.getItem(TOKEN_KEY)) {
      showLogin("");
      return;
    }
    show("loading");
    wire();
    whoami();
    ({ health: loadHealth, config: loadConfig, moderation: loadModeration, audit: () => loadAudit(false) })[page]?.();
  }

  start();
})();
