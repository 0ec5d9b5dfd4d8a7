//! `resource "defentry_token"`: one CRM session owned by Terraform. Create logs in, delete
//! logs out, and rotation is a real replacement, decided during refresh so that saved plans
//! apply exactly as planned.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};

use crate::sdk::cty::{AttributePath, Type, Value};
use crate::sdk::model::{from_value_or_default, to_value, update_value, Maybe};
use crate::sdk::object::{ObjectType, ValidateRequest, ValidateResponse};
use crate::sdk::private::Private;
use crate::sdk::resource::{
    ApplyResponse, CreateRequest, DeleteRequest, DeleteResponse, ImportRequest, ImportResponse,
    PlanRequest, PlanResponse, ReadRequest, ReadResponse, Resource, UpdateRequest,
};
use crate::sdk::schema::{Attribute, Block, Schema};
use crate::sdk::{Context, Diagnostic};

use crate::defentry::attr as s;
use crate::defentry::client::{Secret, Token};
use crate::defentry::data::ProviderData;
use crate::defentry::duration;
use crate::defentry::session::{self, rfc3339, LoginArgs, Op};

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

/// The configuration, plan and state of a `defentry_token`, attribute by attribute. Values
/// are [`Maybe`]: null or, while planning, unknown.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
struct Model {
    username: Maybe<String>,
    password_wo: Maybe<Secret>,
    password_wo_version: Maybe<String>,
    keep_logged: Maybe<bool>,
    totp_secret: Maybe<Secret>,
    two_factor_code: Maybe<Secret>,
    rotation_period: Maybe<String>,
    rotation_anchor: Maybe<String>,
    triggers: Maybe<BTreeMap<String, Maybe<String>>>,
    overlap: Maybe<String>,
    id: Maybe<String>,
    token_id: Maybe<String>,
    token: Maybe<Secret>,
    authorization_header: Maybe<Secret>,
    created_at: Maybe<String>,
    rotate_at: Maybe<String>,
    previous_token: Maybe<Secret>,
    previous_token_id: Maybe<String>,
    previous_revoke_at: Maybe<String>,
}

/// The type of [`Model`] values: the schema's.
static TYPE: LazyLock<Type> = LazyLock::new(|| TokenResource.schema().block.implied_type());

impl Model {
    /// Reads a configuration, plan or state; null (no object) reads as all null.
    fn read(v: &Value) -> Result<Model, Diagnostic> {
        Ok(from_value_or_default(v)?)
    }

    /// The value Terraform receives as state.
    fn write(&self) -> Result<Value, Diagnostic> {
        Ok(to_value(self, &TYPE)?)
    }

