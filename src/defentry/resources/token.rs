//! `resource "defentry_token"`: one CRM session owned by Terraform. Create logs in, delete
//! logs out, and rotation is a real replacement, decided during refresh so that saved plans
//! apply exactly as planned.

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};

use crate::sdk::cty::{AttributePath, Type, Value};
use crate::sdk::provider::ValidateRequest;
use crate::sdk::resource::{
    ApplyResponse, CreateRequest, DeleteRequest, ImportResponse, PlanRequest, PlanResponse,
    ReadRequest, ReadResponse, Resource, UpdateRequest,
};
use crate::sdk::schema::{Attribute, Block, Schema};
use crate::sdk::{Context, Diagnostic, Diagnostics};

use crate::defentry::duration;
use crate::defentry::provider::ProviderData;
use crate::defentry::session::{self, attr as s, rfc3339};

/// Attribute names of `defentry_token` beyond the shared session ones.
pub mod attr {
    /// Write-only password.
    pub const PASSWORD_WO: &str = "password_wo";
    /// Changing it rotates the token.
    pub const PASSWORD_WO_VERSION: &str = "password_wo_version";
    /// Go duration between rotations.
    pub const ROTATION_PERIOD: &str = "rotation_period";
    /// Aligns rotations to a fixed grid.
    pub const ROTATION_ANCHOR: &str = "rotation_anchor";
    /// Arbitrary values whose change rotates the token.
    pub const TRIGGERS: &str = "triggers";
    /// Login time.
    pub const CREATED_AT: &str = "created_at";
    /// Next scheduled rotation.
    pub const ROTATE_AT: &str = "rotate_at";
    /// Go duration the previous token stays valid after a rotation.
    pub const OVERLAP: &str = "overlap";
    /// The token before the last rotation, alive until `previous_revoke_at`.
    pub const PREVIOUS_TOKEN: &str = "previous_token";
    /// Its non-secret identifier.
    pub const PREVIOUS_TOKEN_ID: &str = "previous_token_id";
    /// When the previous token is logged out.
    pub const PREVIOUS_REVOKE_AT: &str = "previous_revoke_at";
}

/// The `defentry_token` resource.
pub struct TokenResource;

/// What the resource keeps in Terraform's private state. (Private data does not survive a
/// replacement: Terraform re-plans the new object at apply time without it.)
#[derive(Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
struct Private {
    /// Set by refresh once `rotate_at` has passed; plan turns it into a replacement.
    #[serde(default)]
    due: bool,
    /// Set by refresh once `previous_revoke_at` has passed; plan turns it into an update that
    /// logs the previous token out.
    #[serde(default)]
    revoke_due: bool,
}

