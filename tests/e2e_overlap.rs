//! `defentry_token` with `overlap` in real Terraform against defentry-mock: a rotation keeps the
//! previous token valid until `previous_revoke_at`, the next run after it logs the previous
//! token out, never more than two sessions live, destroy ends both, failures keep in state what
//! happened, saved plans apply as planned, consumers are replaced and receive the new token,
//! no token in trace logs, and state written before `overlap` existed needs no action. Every
//! test runs with every Terraform the harness finds.

pub mod common;

use common::*;
use serde_json::{json, Value};

/// A token with `overlap` whose `triggers` carry `generation`, with fast-failing retries.
fn trigger_config(overlap: &str, generation: u32) -> String {
    config(&format!(
        r#"
provider "defentry" {{
  max_retries = 1
}}

resource "defentry_token" "t" {{
  overlap  = "{overlap}"
  triggers = {{ generation = "{generation}" }}
}}
"#
    ))
}

/// Creates the token and rotates it once by `triggers`, so it holds a previous token.
fn rotate_once(ws: &Workspace, overlap: &str) {
    for generation in 1..=2 {
        ws.write("main.tf", &trigger_config(overlap, generation));
        ws.apply();
    }
}

/// Asserts the plan is an in-place update of the token, not a replacement.
fn assert_in_place(tf: &Terraform, plan: &Output) {
    assert!(
        plan.stdout
            .contains("defentry_token.t will be updated in-place"),
        "{tf}: {}",
        plan.stdout
    );
    assert!(
        !plan.stdout.contains("defentry_token.t must be replaced"),
        "{tf}: {}",
        plan.stdout
    );
}

#[test]
fn scheduled_rotation_keeps_the_previous_token_until_revoke_at() {
    for Setup { tf, mock, ws } in setups() {
        ws.write_config(
            r#"
resource "defentry_token" "t" {
  rotation_period = "50s"
  overlap         = "20s"
}
"#,
        );
        ws.apply();
        let first = values_of(&ws, "defentry_token.t");
        assert!(first["previous_token"].is_null(), "{tf}: {first}");
        assert!(first["previous_revoke_at"].is_null(), "{tf}");
        wait_until(parse_rfc3339(&s(&first["rotate_at"])) + 1.0);

        // 1. The scheduled rotation is an in-place update keeping the old token valid.
        let plan = ws.plan();
        assert_in_place(&tf, &plan);
        ws.apply();
        let second = values_of(&ws, "defentry_token.t");
        assert_ne!(second["token_id"], first["token_id"], "{tf}: not rotated");
        assert_eq!(second["id"], second["token_id"], "{tf}");
        assert_eq!(second["previous_token"], first["token"], "{tf}");
        assert_eq!(second["previous_token_id"], first["token_id"], "{tf}");
        let created = parse_rfc3339(&s(&second["created_at"]));
        let revoke_at = parse_rfc3339(&s(&second["previous_revoke_at"]));
        assert_eq!(revoke_at - created, 20.0, "{tf}: revoke_at = now + overlap");
        assert_eq!(
            parse_rfc3339(&s(&second["rotate_at"])) - created,
            50.0,
            "{tf}"
        );
        mock.assert_live(&s(&second["token"]), format_args!("{tf}: new"));
        mock.assert_live(
            &s(&first["token"]),
            format_args!("{tf}: the previous token must stay valid during the overlap"),
        );
        assert_eq!(mock.active_sessions(), 2, "{tf}");
        assert!(
            unix_now() + 2.0 < revoke_at,
            "{tf}: too slow to check the plan inside the window"
        );
        assert_eq!(ws.plan_exit_code(), 0, "{tf}: diff right after rotation");

        // 2. After previous_revoke_at the next run logs the previous token out.
        wait_until(revoke_at + 1.0);
        let plan = ws.plan();
        assert_in_place(&tf, &plan);
        assert!(
            plan.stdout.lines().any(|l| l.contains("previous_token_id")
                && l.contains(&s(&first["token_id"]))
                && l.contains("-> null")),
            "{tf}: the plan shows the revocation\n{}",
            plan.stdout
        );
        ws.apply();
        let third = values_of(&ws, "defentry_token.t");
        assert_eq!(third["token_id"], second["token_id"], "{tf}: no rotation");
        assert!(third["previous_token"].is_null(), "{tf}: {third}");
        assert!(third["previous_token_id"].is_null(), "{tf}");
        assert!(third["previous_revoke_at"].is_null(), "{tf}");
        mock.assert_revoked(&s(&first["token"]), &tf);
        mock.assert_live(&s(&second["token"]), &tf);
        assert_eq!(mock.active_sessions(), 1, "{tf}: exactly one session");
        assert_eq!(ws.plan_exit_code(), 0, "{tf}");
        ws.destroy();
        assert_eq!(mock.active_sessions(), 0, "{tf}");
    }
}

