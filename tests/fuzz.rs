//! Fuzz targets for every parser that takes outside bytes, on stable Rust (see
//! `fuzz/harness.rs` for the driver and why it is not bolero or cargo-fuzz).
//!
//! Each `#[test]` is one target: it replays `tests/fuzz/corpus/<target>/*.in`, then runs a
//! modest number of generated inputs (the test suite's bounded run). `scripts/fuzz TARGET
//! MINUTES` runs one target for longer. Properties: nothing panics; what is refused is refused
//! the Discord way (a close code for the gateway, `{code, message}` with the right status for
//! REST); what can be encoded and decoded again round-trips.

mod common;
#[path = "fuzz/harness.rs"]
mod harness;
#[path = "fuzz/inputs.rs"]
mod inputs;
#[path = "fuzz/live.rs"]
mod live;

use std::io::Read;

use accord::gateway::close::CloseCode;
use accord::gateway::payload::{Command, InboundFrame, decode_command};
use accord::id::{Snowflake, UserId};
use accord::model::timestamp::Timestamp;
use accord::permissions::Permissions;
use harness::Fuzzer;
use inputs::Gen;
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

// ---------------------------------------------------------------------------------------------
// Gateway frames, decoded in process
// ---------------------------------------------------------------------------------------------

/// Opcodes worth sending: every defined one, neighbours, and nonsense.
const OPS: &[&str] = &[
    "0",
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
    "8",
    "9",
    "10",
    "11",
    "12",
    "13",
    "14",
    "31",
    "37",
    "40",
    "99",
    "-1",
    "1.0",
    "2e0",
    "\"2\"",
    "null",
    "18446744073709551616",
];

/// A gateway frame: mostly `{"op": …, "d": …}` shaped for its opcode, sometimes mutated bytes.
fn gateway_frame(g: &Gen, rng: &mut StdRng, token: &str) -> Vec<u8> {
    let op = OPS.choose(rng).copied().unwrap_or("1");
    let d = gateway_data(g, rng, op, token);
    let mut text = match rng.gen_range(0..10) {
        0 => format!(
            "{{\"d\":{d},\"op\":{op},\"s\":{},\"t\":{}}}",
            g.value(rng, 0),
            g.value(rng, 0)
        ),
        1 => format!("{{\"op\":{op}}}"),
        2 => g.value(rng, 2),
        _ => format!("{{\"op\":{op},\"d\":{d}}}"),
    }
    .into_bytes();
    match rng.gen_range(0..12) {
        0 => inputs::mutate(rng, &mut text),
        1 => text = inputs::random_bytes(rng, 64),
        _ => {}
    }
    text
}

/// `d` for an opcode, with the fields that opcode reads and values that stress them.
fn gateway_data(g: &Gen, rng: &mut StdRng, op: &str, token: &str) -> String {
    let ids: Vec<String> = (0..4)
        .map(|_| g.ids.choose(rng).cloned().unwrap_or_else(|| "1".into()))
        .collect();
    let mut n = 0;
    let mut id = || {
        n += 1;
        ids[n % ids.len()].clone()
    };
    let pick =
        |options: &[String], rng: &mut StdRng| options.choose(rng).cloned().unwrap_or_default();
    if rng.gen_range(0..6) == 0 {
        return g.value(rng, 2);
    }
    let tok = serde_json::to_string(token).unwrap_or_default();
    let bot = serde_json::to_string(&format!("Bot {token}")).unwrap_or_default();
    match op {
        "1" => g.value(rng, 0),
        "2" => {
            let mut fields = vec![
                format!(
                    "\"token\":{}",
                    pick(
                        &[tok.clone(), bot, g.string_literal(rng), "null".into()],
                        rng
                    )
                ),
                format!(
                    "\"intents\":{}",
                    pick(
                        &[
                            "0".into(),
                            "513".into(),
                            "3276799".into(),
                            "\"513\"".into(),
                            "-1".into(),
                            "18446744073709551615".into(),
                            g.value(rng, 0)
                        ],
                        rng
                    )
                ),
                format!(
                    "\"properties\":{}",
                    pick(
                        &[
                            "{\"os\":\"linux\",\"browser\":\"x\",\"device\":\"x\"}".into(),
                            "{\"$os\":1}".into(),
                            g.value(rng, 1)
                        ],
                        rng
                    )
                ),
            ];
            if rng.gen_bool(0.5) {
                fields.push(format!(
                    "\"shard\":{}",
                    pick(
                        &[
                            "[0,1]".into(),
                            "[1,1]".into(),
                            "[0,0]".into(),
                            "[4294967295,4294967295]".into(),
                            "[1]".into(),
                            "[0,1,2]".into(),
                            g.value(rng, 1)
                        ],
                        rng
                    )
                ));
            }
            if rng.gen_bool(0.3) {
                fields.push(format!("\"presence\":{}", gateway_data(g, rng, "3", token)));
            }
            if rng.gen_bool(0.3) {
                fields.push(format!("\"large_threshold\":{}", g.value(rng, 0)));
            }
            if rng.gen_bool(0.2) {
                fields.push(format!("\"compress\":{}", g.value(rng, 0)));
            }
            if rng.gen_bool(0.2) {
                fields.push(format!("\"capabilities\":{}", g.value(rng, 0)));
            }
            fields.shuffle(rng);
            format!("{{{}}}", fields.join(","))
        }
        "3" => format!(
            "{{\"since\":{},\"activities\":{},\"status\":{},\"afk\":{}}}",
            pick(
                &[
                    "null".into(),
                    "0".into(),
                    "{\"secs_since_epoch\":1,\"nanos_since_epoch\":2}".into(),
                    "{\"secs_since_epoch\":18446744073709551615,\"nanos_since_epoch\":4294967295}"
                        .into(),
                    g.value(rng, 1)
                ],
                rng
            ),
            pick(
                &[
                    "[]".into(),
                    "[{\"name\":\"x\",\"type\":0}]".into(),
                    g.array(rng, 2)
                ],
                rng
            ),
            pick(
                &[
                    "\"online\"".into(),
                    "\"dnd\"".into(),
                    "\"offline\"".into(),
                    g.value(rng, 0)
                ],
                rng
            ),
            g.value(rng, 0)
        ),
        "4" => format!(
            "{{\"guild_id\":{},\"channel_id\":{},\"self_mute\":{},\"self_deaf\":{}}}",
            pick(&[format!("\"{}\"", id()), g.value(rng, 0)], rng),
            pick(
                &[format!("\"{}\"", id()), "null".into(), g.value(rng, 0)],
                rng
            ),
            g.value(rng, 0),
            g.value(rng, 0)
        ),
        "6" => format!(
            "{{\"token\":{},\"session_id\":{},\"seq\":{}}}",
            pick(&[tok, g.string_literal(rng)], rng),
            g.string_literal(rng),
            g.value(rng, 0)
        ),
        "8" => format!(
            "{{\"guild_id\":{},\"query\":{},\"limit\":{},\"presences\":{},\"user_ids\":{},\"nonce\":{}}}",
            pick(
                &[
                    format!("\"{}\"", id()),
                    format!("[\"{}\",\"{}\"]", id(), id()),
                    "[]".into(),
                    g.value(rng, 1)
                ],
                rng
            ),
            pick(&["\"\"".into(), g.string_literal(rng)], rng),
            g.value(rng, 0),
            g.value(rng, 0),
            pick(
                &[
                    format!("[\"{}\"]", id()),
                    format!("\"{}\"", id()),
                    g.array(rng, 1)
                ],
                rng
            ),
            g.value(rng, 0)
        ),
        "14" => format!(
            "{{\"guild_id\":{},\"typing\":{},\"activities\":{},\"threads\":{},\"members\":{},\"channels\":{{\"{}\":{}}}}}",
            pick(&[format!("\"{}\"", id()), id(), g.value(rng, 0)], rng),
            g.value(rng, 0),
            g.value(rng, 0),
            g.value(rng, 0),
            pick(&[format!("[\"{}\"]", id()), g.value(rng, 1)], rng),
            id(),
            ranges(g, rng)
        ),
        "37" => format!(
            "{{\"subscriptions\":{{\"{}\":{{\"typing\":true,\"channels\":{{\"{}\":{}}}}},{}:{}}}}}",
            id(),
            id(),
            ranges(g, rng),
            g.string_literal(rng),
            g.value(rng, 2)
        ),
        "31" => format!(
            "{{\"guild_ids\":{}}}",
            pick(&[format!("[\"{}\"]", id()), g.value(rng, 1)], rng)
        ),
        _ => g.value(rng, 2),
    }
}

