//! Managed resources.
pub mod token;