#[test]
fn trigger_rotations_never_leave_more_than_two_sessions() {
    for Setup { tf, mock, ws } in setups() {
        let mut tokens = Vec::new();
        for generation in 1..=3 {
            ws.write("main.tf", &trigger_config("1h", generation));
            if generation > 1 {
                assert_in_place(&tf, &ws.plan());
            }
            let logged = mock.requests()["requests"].as_array().map_or(0, Vec::len);
            ws.apply();
            // With a previous token, the rotation logs it out before it logs in.
            let calls: Vec<String> = mock.requests()["requests"]
                .as_array()
                .map(|r| r[logged..].iter().map(|c| s(&c["path"])).collect())
                .unwrap_or_default();
            let expected: &[&str] = match generation {
                3 => &[LOGOUT_PATH, LOGIN_PATH],
                _ => &[LOGIN_PATH],
            };
            assert_eq!(calls, expected, "{tf}: generation {generation}");
            let v = values_of(&ws, "defentry_token.t");
            if let Some(prev) = tokens.last() {
                assert_eq!(&v["previous_token"], prev, "{tf}: {generation}");
            }
            tokens.push(v["token"].clone());
            assert!(
                mock.active_sessions() <= 2,
                "{tf}: more than two sessions after generation {generation}"
            );
        }
        let status: Vec<u16> = tokens.iter().map(|t| mock.whoami_status(&s(t))).collect();
        assert_eq!(status, [401, 200, 200], "{tf}: the oldest is logged out");
        assert_eq!(mock.active_sessions(), 2, "{tf}");
        ws.destroy();
        assert_eq!(mock.active_sessions(), 0, "{tf}");
    }
}

#[test]
fn failed_rotations_keep_what_happened_and_the_next_run_finishes() {
    for Setup { tf, mock, ws } in setups() {
        let apply_args = ["apply", "-auto-approve", "-input=false", "-no-color"];
        rotate_once(&ws, "1h");
        let before = values_of(&ws, "defentry_token.t");

        // The previous token cannot be logged out: nothing else happens.
        ws.write("main.tf", &trigger_config("1h", 3));
        mock.fault(json!({"path": LOGOUT_PATH, "status": 503, "count": 1000}));
        let out = ws.run(&apply_args);
        assert_ne!(out.code, 0, "{tf}: rotation should fail during the outage");
        assert!(out.combined().contains("503"), "{tf}: {}", out.combined());
        assert_eq!(
            values_of(&ws, "defentry_token.t"),
            before,
            "{tf}: state moved"
        );
        assert_eq!(mock.active_sessions(), 2, "{tf}: no third session");
        mock.clear_faults();

        // The previous token is logged out but the login fails: state says so.
        mock.fault(json!({"path": LOGIN_PATH, "status": 503, "count": 1000}));
        let out = ws.run(&apply_args);
        assert_ne!(out.code, 0, "{tf}: rotation should fail during the outage");
        let half = values_of(&ws, "defentry_token.t");
        assert_eq!(half["token"], before["token"], "{tf}: {half}");
        assert!(
            half["previous_token"].is_null(),
            "{tf}: the logged-out previous token must leave state: {half}"
        );
        mock.assert_revoked(&s(&before["previous_token"]), &tf);
        assert_eq!(mock.active_sessions(), 1, "{tf}");
        mock.clear_faults();

        // The next run completes the rotation.
        assert_in_place(&tf, &ws.plan());
        ws.apply();
        let after = values_of(&ws, "defentry_token.t");
        assert_ne!(after["token_id"], before["token_id"], "{tf}");
        assert_eq!(after["previous_token"], before["token"], "{tf}");
        assert_eq!(mock.active_sessions(), 2, "{tf}");
        assert_eq!(ws.plan_exit_code(), 0, "{tf}");
        ws.destroy();
        assert_eq!(mock.active_sessions(), 0, "{tf}");
    }
}

#[test]
fn destroy_logs_out_both_tokens_and_survives_a_503_storm() {
    for Setup { tf, mock, ws } in setups() {
        rotate_once(&ws, "1h");
        let v = values_of(&ws, "defentry_token.t");
        let (current, previous) = (s(&v["token"]), s(&v["previous_token"]));
        assert_eq!(mock.active_sessions(), 2, "{tf}");

        mock.fault(json!({"path": LOGOUT_PATH, "status": 503, "count": 1000}));
        let out = ws.run(&["destroy", "-auto-approve", "-input=false", "-no-color"]);
        assert_ne!(out.code, 0, "{tf}: destroy should fail during the outage");
        assert!(
            out.combined().contains("Defentry server error"),
            "{tf}: {}",
            out.combined()
        );
        assert_eq!(
            ws.resources().len(),
            1,
            "{tf}: a failed destroy keeps state"
        );
        mock.assert_live(&current, &tf);
        mock.assert_live(&previous, &tf);

        mock.clear_faults();
        ws.destroy();
        assert!(ws.resources().is_empty(), "{tf}");
        mock.assert_revoked(&current, &tf);
        mock.assert_revoked(&previous, &tf);
        assert_eq!(mock.active_sessions(), 0, "{tf}: sessions left");
    }
}

