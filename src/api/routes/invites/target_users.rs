//! `/invites/{code}/target-users`: the users an invite is restricted to, uploaded as a CSV file
//! with one column of user ids, and `/invites/{code}/target-users/job-status`, the state of the
//! job that processed the last upload.
//!
//! Discord processes the file asynchronously; here the upload is processed within the request
//! (it is a parse and one batched user lookup), and the job record says what happened: the PUT
//! stores `PROCESSING` before looking the users up and `COMPLETED` (or `FAILED`, with the unknown
//! ids) after, so the job status is always the stored truth of the last upload.

use axum::Router;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tracing::Instrument;

use super::guild_permissions;
use crate::api::extract::{Json, Path};
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, FieldError, FieldErrors, Unknown};
use crate::id::UserId;
use crate::model::{
    InviteRecord, InviteTargetUsersRecord, TargetUsersJob, TargetUsersJobStatus, Timestamp,
};
use crate::permissions::Permissions;

/// The multipart field Discord names the file.
const FILE_FIELD: &str = "target_users_file";

/// Users looked up per store call while processing an upload.
const LOOKUP_BATCH: usize = 100;

pub fn routes() -> Router<App> {
    Router::new()
        .route(
            "/invites/{code}/target-users",
            get(get_target_users).put(put_target_users),
        )
        .route("/invites/{code}/target-users/job-status", get(job_status))
}

/// The invite, if the caller may manage its target users: its inviter, or a member with
/// MANAGE_GUILD in its guild (Discord's rule). Strangers learn nothing (10004 Unknown Guild).
async fn managed_invite(app: &App, caller: &Caller, code: &str) -> Result<InviteRecord, ApiError> {
    let invite = app
        .store()
        .get_invite(code)
        .await?
        .ok_or(ApiError::Unknown(Unknown::Invite))?;
    if invite.inviter_id == Some(caller.user_id) {
        return Ok(invite);
    }
    let guild = invite.guild_id.ok_or(ApiError::Unknown(Unknown::Invite))?;
    let perms = guild_permissions(app, guild, caller.user_id).await?;
    crate::permissions::require(perms, Permissions::MANAGE_GUILD)?;
    Ok(invite)
}

/// `GET /invites/{code}/target-users` (the inviter or MANAGE_GUILD): a CSV file with the header
/// `user_id` and one user id a line; only the header when the invite restricts nobody.
async fn get_target_users(
    State(app): State<App>,
    caller: Caller,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let invite = managed_invite(&app, &caller, &code).await?;
    let targets = app.store().invite_target_users(&invite.code).await?;
    let ids = targets.map(|t| t.user_ids).unwrap_or_default();
    let mut csv = String::with_capacity(9 + ids.len() * 20);
    csv.push_str("user_id\r\n");
    for id in ids {
        csv.push_str(&id.to_string());
        csv.push_str("\r\n");
    }
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv).into_response())
}

/// `GET /invites/{code}/target-users/job-status` (the inviter or MANAGE_GUILD): the last
/// upload's job; `UNSPECIFIED` with nothing counted when there never was one.
async fn job_status(
    State(app): State<App>,
    caller: Caller,
    Path(code): Path<String>,
) -> Result<Json<TargetUsersJob>, ApiError> {
    let invite = managed_invite(&app, &caller, &code).await?;
    let job = app
        .store()
        .invite_target_users(&invite.code)
        .await?
        .map_or_else(TargetUsersJob::none, |t| t.job);
    Ok(Json(job))
}

/// `PUT /invites/{code}/target-users` (the inviter or MANAGE_GUILD): `multipart/form-data` with
/// `target_users_file`, a CSV file whose first column holds user ids (an optional header line
/// such as `user_id` is skipped). At most `limits.guild.max_invite_target_users` users. Ids that
/// are not snowflakes or name no user are a 400 naming each bad line; nothing is replaced then.
/// An empty file lifts the restriction. 204.
async fn put_target_users(
    State(app): State<App>,
    caller: Caller,
    Path(code): Path<String>,
    request: Request,
) -> Result<StatusCode, ApiError> {
    let span = tracing::info_span!("invite_target_users", code = %code);
    async move {
        // Permission first, so a refused caller's file is never read.
        let invite = managed_invite(&app, &caller, &code).await?;
        let max = app.config().get().limits.guild.max_invite_target_users;
        let file = read_file(&app, request, max).await?;
        let rows = parse_csv(&file, max)?;
        process(&app, &invite, rows).await?;
        Ok(StatusCode::NO_CONTENT)
    }
    .instrument(span)
    .await
}