/// Member-list ranges for op 14/37: sane, reversed, huge, negative, malformed.
fn ranges(g: &Gen, rng: &mut StdRng) -> String {
    let n = rng.gen_range(0..6);
    let items: Vec<String> = (0..n)
        .map(|_| match rng.gen_range(0..6) {
            0 => "[0,99]".into(),
            1 => "[100,0]".into(),
            2 => "[0,18446744073709551615]".into(),
            3 => "[-1,5]".into(),
            4 => "[1]".into(),
            _ => g.value(rng, 1),
        })
        .collect();
    format!("[{}]", items.join(","))
}

/// Close codes the gateway may answer a bad frame with; anything else (4000 above all, which
/// a crashed session sends) is a finding.
const EXPECTED_CLOSES: &[u16] = &[
    4001, 4002, 4003, 4004, 4005, 4007, 4008, 4010, 4012, 4013, 4014,
];

#[test]
fn gateway_decode() {
    let mut g = Gen::from_source();
    g.ids = vec!["175928847299117063".into(), "1".into(), "0".into()];
    let mut f = Fuzzer::new("gateway_decode", 20_000);
    let check = |frame: &[u8]| -> Result<(), String> {
        match decode_command(frame) {
            Err(e) => {
                let code = e.close_code();
                if !matches!(code, CloseCode::DecodeError | CloseCode::UnknownOpcode) {
                    return Err(format!("refused with {code:?}"));
                }
            }
            Ok(Command::Identify(id)) => {
                let _ = id.validate();
                if !(50..=250).contains(&id.large_threshold()) {
                    return Err(format!("large_threshold {}", id.large_threshold()));
                }
                if id.bare_token().starts_with("Bot ") && !id.token.starts_with("Bot Bot ") {
                    return Err("Bot prefix kept".into());
                }
            }
            Ok(Command::GuildSubscriptions(v)) if !v.is_object() => {
                return Err(format!("subscriptions not normalized to an object: {v}"));
            }
            Ok(_) => {}
        }
        // The gateway's reading of a frame is serde_json's (the reference for what JSON
        // means): the saved cases are the frames simd-json, which the gateway used before,
        // read differently (lone surrogates, big or malformed numbers, `-0`).
        if frame.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
            let ours = InboundFrame::parse(frame).map(|f| (f.op, f.d));
            let serde = serde_json::from_slice::<InboundFrame>(frame).map(|f| (f.op, f.d));
            match (ours, serde) {
                (Ok(a), Ok(b)) if a != b => {
                    return Err(format!("the gateway read {a:?}, serde_json {b:?}"));
                }
                (Ok(a), Err(e)) => {
                    return Err(format!("the gateway accepted {a:?}, serde_json: {e}"));
                }
                (Err(e), Ok(b)) => return Err(format!("the gateway refused {b:?}: {e}")),
                _ => {}
            }
        }
        Ok(())
    };
    for (_, input) in f.corpus() {
        f.check(&input, check);
    }
    while let Some(rng) = f.next() {
        let input = gateway_frame(&g, rng, "dG9rZW4.dG9rZW4.dG9rZW4");
        f.check(&input, check);
    }
    f.finish();
}

// ---------------------------------------------------------------------------------------------
// Ids, permissions, timestamps, mentions: parse, and round-trip what we print
// ---------------------------------------------------------------------------------------------

/// A string that may or may not be a number.
fn numberish(g: &Gen, rng: &mut StdRng) -> String {
    match rng.gen_range(0..6) {
        0 => rng.r#gen::<u64>().to_string(),
        1 => format!(
            "{}{}",
            ["", "+", "-", " ", "0", "00"]
                .choose(rng)
                .copied()
                .unwrap_or(""),
            rng.r#gen::<u64>()
        ),
        2 => inputs::random_string(rng, 24),
        _ => g.string(rng),
    }
}

#[test]
fn snowflake() {
    let g = Gen::from_source();
    let mut f = Fuzzer::new("snowflake", 20_000);
    let check = |input: &[u8]| -> Result<(), String> {
        let s = String::from_utf8_lossy(input);
        let parsed = s.parse::<Snowflake>();
        if parsed.is_ok() != s.parse::<u64>().is_ok() {
            return Err(format!("{s:?}: FromStr disagrees with u64"));
        }
        if let Ok(id) = parsed {
            let again: Snowflake = id.to_string().parse().map_err(|e| format!("{e}"))?;
            if again != id {
                return Err(format!("{s:?} does not round-trip"));
            }
            let json = serde_json::to_string(&id).map_err(|e| e.to_string())?;
            if json != format!("\"{}\"", id.get()) {
                return Err(format!("{id:?} serializes as {json}"));
            }
            let back: UserId = serde_json::from_str(&json).map_err(|e| e.to_string())?;
            let number: UserId =
                serde_json::from_str(&id.get().to_string()).map_err(|e| e.to_string())?;
            if back.get() != id.get() || number.get() != id.get() {
                return Err(format!("{id:?} does not round-trip through JSON"));
            }
            let _ = id.timestamp_ms();
        }
        // As JSON of any shape: an id or a clean error.
        let _ = serde_json::from_slice::<Snowflake>(input);
        let _ = serde_json::from_slice::<Option<Vec<UserId>>>(input);
        Ok(())
    };
    for (_, input) in f.corpus() {
        f.check(&input, check);
    }
    while let Some(rng) = f.next() {
        let input = numberish(&g, rng).into_bytes();
        f.check(&input, check);
    }
    f.finish();
}

