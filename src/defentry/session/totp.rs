//! TOTP (RFC 6238) for interactive accounts: the seed check, the codes computed from it, and
//! the provider process's record of the codes it sent. A CRM accepts each code once (RFC 6238
//! §5.2; Laravel Fortify remembers every code it accepted), so two logins of one human within a
//! 30-second step need two different steps' codes.

use chrono::{DateTime, TimeDelta, Utc};
use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::sync::{LazyLock, Mutex};
use totp_rs::{Algorithm, Secret as TotpSeed, TOTP};

use crate::sdk::cty::AttributePath;
use crate::sdk::{Cancelled, Context, Diagnostic, Diagnostics};

use crate::defentry::attr;
use crate::defentry::client::Secret;

/// The step of every authenticator app (RFC 6238's default).
pub const STEP_SECS: i64 = 30;

/// How long after a step begins the provider sends its code when it waited for that step, so a
/// CRM whose clock is slightly behind this machine's is in the new step too.
const STEP_MARGIN: TimeDelta = TimeDelta::seconds(1);

/// The seed's bytes: base32 as authenticator setups show it (spaces and lower case allowed).
fn seed_bytes(seed: &str) -> Option<Vec<u8>> {
    TotpSeed::Encoded(seed.trim().replace(' ', "").to_uppercase())
        .to_bytes()
        .ok()
}

/// Records an error on `totp_secret` when `seed`, read from `source` (the attribute or the
/// environment variable it came from), is not a base32 TOTP secret.
pub fn check_seed(source: &str, seed: &str, diags: &mut Diagnostics) {
    if seed_bytes(seed).is_none() {
        diags.attr_error(
            AttributePath::attr(attr::TOTP_SECRET),
            format!("Invalid {source}"),
            format!("{source} is not a base32 TOTP secret (letters A-Z and digits 2-7, as shown by the authenticator setup)."),
        );
    }
}

/// The TOTP step `at` falls in.
fn step_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(STEP_SECS)
}

/// A decoded TOTP seed, ready to compute codes. Debug shows nothing of it.
pub struct Seed(TOTP);

impl std::fmt::Debug for Seed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Seed([redacted])")
    }
}

impl Seed {
    /// Decodes `totp_secret` (or DEFENTRY_TOTP_SECRET).
    pub fn parse(seed: &Secret) -> Result<Self, Diagnostic> {
        let bytes = seed_bytes(seed.expose()).ok_or_else(|| {
            Diagnostic::error(
                "Invalid TOTP secret",
                "`totp_secret` (or DEFENTRY_TOTP_SECRET) is not a base32 TOTP secret. Copy the secret shown when 2FA was set up.",
            )
            .at(AttributePath::attr(attr::TOTP_SECRET))
        })?;
        Ok(Self(TOTP::new_unchecked(
            Algorithm::SHA1,
            6,
            1,
            STEP_SECS.unsigned_abs(),
            bytes,
            None,
            String::new(),
        )))
    }

    /// The 6-digit code of `step`.
    fn code(&self, step: i64) -> Secret {
        let secs = u64::try_from(step.saturating_mul(STEP_SECS)).unwrap_or(0);
        Secret::new(self.0.generate(secs))
    }
}

/// The steps whose codes this process sent, per seed. Keys are hashes of the seeds under a
/// random per-process key, so the record holds no seed and means nothing outside the process.
/// Only steps from the current one on are kept (no login picks an older one), so it stays as
/// small as the logins in flight.
#[derive(Debug, Default)]
pub struct SentCodes {
    hasher: RandomState,
    steps: Mutex<HashMap<u64, BTreeSet<i64>>>,
}

impl SentCodes {
    /// Claims the first step from `from` on whose code this process has not sent for `seed`,
    /// and records it as sent: a claimed code is never handed out again, even when its login is
    /// then abandoned. `now` is the current step.
    fn claim(&self, seed: &Seed, now: i64, from: i64) -> i64 {
        let key = self.hasher.hash_one(&seed.0.secret);
        let mut all = self.steps.lock().unwrap_or_else(|e| e.into_inner());
        all.retain(|_, steps| {
            steps.retain(|s| *s >= now);
            !steps.is_empty()
        });
        let steps = all.entry(key).or_default();
        let mut step = from.max(now);
        while !steps.insert(step) {
            step += 1;
        }
        step
    }
}

/// The record every login of this provider process shares, whichever provider instance
/// (alias) or object runs it.
pub fn sent_codes() -> &'static SentCodes {
    static SENT: LazyLock<SentCodes> = LazyLock::new(SentCodes::default);
    &SENT
}