#[test]
fn saved_plan_applies_as_planned_across_previous_revoke_at() {
    for Setup { tf, mock, ws } in setups() {
        rotate_once(&ws, "20s");
        let before = values_of(&ws, "defentry_token.t");
        let revoke_at = parse_rfc3339(&s(&before["previous_revoke_at"]));

        // Plan a few seconds before the boundary, apply the saved plan after it.
        wait_until(revoke_at - 8.0);
        ws.ok(&["plan", "-detailed-exitcode", "-out=tfplan", "-input=false"]);
        assert!(
            unix_now() < revoke_at,
            "{tf}: the plan took too long to test the boundary"
        );
        wait_until(revoke_at + 1.0);
        ws.ok(&["apply", "-input=false", "tfplan"]);
        assert_eq!(
            values_of(&ws, "defentry_token.t"),
            before,
            "{tf}: plan said no change"
        );
        mock.assert_live(
            &s(&before["previous_token"]),
            format_args!("{tf}: revoked although the saved plan said no change"),
        );

        // The next plan revokes, and its saved plan applies as planned.
        let out = ws.run(&["plan", "-detailed-exitcode", "-out=tfplan2", "-input=false"]);
        assert_eq!(out.code, 2, "{}", ws.failure(&["plan"], &out));
        let applied = ws.ok(&["apply", "-input=false", "tfplan2"]);
        assert!(!applied.combined().contains("inconsistent"), "{tf}");
        let after = values_of(&ws, "defentry_token.t");
        assert!(after["previous_token"].is_null(), "{tf}: {after}");
        assert_eq!(after["token_id"], before["token_id"], "{tf}");
        mock.assert_revoked(&s(&before["previous_token"]), &tf);
        assert_eq!(mock.active_sessions(), 1, "{tf}");
        ws.destroy();
    }
}

