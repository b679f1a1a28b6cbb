//! Input generators: JSON text that looks like what clients send (Discord's field names, edge
//! values, real ids of the fixture) with a share of broken syntax, query strings, and raw bytes.
//!
//! Field names come from the source itself (every `name: Type` field and serde `rename`/`alias`
//! under `src/`), so a body type added tomorrow has its fields in the dictionary without anyone
//! listing them.

use std::collections::BTreeSet;
use std::fmt::Write;

use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

/// Strings that tend to break parsers and validators.
const EDGE_STRINGS: &[&str] = &[
    "",
    " ",
    "0",
    "-1",
    "+1",
    "1.5",
    "1e400",
    "-0",
    "00",
    "18446744073709551615",
    "18446744073709551616",
    "9223372036854775808",
    "-9223372036854775809",
    "NaN",
    "null",
    "true",
    "@me",
    "@everyone",
    "<@0>",
    "<@!18446744073709551615>",
    "<@&1>",
    "<@",
    "<#1>",
    "<:x:1>",
    "<a:x:99999999999999999999>",
    "é",
    "💥",
    "\u{0}",
    "\u{200b}",
    "\u{202e}abc",
    "ǅ",
    "İ",
    "ß",
    "a\u{301}",
    "../../etc/passwd",
    "%00",
    "%ZZ",
    "\\",
    "\"",
    "#ffffff",
    "#zzzzzz",
    "2000-01-01",
    "2000-02-30",
    "1900-01-01",
    "9999-12-31T23:59:59.999999+00:00",
    "2024-01-01T00:00:00Z",
    "-1000000-01-01",
    "user@example.com",
    "a@b",
    "@",
    "http://127.0.0.1:9/x",
    "https://",
    "javascript:alert(1)",
    "data:image/png;base64,",
    "data:image/png;base64,!!!!",
    "data:;base64,AAAA",
    "online",
    "dnd",
    "invisible",
    "en-US",
    "xx-YY",
    "Bot ",
    "Bearer x",
];

/// Numbers as JSON text: edges of every integer width, floats, exponents, negative zero.
const EDGE_NUMBERS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "10",
    "100",
    "127",
    "128",
    "255",
    "256",
    "32767",
    "65535",
    "65536",
    "2147483647",
    "2147483648",
    "-2147483649",
    "4294967295",
    "4294967296",
    "9007199254740993",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "340282366920938463463374607431768211456",
    "0.5",
    "-0.0",
    "1e3",
    "1E-7",
    "1e308",
    "1e309",
    "-1e309",
    "4.9e-324",
];

/// A small valid PNG (1×1), base64.
pub const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

/// Builds JSON text, query strings and the like from a dictionary.
pub struct Gen {
    keys: Vec<String>,
    /// Real ids of the fixture (users, guilds, channels, roles, …), as strings.
    pub ids: Vec<String>,
    /// Whole data URIs worth trying (a valid PNG, a declared-huge one).
    pub images: Vec<String>,
}

