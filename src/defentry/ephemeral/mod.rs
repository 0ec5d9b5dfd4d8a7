//! Ephemeral resources.
pub mod session;