impl Private {
    fn parse(b: &[u8]) -> Private {
        serde_json::from_slice(b).unwrap_or_default()
    }
    fn bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

fn parse_time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// The longest `rotation_period` accepted: 100 years. With it, `rotate_at` (the next grid
/// point after a token's creation) stays within years 0000–9999, the range RFC 3339 and
/// Terraform's `timecmp()` accept, for any anchor they accept.
pub const MAX_ROTATION_PERIOD: std::time::Duration =
    std::time::Duration::from_secs(100 * 365 * 86_400);
/// [`MAX_ROTATION_PERIOD`] as users write it.
const MAX_ROTATION_PERIOD_TEXT: &str = "876000h (100 years)";

const NANOS_PER_SEC: i128 = 1_000_000_000;

fn to_nanos(t: DateTime<Utc>) -> i128 {
    i128::from(t.timestamp()) * NANOS_PER_SEC + i128::from(t.timestamp_subsec_nanos())
}

fn from_nanos(ns: i128) -> Option<DateTime<Utc>> {
    let secs = i64::try_from(ns.div_euclid(NANOS_PER_SEC)).ok()?;
    let nanos = u32::try_from(ns.rem_euclid(NANOS_PER_SEC)).ok()?;
    DateTime::from_timestamp(secs, nanos)
}

/// The first point of the grid `anchor + k·period` (any integer k) strictly after `after`.
/// Exact for any anchor and period chrono can represent (i128 nanoseconds cannot overflow
/// here); `None` only when the result is beyond chrono's range.
fn next_rotation(
    anchor: DateTime<Utc>,
    period: std::time::Duration,
    after: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let period_ns = i128::try_from(period.as_nanos()).ok()?.max(1);
    let anchor_ns = to_nanos(anchor);
    let k = (to_nanos(after) - anchor_ns).div_euclid(period_ns) + 1;
    from_nanos(anchor_ns.checked_add(k.checked_mul(period_ns)?)?)
}

/// When a token created at `created` is due: `created + period`, or the next point of the
/// `rotation_anchor` grid when one is set.
fn rotation_time(
    created: DateTime<Utc>,
    anchor: Option<DateTime<Utc>>,
    period: std::time::Duration,
) -> Option<DateTime<Utc>> {
    match anchor {
        Some(a) => next_rotation(a, period, created),
        None => from_nanos(to_nanos(created).checked_add(i128::try_from(period.as_nanos()).ok()?)?),
    }
}

fn anchor_of(config: &Value) -> Result<Option<DateTime<Utc>>, Diagnostic> {
    let v = config.attr(attr::ROTATION_ANCHOR);
    match v.as_str() {
        None => Ok(None),
        Some(raw) => parse_time(v).map(Some).ok_or_else(|| {
            Diagnostic::error(
                "Invalid rotation_anchor",
                format!("rotation_anchor {raw:?} is not an RFC 3339 time; write it like \"2026-01-01T02:00:00Z\"."),
            )
            .at(AttributePath::attr(attr::ROTATION_ANCHOR))
        }),
    }
}

fn period_of(config: &Value) -> Result<Option<std::time::Duration>, Diagnostic> {
    match config.attr(attr::ROTATION_PERIOD).as_str() {
        None => Ok(None),
        Some(p) => {
            let invalid = |detail: String| {
                Diagnostic::error("Invalid rotation_period", detail)
                    .at(AttributePath::attr(attr::ROTATION_PERIOD))
            };
            let period = duration::parse_positive(p)
                .map_err(|e| invalid(format!("rotation_period {e}.")))?;
            if period > MAX_ROTATION_PERIOD {
                return Err(invalid(format!(
                    "rotation_period {p:?} is longer than the longest supported period, {MAX_ROTATION_PERIOD_TEXT}: \
                     a later rotate_at could not be written as an RFC 3339 time that Terraform's timecmp() accepts. \
                     Choose a shorter period."
                )));
            }
            Ok(Some(period))
        }
    }
}

fn overlap_of(config: &Value) -> Result<Option<std::time::Duration>, Diagnostic> {
    let Some(raw) = config.attr(attr::OVERLAP).as_str() else {
        return Ok(None);
    };
    let at = AttributePath::attr(attr::OVERLAP);
    let overlap = duration::parse_positive(raw).map_err(|e| {
        Diagnostic::error("Invalid overlap", format!("overlap {e}.")).at(at.clone())
    })?;
    // A rotation logs the previous token out, so an overlap as long as the period would be
    // cut short by the next rotation.
    if let Ok(Some(period)) = period_of(config) {
        if overlap >= period {
            return Err(Diagnostic::error(
                "Invalid overlap",
                format!(
                    "overlap {raw:?} must be shorter than rotation_period {:?}, because the next rotation logs the previous token out. \
                     Choose an overlap no longer than the time your consumers need to pick up a new token.",
                    config.attr(attr::ROTATION_PERIOD).as_str().unwrap_or_default()
                ),
            )
            .at(at));
        }
    }
    Ok(Some(overlap))
}

/// The private state refresh records at `now`: which decisions the next plan must take.
fn refreshed_private(state: &Value, now: DateTime<Utc>) -> Private {
    let passed = |name: &str| parse_time(state.attr(name)).is_some_and(|t| now >= t);
    Private {
        due: passed(attr::ROTATE_AT),
        revoke_due: !state.attr(attr::PREVIOUS_TOKEN).is_null() && passed(attr::PREVIOUS_REVOKE_AT),
    }
}

/// Arguments whose change rotates the token (a replacement without `overlap`, an in-place
/// rotation with it), in the order the plan reports them.
const ROTATING_ARGUMENTS: [&str; 2] = [attr::TRIGGERS, attr::PASSWORD_WO_VERSION];

/// The rotating arguments whose planned value differs from the prior one.
fn changed_rotating_arguments(prior: &Value, planned: &Value) -> Vec<AttributePath> {
    ROTATING_ARGUMENTS
        .iter()
        .filter(|a| prior.attr(a) != planned.attr(a))
        .map(|a| AttributePath::attr(*a))
        .collect()
}

/// What an in-place rotation decides only at apply.
const NEW_SESSION_ATTRIBUTES: [&str; 6] = [
    s::ID,
    s::TOKEN_ID,
    s::TOKEN,
    s::AUTHORIZATION_HEADER,
    attr::CREATED_AT,
    attr::PREVIOUS_REVOKE_AT,
];

/// Plans an in-place rotation: every attribute of the new session is unknown until apply, so
/// `replace_triggered_by` on the resource or on `token_id` fires; the current token becomes
/// the previous one.
fn plan_overlap_rotation(prior: &Value, config: &Value, planned: &mut Value, scheduled: bool) {
    for a in NEW_SESSION_ATTRIBUTES {
        planned.set_attr(a, Value::unknown());
    }
    planned.set_attr(
        attr::ROTATE_AT,
        if scheduled {
            Value::unknown()
        } else {
            Value::Null
        },
    );
    let overlap_known = config.attr(attr::OVERLAP).is_known();
    for (to, from) in [
        (attr::PREVIOUS_TOKEN, s::TOKEN),
        (attr::PREVIOUS_TOKEN_ID, s::TOKEN_ID),
    ] {
        let v = if overlap_known {
            prior.attr(from).clone()
        } else {
            Value::unknown()
        };
        planned.set_attr(to, v);
    }
}

/// Clears the previous token: planned as the revocation, applied once it is logged out.
fn clear_previous(state: &mut Value) {
    for a in [
        attr::PREVIOUS_TOKEN,
        attr::PREVIOUS_TOKEN_ID,
        attr::PREVIOUS_REVOKE_AT,
    ] {
        state.set_attr(a, Value::Null);
    }
}

/// Logs out a token kept in `state` under `token_attr`, if there is one. Returns whether a
/// token was there; an already invalid token counts as logged out.
async fn log_out(
    ctx: &Context,
    data: &ProviderData,
    state: &Value,
    token_attr: &str,
) -> Result<bool, Diagnostic> {
    let Some(token) = state.attr(token_attr).as_str() else {
        return Ok(false);
    };
    let client = data.client()?;
    let token = crate::defentry::client::Secret::new(token);
    session::logout(ctx, client, &token).await.map(|_| true)
}

/// Logs in with the plan's `username` and `keep_logged` and the configuration's password, and
/// fills in the session attributes of `planned`.
async fn log_in(
    ctx: &Context,
    data: &ProviderData,
    config: &Value,
    planned: Value,
) -> Result<Value, Diagnostic> {
    let client = data.client()?;
    let username = planned.attr(s::USERNAME).as_str().map(str::to_string);
    let mut creds = session::credentials(data, config, attr::PASSWORD_WO, username.as_deref())?;
    if let Some(k) = planned.attr(s::KEEP_LOGGED).as_bool() {
        creds.keep_logged = k;
    }
    let (period, anchor) = (period_of(config)?, anchor_of(config)?);
    let token = session::login(ctx, client, &creds).await?;
    // Whole seconds, so rotate_at - created_at is exactly the period users configured.
    let now = ctx.now().trunc_subsecs(0);
    let created_at = rfc3339(now);
    let rotate_at = period
        .and_then(|p| rotation_time(now, anchor, p))
        .map(rfc3339);
    let mut state = planned;
    state.set_attr(s::ID, Value::string(token.id()));
    state.set_attr(s::TOKEN_ID, Value::string(token.id()));
    state.set_attr(s::TOKEN, Value::string(token.secret().expose()));
    state.set_attr(
        s::AUTHORIZATION_HEADER,
        Value::string(token.authorization_header().expose()),
    );
    state.set_attr(attr::CREATED_AT, Value::string(created_at));
    state.set_attr(attr::ROTATE_AT, Value::opt_string(rotate_at));
    if state.attr(s::KEEP_LOGGED).is_null() {
        state.set_attr(s::KEEP_LOGGED, Value::Bool(creds.keep_logged));
    }
    if state.attr(s::USERNAME).is_null() || !state.attr(s::USERNAME).is_known() {
        state.set_attr(s::USERNAME, Value::string(creds.username.clone()));
    }
    clear_previous(&mut state);
    Ok(state)
}

const DESCRIPTION: &str = "A Defentry CRM session owned by Terraform. Create logs in, destroy logs out, and \
rotation is a **replacement**: the new token is created and the old one logged out, so `replace_triggered_by` on \
consumers fires, and with `lifecycle { create_before_destroy = true }` the new token exists before the old one ends.\n\n\
Rotation happens through ordinary plan/apply runs: once `rotate_at` has passed, the next `terraform plan` shows the \
token must be replaced. The decision is taken during refresh, so a saved plan applies exactly as planned. \
With `-refresh=false` no rotation is decided. `rotate_at` is `created_at + rotation_period`, \
or the next point of the `rotation_anchor` grid, so it never moves with the time plan or apply happen to run. Choose a `rotation_period` shorter than the token lifetime \
Defentry gives you (use `keep_logged` for long-lived sessions).\n\n\
With `overlap`, a rotation is instead an in-place update that keeps the previous token valid (`previous_token`) \
until `previous_revoke_at`, for consumers that cache the token; the first plan and apply after that time log it out. \
Reference `token_id` in `replace_triggered_by`.\n\n\
The token is stored in state, marked sensitive: protect the state. Import is not possible, because a token's \
secret cannot be read back from Defentry.";

#[async_trait]
impl Resource<ProviderData> for TokenResource {
    fn type_name(&self) -> &'static str {
        "defentry_token"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new(vec![
                Attribute::optional_computed(s::USERNAME, Type::String)
                    .requires_replace()
                    .description("Service-account username. Defaults to the provider's `username`. Changing it replaces the token."),
                Attribute::optional(attr::PASSWORD_WO, Type::String)
                    .sensitive()
                    .write_only()
                    .description("Write-only password (Terraform 1.11+): used to log in, never stored in plan or state. Defaults to the provider's `password`. Bump `password_wo_version` to log in again with a new value."),
                Attribute::optional(attr::PASSWORD_WO_VERSION, Type::String)
                    .description("Any value; changing it rotates the token (for example after changing `password_wo`): a replacement, or an in-place rotation with `overlap`."),
                Attribute::optional_computed(s::KEEP_LOGGED, Type::Bool)
                    .requires_replace()
                    .description("Ask Defentry for a long-lived session. Defaults to the provider's `keep_logged`. Changing it replaces the token."),
                Attribute::optional(s::TOTP_SECRET, Type::String)
                    .sensitive()
                    .write_only()
                    .description("Interactive users only: write-only base32 TOTP secret answering the 2FA challenge. Defaults to the provider's `totp_secret`."),
                Attribute::optional(s::TWO_FACTOR_CODE, Type::String)
                    .sensitive()
                    .write_only()
                    .description("Interactive users only: a write-only 6-digit 2FA code, instead of `totp_secret`."),
                Attribute::optional(attr::ROTATION_PERIOD, Type::String)
                    .description("How often to rotate, as a Go duration such as `\"720h\"`, `\"90m\"` or `\"30s\"`. At most `\"876000h\"` (100 years), so that `rotate_at` stays a time Terraform's `timecmp()` accepts. Without it the token rotates only when `triggers` or other arguments change."),
                Attribute::optional(attr::ROTATION_ANCHOR, Type::String)
                    .description("Optional RFC 3339 time that aligns rotations to a fixed grid: `rotate_at` becomes the first `rotation_anchor + k × rotation_period` after `created_at`. With `\"2026-01-01T02:00:00Z\"` and `\"24h\"`, tokens rotate daily at 02:00 UTC however late the CI run that rotated them was, so the schedule never drifts."),
                Attribute::optional(attr::TRIGGERS, Type::map(Type::String))
                    .description("Arbitrary map of values; any change rotates the token: a replacement, or an in-place rotation with `overlap`."),
                Attribute::optional(attr::OVERLAP, Type::String)
                    .description("How long the previous token stays valid after a rotation, as a Go duration such as `\"1h\"`; positive and shorter than `rotation_period`. With it, a rotation is an in-place update that logs in anew and keeps the old token as `previous_token` until `previous_revoke_at`. Without it, a rotation is a replacement."),
                Attribute::computed(s::ID, Type::String).description("Same as `token_id`."),
                Attribute::computed(s::TOKEN_ID, Type::String)
                    .description("The non-secret token identifier (the part before `|`): changes on every rotation, so it serves as `*_wo_version` of secret-store resources."),
                Attribute::computed(s::TOKEN, Type::String)
                    .sensitive()
                    .description("The CRM token, sent as `Authorization: Bearer <token>`."),
                Attribute::computed(s::AUTHORIZATION_HEADER, Type::String)
                    .sensitive()
                    .description("The ready-made header value `Bearer <token>`."),
                Attribute::computed(attr::CREATED_AT, Type::String)
                    .description("When this token was created (RFC 3339)."),
                Attribute::computed(attr::ROTATE_AT, Type::String)
                    .description("When the token is due for rotation (RFC 3339); null without `rotation_period`. Without `overlap`, the plan shows the replacement on this attribute."),
                Attribute::computed(attr::PREVIOUS_TOKEN, Type::String)
                    .sensitive()
                    .description("With `overlap`: the token before the last rotation, still valid until `previous_revoke_at`; null otherwise. Consumers that verify tokens accept it during the window."),
                Attribute::computed(attr::PREVIOUS_TOKEN_ID, Type::String)
                    .description("The non-secret identifier of `previous_token`; null when there is none."),
                Attribute::computed(attr::PREVIOUS_REVOKE_AT, Type::String)
                    .description("When `previous_token` is logged out (RFC 3339): by the first plan and apply after this time, or by the next rotation if that comes first."),
            ])
            .description(DESCRIPTION),
        )
    }

    async fn validate(&self, req: ValidateRequest) -> Diagnostics {
        let mut d = session::validate_session_config(&req.config);
        if let Err(e) = period_of(&req.config) {
            d.push(e);
        }
        if let Err(e) = anchor_of(&req.config) {
            d.push(e);
        }
        if let Err(e) = overlap_of(&req.config) {
            d.push(e);
        }
        d
    }

    async fn modify_plan(
        &self,
        _ctx: &Context,
        data: &ProviderData,
        req: &PlanRequest,
        resp: &mut PlanResponse,
    ) {
        let planned = &mut resp.planned_state;
        if planned.is_null() {
            return;
        }
        let config = &req.config;
        let creating = req.prior_state.is_null();
        if config.attr(s::USERNAME).is_null() {
            match &data.username {
                Some(u) => planned.set_attr(s::USERNAME, Value::string(u.clone())),
                None if creating => resp.diagnostics.push(
                    Diagnostic::error(
                        "Missing username",
                        "Set `username` here or in the provider block, or export DEFENTRY_USERNAME.",
                    )
                    .at(AttributePath::attr(s::USERNAME)),
                ),
                None => {}
            }
        }
        if config.attr(s::KEEP_LOGGED).is_null() {
            planned.set_attr(s::KEEP_LOGGED, Value::Bool(data.keep_logged));
        }
        if creating && config.attr(attr::PASSWORD_WO).is_null() && data.password.is_none() {
            resp.diagnostics.push(
                Diagnostic::error(
                    "Missing password",
                    "Set `password_wo` here or `password` in the provider block, or export DEFENTRY_PASSWORD.",
                )
                .at(AttributePath::attr(attr::PASSWORD_WO)),
            );
        }
        let (period, anchor) = match (period_of(config), anchor_of(config)) {
            (Ok(p), Ok(a)) => (p, a),
            (Err(d), _) | (_, Err(d)) => {
                resp.diagnostics.push(d);
                return;
            }
        };
        if let Err(d) = overlap_of(config) {
            resp.diagnostics.push(d);
            return;
        }
        let schedule_unknown = !config.attr(attr::ROTATION_PERIOD).is_known()
            || !config.attr(attr::ROTATION_ANCHOR).is_known();
        if creating {
            clear_previous(planned);
            if period.is_none() && !schedule_unknown {
                planned.set_attr(attr::ROTATE_AT, Value::Null);
            }
            return;
        }
        let private = Private::parse(&req.prior_private);
        let has_schedule = !req.prior_state.attr(attr::ROTATE_AT).is_null();
        let due = private.due && has_schedule && (period.is_some() || schedule_unknown);
        let changed = changed_rotating_arguments(&req.prior_state, planned);
        if !config.attr(attr::OVERLAP).is_null() {
            // Overlap: a rotation is an in-place update that keeps the old token for a while.
            if due || !changed.is_empty() {
                let scheduled = period.is_some() || schedule_unknown;
                plan_overlap_rotation(&req.prior_state, config, planned, scheduled);
                return;
            }
            if private.revoke_due {
                clear_previous(planned);
            }
        } else {
            // Without overlap (or after removing it) no previous token survives the plan.
            clear_previous(planned);
            resp.requires_replace.extend(changed);
        }
        if due {
            // Refresh found rotate_at in the past: replace, showing why on rotate_at.
            planned.set_attr(attr::ROTATE_AT, Value::unknown());
            resp.requires_replace
                .push(AttributePath::attr(attr::ROTATE_AT));
            return;
        }
        let rotate_at = match (period, schedule_unknown) {
            (_, true) => Value::unknown(),
            (None, false) => Value::Null,
            (Some(p), false) => match parse_time(req.prior_state.attr(attr::CREATED_AT)) {
                Some(created) => Value::opt_string(rotation_time(created, anchor, p).map(rfc3339)),
                None => Value::unknown(),
            },
        };
        planned.set_attr(attr::ROTATE_AT, rotate_at);
    }

    async fn create(
        &self,
        ctx: &Context,
        data: &ProviderData,
        req: CreateRequest,
    ) -> ApplyResponse {
        match log_in(ctx, data, &req.config, req.planned_state).await {
            Ok(state) => {
                let token_id = state.attr(s::TOKEN_ID).as_str().unwrap_or_default();
                tracing::info!(token_id, "defentry_token created");
                ApplyResponse {
                    new_state: state,
                    private: Private::default().bytes(),
                    diagnostics: Diagnostics::new(),
                }
            }
            Err(d) => ApplyResponse {
                new_state: Value::Null,
                private: Vec::new(),
                diagnostics: d.into(),
            },
        }
    }

    async fn update(
        &self,
        ctx: &Context,
        data: &ProviderData,
        req: UpdateRequest,
    ) -> ApplyResponse {
        let prior = req.prior_state;
        let planned = req.planned_state;
        let rotating = !planned.attr(s::TOKEN).is_known();
        let revoking = planned.attr(attr::PREVIOUS_TOKEN).is_null()
            && !prior.attr(attr::PREVIOUS_TOKEN).is_null();
        let done = |new_state: Value, diagnostics: Diagnostics| ApplyResponse {
            new_state,
            private: Private::default().bytes(),
            diagnostics,
        };
        if !rotating && !revoking {
            // Schedule or overlap changes only affect Terraform-side decisions.
            return done(planned, Diagnostics::new());
        }
        // The previous token goes first, so there are never more than two live sessions.
        // Every failure returns the state as it now is, which Terraform keeps, so the next
        // run finishes the job and no session is forgotten.
        let mut state = prior.clone();
        match log_out(ctx, data, &prior, attr::PREVIOUS_TOKEN).await {
            Ok(true) => {
                tracing::info!(
                    token_id = prior
                        .attr(attr::PREVIOUS_TOKEN_ID)
                        .as_str()
                        .unwrap_or_default(),
                    "previous defentry_token logged out"
                );
                clear_previous(&mut state);
            }
            Ok(false) => {}
            Err(d) => return done(prior, d.into()),
        }
        if !rotating {
            return done(planned, Diagnostics::new());
        }
        let mut new = match log_in(ctx, data, &req.config, planned).await {
            Ok(v) => v,
            Err(d) => return done(state, d.into()),
        };
        tracing::info!(
            token_id = new.attr(s::TOKEN_ID).as_str().unwrap_or_default(),
            "defentry_token rotated in place"
        );
        let created = parse_time(new.attr(attr::CREATED_AT)).unwrap_or_else(|| ctx.now());
        new.set_attr(attr::PREVIOUS_TOKEN, prior.attr(s::TOKEN).clone());
        new.set_attr(attr::PREVIOUS_TOKEN_ID, prior.attr(s::TOKEN_ID).clone());
        let overlap = overlap_of(&req.config).ok().flatten();
        let revoke_at = overlap
            .and_then(|o| created.checked_add_signed(chrono::Duration::from_std(o).ok()?))
            .unwrap_or(created);
        new.set_attr(attr::PREVIOUS_REVOKE_AT, Value::string(rfc3339(revoke_at)));
        if overlap.is_none() {
            // `overlap` was unknown at plan and turned out null: no window, log the old one out.
            match log_out(ctx, data, &new, attr::PREVIOUS_TOKEN).await {
                Ok(_) => clear_previous(&mut new),
                Err(d) => return done(new, d.into()),
            }
        }
        done(new, Diagnostics::new())
    }

    async fn read(&self, ctx: &Context, _data: &ProviderData, req: ReadRequest) -> ReadResponse {
        // Defentry has no endpoint to inspect a token, so refresh only decides the schedule.
        let state = req.current_state;
        let private = refreshed_private(&state, ctx.now());
        ReadResponse {
            new_state: state,
            private: private.bytes(),
            diagnostics: Diagnostics::new(),
        }
    }

    async fn delete(&self, ctx: &Context, data: &ProviderData, req: DeleteRequest) -> Diagnostics {
        // Both tokens, each attempted: a failure keeps the resource in state, and the next
        // destroy finds the one already logged out invalid, which counts as done.
        let mut d = Diagnostics::new();
        for token in [attr::PREVIOUS_TOKEN, s::TOKEN] {
            if let Err(e) = log_out(ctx, data, &req.prior_state, token).await {
                d.push(e);
            }
        }
        d
    }

    async fn import(&self, _ctx: &Context, _data: &ProviderData, _id: &str) -> ImportResponse {
        ImportResponse {
            state: Value::Null,
            private: Vec::new(),
            diagnostics: Diagnostic::error(
                "defentry_token cannot be imported",
                "Defentry never returns a token's secret after login, so an existing session cannot be brought under Terraform. \
                 Let Terraform log in anew (terraform apply creates a fresh token), and end the old session with the \
                 defentry_logout action or by letting it expire.",
            )
            .into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn t(s: &str) -> DateTime<Utc> {
        parse_time(&Value::string(s)).unwrap_or_default()
    }

    #[test]
    fn rotation_time_is_created_plus_period_or_on_the_anchor_grid() {
        let day = Duration::from_secs(86_400);
        let created = t("2026-01-02T00:05:00Z");
        assert_eq!(
            rotation_time(created, None, day),
            Some(t("2026-01-03T00:05:00Z"))
        );
        let anchor = Some(t("2026-01-01T00:00:00Z"));
        // A token created 5 minutes late keeps the midnight grid.
        assert_eq!(
            rotation_time(created, anchor, day),
            Some(t("2026-01-03T00:00:00Z"))
        );
        // Exactly on a grid point: the next one.
        assert_eq!(
            rotation_time(t("2026-01-02T00:00:00Z"), anchor, day),
            Some(t("2026-01-03T00:00:00Z"))
        );
        // An anchor in the future works backwards along the grid.
        let future = Some(t("2026-03-01T00:00:00Z"));
        assert_eq!(
            rotation_time(created, future, day),
            Some(t("2026-01-03T00:00:00Z"))
        );
    }

    #[test]
    fn the_grid_holds_for_far_anchors_and_long_periods() {
        let created = t("2026-11-30T17:00:00Z");
        let hour = Duration::from_secs(3600);
        // Far past: 1700 is more than 292 years (i64 nanoseconds) before the token.
        assert_eq!(
            rotation_time(created, Some(t("1700-01-01T00:00:00Z")), hour),
            Some(t("2026-11-30T18:00:00Z"))
        );
        assert_eq!(
            rotation_time(created, Some(t("0000-01-01T00:30:00Z")), hour),
            Some(t("2026-11-30T17:30:00Z"))
        );
        // Far future: the grid is followed backwards.
        assert_eq!(
            rotation_time(created, Some(t("9999-12-31T23:59:59Z")), hour),
            Some(t("2026-11-30T17:59:59Z"))
        );
        // The longest period, on and off a grid, lands within four-digit years.
        let longest = MAX_ROTATION_PERIOD;
        for anchor in [
            None,
            Some(t("0000-01-01T00:00:00Z")),
            Some(t("9999-12-31T23:59:59Z")),
        ] {
            let at = rotation_time(created, anchor, longest).expect("representable");
            assert!(at > created && at <= created + chrono::Duration::from_std(longest).unwrap());
            assert!(rfc3339(at).len() == 20, "{}", rfc3339(at));
        }
        // Sub-second periods and anchors.
        assert_eq!(
            rotation_time(
                t("2026-01-01T00:00:00.250Z"),
                Some(t("2026-01-01T00:00:00Z")),
                Duration::from_millis(100)
            ),
            Some(t("2026-01-01T00:00:00.300Z"))
        );
    }

    #[test]
    fn the_grid_point_is_the_first_after_creation_at_any_instant() {
        // Exhaustive over a range of instants around an anchor, against a naive walk.
        let anchor = t("2026-01-01T00:00:00Z");
        let period = Duration::from_secs(7);
        for offset in -100i64..100 {
            let created = anchor + chrono::Duration::seconds(offset);
            let got = next_rotation(anchor, period, created).unwrap();
            let mut want = anchor;
            while want <= created {
                want += chrono::Duration::seconds(7);
            }
            while want - chrono::Duration::seconds(7) > created {
                want -= chrono::Duration::seconds(7);
            }
            assert_eq!(got, want, "offset {offset}");
        }
    }

    proptest::proptest! {
        /// Any anchor RFC 3339 can write, any accepted period, any creation time in
        /// four-digit years: rotate_at is the first grid point after creation.
        #[test]
        fn any_anchor_period_and_instant(
            anchor_s in -62_167_219_200i64..253_402_300_799,
            created_s in -62_167_219_200i64..253_402_300_799,
            period_ns in 1u64..=u64::MAX,
        ) {
            let period = Duration::from_nanos(period_ns).min(MAX_ROTATION_PERIOD);
            let anchor = DateTime::from_timestamp(anchor_s, 0).unwrap();
            let created = DateTime::from_timestamp(created_s, 0).unwrap();
            let at = next_rotation(anchor, period, created).unwrap();
            let p = i128::try_from(period.as_nanos()).unwrap();
            let (at_ns, created_ns) = (to_nanos(at), to_nanos(created));
            proptest::prop_assert!(at_ns > created_ns && at_ns - p <= created_ns);
            proptest::prop_assert_eq!((at_ns - to_nanos(anchor)).rem_euclid(p), 0);
        }
    }

    #[test]
    fn oversized_periods_are_refused() {
        let config = |p: &str| Value::object([(attr::ROTATION_PERIOD, Value::string(p))]);
        assert_eq!(
            period_of(&config("876000h")).unwrap(),
            Some(MAX_ROTATION_PERIOD)
        );
        for p in ["876000h1s", "1000000000h"] {
            let d = period_of(&config(p)).unwrap_err();
            assert!(d.detail.contains("876000h (100 years)"), "{}", d.detail);
            assert!(d.detail.contains("timecmp()"), "{}", d.detail);
        }
        let d = period_of(&config("")).unwrap_err();
        assert_eq!(d.detail, "rotation_period is empty.");
    }

    #[test]
    fn private_state_round_trips_and_tolerates_garbage() {
        let p = Private {
            due: true,
            revoke_due: false,
        };
        assert_eq!(Private::parse(&p.bytes()), p);
        assert_eq!(Private::parse(b"\xff not json"), Private::default());
        assert_eq!(Private::parse(b""), Private::default());
        // Older private data with extra fields still parses.
        assert!(Private::parse(br#"{"anchor":"2026-01-01T00:00:00Z","due":true}"#).due);
    }

    fn state(pairs: &[(&str, Value)]) -> Value {
        Value::object(pairs.iter().map(|(k, v)| (*k, v.clone())))
    }

    #[test]
    fn refresh_decides_rotation_and_revocation_from_the_clock() {
        let s = state(&[
            (attr::ROTATE_AT, Value::string("2026-01-02T00:00:00Z")),
            (attr::PREVIOUS_TOKEN, Value::string("7|old")),
            (
                attr::PREVIOUS_REVOKE_AT,
                Value::string("2026-01-01T01:00:00Z"),
            ),
        ]);
        let at = |now| refreshed_private(&s, t(now));
        assert_eq!(at("2026-01-01T00:59:59Z"), Private::default());
        assert_eq!(
            at("2026-01-01T01:00:00Z"),
            Private {
                due: false,
                revoke_due: true
            }
        );
        assert_eq!(
            at("2026-01-02T00:00:00Z"),
            Private {
                due: true,
                revoke_due: true
            }
        );
        // Nothing to revoke without a previous token, whatever the time says.
        let mut gone = s.clone();
        gone.set_attr(attr::PREVIOUS_TOKEN, Value::Null);
        assert!(!refreshed_private(&gone, t("2026-06-01T00:00:00Z")).revoke_due);
    }

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
            private: Vec::new(),
        };
        let refreshed = TokenResource.read(&ctx, &data, read).await;
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
            planned_private: Vec::new(),
            diagnostics: Diagnostics::new(),
        };
        TokenResource
            .modify_plan(&ctx, &data, &req, &mut resp)
            .await;
        assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
        resp
    }

    #[tokio::test]
    async fn the_context_clock_decides_revocation_and_rotation_without_sleeping() {
        // Rotated at 00:00 with a 24h period and a 1h overlap.
        let config = state(&[
            (s::USERNAME, Value::string("svc")),
            (s::KEEP_LOGGED, Value::Bool(false)),
            (attr::ROTATION_PERIOD, Value::string("24h")),
            (attr::OVERLAP, Value::string("1h")),
            (attr::TRIGGERS, Value::Null),
            (attr::PASSWORD_WO_VERSION, Value::Null),
        ]);
        let mut prior = config.clone();
        for (a, v) in [
            (s::TOKEN, "8|cur"),
            (s::TOKEN_ID, "8"),
            (attr::CREATED_AT, "2026-01-01T00:00:00Z"),
            (attr::ROTATE_AT, "2026-01-02T00:00:00Z"),
            (attr::PREVIOUS_TOKEN, "7|old"),
            (attr::PREVIOUS_TOKEN_ID, "7"),
            (attr::PREVIOUS_REVOKE_AT, "2026-01-01T01:00:00Z"),
        ] {
            prior.set_attr(a, Value::string(v));
        }

        // Inside the overlap window: nothing changes.
        let plan = refresh_and_plan(&prior, &config, "2026-01-01T00:59:59Z").await;
        assert_eq!(plan.planned_state, prior);
        assert!(plan.requires_replace.is_empty());

        // The window has ended: the plan revokes the previous token and keeps the current one.
        let plan = refresh_and_plan(&prior, &config, "2026-01-01T01:00:00Z").await;
        assert!(plan.planned_state.attr(attr::PREVIOUS_TOKEN).is_null());
        assert!(plan.planned_state.attr(attr::PREVIOUS_REVOKE_AT).is_null());
        assert_eq!(plan.planned_state.attr(s::TOKEN).as_str(), Some("8|cur"));
        assert_eq!(
            plan.planned_state.attr(attr::ROTATE_AT).as_str(),
            Some("2026-01-02T00:00:00Z")
        );

        // rotate_at has passed: an in-place rotation keeping the current token as previous.
        let plan = refresh_and_plan(&prior, &config, "2026-01-02T00:00:00Z").await;
        assert!(!plan.planned_state.attr(s::TOKEN).is_known());
        assert_eq!(
            plan.planned_state.attr(attr::PREVIOUS_TOKEN).as_str(),
            Some("8|cur")
        );
        assert!(plan.requires_replace.is_empty());

        // Without overlap the same instant plans a replacement, shown on rotate_at.
        let mut no_overlap = config.clone();
        no_overlap.set_attr(attr::OVERLAP, Value::Null);
        let plan = refresh_and_plan(&prior, &no_overlap, "2026-01-02T00:00:00Z").await;
        assert_eq!(
            plan.requires_replace,
            vec![AttributePath::attr(attr::ROTATE_AT)]
        );
        assert!(!plan.planned_state.attr(attr::ROTATE_AT).is_known());
    }

    #[test]
    fn overlap_is_positive_and_shorter_than_the_period() {
        let cfg = |overlap: &str, period: Option<&str>| {
            state(&[
                (attr::OVERLAP, Value::string(overlap)),
                (attr::ROTATION_PERIOD, Value::opt_string(period)),
            ])
        };
        assert_eq!(
            overlap_of(&cfg("1h", Some("24h"))).ok().flatten(),
            Some(Duration::from_secs(3600))
        );
        assert!(overlap_of(&cfg("1h", None)).is_ok_and(|o| o.is_some()));
        assert!(overlap_of(&state(&[])).is_ok_and(|o| o.is_none()));
        for (o, p) in [
            ("24h", Some("24h")),
            ("25h", Some("24h")),
            ("0s", None),
            ("-1h", None),
            ("soon", None),
        ] {
            let e = overlap_of(&cfg(o, p)).err();
            assert!(
                e.as_ref().is_some_and(|d| d.summary == "Invalid overlap"
                    && d.attribute == Some(AttributePath::attr(attr::OVERLAP))),
                "{o} {p:?}: {e:?}"
            );
        }
        let e = overlap_of(&cfg("24h", Some("24h"))).err();
        assert!(e.is_some_and(|d| d.detail.contains("shorter than rotation_period")));
    }

    #[test]
    fn overlap_rotation_plan_keeps_the_current_token_as_previous() {
        let prior = state(&[
            (s::TOKEN, Value::string("7|cur")),
            (s::TOKEN_ID, Value::string("7")),
            (attr::TRIGGERS, Value::Null),
        ]);
        let config = state(&[(attr::OVERLAP, Value::string("1h"))]);
        let mut planned = prior.clone();
        plan_overlap_rotation(&prior, &config, &mut planned, false);
        for a in NEW_SESSION_ATTRIBUTES {
            assert!(!planned.attr(a).is_known(), "{a}");
        }
        assert!(planned.attr(attr::ROTATE_AT).is_null());
        assert_eq!(planned.attr(attr::PREVIOUS_TOKEN).as_str(), Some("7|cur"));
        assert_eq!(planned.attr(attr::PREVIOUS_TOKEN_ID).as_str(), Some("7"));
        // An overlap that is unknown at plan leaves the previous token to apply.
        let unknown = state(&[(attr::OVERLAP, Value::unknown())]);
        plan_overlap_rotation(&prior, &unknown, &mut planned, true);
        assert!(!planned.attr(attr::PREVIOUS_TOKEN).is_known());
        assert!(!planned.attr(attr::ROTATE_AT).is_known());
    }

    #[test]
    fn trigger_and_password_version_changes_are_rotations() {
        let prior = state(&[
            (attr::TRIGGERS, Value::Null),
            (attr::PASSWORD_WO_VERSION, Value::string("1")),
        ]);
        assert!(changed_rotating_arguments(&prior, &prior).is_empty());
        let mut planned = prior.clone();
        planned.set_attr(attr::PASSWORD_WO_VERSION, Value::string("2"));
        planned.set_attr(attr::TRIGGERS, Value::unknown());
        assert_eq!(
            changed_rotating_arguments(&prior, &planned),
            vec![
                AttributePath::attr(attr::TRIGGERS),
                AttributePath::attr(attr::PASSWORD_WO_VERSION)
            ]
        );
    }
}