    fn login_args(&self) -> LoginArgs<'_> {
        LoginArgs {
            username: &self.username,
            password: (attr::PASSWORD_WO, &self.password_wo),
            keep_logged: &self.keep_logged,
            totp_secret: &self.totp_secret,
            two_factor_code: &self.two_factor_code,
        }
    }

    fn rotation_anchor(&self) -> Result<Option<DateTime<Utc>>, Diagnostic> {
        match self.rotation_anchor.known() {
            None => Ok(None),
            Some(raw) => parse_time(raw).map(Some).ok_or_else(|| {
                Diagnostic::error(
                    "Invalid rotation_anchor",
                    format!("rotation_anchor {raw:?} is not an RFC 3339 time; write it like \"2026-01-01T02:00:00Z\"."),
                )
                .at(AttributePath::attr(attr::ROTATION_ANCHOR))
            }),
        }
    }

    fn rotation_period(&self) -> Result<Option<std::time::Duration>, Diagnostic> {
        let Some(p) = self.rotation_period.known() else {
            return Ok(None);
        };
        let invalid = |detail: String| {
            Diagnostic::error("Invalid rotation_period", detail)
                .at(AttributePath::attr(attr::ROTATION_PERIOD))
        };
        let period =
            duration::parse_positive(p).map_err(|e| invalid(format!("rotation_period {e}.")))?;
        if period > MAX_ROTATION_PERIOD {
            return Err(invalid(format!(
                "rotation_period {p:?} is longer than the longest supported period, {MAX_ROTATION_PERIOD_TEXT}: \
                 a later rotate_at could not be written as an RFC 3339 time that Terraform's timecmp() accepts. \
                 Choose a shorter period."
            )));
        }
        Ok(Some(period))
    }

    fn overlap(&self) -> Result<Option<std::time::Duration>, Diagnostic> {
        let Some(raw) = self.overlap.known() else {
            return Ok(None);
        };
        let at = AttributePath::attr(attr::OVERLAP);
        let overlap = duration::parse_positive(raw).map_err(|e| {
            Diagnostic::error("Invalid overlap", format!("overlap {e}.")).at(at.clone())
        })?;
        // A rotation logs the previous token out, so an overlap as long as the period would be
        // cut short by the next rotation.
        if let Ok(Some(period)) = self.rotation_period() {
            if overlap >= period {
                return Err(Diagnostic::error(
                    "Invalid overlap",
                    format!(
                        "overlap {raw:?} must be shorter than rotation_period {:?}, because the next rotation logs the previous token out. \
                         Choose an overlap no longer than the time your consumers need to pick up a new token.",
                        self.rotation_period.known().map(String::as_str).unwrap_or_default()
                    ),
                )
                .at(at));
            }
        }
        Ok(Some(overlap))
    }

    /// Whether the schedule depends on values not known yet.
    fn schedule_unknown(&self) -> bool {
        self.rotation_period.is_unknown() || self.rotation_anchor.is_unknown()
    }

    /// Fills in the attributes of a fresh session.
    fn set_token(&mut self, token: &Token) {
        self.id = Maybe::Known(token.id().to_string());
        self.token_id = Maybe::Known(token.id().to_string());
        self.token = Maybe::Known(token.secret().clone());
        self.authorization_header = Maybe::Known(token.authorization_header());
    }

    /// Clears the previous token: planned as the revocation, applied once it is logged out.
    fn clear_previous(&mut self) {
        self.previous_token = Maybe::Null;
        self.previous_token_id = Maybe::Null;
        self.previous_revoke_at = Maybe::Null;
    }

    /// Arguments whose change rotates the token (a replacement without `overlap`, an in-place
    /// rotation with it), in the order the plan reports them.
    fn changed_rotating_arguments(&self, planned: &Model) -> Vec<AttributePath> {
        let mut changed = Vec::new();
        if self.triggers != planned.triggers {
            changed.push(AttributePath::attr(attr::TRIGGERS));
        }
        if self.password_wo_version != planned.password_wo_version {
            changed.push(AttributePath::attr(attr::PASSWORD_WO_VERSION));
        }
        changed
    }
}

/// What the resource keeps in Terraform's private state. (Private data does not survive a
/// replacement: Terraform re-plans the new object at apply time without it.)
#[derive(Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
struct Marks {
    /// Set by refresh once `rotate_at` has passed; plan turns it into a replacement.
    #[serde(default)]
    due: bool,
    /// Set by refresh once `previous_revoke_at` has passed; plan turns it into an update that
    /// logs the previous token out.
    #[serde(default)]
    revoke_due: bool,
}

