//! Interrupt and crash safety with real Terraform against defentry-mock with added latency:
//! Ctrl-C (SIGINT to the process group) and CI cancellation (SIGTERM to the group) in the
//! middle of apply, destroy and plan, and a SIGKILL of Terraform alone. Whatever happens, no
//! session exists at the CRM that Terraform does not know, no token in state is dead, and no
//! provider process outlives Terraform.
//!
//! Deterministic: each test interrupts once the mock's request log shows enough finished
//! logins (or logouts) that the run is certainly under way, never after a blind sleep.

pub mod common;

use std::collections::BTreeSet;
use std::fs;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use terraform_provider_defentry::defentry::time::rfc3339;

/// What a slow CRM adds to every login or logout.
const LATENCY_MS: u64 = 300;
/// Finished requests after which a run of 50 (or 30) is certainly mid-way.
const MIDWAY: usize = 12;
/// Bound for every wait on Terraform or the mock.
const LIMIT: Duration = Duration::from_secs(120);

#[derive(Clone, Copy, Debug)]
enum Sig {
    Int,
    Term,
}

impl Sig {
    fn name(self) -> &'static str {
        match self {
            Sig::Int => "INT",
            Sig::Term => "TERM",
        }
    }
}

/// Delays the next many requests to `path`, as a CRM answering in 300 ms would.
fn slow(mock: &Mock, path: &str) {
    mock.fault(json!({"path": path, "method": "POST", "delay_ms": LATENCY_MS, "count": 100000}));
}

/// Finished requests to `path` in the mock's request log.
fn finished(mock: &Mock, path: &str) -> usize {
    mock.requests()["requests"]
        .as_array()
        .map(|r| r.iter().filter(|x| x["path"] == path).count())
        .unwrap_or(0)
}

/// `(token_id, token)` of every `defentry_token` in state.
fn state_tokens(ws: &Workspace) -> Vec<(String, String)> {
    ws.resources()
        .iter()
        .filter(|r| r["type"] == "defentry_token")
        .map(|r| {
            let v = &r["values"];
            (
                v["token_id"].as_str().expect("token_id").to_owned(),
                v["token"].as_str().expect("token").to_owned(),
            )
        })
        .collect()
}

/// Live (not zombie) processes in process group `pgid`, from /proc.
fn group_members(pgid: u32) -> Vec<u32> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // After "(comm)": state ppid pgrp ...
            let Some((_, rest)) = stat.rsplit_once(')') else {
                return false;
            };
            let fields: Vec<&str> = rest.split_whitespace().collect();
            fields.len() > 2 && fields[0] != "Z" && fields[2] == pgid.to_string()
        })
        .collect()
}

