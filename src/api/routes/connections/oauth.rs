//! The server's side of a provider's OAuth2 authorization-code flow: the URL the user is sent to,
//! and, once the provider sent them back with a code, the code → access token exchange and the
//! user-info read that says which account was linked.

use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

use crate::config::ConnectionProvider;

/// How long one request to a provider may take.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// The account the provider vouched for.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkedAccount {
    pub id: String,
    pub name: String,
    pub access_token: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("provider URL: {0}")]
    BadUrl(String),
    #[error("token endpoint: {0}")]
    Token(String),
    #[error("user-info endpoint: {0}")]
    UserInfo(String),
    #[error("user info has no `{0}`")]
    MissingId(String),
}

/// One client for every provider: connection pooling, and one timeout policy.
fn client() -> Result<&'static reqwest::Client, LinkError> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(c) = CLIENT.get() {
        return Ok(c);
    }
    let built = reqwest::Client::builder()
        .timeout(PROVIDER_TIMEOUT)
        .user_agent(concat!(
            "Accord/",
            env!("CARGO_PKG_VERSION"),
            " (connections)"
        ))
        .build()
        .map_err(|e| LinkError::Token(e.to_string()))?;
    Ok(CLIENT.get_or_init(|| built))
}

/// The provider's authorization URL with Discord's usual parameters.
pub fn authorize_url(
    p: &ConnectionProvider,
    redirect_uri: &str,
    state: &str,
) -> Result<String, LinkError> {
    let mut url =
        reqwest::Url::parse(&p.authorize_url).map_err(|e| LinkError::BadUrl(e.to_string()))?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &p.client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", &p.scopes.join(" "))
        .append_pair("state", state);
    Ok(url.into())
}

/// Exchanges the code for an access token, then reads who it belongs to.
pub async fn exchange(
    p: &ConnectionProvider,
    redirect_uri: &str,
    code: &str,
) -> Result<LinkedAccount, LinkError> {
    let http = client()?;
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
    ];
    let mut request = http
        .post(&p.token_url)
        .header(reqwest::header::ACCEPT, "application/json");
    if p.token_auth == "basic" {
        request = request.basic_auth(&p.client_id, Some(&p.client_secret));
    } else {
        form.push(("client_id", &p.client_id));
        form.push(("client_secret", &p.client_secret));
    }
    let token: Value = json_of(request.form(&form).send().await, LinkError::Token).await?;
    let access_token = token
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| LinkError::Token("no access_token in the response".into()))?
        .to_string();
    let info: Value = json_of(
        http.get(&p.userinfo_url)
            .bearer_auth(&access_token)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await,
        LinkError::UserInfo,
    )
    .await?;
    let id = field(&info, &p.id_field).ok_or_else(|| LinkError::MissingId(p.id_field.clone()))?;
    let name = field(&info, &p.name_field).unwrap_or_else(|| id.clone());
    Ok(LinkedAccount {
        id,
        name,
        access_token,
    })
}

/// The JSON body of a successful response.
async fn json_of(
    response: reqwest::Result<reqwest::Response>,
    err: fn(String) -> LinkError,
) -> Result<Value, LinkError> {
    let response = response.map_err(|e| err(e.to_string()))?;
    let status = response.status();
    if !status.is_success() {
        return Err(err(format!("HTTP {status}")));
    }
    response.json().await.map_err(|e| err(e.to_string()))
}

/// A string or number at a dotted path (`data.0.id`), as text.
pub fn field(v: &Value, path: &str) -> Option<String> {
    let mut cur = v;
    for part in path.split('.').filter(|p| !p.is_empty()) {
        cur = match cur {
            Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
            other => other.get(part)?,
        };
    }
    match cur {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_by_dotted_path() {
        let v = json!({"id": 42, "login": "octo", "data": [{"id": "7", "login": ""}]});
        assert_eq!(field(&v, "id").as_deref(), Some("42"));
        assert_eq!(field(&v, "login").as_deref(), Some("octo"));
        assert_eq!(field(&v, "data.0.id").as_deref(), Some("7"));
        assert_eq!(field(&v, "data.0.login"), None, "empty is absent");
        assert_eq!(field(&v, "data.1.id"), None);
        assert_eq!(field(&v, "missing"), None);
    }

    #[test]
    fn authorize_url_carries_the_flow_parameters() {
        let p = ConnectionProvider {
            authorize_url: "https://example.com/oauth/authorize?prompt=none".into(),
            client_id: "cid".into(),
            scopes: vec!["read:user".into(), "email".into()],
            ..ConnectionProvider::default()
        };
        let url = reqwest::Url::parse(
            &authorize_url(&p, "http://localhost/connections/github", "s.t").unwrap(),
        )
        .unwrap();
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["prompt"], "none", "the provider's own parameters stay");
        assert_eq!(q["client_id"], "cid");
        assert_eq!(q["scope"], "read:user email");
        assert_eq!(q["state"], "s.t");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["redirect_uri"], "http://localhost/connections/github");
    }
}
