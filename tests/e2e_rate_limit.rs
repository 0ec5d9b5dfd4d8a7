//! Fleets under a Laravel-style rate limit, with real Terraform against defentry-mock at
//! `--rate-limit 60` (60 requests a minute, fixed window, per user after login and per IP
//! before, `Retry-After: 0` in a window's last second): a 100-token apply and destroy, three
//! applies at once on one account, and Ctrl-C while every operation waits for the window.
//!
//! Nothing is timed: each test waits on the mock's own counters (its request log and
//! `/_mock/rate-limit`), and the only bound is a generous one on Terraform exiting.

pub mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;

/// Laravel's default `throttle:api`.
const LIMIT_PER_MINUTE: &str = "60";
/// What a user sees on an object whose operation waited.
const WAITED: &str = "Waited for the Defentry rate limit";
/// Bound on Terraform exiting after Ctrl-C (the provider ends its waits at once).
const EXIT_LIMIT: Duration = Duration::from_secs(60);

fn limited_mock() -> Mock {
    Mock::start_with(&["--rate-limit", LIMIT_PER_MINUTE])
}

fn throttled(mock: &Mock) -> u64 {
    let r = mock.rate_limit();
    r["throttled"]
        .as_u64()
        .unwrap_or_else(|| panic!("no numeric `throttled` in /_mock/rate-limit: {r}"))
}

/// A workspace on `mock` whose configuration asks for `n` tokens.
fn fleet(tf: &Terraform, mock: &Mock, n: usize) -> Workspace {
    let ws = Workspace::new(tf, mock);
    ws.write_config(&format!(
        "resource \"defentry_token\" \"t\" {{\n  count = {n}\n}}\n"
    ));
    ws
}

/// Token ids of the `defentry_token`s in state.
fn state_ids(ws: &Workspace) -> BTreeSet<String> {
    ws.resources()
        .iter()
        .filter(|r| r["type"] == "defentry_token")
        .map(|r| {
            r["values"]["token_id"]
                .as_str()
                .expect("token_id")
                .to_owned()
        })
        .collect()
}

/// `terraform <verb> -auto-approve`, which must succeed with no error and say that objects
/// waited for the limit; returns its output.
fn waited_through(ws: &Workspace, verb: &str) -> String {
    let tf = ws.terraform();
    let out = ws.ok(&[verb, "-auto-approve", "-input=false", "-no-color"]);
    let text = out.combined();
    assert!(!text.contains("Error:"), "{tf}: {verb}:\n{text}");
    assert!(
        text.contains(WAITED),
        "{tf}: no rate-limit warning:\n{text}"
    );
    text
}

/// (a) `count = 100` at 60 a minute: apply and destroy succeed with no error, the objects that
/// waited say so, few 429s per window, and no session is left.
#[test]
fn a_hundred_tokens_apply_and_destroy_under_the_limit() {
    for tf in terraforms() {
        let mock = limited_mock();
        let ws = fleet(&tf, &mock, 100);
        let text = waited_through(&ws, "apply");
        assert!(text.contains("rate_limit_timeout"), "{tf}: {text}");
        assert_eq!(state_ids(&ws).len(), 100, "{tf}");
        assert_eq!(mock.active_sessions(), 100, "{tf}: {}", mock.sessions());
        // The limiter makes every operation wait together: 100 logins are two windows, and a
        // few 429s per window reach the CRM, not one per waiting operation.
        let r = mock.rate_limit();
        let (throttled, windows) = (r["throttled"].as_u64(), r["windows"].as_u64());
        let (Some(throttled), Some(windows)) = (throttled, windows) else {
            panic!("{tf}: /_mock/rate-limit: {r}");
        };
        assert!(throttled >= 1, "{tf}: the limit was never reached: {r}");
        assert!(
            throttled <= 5 * windows.max(1),
            "{tf}: {throttled} 429s in {windows} window(s): {r}"
        );

        waited_through(&ws, "destroy");
        assert!(state_ids(&ws).is_empty(), "{tf}");
        assert_eq!(mock.active_sessions(), 0, "{tf}: {}", mock.sessions());
    }
}

/// (b) Three `terraform apply` processes at once, 30 tokens each, one service account: all
/// succeed, then all destroy, and nothing is left.
#[test]
fn three_applies_at_once_on_one_account() {
    for tf in terraforms() {
        let mock = limited_mock();
        let workspaces: Vec<Workspace> = (0..3).map(|_| fleet(&tf, &mock, 30)).collect();
        for verb in ["apply", "destroy"] {
            let runs: Vec<GroupJob> = workspaces
                .iter()
                .map(|ws| {
                    GroupJob::start(ws, &[verb, "-auto-approve", "-input=false", "-no-color"])
                })
                .collect();
            for (i, mut run) in runs.into_iter().enumerate() {
                let label = format!("{tf}: {verb} #{i}");
                let (status, _) = run.wait(Duration::from_secs(900), &label);
                let out = run.output();
                assert!(status.success(), "{label} failed:\n{out}");
                assert!(!out.contains("Error:"), "{label}:\n{out}");
            }
        }
        assert!(throttled(&mock) >= 1, "{tf}: the limit was never reached");
        for ws in &workspaces {
            assert!(state_ids(ws).is_empty(), "{tf}");
        }
        assert_eq!(mock.active_sessions(), 0, "{tf}: {}", mock.sessions());
    }
}

/// (c) Ctrl-C while the operations wait for the window: Terraform exits promptly and state
/// matches the sessions live at the CRM; a later apply and destroy finish the job.
#[test]
fn ctrl_c_during_a_rate_limit_wait() {
    for tf in terraforms() {
        let mock = limited_mock();
        let ws = fleet(&tf, &mock, 100);
        let mut run = GroupJob::start(&ws, &["apply", "-auto-approve", "-input=false"]);
        // Once the CRM answered a 429 every operation of the window waits for its reset (a
        // minute at most), so the signal lands inside that wait.
        run.wait_for("a 429", Duration::from_secs(300), || throttled(&mock) >= 1);
        let (_, _) = run.interrupt(EXIT_LIMIT, &tf.label());
        let out = run.output();
        assert!(
            out.contains("Interrupt received") || out.contains("Stopping operation"),
            "{tf}: Terraform did not see SIGINT:\n{out}"
        );
        let in_state = state_ids(&ws);
        assert!(
            in_state.len() < 100,
            "{tf}: the apply finished first:\n{out}"
        );
        assert_eq!(
            mock.active_ids(),
            in_state,
            "{tf}: after Ctrl-C in a rate-limit wait, live sessions and state differ\n{out}"
        );

        let out = ws.ok(&["destroy", "-auto-approve", "-input=false", "-no-color"]);
        assert!(
            !out.combined().contains("Error:"),
            "{tf}: {}",
            out.combined()
        );
        assert_eq!(mock.active_sessions(), 0, "{tf}: {}", mock.sessions());
    }
}
