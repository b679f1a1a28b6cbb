//! `POST /webhooks/{id}/{token}/github`: point a GitHub repository's webhook here and its events
//! arrive as one embed each, worded and coloured the way Discord words them
//! (`[repo:branch] 2 new commits`, `[repo] Issue opened: #1 title`, …), with the event's sender
//! as the embed author. The event kind is the `X-GitHub-Event` header; events and actions
//! Discord doesn't post (ping, labels, assignments, check runs, …) answer 204 and post nothing.

use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{ExecuteQuery, by_token, check_thread, post};
use crate::actors::channel::MessageCreate;
use crate::api::extract::{Json, Path, Query};
use crate::app::App;
use crate::config::WebhookLimits;
use crate::error::ApiError;
use crate::id::WebhookId;
use crate::model::embed::{Embed, EmbedAuthor, truncate};

/// Push embeds (Discord's blurple).
const PUSH: u32 = 0x7289DA;
/// Force pushes and reopened issues or pull requests.
const ATTENTION: u32 = 0xFCBD1F;
const ISSUE_OPENED: u32 = 0xEB6420;
const PULL_OPENED: u32 = 0x009800;
const CLOSED: u32 = 0x000000;
const COMMENT: u32 = 0xE68D60;

/// The parts of a GitHub event payload the embeds use; GitHub sends far more, which is ignored.
#[derive(Debug, Deserialize)]
struct Event {
    action: Option<String>,
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    ref_type: Option<String>,
    comment: Option<Comment>,
    issue: Option<Issue>,
    pull_request: Option<Issue>,
    repository: Option<Repository>,
    forkee: Option<Repository>,
    sender: User,
    member: Option<User>,
    release: Option<Release>,
    commits: Option<Vec<Commit>>,
    head_commit: Option<Commit>,
    forced: Option<bool>,
    deleted: Option<bool>,
    compare: Option<String>,
    review: Option<Review>,
    discussion: Option<Issue>,
}