#[test]
fn permissions() {
    let g = Gen::from_source();
    let mut f = Fuzzer::new("permissions", 20_000);
    let check = |input: &[u8]| -> Result<(), String> {
        let s = String::from_utf8_lossy(input);
        if let Some(p) = Permissions::parse_lenient(&s) {
            let json = serde_json::to_string(&p).map_err(|e| e.to_string())?;
            let back: Permissions = serde_json::from_str(&json).map_err(|e| e.to_string())?;
            if back != p || Permissions::parse_lenient(&p.bits().to_string()) != Some(p) {
                return Err(format!("{s:?} → {p:?} does not round-trip ({json})"));
            }
            if !(Permissions::all().contains(p)) {
                return Err(format!("{s:?} kept unknown bits"));
            }
        }
        let _ = serde_json::from_slice::<Permissions>(input);
        Ok(())
    };
    for (_, input) in f.corpus() {
        f.check(&input, check);
    }
    while let Some(rng) = f.next() {
        let input = numberish(&g, rng).into_bytes();
        f.check(&input, check);
    }
    f.finish();
}

/// Milliseconds from year 0 to 9999, the range RFC 3339 can write.
const YEAR_0_MS: i64 = -62_167_219_200_000;
const YEAR_9999_END_MS: i64 = 253_402_300_799_999;

#[test]
fn timestamp() {
    let g = Gen::from_source();
    let mut f = Fuzzer::new("timestamp", 20_000);
    let check = |input: &[u8]| -> Result<(), String> {
        let s = String::from_utf8_lossy(input);
        if let Some(t) = Timestamp::parse(&s) {
            let printed = t.to_string();
            if Timestamp::parse(&printed) != Some(t) {
                return Err(format!(
                    "{s:?} → {} → {printed:?} does not parse back",
                    t.millis()
                ));
            }
        }
        if let Ok(ms) = s.parse::<i64>()
            && (YEAR_0_MS..=YEAR_9999_END_MS).contains(&ms)
        {
            let printed = Timestamp::from_millis(ms).to_string();
            if Timestamp::parse(&printed) != Some(Timestamp::from_millis(ms)) {
                return Err(format!(
                    "{ms} prints as {printed:?}, which does not parse back"
                ));
            }
        }
        Ok(())
    };
    for (_, input) in f.corpus() {
        f.check(&input, check);
    }
    while let Some(rng) = f.next() {
        let input = match rng.gen_range(0..3) {
            0 => rng.gen_range(YEAR_0_MS..=YEAR_9999_END_MS).to_string(),
            1 => {
                let mut s = Timestamp::from_millis(rng.gen_range(YEAR_0_MS..=YEAR_9999_END_MS))
                    .to_string()
                    .into_bytes();
                inputs::mutate(rng, &mut s);
                String::from_utf8_lossy(&s).into_owned()
            }
            _ => g.string(rng),
        };
        f.check(input.as_bytes(), check);
    }
    f.finish();
}