/// Polls until the mock holds no active session, bounded by `limit`.
fn assert_no_sessions_within(tf: &Terraform, mock: &Mock, limit: Duration, why: &str) {
    let deadline = Instant::now() + limit;
    while mock.active_sessions() != 0 {
        assert!(
            Instant::now() < deadline,
            "{tf}: {why}: sessions still active after {limit:?}: {}",
            mock.sessions()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn tokens_config(n: usize) -> String {
    format!("{REQUIRED_PROVIDERS}\nresource \"defentry_token\" \"t\" {{\n  count = {n}\n}}\n")
}

fn sessions_config(n: usize) -> String {
    // Terraform opens every declared ephemeral resource in plan and closes them at its end.
    format!("{REQUIRED_PROVIDERS}\nephemeral \"defentry_session\" \"s\" {{\n  count = {n}\n}}\n")
}

/// Makes `path` slow, runs `terraform <args>` as a shell job and returns it once `path` has
/// answered `MIDWAY` requests (`what` names them in a failure).
fn started_midway(ws: &Workspace, mock: &Mock, args: &[&str], path: &str, what: &str) -> GroupJob {
    slow(mock, path);
    let mut run = GroupJob::start(ws, args);
    run.wait_for(what, LIMIT, || finished(mock, path) >= MIDWAY);
    run
}

/// `started_midway`, then `sig` to the job; its output once Terraform has exited.
fn interrupted_midway(
    ws: &Workspace,
    mock: &Mock,
    args: &[&str],
    path: &str,
    sig: Sig,
    tf: &Terraform,
) -> String {
    let what = format!("requests to {path} under way");
    let mut run = started_midway(ws, mock, args, path, &what);
    run.signal(sig.name());
    run.wait(LIMIT, &tf.label());
    run.output()
}

/// A `plan` of 30 ephemeral sessions on a slow CRM, caught while it is opening them.
/// Ephemeral resources need Terraform 1.10 or later.
fn plan_opening_sessions(tf: &Terraform) -> (Mock, Workspace, GroupJob) {
    let mock = Mock::start();
    let ws = Workspace::new(tf, &mock);
    ws.write("main.tf", &sessions_config(30));
    let run = started_midway(
        &ws,
        &mock,
        &["plan", "-input=false"],
        LOGIN_PATH,
        "sessions opening",
    );
    (mock, ws, run)
}

/// 1 and 4: a signal mid-apply of 50 tokens leaves every active session in state.
fn interrupt_apply(sig: Sig) {
    for Setup { tf, mock, ws } in setups() {
        ws.write("main.tf", &tokens_config(50));

        let args = ["apply", "-auto-approve", "-input=false"];
        let out = interrupted_midway(&ws, &mock, &args, LOGIN_PATH, sig, &tf);
        assert!(
            out.contains("Interrupt received") || out.contains("Stopping operation"),
            "{tf}: Terraform did not see SIG{}:\n{out}",
            sig.name()
        );

        let active = mock.active_ids();
        let in_state: BTreeSet<String> = state_tokens(&ws).into_iter().map(|(id, _)| id).collect();
        assert!(
            in_state.len() < 50,
            "{tf}: the apply finished before SIG{}:\n{out}",
            sig.name()
        );
        assert_eq!(
            active, in_state,
            "{tf}: after SIG{} mid-apply, sessions active at the CRM and tokens in state differ\n{out}",
            sig.name()
        );

        mock.clear_faults();
        ws.apply();
        assert_eq!(state_tokens(&ws).len(), 50, "{tf}");
        ws.destroy();
        assert_eq!(mock.active_sessions(), 0, "{tf}: {}", mock.sessions());
    }
}

/// 2 and 4: a signal mid-destroy leaves only valid tokens in state.
fn interrupt_destroy(sig: Sig) {
    for Setup { tf, mock, ws } in setups() {
        ws.write("main.tf", &tokens_config(50));
        ws.apply();

        let args = ["destroy", "-auto-approve", "-input=false"];
        let out = interrupted_midway(&ws, &mock, &args, LOGOUT_PATH, sig, &tf);

        let left = state_tokens(&ws);
        assert!(
            !left.is_empty(),
            "{tf}: the destroy finished before SIG{}:\n{out}",
            sig.name()
        );
        for (id, token) in &left {
            mock.assert_live(token, format_args!("{tf}: token {id} is still in state after SIG{} mid-destroy but was logged out\n{out}", sig.name()));
        }
        let in_state: BTreeSet<String> = left.into_iter().map(|(id, _)| id).collect();
        assert_eq!(mock.active_ids(), in_state, "{tf}: {out}");

        mock.clear_faults();
        ws.destroy();
        assert!(state_tokens(&ws).is_empty(), "{tf}");
        assert_eq!(mock.active_sessions(), 0, "{tf}: {}", mock.sessions());
    }
}

/// 3 and 4: a signal mid-plan logs out every ephemeral session within a few seconds.
fn interrupt_plan(sig: Sig) {
    for tf in terraforms().into_iter().filter(|tf| tf.at_least(1, 10)) {
        let (mock, _ws, mut run) = plan_opening_sessions(&tf);
        run.signal(sig.name());
        run.wait(LIMIT, &tf.label());
        assert_no_sessions_within(
            &tf,
            &mock,
            Duration::from_secs(5),
            &format!("SIG{} mid-plan\n{}", sig.name(), run.output()),
        );
    }
}

/// One `#[test]` per scenario and signal.
macro_rules! per_signal {
    ($($name:ident => $scenario:ident($sig:expr);)*) => {
        $(
            #[test]
            fn $name() {
                $scenario($sig);
            }
        )*
    };
}

per_signal! {
    sigint_mid_apply_leaves_every_active_session_in_state => interrupt_apply(Sig::Int);
    sigterm_mid_apply_leaves_every_active_session_in_state => interrupt_apply(Sig::Term);
    sigint_mid_destroy_leaves_only_valid_tokens_in_state => interrupt_destroy(Sig::Int);
    sigterm_mid_destroy_leaves_only_valid_tokens_in_state => interrupt_destroy(Sig::Term);
    sigint_mid_plan_logs_out_every_ephemeral_session => interrupt_plan(Sig::Int);
    sigterm_mid_plan_logs_out_every_ephemeral_session => interrupt_plan(Sig::Term);
}

/// 5: SIGKILL of Terraform alone: the provider notices, logs out and exits.
#[test]
fn sigkill_of_terraform_ends_the_provider_and_its_sessions() {
    for tf in terraforms().into_iter().filter(|tf| tf.at_least(1, 10)) {
        let (mock, _ws, mut run) = plan_opening_sessions(&tf);
        assert!(
            mock.active_sessions() > 0,
            "{tf}: no session open yet: {}",
            mock.sessions()
        );
        let pgid = run.pgid();
        let status = Command::new("kill")
            .args(["-KILL", &pgid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
        run.wait(LIMIT, &tf.label());

        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left = group_members(pgid);
            if left.is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{tf}: provider process(es) {left:?} still running 5 s after Terraform was killed\n{}",
                run.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // The provider is gone, so whatever it held was logged out before it exited.
        assert_eq!(
            mock.active_sessions(),
            0,
            "{tf}: sessions left after the provider exited: {}",
            mock.sessions()
        );
    }
}

/// 6: far-past and far-future anchors keep a schedule; an oversized period is refused.
#[test]
fn far_anchors_schedule_and_oversized_periods_are_refused_at_validate() {
    for Setup { tf, mock, ws } in setups() {
        ws.write(
            "main.tf",
            &format!(
                "{REQUIRED_PROVIDERS}
resource \"defentry_token\" \"past\" {{
  rotation_period = \"1h\"
  rotation_anchor = \"1700-01-01T00:00:00Z\"
}}

resource \"defentry_token\" \"future\" {{
  rotation_period = \"1h\"
  rotation_anchor = \"9999-12-31T23:30:00Z\"
}}

output \"rotate_at\" {{
  value = {{
    past   = defentry_token.past.rotate_at
    future = defentry_token.future.rotate_at
    # timecmp() must accept both; it fails the apply otherwise.
    after  = [timecmp(defentry_token.past.rotate_at, defentry_token.past.created_at),
              timecmp(defentry_token.future.rotate_at, defentry_token.future.created_at)]
  }}
}}
"
            ),
        );
        ws.apply();
        let out = ws.output_json();
        let v = &out["rotate_at"]["value"];
        assert_eq!(v["after"], json!([1, 1]), "{tf}: {v}");
        let resources = ws.resources();
        for (name, minute) in [("past", ":00:00Z"), ("future", ":30:00Z")] {
            let r = resources
                .iter()
                .find(|r| r["name"] == name)
                .unwrap_or_else(|| panic!("{tf}: no {name} in state"));
            let rotate_at = r["values"]["rotate_at"]
                .as_str()
                .unwrap_or_else(|| panic!("{tf}: {name}: rotate_at is null: {}", r["values"]));
            let created = r["values"]["created_at"].as_str().expect("created_at");
            assert!(rotate_at.ends_with(minute), "{tf}: {name}: {rotate_at}");
            let (at, from) = (parse(rotate_at), parse(created));
            assert!(
                at > from && at - from <= chrono::Duration::hours(1),
                "{tf}: {name}: rotate_at {rotate_at} is not the next grid point after {created}"
            );
        }
        ws.destroy();
        assert_eq!(mock.active_sessions(), 0, "{tf}");

        ws.write(
            "main.tf",
            &format!(
                "{REQUIRED_PROVIDERS}\nresource \"defentry_token\" \"t\" {{\n  rotation_period = \"1000000000h\"\n}}\n"
            ),
        );
        let out = ws.run(&["validate"]);
        assert_ne!(
            out.code,
            0,
            "{tf}: oversized period accepted:\n{}",
            out.combined()
        );
        let text = out.combined();
        for want in [
            "Invalid rotation_period",
            "876000h (100 years)",
            "timecmp()",
        ] {
            assert!(text.contains(want), "{tf}: no {want:?} in:\n{text}");
        }
        assert_eq!(mock.active_sessions(), 0, "{tf}: validate logged in");
    }
}

fn parse(t: &str) -> chrono::DateTime<chrono::Utc> {
    rfc3339::parse(t).unwrap_or_else(|| panic!("not RFC 3339: {t:?}"))
}
