//! The drift test: the routes `src/api/routes/**/*.rs` register with `.route("…", …)` must be
//! exactly the rows of [`super::TAGS`], with matching auth and body.
//!
//! axum can't list its routes, so the registrations are read from the source with a small Rust
//! tokenizer: comments, string contents and line breaks (rustfmt's) don't matter, `#[cfg(test)]`
//! items are skipped, and the methods are the `get`/`post`/`put`/`patch`/`delete` calls (also
//! `axum::routing::patch(…)`, `…_service(…)` and `on(MethodFilter::X, …)`) at the top level of
//! the `.route` call's second argument. A form it can't read fails the test instead of being
//! skipped.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use super::{Auth, Method, routes};

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Punct(char),
    /// Numbers, char literals, lifetimes.
    Other,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: usize,
}

impl Token {
    fn is_punct(&self, c: char) -> bool {
        self.tok == Tok::Punct(c)
    }

    fn is_ident(&self, s: &str) -> bool {
        matches!(&self.tok, Tok::Ident(i) if i == s)
    }

    fn ident(&self) -> Option<&str> {
        match &self.tok {
            Tok::Ident(i) => Some(i),
            _ => None,
        }
    }
}

fn lex(src: &str) -> Vec<Token> {
    let c: Vec<char> = src.chars().collect();
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < c.len() {
        let ch = c[i];
        let start_line = line;
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if c[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if let Some((text, end)) = raw_string(&c, i) {
            line += text.matches('\n').count();
            out.push(Token {
                tok: Tok::Str(text),
                line: start_line,
            });
            i = end;
        } else if ch == '"' || (matches!(ch, 'b' | 'c') && at(i + 1) == '"') {
            i += if ch == '"' { 1 } else { 2 };
            let mut text = String::new();
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    match at(i + 1) {
                        'n' => text.push('\n'),
                        't' => text.push('\t'),
                        '\n' => line += 1,
                        other => text.push(other),
                    }
                    i += 2;
                } else {
                    if c[i] == '\n' {
                        line += 1;
                    }
                    text.push(c[i]);
                    i += 1;
                }
            }
            i += 1;
            out.push(Token {
                tok: Tok::Str(text),
                line: start_line,
            });
        } else if ch == '\'' || (ch == 'b' && at(i + 1) == '\'') {
            // A char literal ('x', '\n', '\u{..}', b'x') or a lifetime ('a).
            let q = if ch == 'b' { i + 1 } else { i };
            if at(q + 1) == '\\' {
                i = q + 3;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(q + 2) == '\'' {
                i = q + 3;
            } else {
                i = q + 1;
            }
            out.push(Token {
                tok: Tok::Other,
                line: start_line,
            });
        } else if ch.is_alphabetic() || ch == '_' {
            let s = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push(Token {
                tok: Tok::Ident(c[s..i].iter().collect()),
                line: start_line,
            });
        } else if ch.is_ascii_digit() {
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push(Token {
                tok: Tok::Other,
                line: start_line,
            });
        } else {
            out.push(Token {
                tok: Tok::Punct(ch),
                line: start_line,
            });
            i += 1;
        }
    }
    out
}

/// `r"…"`, `r#"…"#`, `br"…"`, `cr#"…"#` at `i`: the contents and the index after it.
fn raw_string(c: &[char], i: usize) -> Option<(String, usize)> {
    let mut j = i;
    if matches!(c.get(j), Some('b' | 'c')) {
        j += 1;
    }
    if c.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let hashes = c[j..].iter().take_while(|&&h| h == '#').count();
    j += hashes;
    if c.get(j) != Some(&'"') {
        return None; // `r#ident` or a plain identifier
    }
    j += 1;
    let start = j;
    while j < c.len() {
        if c[j] == '"'
            && c[j + 1..]
                .iter()
                .take(hashes)
                .filter(|&&h| h == '#')
                .count()
                == hashes
        {
            return Some((c[start..j].iter().collect(), j + 1 + hashes));
        }
        j += 1;
    }
    Some((c[start..].iter().collect(), c.len()))
}

/// Index of the token closing the bracket opened at `open`.
fn closing(t: &[Token], open: usize) -> usize {
    let mut depth = 0usize;
    for (k, tok) in t.iter().enumerate().skip(open) {
        match tok.tok {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return k;
                }
            }
            _ => {}
        }
    }
    t.len()
}

