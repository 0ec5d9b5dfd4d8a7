//! What a `defentry_token` plan decides: defaults from the provider, rotations (a
//! replacement, or an in-place rotation with `overlap`), revocation of the previous token,
//! and `rotate_at`.

use crate::sdk::cty::AttributePath;
use crate::sdk::model::Maybe;
use crate::sdk::resource::PlanResponse;

use crate::defentry::data::ProviderData;
use crate::defentry::session;
use crate::defentry::time::{grid, rfc3339};

use super::marks::Marks;
use super::schedule::time_of;
use super::token_attr;
use super::Model;

/// Plans an in-place rotation: every attribute of the new session is unknown until apply, so
/// `replace_triggered_by` on the resource or on `token_id` fires; the current token becomes
/// the previous one.
fn plan_overlap_rotation(prior: &Model, config: &Model, planned: &mut Model, scheduled: bool) {
    planned.id = Maybe::Unknown;
    planned.token_id = Maybe::Unknown;
    planned.token = Maybe::Unknown;
    planned.authorization_header = Maybe::Unknown;
    planned.created_at = Maybe::Unknown;
    planned.previous_revoke_at = Maybe::Unknown;
    planned.rotate_at = if scheduled {
        Maybe::Unknown
    } else {
        Maybe::Null
    };
    if config.overlap.is_known() {
        planned.previous_token = prior.token.clone();
        planned.previous_token_id = prior.token_id.clone();
    } else {
        planned.previous_token = Maybe::Unknown;
        planned.previous_token_id = Maybe::Unknown;
    }
}