/// The bytes of `target_users_file`; 50035 when the request has none. The file is capped at what
/// `max` ids (with a header and line ends) can take, so a huge upload is refused unread.
async fn read_file(app: &App, request: Request, max: u32) -> Result<Vec<u8>, ApiError> {
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !is_multipart {
        return Err(FieldErrors::single(FILE_FIELD, FieldError::Required));
    }
    // 20 digits, quotes, a comma-separated tail is ignored but counted: 64 bytes a line is ample.
    let cap = (max as usize).saturating_mul(64).saturating_add(1024);
    let mut multipart = Multipart::from_request(request, app)
        .await
        .map_err(|_| ApiError::InvalidJson)?;
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|_| ApiError::InvalidJson)?
    {
        if field.name() != Some(FILE_FIELD) {
            continue;
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(|_| ApiError::InvalidJson)? {
            if bytes.len() + chunk.len() > cap {
                return Err(FieldErrors::single(
                    FILE_FIELD,
                    FieldError::TooMany { max: max as usize },
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        return Ok(bytes);
    }
    Err(FieldErrors::single(FILE_FIELD, FieldError::Required))
}

/// One data line of the file: its index among the file's lines (for error paths) and the id.
type Row = (usize, UserId);

/// The user ids of a CSV file (first column; blank lines skipped; a first line that is not an id
/// is a header). Bad ids are reported per line, `target_users_file.<line>`.
fn parse_csv(file: &[u8], max: u32) -> Result<Vec<Row>, ApiError> {
    let text = String::from_utf8_lossy(file);
    let text = text.trim_start_matches('\u{feff}');
    let mut rows = Vec::new();
    let mut errs = FieldErrors::default();
    for (line_no, line) in text.lines().enumerate() {
        let cell = line
            .split(',')
            .next()
            .unwrap_or("")
            .trim()
            .trim_matches('"')
            .trim();
        if cell.is_empty() {
            continue;
        }
        match cell.parse::<UserId>() {
            Ok(id) if id.get() > 0 => rows.push((line_no, id)),
            // A header names the column; only the first line may be one.
            _ if line_no == 0 && !cell.starts_with(|c: char| c.is_ascii_digit()) => {}
            _ => errs.add(
                &format!("{FILE_FIELD}.{line_no}"),
                FieldError::InvalidSnowflake,
            ),
        }
    }
    errs.into_result()?;
    if rows.len() > max as usize {
        return Err(FieldErrors::single(
            FILE_FIELD,
            FieldError::TooMany { max: max as usize },
        ));
    }
    Ok(rows)
}

/// Runs the upload's job: records it as processing, looks the users up in batches, then stores
/// the list with the job completed — or, when some ids name no user, keeps the old list, records
/// the job as failed and answers 400 with those lines.
async fn process(app: &App, invite: &InviteRecord, rows: Vec<Row>) -> Result<(), ApiError> {
    let store = app.store();
    let mut ids: Vec<UserId> = rows.iter().map(|(_, id)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    let total = u32::try_from(ids.len()).unwrap_or(u32::MAX);
    let previous = store.invite_target_users(&invite.code).await?;
    let kept = previous.map(|p| p.user_ids).unwrap_or_default();
    let mut record = InviteTargetUsersRecord {
        code: invite.code.clone(),
        user_ids: kept,
        job: TargetUsersJob {
            status: TargetUsersJobStatus::Processing,
            total_users: total,
            processed_users: 0,
            created_at: Some(Timestamp::now()),
            completed_at: None,
            error_message: None,
        },
    };
    store.put_invite_target_users(&record).await?;

    let mut known = Vec::with_capacity(ids.len());
    for batch in ids.chunks(LOOKUP_BATCH) {
        known.extend(store.get_users(batch).await?.into_iter().map(|u| u.id));
    }
    known.sort_unstable();
    let mut errs = FieldErrors::default();
    let mut unknown = Vec::new();
    for (line, id) in &rows {
        if known.binary_search(id).is_err() {
            errs.add(&format!("{FILE_FIELD}.{line}"), FieldError::UnknownUser);
            unknown.push(id.to_string());
        }
    }
    record.job.processed_users = total;
    if errs.is_empty() {
        record.user_ids = ids;
        record.job.status = TargetUsersJobStatus::Completed;
        record.job.completed_at = Some(Timestamp::now());
    } else {
        unknown.dedup();
        record.job.status = TargetUsersJobStatus::Failed;
        record.job.error_message = Some(format!("unknown user ids: {}", unknown.join(", ")));
    }
    store.put_invite_target_users(&record).await?;
    errs.into_result()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(rows: &[Row]) -> Vec<u64> {
        rows.iter().map(|(_, id)| id.get()).collect()
    }

    #[test]
    fn csv_with_header_quotes_and_blank_lines() {
        let rows = parse_csv(b"\xef\xbb\xbfuser_id\r\n\"12\"\r\n\r\n34,extra\n 56 \n", 10)
            .expect("parses");
        assert_eq!(ids(&rows), vec![12, 34, 56]);
        assert_eq!(rows[0].0, 1, "line indexes count the header");
    }

    #[test]
    fn csv_without_header() {
        assert_eq!(ids(&parse_csv(b"7\n8\n", 10).expect("parses")), vec![7, 8]);
        assert!(parse_csv(b"", 10).expect("empty is fine").is_empty());
    }

    #[test]
    fn csv_bad_lines_are_named() {
        let Err(ApiError::InvalidFormBody(errs)) = parse_csv(b"user_id\n12\nabc\n0\n", 10) else {
            panic!("bad ids must be refused");
        };
        assert_eq!(
            errs.get("target_users_file.2"),
            Some(&[FieldError::InvalidSnowflake][..])
        );
        assert!(errs.get("target_users_file.3").is_some(), "0 is no user id");
        assert!(errs.get("target_users_file.1").is_none());
    }

    #[test]
    fn csv_over_the_limit() {
        let Err(ApiError::InvalidFormBody(errs)) = parse_csv(b"1\n2\n3\n", 2) else {
            panic!("three ids over a limit of two");
        };
        assert_eq!(
            errs.get("target_users_file"),
            Some(&[FieldError::TooMany { max: 2 }][..])
        );
    }
}