/// Drops `#[cfg(test)]` items (test modules may build routers of their own).
fn without_test_items(t: Vec<Token>) -> Vec<Token> {
    let cfg_test = ["#", "[", "cfg", "(", "test", ")", "]"];
    let mut out = Vec::with_capacity(t.len());
    let mut i = 0;
    while i < t.len() {
        let is_cfg_test = cfg_test.iter().enumerate().all(|(k, s)| {
            t.get(i + k).is_some_and(|tok| match &tok.tok {
                Tok::Ident(x) => x == s,
                Tok::Punct(p) => s.len() == 1 && s.starts_with(*p),
                _ => false,
            })
        });
        if !is_cfg_test {
            out.push(t[i].clone());
            i += 1;
            continue;
        }
        // The item ends at its first top-level `;`, or with the block its first `{` opens.
        let mut k = i + cfg_test.len();
        while k < t.len() {
            if t[k].is_punct(';') {
                break;
            }
            if t[k].is_punct('{') {
                k = closing(&t, k);
                break;
            }
            if t[k].is_punct('(') || t[k].is_punct('[') {
                k = closing(&t, k);
            }
            k += 1;
        }
        i = k + 1;
    }
    out
}

/// Splits the tokens between brackets at their top-level commas (a trailing comma is dropped).
fn split_args(t: &[Token]) -> Vec<&[Token]> {
    let mut args = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (k, tok) in t.iter().enumerate() {
        match tok.tok {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => depth = depth.saturating_sub(1),
            Tok::Punct(',') if depth == 0 => {
                args.push(&t[start..k]);
                start = k + 1;
            }
            _ => {}
        }
    }
    if start < t.len() {
        args.push(&t[start..]);
    }
    args
}

fn method_named(name: &str) -> Option<Method> {
    match name.strip_suffix("_service").unwrap_or(name) {
        "get" => Some(Method::Get),
        "post" => Some(Method::Post),
        "put" => Some(Method::Put),
        "patch" => Some(Method::Patch),
        "delete" => Some(Method::Delete),
        _ => None,
    }
}

/// A registration found in the source.
#[derive(Debug, Clone)]
struct Registered {
    method: Method,
    path: String,
    /// The handler function's name when it is a plain path (`create`, `super::x::create`).
    handler: Option<String>,
    file: PathBuf,
    line: usize,
}

/// The (method, handler) pairs of a method router expression such as
/// `get(list).post(create)`, `axum::routing::patch(update)` or `on(MethodFilter::GET, h)`.
fn methods_of(expr: &[Token]) -> Vec<(Method, Option<String>)> {
    let mut found = Vec::new();
    let mut k = 0;
    while k < expr.len() {
        let is_call = expr.get(k + 1).is_some_and(|t| t.is_punct('('));
        let Some(name) = expr[k].ident().filter(|_| is_call) else {
            if expr[k].is_punct('(') || expr[k].is_punct('[') || expr[k].is_punct('{') {
                k = closing(expr, k) + 1;
            } else {
                k += 1;
            }
            continue;
        };
        let close = closing(expr, k + 1).min(expr.len());
        let inner = &expr[(k + 2).min(close)..close];
        let args = split_args(inner);
        if let Some(method) = method_named(name) {
            found.push((method, args.first().and_then(|a| handler_name(a))));
        } else if name == "on" {
            let handler = args.get(1).and_then(|a| handler_name(a));
            let filter = args.first().copied().unwrap_or_default();
            for w in filter.windows(4) {
                if w[0].is_ident("MethodFilter") && w[1].is_punct(':') && w[2].is_punct(':') {
                    let m = w[3].ident().map(str::to_ascii_lowercase);
                    if let Some(m) = m.as_deref().and_then(method_named) {
                        found.push((m, handler.clone()));
                    }
                }
            }
        }
        k = close + 1;
    }
    found
}

/// `create` for `create` or `super::messages::create`; `None` for closures and other forms.
fn handler_name(arg: &[Token]) -> Option<String> {
    let path_like = arg.iter().all(|t| t.ident().is_some() || t.is_punct(':'));
    if !path_like {
        return None;
    }
    arg.last().and_then(|t| t.ident()).map(str::to_string)
}

fn registrations(file: &Path, src: &str) -> Vec<Registered> {
    let t = without_test_items(lex(src));
    let mut out = Vec::new();
    for i in 0..t.len() {
        if !(t[i].is_punct('.')
            && t.get(i + 1).is_some_and(|x| x.is_ident("route"))
            && t.get(i + 2).is_some_and(|x| x.is_punct('(')))
        {
            continue;
        }
        let close = closing(&t, i + 2);
        let args = split_args(&t[(i + 3).min(close)..close]);
        if args.len() != 2 {
            continue; // not axum's `Router::route(path, method_router)`
        }
        let line = t[i + 1].line;
        let [path_tok] = args[0] else {
            panic!(
                "{}:{line}: the path of this .route(…) is not a string literal; the OpenAPI \
                 drift test can't read it",
                file.display()
            );
        };
        let Tok::Str(path) = &path_tok.tok else {
            panic!(
                "{}:{line}: the path of this .route(…) is not a string literal; the OpenAPI \
                 drift test can't read it",
                file.display()
            );
        };
        let methods = methods_of(args[1]);
        assert!(
            !methods.is_empty(),
            "{}:{line}: can't tell which methods .route(\"{path}\", …) registers; write them \
             as get(…)/post(…)/put(…)/patch(…)/delete(…) calls in the .route call",
            file.display()
        );
        for (method, handler) in methods {
            out.push(Registered {
                method,
                path: path.clone(),
                handler,
                file: file.to_path_buf(),
                line,
            });
        }
    }
    out
}