/// Waits until `step` has begun (by the context's clock), unless it already has. A stop ends
/// the wait at once.
async fn wait_for_step(ctx: &Context, step: i64, who: &str, why: &str) -> Result<(), Cancelled> {
    let begins = DateTime::from_timestamp(step.saturating_mul(STEP_SECS), 0).unwrap_or_default();
    if ctx.now() >= begins {
        return Ok(());
    }
    let until = begins + STEP_MARGIN;
    tracing::info!(
        username = who,
        wait_secs = (until - ctx.now()).num_seconds(),
        "Waiting for the next 30-second TOTP step before answering the 2FA challenge: {why}"
    );
    // A loop, because the context's clock (not the timer) decides when the step has begun.
    while let Ok(left) = (until - ctx.now()).to_std() {
        if left.is_zero() {
            break;
        }
        ctx.run(tokio::time::sleep(left)).await?;
    }
    Ok(())
}

/// Answers a 2FA challenge for `who` with codes of `seed`, never one this process already sent
/// for it: when the current step's code was sent, it waits for the next step. When `refused`
/// says `verify` refused the code, it waits for the next step and tries that step's code once:
/// another login with the same seed (another run, which this record cannot see) may have used
/// the code first. Returns the last attempt's outcome, or `Cancelled` when Terraform stopped
/// the provider during a wait.
pub async fn answer<O, Fut>(
    ctx: &Context,
    sent: &SentCodes,
    seed: &Seed,
    who: &str,
    refused: impl Fn(&O) -> bool,
    mut verify: impl FnMut(Secret) -> Fut,
) -> Result<O, Cancelled>
where
    Fut: Future<Output = O>,
{
    let now = step_of(ctx.now());
    let first = sent.claim(seed, now, now);
    let why = "this provider already sent the current code for this TOTP secret (a CRM accepts each code once)";
    wait_for_step(ctx, first, who, why).await?;
    let outcome = verify(seed.code(first)).await;
    if !refused(&outcome) {
        return Ok(outcome);
    }
    let now = step_of(ctx.now());
    let next = sent.claim(seed, now, now.max(first) + 1);
    let why = "Defentry refused the code, which another login may have used first";
    wait_for_step(ctx, next, who, why).await?;
    Ok(verify(seed.code(next)).await)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::sdk::Clock;

    const SEED: &str = "JBSWY3DPEHPK3PXP";

    fn parsed(s: &str) -> Seed {
        Seed::parse(&Secret::new(s)).unwrap_or_else(|d| panic!("{}", d.detail))
    }

    /// A context whose clock starts at `start` (Unix seconds) and moves only with tokio's
    /// paused time, so waits for the next step take no real time.
    fn context_at(start: i64, stop: CancellationToken) -> Context {
        let origin = tokio::time::Instant::now();
        let start = DateTime::from_timestamp(start, 0).unwrap_or_default();
        Context::new(stop).with_clock(Clock::from_fn(move || {
            start + TimeDelta::from_std(origin.elapsed()).unwrap_or_default()
        }))
    }

    /// What `verify` was sent: the code and the context's time it was sent at.
    type Sent = Arc<Mutex<Vec<(String, i64)>>>;

    /// Answers with a verify that accepts a code unless `refuse` holds it, recording each call.
    async fn answer_with(
        ctx: &Context,
        record: &SentCodes,
        seed: &Seed,
        refuse: &[String],
    ) -> (Result<bool, Cancelled>, Vec<(String, i64)>) {
        let sent: Sent = Arc::default();
        let outcome = answer(
            ctx,
            record,
            seed,
            "admin",
            |ok: &bool| !ok,
            |code: Secret| {
                let sent = sent.clone();
                let accepted = !refuse.iter().any(|r| r == code.expose());
                let at = ctx.now().timestamp();
                async move {
                    sent.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((code.expose().to_string(), at));
                    accepted
                }
            },
        )
        .await;
        let sent = sent.lock().unwrap_or_else(|e| e.into_inner()).clone();
        (outcome, sent)
    }

    fn code_at(seed: &Seed, secs: i64) -> String {
        seed.code(secs.div_euclid(STEP_SECS)).expose().to_string()
    }

    #[test]
    fn totp_matches_rfc6238_vector() {
        // RFC 6238 test seed "12345678901234567890" (base32 below), T = 59 s → 94287082 (8 digits);
        // the 6-digit code is its last six digits.
        let seed = parsed("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(code_at(&seed, 59), "287082");
    }

    #[test]
    fn bad_totp_secret_is_reported() {
        assert!(seed_bytes("not base32!").is_none());
        assert!(seed_bytes("JBSWY3DPEHPK3PXP").is_some());
        assert_eq!(format!("{:?}", parsed(SEED)), "Seed([redacted])");
    }

    #[tokio::test(start_paused = true)]
    async fn a_second_login_in_the_same_step_waits_for_the_next_code() {
        // 10 s into a step: the first login answers at once, the second at the next step (+1 s).
        let t0 = 1_800_000_010;
        let ctx = context_at(t0, CancellationToken::new());
        let (record, seed) = (SentCodes::default(), parsed(SEED));
        let (first, sent) = answer_with(&ctx, &record, &seed, &[]).await;
        assert_eq!(first, Ok(true));
        assert_eq!(sent, vec![(code_at(&seed, t0), t0)]);
        let (second, sent) = answer_with(&ctx, &record, &seed, &[]).await;
        assert_eq!(second, Ok(true));
        assert_eq!(sent, vec![(code_at(&seed, t0 + 30), t0 + 21)]);
        assert_ne!(code_at(&seed, t0), code_at(&seed, t0 + 30));
    }

    #[tokio::test(start_paused = true)]
    async fn parallel_logins_get_one_step_each_and_other_seeds_are_not_delayed() {
        let t0 = 1_800_000_000;
        let ctx = context_at(t0, CancellationToken::new());
        let (record, seed) = (SentCodes::default(), parsed(SEED));
        let ((a, sent_a), (b, sent_b)) = tokio::join!(
            answer_with(&ctx, &record, &seed, &[]),
            answer_with(&ctx, &record, &seed, &[]),
        );
        assert_eq!((a, b), (Ok(true), Ok(true)));
        let mut codes = vec![sent_a[0].0.clone(), sent_b[0].0.clone()];
        codes.sort();
        let mut expected = vec![code_at(&seed, t0), code_at(&seed, t0 + 30)];
        expected.sort();
        assert_eq!(codes, expected);
        // Another human's seed has its own codes: no wait.
        let other = parsed("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let now = ctx.now().timestamp();
        let (c, sent) = answer_with(&ctx, &record, &other, &[]).await;
        assert_eq!(c, Ok(true));
        assert_eq!(sent, vec![(code_at(&other, now), now)]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_code_is_retried_once_with_the_next_steps_code() {
        let t0 = 1_800_000_025;
        let ctx = context_at(t0, CancellationToken::new());
        let (record, seed) = (SentCodes::default(), parsed(SEED));
        // Another run used the current code: refused, then the next step's is accepted.
        let used = vec![code_at(&seed, t0)];
        let (outcome, sent) = answer_with(&ctx, &record, &seed, &used).await;
        assert_eq!(outcome, Ok(true));
        assert_eq!(
            sent,
            vec![(code_at(&seed, t0), t0), (code_at(&seed, t0 + 30), t0 + 6)]
        );
        // A wrong seed: two attempts, then the refusal is returned, no third.
        let wrong: Vec<String> = (0..10).map(|i| code_at(&seed, t0 + 30 * i)).collect();
        let (outcome, sent) = answer_with(&ctx, &record, &seed, &wrong).await;
        assert_eq!(outcome, Ok(false));
        assert_eq!(sent.len(), 2, "{sent:?}");
        // Neither repeats a code this process sent before.
        assert_eq!(sent[0].0, code_at(&seed, t0 + 60));
        assert_eq!(sent[1].0, code_at(&seed, t0 + 90));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_ends_the_wait_at_once_and_sends_nothing() {
        let t0 = 1_800_000_001;
        let stop = CancellationToken::new();
        let ctx = context_at(t0, stop.clone());
        let (record, seed) = (SentCodes::default(), parsed(SEED));
        assert_eq!(answer_with(&ctx, &record, &seed, &[]).await.0, Ok(true));
        let stopper = {
            let stop = stop.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(2)).await;
                stop.cancel();
            })
        };
        let (outcome, sent) = answer_with(&ctx, &record, &seed, &[]).await;
        assert_eq!(outcome, Err(Cancelled));
        assert!(sent.is_empty(), "{sent:?}");
        assert_eq!(
            ctx.now().timestamp(),
            t0 + 2,
            "the wait did not end at the stop"
        );
        assert!(stopper.await.is_ok());
    }

    #[test]
    fn the_record_forgets_past_steps_and_holds_no_seed() {
        let (record, seed) = (SentCodes::default(), parsed(SEED));
        for now in 0..1000 {
            record.claim(&seed, now, now);
        }
        let all = record.steps.lock().unwrap_or_else(|e| e.into_inner());
        assert_eq!(all.values().map(BTreeSet::len).sum::<usize>(), 1);
        assert!(!format!("{record:?}").contains(SEED));
    }
}
