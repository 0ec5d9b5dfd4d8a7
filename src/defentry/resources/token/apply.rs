//! What a `defentry_token` apply does against Defentry: log in, log out, and the in-place
//! updates (a rotation with `overlap`, the revocation of the previous token).

use chrono::SubsecRound;

use crate::sdk::model::Maybe;
use crate::sdk::resource::ApplyResponse;
use crate::sdk::Diagnostic;

use crate::defentry::client::Secret;
use crate::defentry::data::ProviderData;
use crate::defentry::op::Op;
use crate::defentry::session;
use crate::defentry::time::{grid, rfc3339};

use super::schedule::time_of;
use super::Model;

/// Logs out `token`, if there is one. Returns whether there was; an already invalid token
/// counts as logged out.
pub(super) async fn log_out(
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
pub(super) async fn log_in(
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
    state.created_at = Maybe::Known(rfc3339::format(now));
    state.rotate_at = period
        .and_then(|p| grid::rotation_time(now, anchor, p))
        .map(rfc3339::format)
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

/// An in-place update: a rotation (with `overlap`) or the revocation of the previous token.
/// Every failure leaves in `resp` the state as it now is, which Terraform keeps, so the next
/// run finishes the job and no session is forgotten.
pub(super) async fn update(
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
    new.previous_revoke_at = Maybe::Known(rfc3339::format(revoke_at));
    resp.new_state = new.write()?;
    if overlap.is_none() {
        // `overlap` was unknown at plan and turned out null: no window, log the old one out.
        log_out(op, data, &new.previous_token).await?;
        new.clear_previous();
        resp.new_state = new.write()?;
    }
    Ok(())
}