impl Gen {
    /// A generator whose keys are every field name found under `src/`.
    pub fn from_source() -> Self {
        let mut keys = BTreeSet::new();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut stack = vec![root];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "rs")
                    && let Ok(text) = std::fs::read_to_string(&p)
                {
                    harvest_keys(&text, &mut keys);
                }
            }
        }
        Self {
            keys: keys.into_iter().collect(),
            ids: Vec::new(),
            images: vec![format!("data:image/png;base64,{PNG_1X1}")],
        }
    }

    /// How many field names the dictionary has.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    fn key(&self, rng: &mut StdRng) -> String {
        match rng.gen_range(0..20) {
            0 => random_string(rng, 8),
            1 => format!("${}", self.keys.choose(rng).map_or("os", |k| k)),
            _ => self.keys.choose(rng).cloned().unwrap_or_default(),
        }
    }

    /// A JSON string literal (quoted, escaped), sometimes with escapes serde must decode.
    pub fn string_literal(&self, rng: &mut StdRng) -> String {
        let s = self.string(rng);
        let mut out = serde_json::to_string(&s).unwrap_or_else(|_| "\"\"".into());
        match rng.gen_range(0..30) {
            0 => out.insert_str(1, "\\ud800"),
            1 => out.insert_str(1, "\\u0000"),
            2 => out.insert_str(1, "\\ud83d\\udca5"),
            _ => {}
        }
        out
    }

    /// A string value.
    pub fn string(&self, rng: &mut StdRng) -> String {
        match rng.gen_range(0..12) {
            0..=2 => EDGE_STRINGS.choose(rng).copied().unwrap_or("").to_string(),
            3..=4 if !self.ids.is_empty() => self.ids.choose(rng).cloned().unwrap_or_default(),
            5 => random_string(rng, 40),
            6 => {
                let unit = EDGE_STRINGS.choose(rng).copied().unwrap_or("a");
                let unit = if unit.is_empty() { "x" } else { unit };
                unit.repeat(rng.gen_range(1..3000) / unit.len().max(1) + 1)
            }
            7 if !self.images.is_empty() => self.images.choose(rng).cloned().unwrap_or_default(),
            8 => EDGE_NUMBERS.choose(rng).copied().unwrap_or("0").to_string(),
            9 => {
                let id = self.ids.choose(rng).map_or("1", |s| s);
                ["<@", "<@!", "<@&", "<#"]
                    .choose(rng)
                    .map_or(String::new(), |p| format!("hi {p}{id}> there"))
            }
            _ => self.keys.choose(rng).cloned().unwrap_or_default(),
        }
    }

    /// Any JSON value as text, nested at most `depth` more levels.
    pub fn value(&self, rng: &mut StdRng, depth: u32) -> String {
        let pick = if depth == 0 {
            rng.gen_range(0..6)
        } else {
            rng.gen_range(0..9)
        };
        match pick {
            0 => "null".into(),
            1 => ["true", "false"]
                .choose(rng)
                .copied()
                .unwrap_or("true")
                .into(),
            2 => EDGE_NUMBERS.choose(rng).copied().unwrap_or("0").into(),
            3 => rng.gen_range(-5i64..300).to_string(),
            4 | 5 => self.string_literal(rng),
            6 => self.array(rng, depth - 1),
            _ => self.object(rng, depth - 1),
        }
    }

    /// A JSON array as text.
    pub fn array(&self, rng: &mut StdRng, depth: u32) -> String {
        let n = match rng.gen_range(0..10) {
            0 => rng.gen_range(50..400),
            _ => rng.gen_range(0..5),
        };
        let items: Vec<String> = (0..n).map(|_| self.value(rng, depth)).collect();
        format!("[{}]", items.join(","))
    }

    /// A JSON object as text, keys from the dictionary (duplicates allowed, as JSON allows).
    pub fn object(&self, rng: &mut StdRng, depth: u32) -> String {
        let n = rng.gen_range(0..9);
        let mut out = String::from("{");
        for i in 0..n {
            if i > 0 {
                out.push(',');
            }
            let key = serde_json::to_string(&self.key(rng)).unwrap_or_else(|_| "\"k\"".into());
            let _ = write!(out, "{key}:{}", self.value(rng, depth));
        }
        out.push('}');
        out
    }

    /// A request body: mostly an object, sometimes an array, scalar, deep nesting or broken
    /// syntax (then the bytes are mutated).
    pub fn body(&self, rng: &mut StdRng, array: bool) -> Vec<u8> {
        let text = match rng.gen_range(0..20) {
            0 => self.value(rng, 2),
            1 => {
                let d = rng.gen_range(100..3000);
                format!("{}{}", "[".repeat(d), "]".repeat(d))
            }
            _ if array => self.array(rng, 3),
            _ => self.object(rng, 3),
        };
        let mut bytes = text.into_bytes();
        if rng.gen_range(0..8) == 0 {
            mutate(rng, &mut bytes);
        }
        bytes
    }

    /// A query string of `k=v` pairs with keys from `names` or the dictionary.
    pub fn query(&self, rng: &mut StdRng, names: &[&str]) -> String {
        let n = rng.gen_range(1..5);
        let mut parts = Vec::new();
        for _ in 0..n {
            let key = if rng.gen_bool(0.7) {
                names
                    .choose(rng)
                    .map_or("limit".to_string(), |s| s.to_string())
            } else {
                self.key(rng)
            };
            let value = match rng.gen_range(0..4) {
                0 => EDGE_NUMBERS.choose(rng).copied().unwrap_or("0").to_string(),
                _ => self.string(rng),
            };
            parts.push(format!("{}={}", encode(&key), encode(&value)));
        }
        if rng.gen_range(0..10) == 0 {
            parts.push(
                ["%", "%zz", "&&", "=", "a=%FF%FE", "a[]=1&a[]=2"]
                    .choose(rng)
                    .copied()
                    .unwrap_or("")
                    .to_string(),
            );
        }
        parts.join("&")
    }
}