#[test]
fn mentions() {
    let g = Gen::from_source();
    let mut f = Fuzzer::new("mentions", 20_000);
    let check = |input: &[u8]| -> Result<(), String> {
        let s = String::from_utf8_lossy(input);
        let (users, roles) = accord::model::mention::parse(&s);
        for u in &users {
            if !s.contains(&format!("{}>", u.get())) {
                return Err(format!("{s:?}: user {u:?} is not in the text"));
            }
        }
        let mut sorted = users.clone();
        sorted.sort();
        sorted.dedup();
        if sorted.len() != users.len()
            || roles.iter().any(|r| !s.contains(&format!("&{}>", r.get())))
        {
            return Err(format!("{s:?}: duplicate or invented mentions"));
        }
        Ok(())
    };
    for (_, input) in f.corpus() {
        f.check(&input, check);
    }
    while let Some(rng) = f.next() {
        // Round trip: the mentions written into random text are found, in order.
        let ids: Vec<u64> = (0..rng.gen_range(0..5)).map(|_| rng.r#gen()).collect();
        let mut text = String::new();
        for id in &ids {
            text.push_str(&g.string(rng).replace('<', "("));
            text.push_str(&format!(
                "<@{}{id}>",
                if rng.gen_bool(0.5) { "!" } else { "" }
            ));
        }
        let mut expected: Vec<u64> = Vec::new();
        for id in &ids {
            if !expected.contains(id) {
                expected.push(*id);
            }
        }
        let (found, _) = accord::model::mention::parse(&text);
        let mut input = text.clone().into_bytes();
        if rng.gen_bool(0.5) {
            inputs::mutate(rng, &mut input);
        }
        if found.iter().map(|u| u.get()).collect::<Vec<_>>() != expected {
            f.fail(
                text.as_bytes(),
                format!("wrote {expected:?}, parsed {found:?}"),
            );
        }
        f.check(&input, check);
    }
    f.finish();
}

#[test]
fn percent_decoding() {
    let g = Gen::from_source();
    let mut f = Fuzzer::new("percent_decoding", 20_000);
    let check = |input: &[u8]| -> Result<(), String> {
        let s = String::from_utf8_lossy(input);
        let _ = accord::api::extract::percent_decode(&s);
        // Round trip: what a client encodes decodes to the original.
        let back = accord::api::extract::percent_decode(&inputs::encode(&s));
        if back != s {
            return Err(format!("{s:?} decodes back as {back:?}"));
        }
        Ok(())
    };
    for (_, input) in f.corpus() {
        f.check(&input, check);
    }
    while let Some(rng) = f.next() {
        let input = match rng.gen_range(0..3) {
            0 => inputs::random_bytes(rng, 40),
            _ => g.string(rng).into_bytes(),
        };
        f.check(&input, check);
    }
    f.finish();
}

// ---------------------------------------------------------------------------------------------
// zlib-stream: what the server compresses, a client inflates to the same frames
// ---------------------------------------------------------------------------------------------

/// Input: 3 bytes of level, window bits and memory level, then frames as `u16 length + bytes`.
#[test]
fn zlib_stream() {
    use accord::gateway::compress::{DeflateSize, ZlibStream};
    let g = Gen::from_source();
    let mut f = Fuzzer::new("zlib_stream", 2_000);
    let check = |input: &[u8]| -> Result<(), String> {
        let [level, window, mem, rest @ ..] = input else {
            return Ok(());
        };
        let size = DeflateSize {
            level: level % 10,
            window_bits: 9 + window % 7,
            mem_level: 1 + mem % 9,
        };
        let mut z = ZlibStream::new(size).map_err(|e| e.to_string())?;
        let mut inflate = flate2::Decompress::new(true);
        let mut rest = rest;
        while let [a, b, tail @ ..] = rest {
            let len = usize::from(u16::from_be_bytes([*a, *b])).min(tail.len());
            let (frame, tail) = tail.split_at(len);
            rest = tail;
            let out = z.compress(frame).map_err(|e| format!("compress: {e}"))?;
            if !out.ends_with(&accord::gateway::compress::ZLIB_SUFFIX) {
                return Err("a message without the sync-flush suffix".into());
            }
            let mut plain = Vec::with_capacity(frame.len() + 64);
            let mut consumed = 0;
            while consumed < out.len() {
                plain.reserve(64 * 1024);
                let before = inflate.total_in();
                inflate
                    .decompress_vec(&out[consumed..], &mut plain, flate2::FlushDecompress::Sync)
                    .map_err(|e| format!("inflate: {e}"))?;
                consumed += (inflate.total_in() - before) as usize;
            }
            if plain != frame {
                return Err(format!(
                    "{size:?}: a {}-byte frame inflated to {} bytes",
                    frame.len(),
                    plain.len()
                ));
            }
        }
        // A whole payload compressed on its own (IDENTIFY `compress: true`).
        let one = accord::gateway::compress::compress_payload(input).map_err(|e| e.to_string())?;
        let mut back = Vec::new();
        flate2::read::ZlibDecoder::new(&one[..])
            .read_to_end(&mut back)
            .map_err(|e| e.to_string())?;
        if back != input {
            return Err("compress_payload does not round-trip".into());
        }
        Ok(())
    };
    for (_, input) in f.corpus() {
        f.check(&input, check);
    }
    while let Some(rng) = f.next() {
        let mut input = vec![rng.r#gen(), rng.r#gen(), rng.r#gen()];
        for _ in 0..rng.gen_range(0..6) {
            let frame = match rng.gen_range(0..4) {
                0 => inputs::random_bytes(rng, 3000),
                1 => vec![b'x'; rng.gen_range(0..70_000)],
                _ => g.object(rng, 3).into_bytes(),
            };
            let frame = &frame[..frame.len().min(u16::MAX as usize)];
            input.extend_from_slice(&(frame.len() as u16).to_be_bytes());
            input.extend_from_slice(frame);
        }
        f.check(&input, check);
    }
    f.finish();
}

// ---------------------------------------------------------------------------------------------
// WebSocket frames: reassembly of fragmented messages under the size cap
// ---------------------------------------------------------------------------------------------

/// The gateway's default `max_payload_bytes`.
const MAX_MESSAGE: usize = 16 * 1024;

/// One client frame (masked, as clients must): FIN, RSV bits, opcode, length, mask, payload.
fn ws_frame(rng: &mut StdRng, fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![(u8::from(fin) << 7) | (opcode & 0x0f)];
    if rng.gen_range(0..50) == 0 {
        out[0] |= 0x40; // RSV1 without an extension
    }
    let masked = rng.gen_range(0..50) != 0;
    let mask_bit = if masked { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 && rng.gen_range(0..10) != 0 => out.push(mask_bit | n as u8),
        n if n <= usize::from(u16::MAX) => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    let mask: [u8; 4] = rng.r#gen();
    if masked {
        out.extend_from_slice(&mask);
    }
    out.extend(
        payload
            .iter()
            .enumerate()
            .map(|(i, b)| if masked { b ^ mask[i % 4] } else { *b }),
    );
    out
}

/// Whether a frame made by [`ws_frame`] must fail the connection: a reserved bit set, or no
/// mask (RFC 6455 §5.1: a server closes on an unmasked client frame).
fn has_rsv(frame: &[u8]) -> bool {
    frame.first().is_some_and(|b| b & 0x70 != 0) || frame.get(1).is_some_and(|b| b & 0x80 == 0)
}

/// The messages a conforming reader returns from a stream of client frames, in order, up to the
/// first frame it must refuse (a reserved bit, a reserved opcode, a fragmented or oversize
/// control frame, an unmasked frame, a message of `MAX_MESSAGE` bytes or more, a continuation out of place, text
/// that is not UTF-8) or the end of the input. A reference for the saved cases, which carry no
/// expected answer of their own.
fn reference_messages(mut input: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut partial: Option<(u8, Vec<u8>)> = None;
    loop {
        let [b0, b1, rest @ ..] = input else {
            return out;
        };
        let (fin, rsv, opcode) = (b0 & 0x80 != 0, b0 & 0x70, b0 & 0x0f);
        let (len, rest) = match b1 & 0x7f {
            126 if rest.len() >= 2 => (
                usize::from(u16::from_be_bytes([rest[0], rest[1]])),
                &rest[2..],
            ),
            127 if rest.len() >= 8 => {
                let mut n = [0u8; 8];
                n.copy_from_slice(&rest[..8]);
                (
                    usize::try_from(u64::from_be_bytes(n)).unwrap_or(usize::MAX),
                    &rest[8..],
                )
            }
            126 | 127 => return out,
            n => (usize::from(n), rest),
        };
        let (mask, rest) = if b1 & 0x80 != 0 {
            if rest.len() < 4 {
                return out;
            }
            ([rest[0], rest[1], rest[2], rest[3]], &rest[4..])
        } else {
            // An unmasked client frame fails the connection (RFC 6455 §5.1).
            return out;
        };
        let control = opcode >= 8;
        if rsv != 0
            || !matches!(opcode, 0 | 1 | 2 | 8 | 9 | 10)
            || (control && (!fin || len > 125))
            || len >= MAX_MESSAGE
            || rest.len() < len
        {
            return out;
        }
        let payload: Vec<u8> = rest[..len]
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ mask[i % 4])
            .collect();
        input = &rest[len..];
        let message = match (opcode, partial.take()) {
            (8..=10, p) => {
                partial = p;
                continue;
            }
            (1 | 2, Some(_)) | (0, None) => return out,
            (1 | 2, None) => (opcode, payload),
            (0, Some((op, mut bytes))) => {
                bytes.extend_from_slice(&payload);
                if bytes.len() >= MAX_MESSAGE {
                    return out;
                }
                (op, bytes)
            }
            // Reserved opcodes were refused above.
            _ => return out,
        };
        if !fin {
            partial = Some(message);
        } else if message.0 == 1 && std::str::from_utf8(&message.1).is_err() {
            return out;
        } else {
            out.push(message.1);
        }
    }
}

/// A stream of frames; returns it and, when it is well-formed, the messages it carries.
fn ws_stream(g: &Gen, rng: &mut StdRng) -> (Vec<u8>, Option<Vec<Vec<u8>>>) {
    let mut out = Vec::new();
    let mut messages = Vec::new();
    let mut well_formed = true;
    for _ in 0..rng.gen_range(1..5) {
        let text = rng.gen_bool(0.7);
        let payload = match rng.gen_range(0..4) {
            0 => inputs::random_bytes(rng, 300),
            1 => vec![b'a'; rng.gen_range(MAX_MESSAGE - 8..MAX_MESSAGE + 8)],
            _ => g.object(rng, 2).into_bytes(),
        };
        let valid = payload.len() < MAX_MESSAGE && (!text || std::str::from_utf8(&payload).is_ok());
        let pieces = rng.gen_range(1..6).min(payload.len().max(1));
        let mut cuts: Vec<usize> = (0..pieces - 1)
            .map(|_| rng.gen_range(0..=payload.len()))
            .collect();
        cuts.sort_unstable();
        cuts.push(payload.len());
        let mut start = 0;
        for (i, end) in cuts.iter().enumerate() {
            let opcode = if i == 0 { if text { 1 } else { 2 } } else { 0 };
            let fin = i == cuts.len() - 1;
            let frame = ws_frame(rng, fin, opcode, &payload[start..*end]);
            // A reserved bit without a negotiated extension: the reader must fail the
            // connection there (RFC 6455 §5.2), so the stream is not well-formed.
            well_formed &= !has_rsv(&frame);
            out.extend(frame);
            start = *end;
            if !fin && rng.gen_range(0..4) == 0 {
                let ping = ws_frame(rng, true, 9, b"ping");
                well_formed &= !has_rsv(&ping);
                out.extend(ping);
            }
            if rng.gen_range(0..40) == 0 {
                // A protocol error: a reserved opcode, a stray continuation, a fragmented ping.
                let bad = [3u8, 0xb, 0].choose(rng).copied().unwrap_or(3);
                let fin = rng.gen_bool(0.5);
                out.extend(ws_frame(rng, fin, bad, b"x"));
                well_formed = false;
            }
        }
        well_formed &= valid;
        messages.push(payload);
        if !well_formed {
            break;
        }
    }
    if rng.gen_range(0..10) == 0 {
        inputs::mutate(rng, &mut out);
        well_formed = false;
    }
    (out, well_formed.then_some(messages))
}

/// Reads every message the server-side reader gets from `input` (then the client hangs up).
async fn read_ws(input: &[u8]) -> Result<Vec<(fastwebsockets::OpCode, Vec<u8>)>, String> {
    use accord::gateway::fragments::BoundedMessages;
    use tokio::io::AsyncWriteExt;
    let (mut client, server) = tokio::io::duplex(input.len() + 16);
    client.write_all(input).await.map_err(|e| e.to_string())?;
    drop(client);
    let mut ws = fastwebsockets::WebSocket::after_handshake(server, fastwebsockets::Role::Server);
    ws.set_auto_close(false);
    ws.set_auto_pong(false);
    ws.set_max_message_size(MAX_MESSAGE);
    let (read, _write) = ws.split(tokio::io::split);
    let mut reader = BoundedMessages::new(read, MAX_MESSAGE);
    let mut got = Vec::new();
    loop {
        let frame = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            reader.read_frame::<_, std::io::Error>(&mut |_| async { Ok(()) }),
        )
        .await
        .map_err(|_| "the reader hung on a closed stream".to_string())?;
        match frame {
            Ok(f) => {
                if f.payload.len() > MAX_MESSAGE {
                    return Err(format!("a {}-byte message passed the cap", f.payload.len()));
                }
                got.push((f.opcode, f.payload.to_vec()));
            }
            Err(_) => return Ok(got),
        }
    }
}

async fn read_ws_owned(input: Vec<u8>) -> Result<Vec<(fastwebsockets::OpCode, Vec<u8>)>, String> {
    read_ws(&input).await
}

/// Runs a future on its own task so that a panic becomes a failure with its input saved.
async fn caught<T: Send + 'static>(
    fut: impl std::future::Future<Output = Result<T, String>> + Send + 'static,
) -> Result<T, String> {
    tokio::spawn(fut)
        .await
        .unwrap_or_else(|e| Err(format!("panic: {e}")))
}

