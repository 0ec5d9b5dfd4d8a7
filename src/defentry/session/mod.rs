//! The login flow every Defentry object shares: credentials from configuration or the
//! provider, login, and — for interactive accounts — the 2FA challenge.

pub mod credentials;
pub mod login;
pub mod schema;
pub mod totp;

pub use credentials::{missing_password, missing_username, Credentials, LoginArgs, TwoFactor};
pub use login::{logged_out_after_stop, login, logout, open};
pub(crate) use schema::session_object_type;
pub use schema::{
    session_schema, token_attributes, two_factor_attributes, validate_session, SessionModel,
    SESSION_TYPE_NAME,
};
