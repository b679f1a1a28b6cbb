//! The `/admin` dashboard in a real browser: `tests/browser/admin.mjs` (npm `playwright-core`
//! driving Debian's chromium headless) against a server started here, in-process.
//!
//! Needs `node`, chromium (`/usr/bin/chromium`, or `CHROMIUM`) and `tests/browser/node_modules`
//! — `tests/browser/install.sh` installs them. When they are missing the test is skipped with a
//! notice, unless `CI` or `ACCORD_REQUIRE_BROWSER=1` is set: then it fails.
//! Screenshots of every page land in `test-output/browser/`.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;

const PASSWORD: &str = "correct horse battery";

fn chromium() -> Option<PathBuf> {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .into_iter()
        .chain(["/usr/bin/chromium", "/usr/bin/chromium-browser"].map(PathBuf::from))
        .find(|p| p.is_file())
}

fn node_works() -> bool {
    std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// What is missing to run the browser test, if anything.
fn missing(dir: &Path) -> Vec<&'static str> {
    let mut out = Vec::new();
    if !node_works() {
        out.push("node");
    }
    if chromium().is_none() {
        out.push("chromium (/usr/bin/chromium or $CHROMIUM)");
    }
    if !dir.join("node_modules/playwright-core").is_dir() {
        out.push("tests/browser/node_modules (npm ci)");
    }
    out
}

fn required() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
        || std::env::var("ACCORD_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_dashboard_in_chromium() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("tests/browser");
    let missing = missing(&dir);
    if !missing.is_empty() {
        let what = missing.join(", ");
        if required() {
            panic!(
                "browser test required (CI or ACCORD_REQUIRE_BROWSER=1) but missing: {what}; \
                 run tests/browser/install.sh"
            );
        }
        eprintln!("skipped: browser test needs {what} (run tests/browser/install.sh)");
        return;
    }

    let t = common::start().await;
    let admin = t.register("dashboard_admin").await;
    t.make_admin(&admin).await;
    let user = t.register("dashboard_user").await;
    let (guild, channel) = t.guild(&user, "Browser Guild").await;
    let out = root.join("test-output/browser");
    let _ = std::fs::remove_dir_all(&out);

    let mut command = tokio::process::Command::new("node");
    command
        .arg(dir.join("admin.mjs"))
        .arg(t.srv().url())
        .args(["dashboard_admin@example.com", PASSWORD])
        .args(["dashboard_user@example.com", PASSWORD])
        .args([&channel, &guild])
        .arg(&out)
        .current_dir(&dir)
        .kill_on_drop(true);
    if let Some(c) = chromium() {
        command.env("CHROMIUM", c);
    }
    let run = tokio::time::timeout(Duration::from_secs(180), command.output())
        .await
        .expect("the browser test finishes within 3 minutes")
        .expect("node starts");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        run.status.success(),
        "tests/browser/admin.mjs failed ({}):\n{stdout}\n{stderr}",
        run.status
    );

    // What the browser did is visible to the API, without a restart.
    let config = t.get("/admin/config", &admin).await;
    assert_eq!(config.body["limits"]["message"]["max_characters"], 50);
    let r = t
        .post(
            &format!("/channels/{channel}/messages"),
            &admin,
            json!({"content": "z".repeat(51)}),
        )
        .await;
    assert_eq!(r.status, 404, "the guild was deleted from the dashboard");
    let log = t.get("/admin/audit-log", &admin).await;
    assert_eq!(log.body.as_array().map(Vec::len), Some(4), "{}", log.body);
    for shot in [
        "01-login",
        "02-health",
        "03-config",
        "04-config-error",
        "06-moderation-user",
        "08-moderation-guild",
        "09-audit",
        "10-denied",
    ] {
        assert!(
            out.join(format!("{shot}.png")).is_file(),
            "screenshot {shot}.png"
        );
    }
    t.stop().await;
}
