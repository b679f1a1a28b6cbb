//! A small fuzz driver for stable Rust: random inputs from grammar-aware generators, a bound in
//! executions or seconds, failing inputs saved as files and replayed as regression tests.
//!
//! **Why not bolero or cargo-fuzz.** Their coverage-guided engines (libFuzzer, AFL, honggfuzz)
//! need a nightly toolchain or an instrumented build; on stable they fall back to exactly what
//! this does — random inputs from a generator, in a `#[test]` — and they store the generator's
//! *seed bytes*, which stop reproducing anything as soon as a generator changes. Here a target's
//! input is the concrete bytes it was given (a JSON body, a gateway frame, a multipart body), so
//! a saved case means the same thing forever, and the targets that drive a live server over
//! HTTP and WebSocket (most of them) fit naturally into an async loop. The value is in the
//! generators (`inputs.rs`), which know Discord's field names, edge values and our real ids.
//!
//! Environment:
//! - `FUZZ_ITERS=N`: executions per target (each target has a modest default for the test run);
//! - `FUZZ_SECONDS=S`: run for S seconds instead (what `scripts/fuzz TARGET MINUTES` sets);
//! - `FUZZ_SEED=X`: the random seed (printed by every run, so a failure can be re-run); the
//!   bounded test run defaults to a fixed one, timed runs to a random one.
//!
//! Every case under `tests/fuzz/corpus/<target>/` is replayed first. A failure (a panic, or a
//! property the target checks) is saved there as `<hash>.in` with a `<hash>.txt` saying what
//! went wrong; the test fails listing them. Once fixed, the file stays as a regression case.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};

/// The seed of the bounded run in the test suite (see [`Fuzzer::new`]).
const DEFAULT_SEED: u64 = 0x00ac_c0d5_eed5;

/// At most this many distinct failures are kept per run (then the run stops early).
const MAX_FAILURES: usize = 8;

/// One target's run: budget, random source, findings.
pub struct Fuzzer {
    target: &'static str,
    rng: StdRng,
    seed: u64,
    iterations: u64,
    deadline: Option<Instant>,
    started: Instant,
    executions: u64,
    replayed: usize,
    failures: BTreeMap<String, String>,
}

impl Fuzzer {
    /// A run of `target` with `default_iterations` unless the environment says otherwise.
    pub fn new(target: &'static str, default_iterations: u64) -> Self {
        let env = |k: &str| {
            std::env::var(k)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let seconds = env("FUZZ_SECONDS");
        // The bounded run inside `cargo test` uses a fixed seed, so the suite does not turn
        // red on the day a random input finds something; timed runs (`scripts/fuzz`) explore.
        let seed = env("FUZZ_SEED").unwrap_or_else(|| {
            if seconds.is_some() {
                rand::thread_rng().next_u64()
            } else {
                DEFAULT_SEED
            }
        });
        Self {
            target,
            rng: StdRng::seed_from_u64(seed),
            seed,
            iterations: if seconds.is_some() {
                u64::MAX
            } else {
                env("FUZZ_ITERS").unwrap_or(default_iterations)
            },
            deadline: seconds.map(|s| Instant::now() + Duration::from_secs(s)),
            started: Instant::now(),
            executions: 0,
            replayed: 0,
            failures: BTreeMap::new(),
        }
    }

    fn dir(&self) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fuzz/corpus")
            .join(self.target)
    }

    /// The saved cases of this target (regressions found earlier, and hand-written seeds).
    pub fn corpus(&mut self) -> Vec<(String, Vec<u8>)> {
        let mut cases: Vec<(String, Vec<u8>)> = std::fs::read_dir(self.dir())
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "in"))
            .filter_map(|e| {
                let bytes = std::fs::read(e.path()).ok()?;
                Some((e.file_name().to_string_lossy().into_owned(), bytes))
            })
            .collect();
        cases.sort();
        self.replayed = cases.len();
        cases
    }

    /// The random source for the next execution, or `None` when the budget is spent.
    pub fn next(&mut self) -> Option<&mut StdRng> {
        let over_time = self.deadline.is_some_and(|d| Instant::now() >= d);
        if self.executions >= self.iterations || over_time || self.failures.len() >= MAX_FAILURES {
            return None;
        }
        self.executions += 1;
        Some(&mut self.rng)
    }

    /// Records a failing input: saved under the corpus directory unless already there.
    pub fn fail(&mut self, input: &[u8], why: String) {
        let name = format!("{:016x}", fnv1a(input));
        if self.failures.contains_key(&name) {
            return;
        }
        let dir = self.dir();
        let path = dir.join(format!("{name}.in"));
        if !path.exists() {
            let _ = std::fs::create_dir_all(&dir);
            let _ = std::fs::write(&path, input);
            let _ = std::fs::write(dir.join(format!("{name}.txt")), &why);
        }
        eprintln!(
            "FUZZ {} FAILURE {}: {why}\n  input: {}",
            self.target,
            path.display(),
            String::from_utf8_lossy(&input[..input.len().min(600)])
        );
        self.failures.insert(name, why);
    }

    /// Runs a synchronous check, turning a panic into a failure.
    pub fn check(&mut self, input: &[u8], check: impl FnOnce(&[u8]) -> Result<(), String>) {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(input)));
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(why)) => self.fail(input, why),
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                self.fail(input, format!("panic: {msg}"));
            }
        }
    }

    /// Prints the run's figures and fails the test if anything failed.
    pub fn finish(self) {
        let secs = self.started.elapsed().as_secs_f64();
        eprintln!(
            "FUZZ {}: {} executions + {} corpus cases in {:.1} s ({:.0}/s), seed {}, {} failures",
            self.target,
            self.executions,
            self.replayed,
            secs,
            self.executions as f64 / secs.max(1e-9),
            self.seed,
            self.failures.len()
        );
        assert!(
            self.failures.is_empty(),
            "{}: {} failing inputs (saved under tests/fuzz/corpus/{}/): {:#?}",
            self.target,
            self.failures.len(),
            self.target,
            self.failures
        );
    }
}

/// FNV-1a: a stable name for a failing input.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
