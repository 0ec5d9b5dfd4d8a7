//! The schema of `defentry_token`, with the prose Terraform and the docs show.

use crate::sdk::cty::Type;
use crate::sdk::schema::{Attribute, Block, Schema};

use crate::defentry::attr;
use crate::defentry::session;

use super::token_attr;

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

/// The schema.
pub fn schema() -> Schema {
    let token = session::token_attributes(
        "The non-secret token identifier (the part before `|`): changes on every rotation, so it serves as `*_wo_version` of secret-store resources.",
    );
    Schema::new(
        Block::new([vec![
            Attribute::optional_computed(attr::USERNAME, Type::String)
                .requires_replace()
                .description("Service-account username. Defaults to the provider's `username`. Changing it replaces the token."),
            Attribute::optional(token_attr::PASSWORD_WO, Type::String)
                .sensitive()
                .write_only()
                .description("Write-only password (Terraform 1.11+): used to log in, never stored in plan or state. Defaults to the provider's `password`. Bump `password_wo_version` to log in again with a new value."),
            Attribute::optional(token_attr::PASSWORD_WO_VERSION, Type::String)
                .description("Any value; changing it rotates the token (for example after changing `password_wo`): a replacement, or an in-place rotation with `overlap`."),
            Attribute::optional_computed(attr::KEEP_LOGGED, Type::Bool)
                .requires_replace()
                .description("Ask Defentry for a long-lived session. Defaults to the provider's `keep_logged`. Changing it replaces the token."),
            Attribute::optional(token_attr::ROTATION_PERIOD, Type::String)
                .description("How often to rotate, as a Go duration such as `\"720h\"`, `\"90m\"` or `\"30s\"`. At most `\"876000h\"` (100 years), so that `rotate_at` stays a time Terraform's `timecmp()` accepts. Without it the token rotates only when `triggers` or other arguments change."),
            Attribute::optional(token_attr::ROTATION_ANCHOR, Type::String)
                .description("Optional RFC 3339 time that aligns rotations to a fixed grid: `rotate_at` becomes the first `rotation_anchor + k × rotation_period` after `created_at`. With `\"2026-01-01T02:00:00Z\"` and `\"24h\"`, tokens rotate daily at 02:00 UTC however late the CI run that rotated them was, so the schedule never drifts."),
            Attribute::optional(token_attr::TRIGGERS, Type::map(Type::String))
                .description("Arbitrary map of values; any change rotates the token: a replacement, or an in-place rotation with `overlap`."),
            Attribute::optional(token_attr::OVERLAP, Type::String)
                .description("How long the previous token stays valid after a rotation, as a Go duration such as `\"1h\"`; positive and shorter than `rotation_period`. With it, a rotation is an in-place update that logs in anew and keeps the old token as `previous_token` until `previous_revoke_at`. Without it, a rotation is a replacement."),
        ], Vec::from(session::two_factor_attributes(true)), token, vec![
            Attribute::computed(token_attr::CREATED_AT, Type::String)
                .description("When this token was created (RFC 3339)."),
            Attribute::computed(token_attr::ROTATE_AT, Type::String)
                .description("When the token is due for rotation (RFC 3339); null without `rotation_period`. Without `overlap`, the plan shows the replacement on this attribute."),
            Attribute::computed(token_attr::PREVIOUS_TOKEN, Type::String)
                .sensitive()
                .description("With `overlap`: the token before the last rotation, still valid until `previous_revoke_at`; null otherwise. Consumers that verify tokens accept it during the window."),
            Attribute::computed(token_attr::PREVIOUS_TOKEN_ID, Type::String)
                .description("The non-secret identifier of `previous_token`; null when there is none."),
            Attribute::computed(token_attr::PREVIOUS_REVOKE_AT, Type::String)
                .description("When `previous_token` is logged out (RFC 3339): by the first plan and apply after this time, or by the next rotation if that comes first."),
        ]].concat())
        .description(DESCRIPTION),
    )
}
