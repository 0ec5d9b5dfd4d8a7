//! Attribute names only `defentry_token` has; the ones it shares with other objects are in
//! [`crate::defentry::attr`].

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
