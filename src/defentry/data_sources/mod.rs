//! Data sources.
pub mod session;