/// What a handler's parameters say: `Some(true)` if it takes a `Caller` or `UserAccount` (not
/// `Option<Caller>`), and whether it takes a body (`Json`, `Multipart` or the raw `Request`).
#[derive(Debug, Clone, Copy)]
struct Signature {
    needs_token: Option<bool>,
    takes_body: bool,
}

/// The functions of a file by name (names defined twice are left out: ambiguous).
fn signatures(src: &str) -> HashMap<String, Signature> {
    let t = without_test_items(lex(src));
    let mut seen: HashMap<String, Option<Signature>> = HashMap::new();
    for i in 0..t.len() {
        if !t[i].is_ident("fn") {
            continue;
        }
        let Some(name) = t.get(i + 1).and_then(Token::ident) else {
            continue;
        };
        let Some(open) = (i + 2..t.len()).find(|&k| t[k].is_punct('(')) else {
            continue;
        };
        let params = &t[open..closing(&t, open).min(t.len())];
        let mut needs_token = Some(false);
        for (k, p) in params.iter().enumerate() {
            // `UserAccount` is a `Caller` that must not be a bot: it needs a token too.
            if p.is_ident("Caller") || p.is_ident("UserAccount") {
                let optional =
                    k >= 2 && params[k - 1].is_punct('<') && params[k - 2].is_ident("Option");
                needs_token = if optional { None } else { Some(true) };
            }
        }
        let takes_body = params
            .iter()
            .any(|p| p.is_ident("Json") || p.is_ident("Multipart") || p.is_ident("Request"));
        let sig = Signature {
            needs_token,
            takes_body,
        };
        seen.entry(name.to_string())
            .and_modify(|s| *s = None)
            .or_insert(Some(sig));
    }
    seen.into_iter()
        .filter_map(|(name, sig)| Some((name, sig?)))
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
}

/// Everything `src/api/routes/` registers, with the handlers' signatures.
fn registered_in_source() -> Vec<(Registered, Option<Signature>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src/api/routes"), &mut files);
    let mut out = Vec::new();
    for file in files {
        let src = std::fs::read_to_string(&file).expect("read route file");
        let sigs = signatures(&src);
        let rel = file.strip_prefix(root).unwrap_or(&file).to_path_buf();
        for r in registrations(&rel, &src) {
            let sig = r.handler.as_ref().and_then(|h| sigs.get(h).copied());
            out.push((r, sig));
        }
    }
    out
}

