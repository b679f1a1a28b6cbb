// Browser test of the /admin dashboard: playwright-core driving Debian's chromium headless.
//
//   node tests/browser/admin.mjs <base url> <admin login> <admin password> \
//        <user login> <user password> <channel id> <guild id> <screenshot dir>
//
// Started by tests/browser.rs against an in-process server. Signs in as an admin, checks the
// health page, changes limits.message.max_characters (first to an invalid value: inline error),
// checks through the REST API that the new limit is enforced without a restart, disables and
// re-enables the user, deletes the guild, reads the audit log, and checks that a non-admin is
// refused (403, nothing shown). A screenshot of each page goes to <screenshot dir>.
// Exits non-zero on the first failure (with a screenshot of the failing page).

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [base, adminLogin, adminPassword, userLogin, userPassword, channelId, guildId, outDir] =
  process.argv.slice(2);
if (!outDir) {
  console.error("usage: admin.mjs <url> <admin login> <admin password> <user login> <user password> <channel id> <guild id> <screenshot dir>");
  process.exit(2);
}
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const TIMEOUT = 20_000;
mkdirSync(outDir, { recursive: true });

let steps = 0;
let current = "start";
const outside = [];
const pageErrors = [];

function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function step(name, fn) {
  current = name;
  await fn();
  steps += 1;
  console.log(`ok ${steps} - ${name}`);
}

async function rest(method, path, token, body) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = token;
  const r = await fetch(`${base}/api/v10${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  return { status: r.status, body: json };
}

async function login(loginName, password) {
  const r = await rest("POST", "/auth/login", null, { login: loginName, password });
  check(r.status === 200, `REST login of ${loginName}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.token;
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  // Root in CI containers: chromium's sandbox needs user namespaces it may not have.
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});

function watch(page) {
  page.setDefaultTimeout(TIMEOUT);
  page.on("request", (req) => {
    const u = req.url();
    if (!u.startsWith(base) && !u.startsWith("data:")) outside.push(u);
  });
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  page.on("console", (msg) => {
    if (msg.type() === "error") console.log(`  [browser console] ${msg.text()}`);
  });
}

const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
watch(page);
let active = page;
const shot = (name, p = page, fullPage = true) =>
  p.screenshot({ path: join(outDir, `${name}.png`), fullPage });