/// Field names in Rust source: `name: Type` lines of structs and serde `rename`/`alias` values.
fn harvest_keys(text: &str, keys: &mut BTreeSet<String>) {
    for line in text.lines() {
        let t = line.trim_start();
        let t = t
            .strip_prefix("pub(crate) ")
            .or_else(|| t.strip_prefix("pub "))
            .unwrap_or(t);
        if let Some((name, rest)) = t.split_once(':')
            && !rest.starts_with(':')
            && rest.trim_end().ends_with(',')
            && !name.is_empty()
            && name.len() < 40
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && name.starts_with(|c: char| c.is_ascii_lowercase())
        {
            keys.insert(name.to_string());
        }
        for marker in ["rename = \"", "alias = \""] {
            let mut rest = line;
            while let Some(i) = rest.find(marker) {
                rest = &rest[i + marker.len()..];
                if let Some(end) = rest.find('"') {
                    keys.insert(rest[..end].to_string());
                    rest = &rest[end..];
                }
            }
        }
    }
}

/// Percent-encodes everything but unreserved characters.
pub fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Up to `max` random characters, from ASCII, Latin-1 and astral planes.
pub fn random_string(rng: &mut StdRng, max: usize) -> String {
    let n = rng.gen_range(0..=max);
    (0..n)
        .map(|_| match rng.gen_range(0..4) {
            0 => char::from(rng.gen_range(0x20u8..0x7f)),
            1 => char::from_u32(rng.gen_range(0x80..0x800)).unwrap_or('x'),
            2 => char::from_u32(rng.gen_range(0x1F300..0x1F600)).unwrap_or('x'),
            _ => char::from(rng.gen_range(b'a'..=b'z')),
        })
        .collect()
}

/// Random bytes, sometimes biased towards JSON punctuation.
pub fn random_bytes(rng: &mut StdRng, max: usize) -> Vec<u8> {
    let n = rng.gen_range(0..=max);
    let json = rng.gen_bool(0.5);
    (0..n)
        .map(|_| {
            if json {
                *b"{}[]\":,0123456789.-eE tfnul\\"
                    .choose(rng)
                    .unwrap_or(&b'{')
            } else {
                rng.r#gen()
            }
        })
        .collect()
}

/// A few byte-level mutations: flip, insert, delete, truncate, duplicate a slice.
pub fn mutate(rng: &mut StdRng, bytes: &mut Vec<u8>) {
    for _ in 0..rng.gen_range(1..4) {
        if bytes.is_empty() {
            bytes.push(rng.r#gen());
            continue;
        }
        let i = rng.gen_range(0..bytes.len());
        match rng.gen_range(0..5) {
            0 => bytes[i] ^= 1 << rng.gen_range(0..8),
            1 => bytes.insert(i, *b"{}[]\",:\\0".choose(rng).unwrap_or(&b'"')),
            2 => {
                bytes.remove(i);
            }
            3 => bytes.truncate(i),
            _ => {
                let j = rng.gen_range(i..bytes.len());
                let copy = bytes[i..=j].to_vec();
                bytes.splice(i..i, copy);
            }
        }
    }
}