#[test]
fn spec_table_matches_the_registered_routes() {
    let registered = registered_in_source();
    assert!(
        registered.len() > 100,
        "the scanner found only {} routes in src/api/routes; it is probably broken",
        registered.len()
    );
    let mut code: BTreeMap<(Method, String), &Registered> = BTreeMap::new();
    let mut twice = Vec::new();
    for (r, _) in &registered {
        if let Some(first) = code.insert((r.method, r.path.clone()), r) {
            twice.push(format!(
                "  {} {}  ({}:{} and {}:{})",
                r.method.as_str().to_uppercase(),
                r.path,
                first.file.display(),
                first.line,
                r.file.display(),
                r.line
            ));
        }
    }
    let mut spec = BTreeSet::new();
    for (_, route) in routes() {
        if !spec.insert((route.method, route.path.to_string())) {
            twice.push(format!(
                "  {} {}  (twice in the table in src/api/openapi.rs)",
                route.method.as_str().to_uppercase(),
                route.path
            ));
        }
    }
    let missing_from_spec: Vec<String> = code
        .iter()
        .filter(|(key, _)| !spec.contains(*key))
        .map(|((m, p), r)| {
            format!(
                "  {} {}  (registered at {}:{})",
                m.as_str().to_uppercase(),
                p,
                r.file.display(),
                r.line
            )
        })
        .collect();
    let missing_from_router: Vec<String> = spec
        .iter()
        .filter(|key| !code.contains_key(*key))
        .map(|(m, p)| format!("  {} {}", m.as_str().to_uppercase(), p))
        .collect();

    // Each row's auth and body against its handler, where the handler is found in its file.
    let table: HashMap<(Method, &str), &super::Route> =
        routes().map(|(_, r)| ((r.method, r.path), r)).collect();
    let mut mismatched = Vec::new();
    for (r, sig) in &registered {
        let (Some(sig), Some(row)) = (sig, table.get(&(r.method, r.path.as_str()))) else {
            continue;
        };
        let at = format!(
            "{} {}  ({}:{}, handler `{}`)",
            r.method.as_str().to_uppercase(),
            r.path,
            r.file.display(),
            r.line,
            r.handler.as_deref().unwrap_or("?")
        );
        if let Some(needs_token) = sig.needs_token
            && needs_token != (row.auth != Auth::None)
        {
            mismatched.push(format!(
                "  {at}: the handler {} a Caller but the row says auth {:?}",
                if needs_token { "takes" } else { "doesn't take" },
                row.auth
            ));
        }
        if sig.takes_body != row.body.is_some() {
            mismatched.push(format!(
                "  {at}: the handler {} a body but the row has {}",
                if sig.takes_body {
                    "takes"
                } else {
                    "doesn't take"
                },
                match row.body {
                    Some(b) => format!("body {b:?}"),
                    None => "no body".to_string(),
                }
            ));
        }
    }

    let mut report = String::new();
    if !missing_from_spec.is_empty() {
        report += &format!(
            "Registered in the router but missing from the OpenAPI table (add rows to TAGS in \
             src/api/openapi.rs):\n{}\n",
            missing_from_spec.join("\n")
        );
    }
    if !missing_from_router.is_empty() {
        report += &format!(
            "In the OpenAPI table but registered by no .route(…) in src/api/routes/ (remove or \
             fix the rows):\n{}\n",
            missing_from_router.join("\n")
        );
    }
    if !twice.is_empty() {
        report += &format!("Defined twice:\n{}\n", twice.join("\n"));
    }
    if !mismatched.is_empty() {
        report += &format!(
            "Rows that disagree with their handler:\n{}\n",
            mismatched.join("\n")
        );
    }
    assert!(report.is_empty(), "OpenAPI drift:\n{report}");
}

#[test]
fn scanner_reads_rustfmt_and_odd_forms() {
    let src = r##"
        use axum::routing::{get, post};
        // .route("/commented", get(x)) is not a route
        /* and neither is .route("/block", post(y)) /* nested */ */
        pub fn routes() -> Router<App> {
            Router::new()
                .route("/a/{a_id}", get(list).post(create))
                .route(
                    "/b/{b_id}",
                    axum::routing::patch(update)
                        .delete(super::x::remove),
                )
                .route(
                    r#"/c"#,
                    get(|| async { map.get(")").put(1) }).put_service(svc),
                )
                .route("/d", on(MethodFilter::PUT.or(MethodFilter::DELETE), handler),)
                .route_layer(layer)
        }
        fn lifetimes<'a>(s: &'a str) -> char { let _ = ".route(\"/in-a-string\", get(z))"; '"' }
        #[cfg(test)]
        mod tests {
            fn t() { Router::new().route("/test-only", get(t)); }
        }
        fn after() { Router::new().route("/e", get(e)); }
    "##;
    let found: Vec<(String, Method, Option<String>)> = registrations(Path::new("x.rs"), src)
        .into_iter()
        .map(|r| (r.path, r.method, r.handler))
        .collect();
    let h = |s: &str| Some(s.to_string());
    assert_eq!(
        found,
        vec![
            ("/a/{a_id}".into(), Method::Get, h("list")),
            ("/a/{a_id}".into(), Method::Post, h("create")),
            ("/b/{b_id}".into(), Method::Patch, h("update")),
            ("/b/{b_id}".into(), Method::Delete, h("remove")),
            ("/c".into(), Method::Get, None),
            ("/c".into(), Method::Put, h("svc")),
            ("/d".into(), Method::Put, h("handler")),
            ("/d".into(), Method::Delete, h("handler")),
            ("/e".into(), Method::Get, h("e")),
        ]
    );
}

#[test]
#[should_panic(expected = "can't tell which methods")]
fn scanner_fails_on_forms_it_cannot_read() {
    registrations(Path::new("x.rs"), r#"Router::new().route("/x", any(h))"#);
}

#[test]
fn signatures_show_auth_and_body() {
    let sigs = signatures(
        "async fn a(State(app): State<App>, caller: Caller, Json(b): Json<B>) {}
         async fn b(State(app): State<App>, Path(id): Path<Id>) -> Json<Value> {}
         async fn c(caller: Option<Caller>, request: Request) {}",
    );
    let a = sigs["a"];
    assert_eq!((a.needs_token, a.takes_body), (Some(true), true));
    let b = sigs["b"];
    assert_eq!((b.needs_token, b.takes_body), (Some(false), false));
    let c = sigs["c"];
    assert_eq!((c.needs_token, c.takes_body), (None, true));
}