fn parse_time(t: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn time_of(v: &Maybe<String>) -> Option<DateTime<Utc>> {
    v.known().and_then(|t| parse_time(t))
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

/// The private state refresh records at `now`: which decisions the next plan must take.
fn refreshed_marks(state: &Model, now: DateTime<Utc>) -> Marks {
    let passed = |t: &Maybe<String>| time_of(t).is_some_and(|t| now >= t);
    Marks {
        due: passed(&state.rotate_at),
        revoke_due: !state.previous_token.is_null() && passed(&state.previous_revoke_at),
    }
}

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

/// Logs out `token`, if there is one. Returns whether there was; an already invalid token
/// counts as logged out.
async fn log_out(
    op: &Op<'_>,
    data: &ProviderData,
    token: &Maybe<Secret>,
) -> Result<bool, Diagnostic> {
    let Some(token) = token.known() else {
        return Ok(false);
    };
    let client = data.client()?;
    session::logout(op, client, token).await.map(|_| true)
}

/// Logs in with the plan's `username` and `keep_logged` and the configuration's password, and
/// fills in the session attributes of `planned`.
async fn log_in(
    op: &Op<'_>,
    data: &ProviderData,
    config: &Model,
    mut state: Model,
) -> Result<Model, Diagnostic> {
    let client = data.client()?;
    let username = state.username.known().map(String::as_str);
    let mut creds = config.login_args().credentials(data, username)?;
    if let Some(k) = state.keep_logged.known() {
        creds.keep_logged = *k;
    }
    let (period, anchor) = (config.rotation_period()?, config.rotation_anchor()?);
    let token = session::login(op, client, &creds).await?;
    // Whole seconds, so rotate_at - created_at is exactly the period users configured.
    let now = op.ctx().now().trunc_subsecs(0);
    state.set_token(&token);
    state.created_at = Maybe::Known(rfc3339(now));
    state.rotate_at = period
        .and_then(|p| rotation_time(now, anchor, p))
        .map(rfc3339)
        .into();
    if state.keep_logged.is_null() {
        state.keep_logged = Maybe::Known(creds.keep_logged);
    }
    if !matches!(state.username, Maybe::Known(_)) {
        state.username = Maybe::Known(creds.username.clone());
    }
    state.clear_previous();
    Ok(state)
}

/// The plan, from the SDK's proposal `planned` (see [`TokenResource::modify_plan`]).
fn plan(
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
            .push(session::missing_password(attr::PASSWORD_WO));
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
            .push(AttributePath::attr(attr::ROTATE_AT));
        return;
    }
    planned.rotate_at = match (period, schedule_unknown) {
        (_, true) => Maybe::Unknown,
        (None, false) => Maybe::Null,
        (Some(p), false) => match time_of(&prior.created_at) {
            Some(created) => rotation_time(created, anchor, p).map(rfc3339).into(),
            None => Maybe::Unknown,
        },
    };
}

/// An in-place update: a rotation (with `overlap`) or the revocation of the previous token.
/// Every failure leaves in `resp` the state as it now is, which Terraform keeps, so the next
/// run finishes the job and no session is forgotten.
async fn update(
    op: &Op<'_>,
    data: &ProviderData,
    prior: Model,
    planned: Model,
    config: &Model,
    resp: &mut ApplyResponse,
) -> Result<(), Diagnostic> {
    let rotating = planned.token.is_unknown();
    let revoking = planned.previous_token.is_null() && !prior.previous_token.is_null();
    if !rotating && !revoking {
        // Schedule or overlap changes only affect Terraform-side decisions.
        return Ok(());
    }
    // The previous token goes first, so there are never more than two live sessions.
    let mut state = prior.clone();
    resp.new_state = state.write()?;
    if let Some(user) = prior.username.known() {
        op.calls().set_account(user);
    }
    if log_out(op, data, &prior.previous_token).await? {
        tracing::info!(
            token_id = prior
                .previous_token_id
                .known()
                .map(String::as_str)
                .unwrap_or_default(),
            "previous defentry_token logged out"
        );
        state.clear_previous();
    }
    resp.new_state = state.write()?;
    if !rotating {
        resp.new_state = planned.write()?;
        return Ok(());
    }
    let mut new = log_in(op, data, config, planned).await?;
    tracing::info!(
        token_id = new.token_id.known().map(String::as_str).unwrap_or_default(),
        "defentry_token rotated in place"
    );
    let created = time_of(&new.created_at).unwrap_or_else(|| op.ctx().now());
    new.previous_token = prior.token.clone();
    new.previous_token_id = prior.token_id.clone();
    let overlap = config.overlap().ok().flatten();
    let revoke_at = overlap
        .and_then(|o| created.checked_add_signed(chrono::Duration::from_std(o).ok()?))
        .unwrap_or(created);
    new.previous_revoke_at = Maybe::Known(rfc3339(revoke_at));
    resp.new_state = new.write()?;
    if overlap.is_none() {
        // `overlap` was unknown at plan and turned out null: no window, log the old one out.
        log_out(op, data, &new.previous_token).await?;
        new.clear_previous();
        resp.new_state = new.write()?;
    }
    Ok(())
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
impl ObjectType for TokenResource {
    fn type_name(&self) -> &'static str {
        "defentry_token"
    }

    fn schema(&self) -> Schema {
        let token = session::token_attributes(
            "The non-secret token identifier (the part before `|`): changes on every rotation, so it serves as `*_wo_version` of secret-store resources.",
        );
        Schema::new(
            Block::new([vec![
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
            ], token, vec![
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
            ]].concat())
            .description(DESCRIPTION),
        )
    }

    async fn validate(&self, _ctx: &Context, req: ValidateRequest, resp: &mut ValidateResponse) {
        let d = &mut resp.diagnostics;
        let Some(config) = d.take(Model::read(&req.config)) else {
            return;
        };
        config.login_args().validate(d);
        for check in [
            config.rotation_period().err(),
            config.rotation_anchor().err(),
            config.overlap().err(),
        ]
        .into_iter()
        .flatten()
        {
            d.push(check);
        }
    }
}

#[async_trait]
impl Resource<ProviderData> for TokenResource {
    async fn modify_plan(
        &self,
        _ctx: &Context,
        data: &ProviderData,
        req: PlanRequest,
        resp: &mut PlanResponse,
    ) {
        if resp.planned_state.is_null() {
            return;
        }
        let models = (|| {
            let prior = Model::read(&req.prior_state)?;
            Ok::<_, Diagnostic>((
                Model::read(&req.config)?,
                prior,
                Model::read(&resp.planned_state)?,
            ))
        })();
        let Some((config, prior, mut planned)) = resp.diagnostics.take(models) else {
            return;
        };
        let prior = (!req.prior_state.is_null()).then(|| (&prior, req.prior_private.get()));
        plan(data, &config, prior, &mut planned, resp);
        let planned = update_value(&resp.planned_state, &planned, &TYPE).map_err(Into::into);
        if let Some(v) = resp.diagnostics.take(planned) {
            resp.planned_state = v;
        }
    }

    async fn create(
        &self,
        ctx: &Context,
        data: &ProviderData,
        req: CreateRequest,
        resp: &mut ApplyResponse,
    ) {
        let op = Op::new(ctx);
        let created = async {
            let planned = Model::read(&req.planned_state)?;
            log_in(&op, data, &Model::read(&req.config)?, planned)
                .await?
                .write()
        };
        let created = created.await;
        op.report(&mut resp.diagnostics);
        if let Some(state) = resp.diagnostics.take(created) {
            let token_id = state.attr(s::TOKEN_ID).as_str().unwrap_or_default();
            tracing::info!(token_id, "defentry_token created");
            resp.new_state = state;
            resp.private = Private::of(&Marks::default());
        }
    }

    async fn update(
        &self,
        ctx: &Context,
        data: &ProviderData,
        req: UpdateRequest,
        resp: &mut ApplyResponse,
    ) {
        resp.private = Private::of(&Marks::default());
        let op = Op::new(ctx);
        let updated = async {
            let prior = Model::read(&req.prior_state)?;
            let planned = Model::read(&req.planned_state)?;
            let config = Model::read(&req.config)?;
            update(&op, data, prior, planned, &config, resp).await
        };
        let updated = updated.await;
        op.report(&mut resp.diagnostics);
        resp.diagnostics.take(updated);
    }

    async fn read(
        &self,
        ctx: &Context,
        _data: &ProviderData,
        req: ReadRequest,
        resp: &mut ReadResponse,
    ) {
        // Defentry has no endpoint to inspect a token, so refresh only decides the schedule.
        if let Some(state) = resp.diagnostics.take(Model::read(&req.current_state)) {
            resp.private = Private::of(&refreshed_marks(&state, ctx.now()));
        }
    }

    async fn delete(
        &self,
        ctx: &Context,
        data: &ProviderData,
        req: DeleteRequest,
        resp: &mut DeleteResponse,
    ) {
        let Some(state) = resp.diagnostics.take(Model::read(&req.prior_state)) else {
            return;
        };
        let op = Op::new(ctx);
        if let Some(user) = state.username.known() {
            op.calls().set_account(user);
        }
        // Both tokens, each attempted: a failure keeps the resource in state, and the next
        // destroy finds the one already logged out invalid, which counts as done.
        for token in [&state.previous_token, &state.token] {
            if let Err(e) = log_out(&op, data, token).await {
                resp.diagnostics.push(e);
            }
        }
        op.report(&mut resp.diagnostics);
    }

    async fn import(
        &self,
        _ctx: &Context,
        _data: &ProviderData,
        _req: ImportRequest,
        resp: &mut ImportResponse,
    ) {
        resp.diagnostics.push(Diagnostic::error(
            "defentry_token cannot be imported",
            "Defentry never returns a token's secret after login, so an existing session cannot be brought under Terraform. \
             Let Terraform log in anew (terraform apply creates a fresh token), and end the old session with the \
             defentry_logout action or by letting it expire.",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdk::Diagnostics;
    use std::time::Duration;

    fn t(s: &str) -> DateTime<Utc> {
        parse_time(s).unwrap_or_default()
    }

    /// A model from `(attribute, value)` pairs, through the value Terraform would send.
    fn model(pairs: &[(&str, Value)]) -> Model {
        Model::read(&state(pairs)).expect("a model")
    }

    #[test]
    fn the_model_names_the_schema_attributes() {
        let schema = TokenResource.schema();
        crate::sdk::model::check_model::<Model>(&schema.block).unwrap_or_else(|e| panic!("{e}"));
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
        let config = |p: &str| model(&[(attr::ROTATION_PERIOD, Value::string(p))]);
        assert_eq!(
            config("876000h").rotation_period().unwrap(),
            Some(MAX_ROTATION_PERIOD)
        );
        for p in ["876000h1s", "1000000000h"] {
            let d = config(p).rotation_period().unwrap_err();
            assert!(d.detail.contains("876000h (100 years)"), "{}", d.detail);
            assert!(d.detail.contains("timecmp()"), "{}", d.detail);
        }
        let d = config("").rotation_period().unwrap_err();
        assert_eq!(d.detail, "rotation_period is empty.");
    }

    #[test]
    fn private_state_round_trips_and_tolerates_garbage() {
        let p = Marks {
            due: true,
            revoke_due: false,
        };
        let parse = |b: &[u8]| Private::from_bytes(b.to_vec()).get::<Marks>();
        assert_eq!(Private::of(&p).get::<Marks>(), p);
        assert_eq!(parse(b"\xff not json"), Marks::default());
        assert_eq!(parse(b""), Marks::default());
        // Older private data with extra fields still parses.
        assert!(parse(br#"{"anchor":"2026-01-01T00:00:00Z","due":true}"#).due);
    }

    /// An object as Terraform sends it: every attribute, null unless given.
    fn state(pairs: &[(&str, Value)]) -> Value {
        let mut v = Model::default().write().expect("a value");
        for (k, x) in pairs {
            v.set_attr(k, x.clone());
        }
        v
    }

    #[test]
    fn refresh_decides_rotation_and_revocation_from_the_clock() {
        let s = model(&[
            (attr::ROTATE_AT, Value::string("2026-01-02T00:00:00Z")),
            (attr::PREVIOUS_TOKEN, Value::string("7|old")),
            (
                attr::PREVIOUS_REVOKE_AT,
                Value::string("2026-01-01T01:00:00Z"),
            ),
        ]);
        let at = |now| refreshed_marks(&s, t(now));
        assert_eq!(at("2026-01-01T00:59:59Z"), Marks::default());
        assert_eq!(
            at("2026-01-01T01:00:00Z"),
            Marks {
                due: false,
                revoke_due: true
            }
        );
        assert_eq!(
            at("2026-01-02T00:00:00Z"),
            Marks {
                due: true,
                revoke_due: true
            }
        );
        // Nothing to revoke without a previous token, whatever the time says.
        let mut gone = s.clone();
        gone.previous_token = Maybe::Null;
        assert!(!refreshed_marks(&gone, t("2026-06-01T00:00:00Z")).revoke_due);
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
            model(&[
                (attr::OVERLAP, Value::string(overlap)),
                (attr::ROTATION_PERIOD, Value::opt_string(period)),
            ])
        };
        assert_eq!(
            cfg("1h", Some("24h")).overlap().ok().flatten(),
            Some(Duration::from_secs(3600))
        );
        assert!(cfg("1h", None).overlap().is_ok_and(|o| o.is_some()));
        assert!(model(&[]).overlap().is_ok_and(|o| o.is_none()));
        for (o, p) in [
            ("24h", Some("24h")),
            ("25h", Some("24h")),
            ("0s", None),
            ("-1h", None),
            ("soon", None),
        ] {
            let e = cfg(o, p).overlap().err();
            assert!(
                e.as_ref().is_some_and(|d| d.summary == "Invalid overlap"
                    && d.attribute == Some(AttributePath::attr(attr::OVERLAP))),
                "{o} {p:?}: {e:?}"
            );
        }
        let e = cfg("24h", Some("24h")).overlap().err();
        assert!(e.is_some_and(|d| d.detail.contains("shorter than rotation_period")));
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

    #[test]
    fn overlap_rotation_plan_keeps_the_current_token_as_previous() {
        let prior = model(&[
            (s::TOKEN, Value::string("7|cur")),
            (s::TOKEN_ID, Value::string("7")),
            (attr::TRIGGERS, Value::Null),
        ]);
        let config = model(&[(attr::OVERLAP, Value::string("1h"))]);
        let mut planned_model = prior.clone();
        plan_overlap_rotation(&prior, &config, &mut planned_model, false);
        let planned = planned_model.write().expect("a value");
        for a in NEW_SESSION_ATTRIBUTES {
            assert!(!planned.attr(a).is_known(), "{a}");
        }
        assert!(planned.attr(attr::ROTATE_AT).is_null());
        assert_eq!(planned.attr(attr::PREVIOUS_TOKEN).as_str(), Some("7|cur"));
        assert_eq!(planned.attr(attr::PREVIOUS_TOKEN_ID).as_str(), Some("7"));
        // An overlap that is unknown at plan leaves the previous token to apply.
        let unknown = model(&[(attr::OVERLAP, Value::unknown())]);
        plan_overlap_rotation(&prior, &unknown, &mut planned_model, true);
        let planned = planned_model.write().expect("a value");
        assert!(!planned.attr(attr::PREVIOUS_TOKEN).is_known());
        assert!(!planned.attr(attr::ROTATE_AT).is_known());
    }

    #[test]
    fn trigger_and_password_version_changes_are_rotations() {
        let prior = model(&[
            (attr::TRIGGERS, Value::Null),
            (attr::PASSWORD_WO_VERSION, Value::string("1")),
        ]);
        assert!(prior.changed_rotating_arguments(&prior).is_empty());
        let mut planned = prior.clone();
        planned.password_wo_version = Maybe::Known("2".into());
        planned.triggers = Maybe::Unknown;
        assert_eq!(
            prior.changed_rotating_arguments(&planned),
            vec![
                AttributePath::attr(attr::TRIGGERS),
                AttributePath::attr(attr::PASSWORD_WO_VERSION)
            ]
        );
    }
}