#[tokio::test]
async fn gateway_fragments() {
    let g = Gen::from_source();
    let mut f = Fuzzer::new("gateway_fragments", 3_000);
    // The saved cases: the reader returns what a conforming reader would, up to where it must
    // stop (most were streams with a reserved bit set, which the generator had wrongly counted
    // as well-formed: the reader was right to stop there).
    for (_, input) in f.corpus() {
        match caught(read_ws_owned(input.clone())).await {
            Err(e) => f.fail(&input, e),
            Ok(got) => {
                let messages: Vec<Vec<u8>> = got
                    .into_iter()
                    .filter(|(op, _)| {
                        matches!(
                            op,
                            fastwebsockets::OpCode::Text | fastwebsockets::OpCode::Binary
                        )
                    })
                    .map(|(_, p)| p)
                    .collect();
                let expected = reference_messages(&input);
                if messages != expected {
                    f.fail(
                        &input,
                        format!(
                            "read {} messages, a conforming reader {}",
                            messages.len(),
                            expected.len()
                        ),
                    );
                }
            }
        }
    }
    while let Some(rng) = f.next() {
        let (input, expected) = ws_stream(&g, rng);
        match (caught(read_ws_owned(input.clone())).await, expected) {
            (Err(e), _) => f.fail(&input, e),
            (Ok(got), Some(expected)) => {
                let messages: Vec<Vec<u8>> = got
                    .into_iter()
                    .filter(|(op, _)| {
                        matches!(
                            op,
                            fastwebsockets::OpCode::Text | fastwebsockets::OpCode::Binary
                        )
                    })
                    .map(|(_, p)| p)
                    .collect();
                if messages != expected {
                    f.fail(
                        &input,
                        format!("sent {} messages, read {}", expected.len(), messages.len()),
                    );
                }
            }
            (Ok(_), None) => {}
        }
    }
    f.finish();
}

// ---------------------------------------------------------------------------------------------
// Images: data URIs and decoding, with decompression bombs refused by declared size
// ---------------------------------------------------------------------------------------------

/// The default `cdn.max_image_pixels`.
const MAX_PIXELS: u64 = 16_777_216;

/// Small valid images of every accepted format, and headers that declare 60000×60000.
fn seed_images() -> Vec<Vec<u8>> {
    use std::io::Cursor;
    let mut out = Vec::new();
    for (img, format) in [
        (
            image::DynamicImage::new_rgba8(3, 2),
            image::ImageOutputFormat::Png,
        ),
        (
            image::DynamicImage::new_rgb8(17, 9),
            image::ImageOutputFormat::Jpeg(70),
        ),
        (
            image::DynamicImage::new_rgba8(5, 5),
            image::ImageOutputFormat::Gif,
        ),
        (
            image::DynamicImage::new_rgb8(40, 40),
            image::ImageOutputFormat::Png,
        ),
    ] {
        let mut c = Cursor::new(Vec::new());
        if img.write_to(&mut c, format).is_ok() {
            out.push(c.into_inner());
        }
    }
    out.push(bomb_png(60_000, 60_000));
    out.push(bomb_gif(60_000, 60_000));
    // A lossless WebP header (VP8L) declaring a large canvas.
    let mut webp = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f".to_vec();
    webp.extend_from_slice(&[0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0, 0, 0, 0, 0]);
    out.push(webp);
    out
}

/// A PNG whose header declares `w`×`h` (8-bit grey) and whose data is one deflated row of
/// zeros: a few dozen bytes that would decode into `w*h` bytes.
pub fn bomb_png(w: u32, h: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let _ = std::io::Write::write_all(&mut z, &vec![0u8; 4096]);
    chunk(&mut out, b"IDAT", &z.finish().unwrap_or_default());
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A GIF whose screen and one image declare `w`×`h` (at most 65535 each).
pub fn bomb_gif(w: u16, h: u16) -> Vec<u8> {
    let mut out = b"GIF89a".to_vec();
    out.extend_from_slice(&w.to_le_bytes());
    out.extend_from_slice(&h.to_le_bytes());
    out.extend_from_slice(&[0x80, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff]); // 2-colour table
    out.push(0x2c);
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&w.to_le_bytes());
    out.extend_from_slice(&h.to_le_bytes());
    out.push(0);
    out.extend_from_slice(&[2, 2, 0x4c, 0x01, 0, 0x3b]);
    out
}