/// The plan, from the SDK's proposal `planned` (see `modify_plan` in [`super::resource`]).
pub(super) fn plan(
    data: &ProviderData,
    config: &Model,
    prior: Option<(&Model, Marks)>,
    planned: &mut Model,
    resp: &mut PlanResponse,
) {
    let creating = prior.is_none();
    if config.username.is_null() {
        match &data.username {
            Some(u) => planned.username = Maybe::Known(u.clone()),
            None if creating => resp.diagnostics.push(session::missing_username()),
            None => {}
        }
    }
    if config.keep_logged.is_null() {
        planned.keep_logged = Maybe::Known(data.keep_logged);
    }
    if creating && config.password_wo.is_null() && data.password.is_none() {
        resp.diagnostics
            .push(session::missing_password(token_attr::PASSWORD_WO));
    }
    let (period, anchor) = match (config.rotation_period(), config.rotation_anchor()) {
        (Ok(p), Ok(a)) => (p, a),
        (Err(d), _) | (_, Err(d)) => {
            resp.diagnostics.push(d);
            return;
        }
    };
    if let Err(d) = config.overlap() {
        resp.diagnostics.push(d);
        return;
    }
    let schedule_unknown = config.schedule_unknown();
    let Some((prior, marks)) = prior else {
        planned.clear_previous();
        if period.is_none() && !schedule_unknown {
            planned.rotate_at = Maybe::Null;
        }
        return;
    };
    let has_schedule = !prior.rotate_at.is_null();
    let due = marks.due && has_schedule && (period.is_some() || schedule_unknown);
    let changed = prior.changed_rotating_arguments(planned);
    if !config.overlap.is_null() {
        // Overlap: a rotation is an in-place update that keeps the old token for a while.
        if due || !changed.is_empty() {
            let scheduled = period.is_some() || schedule_unknown;
            plan_overlap_rotation(prior, config, planned, scheduled);
            return;
        }
        if marks.revoke_due {
            planned.clear_previous();
        }
    } else {
        // Without overlap (or after removing it) no previous token survives the plan.
        planned.clear_previous();
        resp.requires_replace.extend(changed);
    }
    if due {
        // Refresh found rotate_at in the past: replace, showing why on rotate_at.
        planned.rotate_at = Maybe::Unknown;
        resp.requires_replace
            .push(AttributePath::attr(token_attr::ROTATE_AT));
        return;
    }
    planned.rotate_at = match (period, schedule_unknown) {
        (_, true) => Maybe::Unknown,
        (None, false) => Maybe::Null,
        (Some(p), false) => match time_of(&prior.created_at) {
            Some(created) => grid::rotation_time(created, anchor, p)
                .map(rfc3339::format)
                .into(),
            None => Maybe::Unknown,
        },
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdk::cty::Value;
    use crate::sdk::private::Private;
    use crate::sdk::resource::{PlanRequest, ReadRequest, ReadResponse, Resource};
    use crate::sdk::{Context, Diagnostics};

    use crate::defentry::attr;

    use super::super::model::fixtures::{model, state, t};
    use super::super::TokenResource;

    /// Refresh then plan, as Terraform runs them, with the context's clock at `now`.
    async fn refresh_and_plan(prior: &Value, config: &Value, now: &str) -> PlanResponse {
        use crate::defentry::client::{ApiDomain, Client, ClientConfig};
        use crate::sdk::Clock;
        let ctx = Context::default().with_clock(Clock::fixed(t(now)));
        // Refresh and plan never call Defentry: an unreachable address proves it.
        let domain = ApiDomain::parse("http://127.0.0.1:9").expect("valid domain");
        let client = Client::new(ClientConfig::new(domain)).expect("client");
        let data = ProviderData::new(client, None, None);
        let read = ReadRequest {
            current_state: prior.clone(),
            private: Private::default(),
        };
        let mut refreshed = ReadResponse {
            new_state: prior.clone(),
            private: Private::default(),
            diagnostics: Diagnostics::new(),
        };
        TokenResource.read(&ctx, &data, read, &mut refreshed).await;
        assert!(
            refreshed.diagnostics.is_empty(),
            "{:?}",
            refreshed.diagnostics
        );
        let req = PlanRequest {
            prior_state: refreshed.new_state.clone(),
            config: config.clone(),
            prior_private: refreshed.private,
            client_capabilities: Default::default(),
        };
        let mut resp = PlanResponse {
            planned_state: refreshed.new_state,
            requires_replace: Vec::new(),
            planned_private: Private::default(),
            diagnostics: Diagnostics::new(),
        };
        TokenResource.modify_plan(&ctx, &data, req, &mut resp).await;
        assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
        resp
    }

    #[tokio::test]
    async fn the_context_clock_decides_revocation_and_rotation_without_sleeping() {
        // Rotated at 00:00 with a 24h period and a 1h overlap.
        let config = state(&[
            (attr::USERNAME, Value::string("svc")),
            (attr::KEEP_LOGGED, Value::Bool(false)),
            (token_attr::ROTATION_PERIOD, Value::string("24h")),
            (token_attr::OVERLAP, Value::string("1h")),
            (token_attr::TRIGGERS, Value::Null),
            (token_attr::PASSWORD_WO_VERSION, Value::Null),
        ]);
        let mut prior = config.clone();
        for (a, v) in [
            (attr::TOKEN, "8|cur"),
            (attr::TOKEN_ID, "8"),
            (token_attr::CREATED_AT, "2026-01-01T00:00:00Z"),
            (token_attr::ROTATE_AT, "2026-01-02T00:00:00Z"),
            (token_attr::PREVIOUS_TOKEN, "7|old"),
            (token_attr::PREVIOUS_TOKEN_ID, "7"),
            (token_attr::PREVIOUS_REVOKE_AT, "2026-01-01T01:00:00Z"),
        ] {
            prior.set_attr(a, Value::string(v));
        }

        // Inside the overlap window: nothing changes.
        let plan = refresh_and_plan(&prior, &config, "2026-01-01T00:59:59Z").await;
        assert_eq!(plan.planned_state, prior);
        assert!(plan.requires_replace.is_empty());

        // The window has ended: the plan revokes the previous token and keeps the current one.
        let plan = refresh_and_plan(&prior, &config, "2026-01-01T01:00:00Z").await;
        assert!(plan
            .planned_state
            .attr(token_attr::PREVIOUS_TOKEN)
            .is_null());
        assert!(plan
            .planned_state
            .attr(token_attr::PREVIOUS_REVOKE_AT)
            .is_null());
        assert_eq!(plan.planned_state.attr(attr::TOKEN).as_str(), Some("8|cur"));
        assert_eq!(
            plan.planned_state.attr(token_attr::ROTATE_AT).as_str(),
            Some("2026-01-02T00:00:00Z")
        );

        // rotate_at has passed: an in-place rotation keeping the current token as previous.
        let plan = refresh_and_plan(&prior, &config, "2026-01-02T00:00:00Z").await;
        assert!(!plan.planned_state.attr(attr::TOKEN).is_known());
        assert_eq!(
            plan.planned_state.attr(token_attr::PREVIOUS_TOKEN).as_str(),
            Some("8|cur")
        );
        assert!(plan.requires_replace.is_empty());

        // Without overlap the same instant plans a replacement, shown on rotate_at.
        let mut no_overlap = config.clone();
        no_overlap.set_attr(token_attr::OVERLAP, Value::Null);
        let plan = refresh_and_plan(&prior, &no_overlap, "2026-01-02T00:00:00Z").await;
        assert_eq!(
            plan.requires_replace,
            vec![AttributePath::attr(token_attr::ROTATE_AT)]
        );
        assert!(!plan.planned_state.attr(token_attr::ROTATE_AT).is_known());
    }

    /// What an in-place rotation decides only at apply.
    const NEW_SESSION_ATTRIBUTES: [&str; 6] = [
        attr::ID,
        attr::TOKEN_ID,
        attr::TOKEN,
        attr::AUTHORIZATION_HEADER,
        token_attr::CREATED_AT,
        token_attr::PREVIOUS_REVOKE_AT,
    ];

    #[test]
    fn overlap_rotation_plan_keeps_the_current_token_as_previous() {
        let prior = model(&[
            (attr::TOKEN, Value::string("7|cur")),
            (attr::TOKEN_ID, Value::string("7")),
            (token_attr::TRIGGERS, Value::Null),
        ]);
        let config = model(&[(token_attr::OVERLAP, Value::string("1h"))]);
        let mut planned_model = prior.clone();
        plan_overlap_rotation(&prior, &config, &mut planned_model, false);
        let planned = planned_model.write().expect("a value");
        for a in NEW_SESSION_ATTRIBUTES {
            assert!(!planned.attr(a).is_known(), "{a}");
        }
        assert!(planned.attr(token_attr::ROTATE_AT).is_null());
        assert_eq!(
            planned.attr(token_attr::PREVIOUS_TOKEN).as_str(),
            Some("7|cur")
        );
        assert_eq!(
            planned.attr(token_attr::PREVIOUS_TOKEN_ID).as_str(),
            Some("7")
        );
        // An overlap that is unknown at plan leaves the previous token to apply.
        let unknown = model(&[(token_attr::OVERLAP, Value::unknown())]);
        plan_overlap_rotation(&prior, &unknown, &mut planned_model, true);
        let planned = planned_model.write().expect("a value");
        assert!(!planned.attr(token_attr::PREVIOUS_TOKEN).is_known());
        assert!(!planned.attr(token_attr::ROTATE_AT).is_known());
    }
}