try {
  await step("login page is shown to a visitor", async () => {
    await page.goto(`${base}/admin`);
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    check(await page.locator("#content").isHidden(), "content hidden before sign-in");
    // Keyboard: the form has focus, Tab walks email → password → submit.
    const focused = () => page.evaluate(() => document.activeElement?.id || document.activeElement?.textContent);
    check((await focused()) === "login-email", "the email field has focus");
    await page.keyboard.press("Tab");
    check((await focused()) === "login-password", "Tab reaches the password");
    await page.keyboard.press("Tab");
    check((await focused()) === "Sign in", "Tab reaches the submit button");
    await shot("01-login");
  });

  await step("admin signs in (keyboard submit) and sees live health figures", async () => {
    await page.getByLabel("Email or username", { exact: true }).fill(adminLogin);
    await page.getByLabel("Password", { exact: true }).fill(adminPassword);
    await page.getByLabel("Password", { exact: true }).press("Enter");
    await page.locator("#content").waitFor({ state: "visible" });
    await page.waitForFunction(() => document.getElementById("h-version").textContent !== "–");
    const store = await page.locator("#h-store").textContent();
    check(/embedded, read in [\d.]+ ms/.test(store), `storage figure: ${store}`);
    check(/Signed in as/.test(await page.locator("#whoami").textContent()), "whoami shown");
    // The chart fills from the 3-second refresh: wait for a drawn line.
    await page.waitForFunction(
      () => (document.getElementById("chart-messages").getAttribute("points") || "").includes(" "),
      null,
      { timeout: TIMEOUT },
    );
    await shot("02-health");
  });

  await step("configuration editor shows every key with value, default and description", async () => {
    await page.getByRole("navigation").getByRole("link", { name: "Configuration" }).click();
    await page.waitForURL(`${base}/admin/config`);
    const input = page.getByLabel("max_characters", { exact: true });
    await page.waitForFunction(
      () => document.getElementById("cfg-limits-message-max_characters").value === "2000",
    );
    check((await input.getAttribute("type")) === "number", "typed number input");
    check(await page.locator("#cfg-limits-rate-enabled").isChecked(), "bool as checkbox");
    const hint = await page.locator("#cfg-limits-message-max_characters-desc").textContent();
    check(/Default: 2000/.test(hint) && /characters/.test(hint), `description and default: ${hint}`);
    const labelled = await page.locator("#config-form [data-path]").count();
    check(labelled >= 80, `every key has an input (${labelled})`);
    await shot("03-config");
    await page.locator("#cfg-limits-message").scrollIntoViewIfNeeded();
  });

  await step("an invalid value is refused with an inline field error", async () => {
    const input = page.locator("#cfg-limits-message-max_characters");
    await input.fill("0");
    await page.getByRole("button", { name: "Save changes" }).first().click();
    const error = page.locator("#cfg-limits-message-max_characters-error");
    await page.waitForFunction(
      () => document.getElementById("cfg-limits-message-max_characters-error").textContent.length > 0,
    );
    check((await input.getAttribute("aria-invalid")) === "true", "field marked invalid");
    check(/Not saved/.test(await page.locator("#config-status").textContent()), "status says not saved");
    console.log(`  inline error: ${await error.textContent()}`);
    await shot("04-config-error", page, false);
    const admin = await page.evaluate(() => sessionStorage.getItem("accord.admin.token"));
    const r = await rest("GET", "/admin/config", admin);
    check(r.body.limits.message.max_characters === 2000, "nothing was stored");
  });

  await step("saving limits.message.max_characters applies live (checked through the REST API)", async () => {
    const input = page.locator("#cfg-limits-message-max_characters");
    await input.fill("50");
    await page.getByRole("button", { name: "Save changes" }).first().click();
    await page.getByText(/Saved 1 change \(limits\.message\.max_characters\); applied live/).waitFor();
    check((await input.getAttribute("aria-invalid")) === null, "error cleared");
    const user = await login(userLogin, userPassword);
    const path = `/channels/${channelId}/messages`;
    const long = await rest("POST", path, user, { content: "y".repeat(51) });
    check(long.status === 400, `51 characters refused: ${long.status} ${JSON.stringify(long.body)}`);
    check(long.body.errors.content._errors[0].code === "BASE_TYPE_MAX_LENGTH", "max length error");
    const ok = await rest("POST", path, user, { content: "y".repeat(50) });
    check(ok.status === 200, `50 characters accepted: ${ok.status}`);
    await shot("05-config-saved", page, false);
  });

  await step("moderation: find the user, disable (confirmed) and enable again", async () => {
    await page.getByRole("navigation").getByRole("link", { name: "Moderation" }).click();
    await page.waitForURL(`${base}/admin/moderation`);
    await page.locator("#content").waitFor({ state: "visible" });
    await page.getByLabel("User id, email or username").fill(userLogin);
    await page.getByLabel("User id, email or username").press("Enter");
    const disable = page.getByRole("button", { name: "Disable account" });
    await disable.waitFor();
    await shot("06-moderation-user");

    const user = await login(userLogin, userPassword);
    await disable.click();
    const dialog = page.getByRole("dialog");
    await dialog.waitFor();
    // Escape cancels: nothing happens.
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    check((await rest("GET", "/users/@me", user)).status === 200, "cancel leaves the account alone");

    await disable.click();
    await dialog.waitFor();
    await page.getByLabel("Reason (optional, recorded in the audit log)").fill("browser test");
    await shot("07-moderation-confirm");
    await dialog.getByRole("button", { name: "Disable account" }).click();
    await page.getByText(/is now disabled/).waitFor();
    check((await rest("GET", "/users/@me", user)).status === 401, "the user's token stops working");

    await page.getByRole("button", { name: "Enable account" }).click();
    await dialog.waitFor();
    await dialog.getByRole("button", { name: "Enable account" }).click();
    await page.getByText(/is now enabled/).waitFor();
    await login(userLogin, userPassword);
  });

  await step("moderation: find the guild (owner, members, channels) and delete it", async () => {
    await page.getByLabel("Guild id").fill(guildId);
    await page.getByRole("button", { name: "Find guild" }).click();
    const card = page.locator("#guild-result article");
    await card.waitFor();
    const text = await card.textContent();
    check(text.includes("Owner") && text.includes("Members") && text.includes(channelId), `guild card: ${text}`);
    await shot("08-moderation-guild");
    await page.getByRole("button", { name: "Delete guild" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Delete guild" }).click();
    await page.getByText(/was deleted/).waitFor();
    const admin = await page.evaluate(() => sessionStorage.getItem("accord.admin.token"));
    check((await rest("GET", `/admin/guilds/${guildId}`, admin)).status === 404, "guild gone");
  });

  await step("audit log lists every action with old → new", async () => {
    await page.getByRole("navigation").getByRole("link", { name: "Audit log" }).click();
    await page.waitForURL(`${base}/admin/audit`);
    const rows = page.locator("#audit-rows tr");
    await page.waitForFunction(() => document.querySelectorAll("#audit-rows tr").length >= 4);
    const actions = await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.action));
    check(
      JSON.stringify(actions) === JSON.stringify(["guild.delete", "user.enable", "user.disable", "config.update"]),
      `actions newest first: ${actions}`,
    );
    const config = await page.locator('#audit-rows tr[data-action="config.update"]').textContent();
    check(config.includes("limits.message.max_characters") && config.includes("2000 → 50"), `config row: ${config}`);
    const disabled = await page.locator('#audit-rows tr[data-action="user.disable"]').textContent();
    check(disabled.includes("browser test"), `reason recorded: ${disabled}`);
    await shot("09-audit");
  });

  await step("a non-admin is refused: 403 and no configuration shown", async () => {
    const other = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const p = await other.newPage();
    watch(p);
    active = p;
    await p.goto(`${base}/admin/config`);
    await p.getByLabel("Email or username", { exact: true }).fill(userLogin);
    await p.getByLabel("Password", { exact: true }).fill(userPassword);
    await p.getByRole("button", { name: "Sign in" }).click();
    await p.getByRole("heading", { name: "Access denied" }).waitFor();
    check(/403/.test(await p.locator("#denied-text").textContent()), "says 403");
    check(await p.locator("#content").isHidden(), "content stays hidden");
    const values = await p.locator("#config-form [data-path]").evaluateAll((inputs) =>
      inputs.filter((i) => (i.type === "checkbox" ? i.checked : i.value !== "")).length,
    );
    check(values === 0, `no configuration value reached the page (${values} filled)`);
    await shot("10-denied", p);
    const token = await p.evaluate(() => sessionStorage.getItem("accord.admin.token"));
    const r = await rest("GET", "/admin/config", token);
    check(r.status === 403, `API refuses the non-admin: ${r.status}`);
    check(!JSON.stringify(r.body).includes("max_characters"), "no configuration in the refusal");
    await other.close();
    active = page;
  });

  await step("nothing was loaded from outside the instance, no script errors", async () => {
    check(outside.length === 0, `requests outside ${base}: ${outside.join(", ")}`);
    check(pageErrors.length === 0, `page errors: ${pageErrors.join("; ")}`);
  });

  console.log(`browser test: ${steps} passed, 0 failed (screenshots in ${outDir})`);
  await browser.close();
} catch (e) {
  console.error(`not ok ${steps + 1} - ${current}: ${e.stack || e}`);
  try {
    await active.screenshot({ path: join(outDir, "failure.png"), fullPage: true });
    console.error(`  screenshot: ${join(outDir, "failure.png")}`);
  } catch {
    // The page may be gone.
  }
  await browser.close();
  process.exit(1);
}