fn data_uri(bytes: &[u8], rng: &mut StdRng) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mime = [
        "image/png",
        "image/gif",
        "image/jpeg",
        "image/webp",
        "text/html",
        "",
    ]
    .choose(rng)
    .copied()
    .unwrap_or("image/png");
    match rng.gen_range(0..12) {
        0 => format!("data:{mime},{b64}"),
        1 => format!("data:{mime};base64,{}", b64.trim_end_matches('=')),
        2 => format!("data:{mime};base64, {b64}\n"),
        3 => format!("data:{mime};base64,{}", &b64[..b64.len() / 2]),
        _ => format!("data:{mime};base64,{b64}"),
    }
}

#[tokio::test]
async fn images() {
    use accord::cdn::{Cdn, ImageKind, ImageLimits, inspect_image, resize};
    let dir = tempfile::tempdir().expect("tempdir");
    let cdn = Cdn::new(dir.path().to_path_buf());
    let seeds = seed_images();
    let mut f = Fuzzer::new("images", 1_500);
    let limits = ImageLimits {
        max_bytes: 256 * 1024,
        max_pixels: MAX_PIXELS,
    };
    // Input: a data URI (what avatar, icon and emoji fields carry).
    let owner = Snowflake::new(175928847299117063);
    let check = async |input: &[u8]| -> Result<(), String> {
        let uri = String::from_utf8_lossy(input).into_owned();
        let decoded = uri.split_once(',').and_then(|(_, b)| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        });
        let info = decoded.as_deref().and_then(inspect_image);
        let too_big = info.is_some_and(|i| u64::from(i.width) * u64::from(i.height) > MAX_PIXELS);
        let bytes = decoded.clone();
        let resized =
            tokio::task::spawn_blocking(move || bytes.map(|b| resize(&b, 16, MAX_PIXELS)))
                .await
                .map_err(|e| format!("resize panicked: {e}"))?;
        if too_big && resized.flatten().is_some() {
            return Err(format!(
                "{info:?}: decoded although over {MAX_PIXELS} pixels"
            ));
        }
        let stored = caught({
            let cdn = Cdn::new(cdn.root().to_path_buf());
            async move {
                Ok(cdn
                    .put_image_data_uri(ImageKind::Avatar, owner, &uri, limits)
                    .await)
            }
        })
        .await?;
        if let Ok(hash) = stored {
            if too_big {
                return Err(format!(
                    "{info:?}: stored although over {MAX_PIXELS} pixels"
                ));
            }
            let info = info.ok_or("stored something that is not an image")?;
            let path = dir
                .path()
                .join("avatars")
                .join(owner.to_string())
                .join(format!("{hash}.{}", info.ext));
            if std::fs::read(&path).ok() != decoded {
                return Err(format!(
                    "{} does not hold the decoded bytes",
                    path.display()
                ));
            }
        }
        Ok(())
    };
    for (_, input) in f.corpus() {
        if let Err(e) = check(&input).await {
            f.fail(&input, e);
        }
    }
    while let Some(rng) = f.next() {
        let mut img = seeds.choose(rng).cloned().unwrap_or_default();
        if rng.gen_bool(0.6) {
            inputs::mutate(rng, &mut img);
        }
        let input = data_uri(&img, rng).into_bytes();
        if let Err(e) = check(&input).await {
            f.fail(&input, e);
        }
    }
    f.finish();
}

// ---------------------------------------------------------------------------------------------
// REST: every JSON body, query strings, multipart forms, on a live server
// ---------------------------------------------------------------------------------------------

use accord::api::openapi::{self, Auth, Body, Method, Route};

/// A server with generous limits (the fuzzer is not the rate limiter's test).
async fn fuzz_server() -> common::TestServer {
    let t = common::start().await;
    t.srv()
        .app
        .config()
        .apply_patch(
            t.srv().app.store().as_ref(),
            &serde_json::json!({"gateway": {"max_payloads_per_window": 1_000_000}}),
        )
        .await
        .expect("patch");
    t
}

fn reqwest_method(m: Method) -> reqwest::Method {
    match m {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Patch => reqwest::Method::PATCH,
        Method::Delete => reqwest::Method::DELETE,
    }
}

/// Routes the REST targets call. Admin routes are left out: the fuzzer would rewrite the
/// instance's own configuration under itself (their auth is the matrix test's business).
fn fuzzed_routes(body: impl Fn(Option<Body>) -> bool) -> Vec<&'static Route> {
    openapi::routes()
        .map(|(_, r)| r)
        .filter(|r| r.auth != Auth::Admin && body(r.body))
        .collect()
}

/// The route an input is for: its first line is `METHOD /path/template`, the rest its payload.
fn split_case(input: &[u8]) -> Option<(&'static Route, &[u8])> {
    let nl = input.iter().position(|b| *b == b'\n')?;
    let head = std::str::from_utf8(&input[..nl]).ok()?;
    let (method, path) = head.split_once(' ')?;
    let route = openapi::routes()
        .map(|(_, r)| r)
        .find(|r| r.method.as_str().eq_ignore_ascii_case(method) && r.path == path)?;
    Some((route, &input[nl + 1..]))
}

fn case(route: &Route, payload: &[u8]) -> Vec<u8> {
    let mut v = format!("{} {}\n", route.method.as_str().to_uppercase(), route.path).into_bytes();
    v.extend_from_slice(payload);
    v
}

/// Live fuzzing state: the server, a fixture rebuilt now and then (fuzzed calls delete and ban
/// things), and the generator fed with the fixture's ids.
struct Live {
    t: common::TestServer,
    fixture: live::Fixture,
    generation: u64,
    inputs: Gen,
    calls: u64,
}

impl Live {
    async fn new() -> Live {
        let t = fuzz_server().await;
        let fixture = live::Fixture::build(&t, 0).await;
        let mut inputs = Gen::from_source();
        inputs.ids = fixture.ids();
        Live {
            t,
            fixture,
            generation: 0,
            inputs,
            calls: 0,
        }
    }

    /// Rebuilds the fixture every 60 calls.
    async fn tick(&mut self) {
        self.calls += 1;
        if self.calls.is_multiple_of(60) {
            self.generation += 1;
            self.fixture = live::Fixture::build(&self.t, self.generation).await;
            self.inputs.ids = self.fixture.ids();
        }
    }