#[test]
fn consumers_are_replaced_and_receive_the_new_token_on_each_rotation() {
    for Setup { tf, mock, ws } in setups() {
        let write = |overlap: &str, generation: u32| {
            ws.write(
                "main.tf",
                &(trigger_config(overlap, generation)
                    + r#"
resource "terraform_data" "by_token_id" {
  input = defentry_token.t.token_id
  lifecycle {
    replace_triggered_by = [defentry_token.t.token_id]
  }
}

resource "terraform_data" "by_resource" {
  input = defentry_token.t.token_id
  lifecycle {
    replace_triggered_by = [defentry_token.t]
  }
}

# Stands in for a secret store: it must always hold the current token.
resource "terraform_data" "secret_store" {
  input = defentry_token.t.token
}
"#),
            )
        };
        let ids = |ws: &Workspace| {
            ["by_token_id", "by_resource"]
                .map(|c| values_of(ws, &format!("terraform_data.{c}"))["id"].clone())
        };
        write("1h", 1);
        ws.apply();
        let mut seen = vec![ids(&ws)];
        for generation in 2..=3 {
            write("1h", generation);
            let plan = ws.plan();
            assert_in_place(&tf, &plan);
            for c in ["by_token_id", "by_resource"] {
                assert!(
                    plan.stdout
                        .contains(&format!("terraform_data.{c} will be replaced due to changes in replace_triggered_by")),
                    "{tf}: {c}\n{}",
                    plan.stdout
                );
            }
            ws.apply();
            let now = ids(&ws);
            for (i, c) in ["by_token_id", "by_resource"].iter().enumerate() {
                assert!(
                    seen.iter().all(|old| old[i] != now[i]),
                    "{tf}: {c} was not replaced by rotation {generation}"
                );
            }
            seen.push(now);
            let token = values_of(&ws, "defentry_token.t");
            let store = values_of(&ws, "terraform_data.secret_store");
            assert_eq!(
                store["output"], token["token"],
                "{tf}: store holds the new token"
            );
            assert_eq!(
                values_of(&ws, "terraform_data.by_token_id")["output"],
                token["token_id"],
                "{tf}"
            );
            assert_eq!(ws.plan_exit_code(), 0, "{tf}: {generation}");
        }

        // Changing overlap alone is an in-place no-op: same token, and consumers keyed on
        // token_id stay (a whole-resource reference fires on any update, as documented).
        let before = values_of(&ws, "defentry_token.t");
        write("2h", 3);
        assert_in_place(&tf, &ws.plan());
        ws.apply();
        let after = values_of(&ws, "defentry_token.t");
        assert_eq!(after["token_id"], before["token_id"], "{tf}");
        assert_eq!(after["previous_token"], before["previous_token"], "{tf}");
        let last = seen.last().cloned().unwrap_or_default();
        let now = ids(&ws);
        assert_eq!(
            now[0], last[0],
            "{tf}: by_token_id replaced without a rotation"
        );
        assert_ne!(now[1], last[1], "{tf}: documented whole-resource behaviour");
        assert_eq!(mock.active_sessions(), 2, "{tf}");
        ws.destroy();
        assert_eq!(mock.active_sessions(), 0, "{tf}");
    }
}

#[test]
fn trace_logs_never_contain_either_token() {
    for Setup { tf, mock, mut ws } in setups() {
        ws.env("TF_LOG", "trace");
        ws.write("main.tf", &trigger_config("1h", 1));
        let mut logs = ws.apply().combined();
        ws.write("main.tf", &trigger_config("1h", 2));
        logs += &ws.apply().combined();
        let v = values_of(&ws, "defentry_token.t");
        // Removing overlap revokes the previous token in place.
        ws.write(
            "main.tf",
            &trigger_config("1h", 2).replace("  overlap  = \"1h\"\n", ""),
        );
        logs += &ws.apply().combined();
        assert!(
            values_of(&ws, "defentry_token.t")["previous_token"].is_null(),
            "{tf}"
        );
        mock.assert_revoked(&s(&v["previous_token"]), &tf);
        logs += &ws.destroy().combined();
        assert!(logs.contains("provider"), "{tf}: no provider logs captured");
        assert!(logs.contains("previous defentry_token logged out"), "{tf}");
        for t in [&v["token"], &v["previous_token"]] {
            let secret = s(t).split('|').nth(1).unwrap_or("missing").to_string();
            assert!(
                !logs.contains(&secret),
                "{tf}: a token appears in TF_LOG=trace output"
            );
        }
    }
}

#[test]
fn state_from_before_overlap_needs_no_action() {
    for Setup { tf, mock, ws } in setups() {
        ws.write_config(r#"resource "defentry_token" "t" {}"#);
        ws.apply();
        let before = values_of(&ws, "defentry_token.t");
        // Rewrite the state as provider 0.1 wrote it: no overlap or previous_* attributes.
        let mut state: Value = serde_json::from_str(&ws.state_text()).expect("state JSON");
        let instance = &mut state["resources"][0]["instances"][0];
        assert_eq!(instance["schema_version"], 0, "{tf}");
        let attrs = instance["attributes"].as_object_mut().expect("attributes");
        for a in [
            "overlap",
            "previous_token",
            "previous_token_id",
            "previous_revoke_at",
        ] {
            assert!(attrs.remove(a).is_some(), "{tf}: {a} missing from state");
        }
        if let Some(paths) = instance["sensitive_attributes"].as_array_mut() {
            paths.retain(|p| !p.to_string().contains("previous_token"));
        }
        state["serial"] = json!(state["serial"].as_u64().unwrap_or(1) + 1);
        ws.write("terraform.tfstate", &state.to_string());
        assert!(!ws.state_text().contains("previous_token"), "{tf}");

        assert_eq!(ws.plan_exit_code(), 0, "{tf}: upgraded state must not diff");
        // And overlap can be turned on and used with it.
        ws.write("main.tf", &trigger_config("1h", 1));
        assert_in_place(&tf, &ws.plan());
        ws.apply();
        let after = values_of(&ws, "defentry_token.t");
        assert_ne!(after["token_id"], before["token_id"], "{tf}");
        assert_eq!(after["previous_token"], before["token"], "{tf}");
        mock.assert_live(&s(&before["token"]), &tf);
        ws.destroy();
        assert_eq!(mock.active_sessions(), 0, "{tf}");
    }
}

#[test]
fn overlap_is_validated_at_the_attribute() {
    for tf in terraforms() {
        let ws = Workspace::bare(&tf);
        let cases = [
            (
                r#"resource "defentry_token" "t" {
  rotation_period = "24h"
  overlap         = "24h"
}"#,
                "shorter than rotation_period",
            ),
            (
                r#"resource "defentry_token" "t" { overlap = "0s" }"#,
                "greater than zero",
            ),
            (
                r#"resource "defentry_token" "t" { overlap = "an hour" }"#,
                "720h",
            ),
        ];
        for (body, hint) in cases {
            ws.write_config(body);
            let out = ws.run(&["validate", "-no-color"]);
            assert_ne!(out.code, 0, "{tf}: {body}");
            let text = out.combined();
            assert!(text.contains("Invalid overlap"), "{tf}: {body}\n{text}");
            assert!(text.contains(hint), "{tf}: {body}\n{text}");
            assert!(
                text.contains("main.tf line"),
                "{tf}: no source range\n{text}"
            );
        }
    }
}