#[derive(Debug, Deserialize)]
struct User {
    login: String,
    html_url: Option<String>,
    avatar_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Repository {
    name: String,
    full_name: Option<String>,
    html_url: Option<String>,
}

/// An issue, a pull request or a discussion: the same fields serve all three.
#[derive(Debug, Deserialize)]
struct Issue {
    number: u64,
    title: String,
    html_url: Option<String>,
    body: Option<String>,
    /// Present (an object) when an issue is a pull request.
    pull_request: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct Comment {
    html_url: Option<String>,
    body: Option<String>,
    commit_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Release {
    tag_name: String,
    html_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Commit {
    id: String,
    url: Option<String>,
    message: String,
    author: CommitAuthor,
}

#[derive(Debug, Deserialize)]
struct CommitAuthor {
    username: Option<String>,
    name: String,
}

#[derive(Debug, Deserialize)]
struct Review {
    body: Option<String>,
    html_url: Option<String>,
    state: String,
}

/// Execute with a GitHub event. Answers 204 (the message with `?wait=true` when one is posted).
#[tracing::instrument(skip_all, fields(webhook = %id))]
pub(super) async fn execute(
    State(app): State<App>,
    Path((id, token)): Path<(WebhookId, String)>,
    Query(q): Query<ExecuteQuery>,
    headers: HeaderMap,
    request: Request,
) -> Result<Response, ApiError> {
    let w = by_token(&app, id, &token).await?;
    check_thread(&q)?;
    let kind = headers
        .get("x-github-event")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if !POSTED.contains(&kind.as_str()) {
        tracing::debug!(event = %kind, "GitHub event not posted");
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let Json(event) = Json::<Event>::from_request(request, &app).await?;
    let limits = app.config().get().limits.webhook.clone();
    let Some(embed) = embed(&kind, &event, &limits) else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let body = MessageCreate {
        embeds: Some(vec![embed.to_value()]),
        ..MessageCreate::default()
    };
    let message = post(&app, w, body).await?;
    Ok(if q.wait == Some(true) {
        axum::Json(message).into_response()
    } else {
        StatusCode::NO_CONTENT.into_response()
    })
}

/// The events that can post (some of their actions still don't).
const POSTED: &[&str] = &[
    "push",
    "issues",
    "issue_comment",
    "pull_request",
    "pull_request_review",
    "pull_request_review_comment",
    "commit_comment",
    "create",
    "delete",
    "fork",
    "watch",
    "release",
    "member",
    "public",
    "discussion",
    "discussion_comment",
];

/// The embed Discord writes for this event, or `None` when it posts nothing for it.
fn embed(kind: &str, e: &Event, limits: &WebhookLimits) -> Option<Embed> {
    let repo = e.repository.as_ref()?;
    let body = |b: &Option<String>| {
        b.as_deref()
            .filter(|b| !b.trim().is_empty())
            .map(|b| truncate(b, limits.github_max_body as usize))
    };
    let action = e.action.as_deref().unwrap_or_default();
    let (title, url, description, color) = match kind {
        "push" => return push(repo, e, limits),
        "issues" | "pull_request" => {
            let (what, it) = if kind == "issues" {
                ("Issue", e.issue.as_ref()?)
            } else {
                ("Pull request", e.pull_request.as_ref()?)
            };
            let (color, description) = match action {
                "opened" if kind == "issues" => (ISSUE_OPENED, body(&it.body)),
                "opened" => (PULL_OPENED, body(&it.body)),
                "closed" => (CLOSED, None),
                "reopened" => (ATTENTION, None),
                _ => return None,
            };
            (
                format!("{what} {action}: #{} {}", it.number, it.title),
                it.html_url.clone(),
                description,
                Some(color),
            )
        }
        "issue_comment" if action == "created" => {
            let (issue, comment) = (e.issue.as_ref()?, e.comment.as_ref()?);
            let what = if issue.pull_request.is_some() {
                "pull request"
            } else {
                "issue"
            };
            (
                format!("New comment on {what} #{}: {}", issue.number, issue.title),
                comment.html_url.clone(),
                body(&comment.body),
                Some(COMMENT),
            )
        }
        "commit_comment" if action.is_empty() || action == "created" => {
            let comment = e.comment.as_ref()?;
            let sha = short_sha(comment.commit_id.as_deref().unwrap_or_default());
            (
                format!("New comment on commit `{sha}`"),
                comment.html_url.clone(),
                body(&comment.body),
                Some(COMMENT),
            )
        }
        "pull_request_review" if action == "submitted" => {
            let (pr, review) = (e.pull_request.as_ref()?, e.review.as_ref()?);
            // A bare "commented" review carries its words in review comments, posted apart.
            if review.state == "commented" && body(&review.body).is_none() {
                return None;
            }
            (
                format!("Pull request review submitted: #{} {}", pr.number, pr.title),
                review.html_url.clone(),
                body(&review.body),
                None,
            )
        }
        "pull_request_review_comment" if action == "created" => {
            let (pr, comment) = (e.pull_request.as_ref()?, e.comment.as_ref()?);
            (
                format!(
                    "New review comment on pull request #{}: {}",
                    pr.number, pr.title
                ),
                comment.html_url.clone(),
                body(&comment.body),
                Some(COMMENT),
            )
        }
        "create" | "delete" => {
            let (ref_type, name) = (e.ref_type.as_deref()?, e.git_ref.as_deref()?);
            let title = if kind == "create" {
                format!("New {ref_type} created: {name}")
            } else {
                format!("{} deleted: {name}", capitalized(ref_type))
            };
            (title, repo.html_url.clone(), None, None)
        }
        "fork" => {
            let fork = e.forkee.as_ref()?;
            let name = fork.full_name.clone().unwrap_or_else(|| fork.name.clone());
            (
                format!("Fork created: {name}"),
                fork.html_url.clone(),
                None,
                None,
            )
        }
        "watch" if action == "started" => (
            "New star added".to_string(),
            repo.html_url.clone(),
            None,
            None,
        ),
        "release" if action == "published" => {
            let release = e.release.as_ref()?;
            (
                format!("New release published: {}", release.tag_name),
                release.html_url.clone(),
                None,
                None,
            )
        }
        "member" if action == "added" => {
            let member = e.member.as_ref()?;
            (
                format!("New collaborator added: {}", member.login),
                member.html_url.clone(),
                None,
                None,
            )
        }
        "public" => (
            "Now open sourced!".to_string(),
            repo.html_url.clone(),
            None,
            None,
        ),
        "discussion" if action == "created" => {
            let d = e.discussion.as_ref()?;
            (
                format!("New discussion #{}: {}", d.number, d.title),
                d.html_url.clone(),
                body(&d.body),
                None,
            )
        }
        "discussion_comment" if action == "created" => {
            let (d, comment) = (e.discussion.as_ref()?, e.comment.as_ref()?);
            (
                format!("New comment on discussion #{}: {}", d.number, d.title),
                comment.html_url.clone(),
                body(&comment.body),
                Some(COMMENT),
            )
        }
        _ => return None,
    };
    Some(Embed {
        title: Some(truncate(&format!("[{}] {title}", repo.name), 256)),
        url,
        description,
        color,
        author: Some(author(&e.sender)),
        ..Embed::rich()
    })
}

/// A push: `[repo:branch] N new commits` listing the first few, or a force push notice. Tag
/// pushes and pushes without commits (branch creation and deletion, which have their own
/// `create`/`delete` events) post nothing.
fn push(repo: &Repository, e: &Event, limits: &WebhookLimits) -> Option<Embed> {
    let branch = e.git_ref.as_deref()?.strip_prefix("refs/heads/")?;
    if e.deleted == Some(true) {
        return None;
    }
    let commits = e.commits.as_deref().unwrap_or_default();
    let base = Embed {
        author: Some(author(&e.sender)),
        url: e.compare.clone(),
        ..Embed::rich()
    };
    if e.forced == Some(true) {
        let head = e.head_commit.as_ref()?;
        return Some(Embed {
            title: Some(truncate(
                &format!(
                    "[{}] Branch {branch} was force-pushed to `{}`",
                    repo.name,
                    short_sha(&head.id)
                ),
                256,
            )),
            description: e
                .compare
                .as_ref()
                .map(|c| format!("[Compare changes]({c})")),
            color: Some(ATTENTION),
            ..base
        });
    }
    if commits.is_empty() {
        return None;
    }
    let n = commits.len();
    let lines: Vec<String> = commits
        .iter()
        .take(limits.github_max_commits as usize)
        .map(|c| {
            let first_line = c.message.lines().next().unwrap_or_default();
            let who = c.author.username.as_deref().unwrap_or(&c.author.name);
            format!(
                "[`{}`]({}) {} - {who}",
                short_sha(&c.id),
                c.url.as_deref().unwrap_or_default(),
                truncate(first_line, limits.github_max_commit_message as usize)
            )
        })
        .collect();
    let plural = if n == 1 { "" } else { "s" };
    Some(Embed {
        title: Some(truncate(
            &format!("[{}:{branch}] {n} new commit{plural}", repo.name),
            256,
        )),
        // One commit links to itself, several to the comparison.
        url: if n == 1 {
            commits[0].url.clone().or(base.url.clone())
        } else {
            base.url.clone()
        },
        description: Some(lines.join("\n")),
        color: Some(PUSH),
        ..base
    })
}

fn author(u: &User) -> EmbedAuthor {
    EmbedAuthor {
        name: u.login.clone(),
        url: u.html_url.clone(),
        icon_url: u.avatar_url.clone(),
    }
}

fn short_sha(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names() {
        assert_eq!(short_sha("0123456789abcdef"), "0123456");
        assert_eq!(short_sha("abc"), "abc");
        assert_eq!(capitalized("branch"), "Branch");
        assert_eq!(capitalized(""), "");
    }
}