    /// Sends `payload` to `route` as the guild owner (or without a token for open routes) and
    /// checks the answer.
    async fn call(
        &self,
        route: &Route,
        query: &str,
        content_type: Option<&str>,
        payload: Option<Vec<u8>>,
    ) -> Result<(), String> {
        let path = self.fixture.fill(route.path);
        let token = (route.auth != Auth::None).then_some(self.fixture.owner.as_str());
        let url = if query.is_empty() {
            path
        } else {
            format!("{path}?{query}")
        };
        let (status, text) = live::send(
            &self.t,
            reqwest_method(route.method),
            &url,
            token,
            content_type,
            payload,
        )
        .await?;
        live::check_response(&url, status, &text)
            .map_err(|e| format!("{} {url}: {e}", route.method.as_str()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_bodies() {
    let mut live = Live::new().await;
    let routes = fuzzed_routes(|b| {
        b.is_some_and(|b| {
            !matches!(
                b,
                Body::StickerCreate | Body::FileUpload | Body::TargetUsersFile
            )
        })
    });
    eprintln!(
        "rest_bodies: {} routes with a JSON body, {} field names in the dictionary",
        routes.len(),
        live.inputs.key_count()
    );
    let mut f = Fuzzer::new("rest_bodies", 400);
    for (_, input) in f.corpus() {
        let Some((route, body)) = split_case(&input) else {
            continue;
        };
        if let Err(e) = live
            .call(route, "", Some("application/json"), Some(body.to_vec()))
            .await
        {
            f.fail(&input, e);
        }
    }
    let mut i = 0usize;
    while let Some(rng) = f.next() {
        // Every route in turn, so even a short run covers each body type.
        let route = routes[i % routes.len()];
        i += 1;
        let body = live.inputs.body(rng, route.body == Some(Body::Array));
        let input = case(route, &body);
        if let Err(e) = live
            .call(route, "", Some("application/json"), Some(body))
            .await
        {
            f.fail(&input, e);
        }
        live.tick().await;
    }
    f.finish();
    live.t.stop().await;
}

/// Query parameter names our routes read (plus the dictionary's).
const QUERY_NAMES: &[&str] = &[
    "limit",
    "before",
    "after",
    "around",
    "with_counts",
    "with_expiration",
    "with_user_count",
    "query",
    "user_id",
    "action_type",
    "days",
    "include_roles",
    "compute_prune_count",
    "size",
    "with_localizations",
    "guild_id",
    "event_id",
    "v",
    "encoding",
    "compress",
    "style",
    "with_components",
    "thread_id",
    "wait",
    "type",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_queries() {
    let mut live = Live::new().await;
    let routes = fuzzed_routes(|b| b.is_none());
    let mut f = Fuzzer::new("rest_queries", 400);
    for (_, input) in f.corpus() {
        let Some((route, query)) = split_case(&input) else {
            continue;
        };
        let query = String::from_utf8_lossy(query).into_owned();
        if let Err(e) = live.call(route, &query, None, None).await {
            f.fail(&input, e);
        }
    }
    let mut i = 0usize;
    while let Some(rng) = f.next() {
        let route = routes[i % routes.len()];
        i += 1;
        let query = live.inputs.query(rng, QUERY_NAMES);
        let input = case(route, query.as_bytes());
        if let Err(e) = live.call(route, &query, None, None).await {
            f.fail(&input, e);
        }
        live.tick().await;
    }
    f.finish();
    live.t.stop().await;
}

/// The boundary of generated multipart bodies.
const BOUNDARY: &str = "fuzzBoundary7MA4YWxkTrZu0gW";

/// A `multipart/form-data` body: `payload_json`, files and loose fields, sometimes broken.
fn multipart(g: &Gen, rng: &mut StdRng, images: &[Vec<u8>]) -> Vec<u8> {
    let names = [
        "payload_json",
        "files[0]",
        "files[1]",
        "file",
        "content",
        "name",
        "description",
        "tags",
        "files[99999999999]",
        "files[-1]",
        "attachments",
        "",
    ];
    let mut out = Vec::new();
    for _ in 0..rng.gen_range(0..5) {
        let name = names.choose(rng).copied().unwrap_or("file");
        out.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let filename = match rng.gen_range(0..4) {
            0 => String::new(),
            1 => format!(
                "; filename=\"{}\"",
                inputs::random_string(rng, 20).replace('"', "")
            ),
            2 => "; filename=\"../../x.png\"".into(),
            _ => "; filename=\"a.png\"".into(),
        };
        out.extend_from_slice(
            format!("Content-Disposition: form-data; name=\"{name}\"{filename}\r\n").as_bytes(),
        );
        if rng.gen_bool(0.5) {
            let ct = [
                "image/png",
                "application/json",
                "text/plain",
                "application/octet-stream",
                "x/y",
            ]
            .choose(rng)
            .copied()
            .unwrap_or("image/png");
            out.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        let data = match (name, rng.gen_range(0..3)) {
            ("payload_json", _) | (_, 0) => g.body(rng, false),
            (_, 1) => images.choose(rng).cloned().unwrap_or_default(),
            _ => g.string(rng).into_bytes(),
        };
        out.extend_from_slice(&data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    if rng.gen_range(0..6) == 0 {
        inputs::mutate(rng, &mut out);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_multipart() {
    let mut live = Live::new().await;
    let routes = fuzzed_routes(|b| {
        matches!(
            b,
            Some(
                Body::MessageCreate
                    | Body::WebhookExecute
                    | Body::StickerCreate
                    | Body::FileUpload
                    | Body::TargetUsersFile
            )
        )
    });
    let images = seed_images();
    let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
    let mut f = Fuzzer::new("rest_multipart", 300);
    for (_, input) in f.corpus() {
        let Some((route, body)) = split_case(&input) else {
            continue;
        };
        if let Err(e) = live
            .call(route, "", Some(&content_type), Some(body.to_vec()))
            .await
        {
            f.fail(&input, e);
        }
    }
    let mut i = 0usize;
    while let Some(rng) = f.next() {
        let route = routes[i % routes.len()];
        i += 1;
        let body = multipart(&live.inputs, rng, &images);
        let input = case(route, &body);
        let ct = if rng.gen_range(0..15) == 0 {
            "multipart/form-data"
        } else {
            content_type.as_str()
        };
        if let Err(e) = live.call(route, "", Some(ct), Some(body)).await {
            f.fail(&input, e);
        }
        live.tick().await;
    }
    f.finish();
    live.t.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Gateway: frames sent to a live, identified session
// ---------------------------------------------------------------------------------------------

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// What the server did after a fuzzed frame and a heartbeat.
enum Answer {
    /// The heartbeat was acknowledged: the session carries on.
    Alive,
    /// Closed with this code (`None`: dropped without a close frame).
    Closed(Option<u16>),
}

/// Reads until a heartbeat ACK or the close. Binary messages are per-payload zlib (IDENTIFY
/// `compress: true`); every message must be a JSON object with an `op`.
async fn until_ack(ws: &mut Ws) -> Result<Answer, String> {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        let msg = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next())
            .await
            .map_err(|_| "no answer to a heartbeat within 10 s".to_string())?;
        let bytes = match msg {
            None | Some(Err(_)) => return Ok(Answer::Closed(None)),
            Some(Ok(Message::Close(frame))) => {
                return Ok(Answer::Closed(frame.map(|f| u16::from(f.code))));
            }
            Some(Ok(Message::Text(t))) => t.as_bytes().to_vec(),
            Some(Ok(Message::Binary(b))) => {
                let mut out = Vec::new();
                flate2::read::ZlibDecoder::new(&b[..])
                    .read_to_end(&mut out)
                    .map_err(|e| format!("a binary message that does not inflate: {e}"))?;
                out
            }
            Some(Ok(_)) => continue,
        };
        let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
            format!(
                "a message that is not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        })?;
        if !v["op"].is_u64() {
            return Err(format!("a payload without op: {v}"));
        }
        if v["op"] == 11 {
            return Ok(Answer::Alive);
        }
    }
}

/// A connection after HELLO, identified (READY received) when `identify`.
async fn gateway_connect(
    t: &common::TestServer,
    token: &str,
    identify: bool,
) -> Result<Ws, String> {
    use futures::SinkExt;
    let (mut ws, _) = tokio_tungstenite::connect_async(t.gateway_url("v=10&encoding=json"))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    if identify {
        let frame = serde_json::json!({"op": 2, "d": {"token": token, "intents": 3276799, "properties": {"os": "linux", "browser": "fuzz", "device": "fuzz"}}});
        ws.send(tokio_tungstenite::tungstenite::Message::Text(
            frame.to_string().into(),
        ))
        .await
        .map_err(|e| format!("send: {e}"))?;
    }
    Ok(ws)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_session() {
    use futures::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    let live = Live::new().await;
    // Every connection the fuzzer closes leaves a resumable session behind for the resume
    // window; at the default 20 per user, a long run would otherwise spend itself on 4008s
    // after its first minute.
    live.t
        .srv()
        .app
        .config()
        .apply_patch(
            live.t.srv().app.store().as_ref(),
            &serde_json::json!({"gateway": {"max_sessions_per_user": 1_000_000}}),
        )
        .await
        .expect("patch");
    let token = live.fixture.owner.clone();
    let mut f = Fuzzer::new("gateway_session", 400);
    let mut ws: Option<Ws> = None;
    let mut closes: std::collections::BTreeMap<u16, u32> = Default::default();
    // Input: one frame. 4 in 5 go to an identified session (kept while it lives), the rest to a
    // fresh connection that has only seen HELLO (IDENTIFY and RESUME land there).
    let run =
        async |input: &[u8], fresh: bool, ws: &mut Option<Ws>| -> Result<Option<u16>, String> {
            let mut conn = match ws.take() {
                Some(c) if !fresh => c,
                _ => gateway_connect(&live.t, &token, !fresh).await?,
            };
            let msg = match std::str::from_utf8(input) {
                Ok(s) => Message::Text(s.to_string().into()),
                Err(_) => Message::Binary(input.to_vec().into()),
            };
            conn.send(msg).await.map_err(|e| format!("send: {e}"))?;
            let _ = conn
                .send(Message::Text("{\"op\":1,\"d\":null}".into()))
                .await;
            match until_ack(&mut conn).await? {
                Answer::Alive => {
                    if !fresh {
                        *ws = Some(conn);
                    }
                    Ok(None)
                }
                Answer::Closed(Some(code)) if EXPECTED_CLOSES.contains(&code) => Ok(Some(code)),
                Answer::Closed(code) => Err(format!("closed with {code:?}")),
            }
        };
    for (_, input) in f.corpus() {
        match run(&input, false, &mut ws).await {
            Ok(_) => {}
            Err(e) => f.fail(&input, e),
        }
    }
    let g = &live.inputs;
    while let Some(rng) = f.next() {
        let fresh = rng.gen_range(0..5) == 0;
        let input = gateway_frame(g, rng, &token);
        match run(&input, fresh, &mut ws).await {
            Ok(Some(code)) => *closes.entry(code).or_default() += 1,
            Ok(None) => {}
            Err(e) => f.fail(&input, e),
        }
    }
    eprintln!("gateway_session: close codes seen {closes:?}");
    f.finish();
    // The server still serves a normal client.
    let mut conn = gateway_connect(&live.t, &token, true)
        .await
        .expect("connect");
    let _ = conn
        .send(Message::Text("{\"op\":1,\"d\":null}".into()))
        .await;
    assert!(matches!(until_ack(&mut conn).await, Ok(Answer::Alive)));
}

// ---------------------------------------------------------------------------------------------
// Tokens and signed OAuth2 state
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_tokens() {
    let live = Live::new().await;
    let auth = &live.t.srv().app.auth;
    let real = live.fixture.owner.clone();
    let state = auth.sign("connection-state", "175928847299117063:github:1700000000");
    let mut f = Fuzzer::new("auth_tokens", 5_000);
    // Input: a token or a signed state as a client might send it back.
    let check = async |input: &[u8]| -> Result<(), String> {
        let s = String::from_utf8_lossy(input);
        let authenticated = auth.authenticate(&s).await;
        // What the server strips before verifying: one `Bot `/`Bearer ` prefix, then blanks.
        let bare = s
            .strip_prefix("Bot ")
            .or_else(|| s.strip_prefix("Bearer "))
            .unwrap_or(&s);
        let genuine = bare.trim() == real;
        match authenticated {
            Ok(_) if !genuine => return Err(format!("{s:?} authenticated")),
            Err(accord::error::ApiError::Unauthorized) if !genuine => {}
            Err(e) if !genuine => return Err(format!("{s:?} refused with {e:?}, not 401")),
            Err(e) => return Err(format!("the real token refused: {e:?}")),
            Ok(_) => {}
        }
        let verified = auth.verify_signed("connection-state", &s);
        if verified.is_some() != (s == state) {
            return Err(format!(
                "{s:?}: signed state accepted = {}",
                verified.is_some()
            ));
        }
        // Round trip: whatever payload is signed verifies to itself, and for that purpose only.
        let signed = auth.sign("fuzz", &s);
        if auth.verify_signed("fuzz", &signed).as_deref() != Some(&*s)
            || auth.verify_signed("connection-state", &signed).is_some()
        {
            return Err(format!("{s:?} does not round-trip through sign/verify"));
        }
        Ok(())
    };
    for (_, input) in f.corpus() {
        if let Err(e) = check(&input).await {
            f.fail(&input, e);
        }
    }
    let g = &live.inputs;
    while let Some(rng) = f.next() {
        let base = [real.as_str(), state.as_str()]
            .choose(rng)
            .copied()
            .unwrap_or("");
        let mut bytes = match rng.gen_range(0..4) {
            0 => g.string(rng).into_bytes(),
            1 => format!(
                "{}{base}",
                ["Bot ", "Bearer ", " ", "bot "]
                    .choose(rng)
                    .copied()
                    .unwrap_or("")
            )
            .into_bytes(),
            _ => base.as_bytes().to_vec(),
        };
        if rng.gen_bool(0.8) {
            inputs::mutate(rng, &mut bytes);
        }
        if let Err(e) = check(&bytes).await {
            f.fail(&bytes, e);
        }
    }
    f.finish();
}
