//! Terraform's msgpack encoding of cty values (go-cty `cty/msgpack`, Terraform's
//! `docs/plugin-protocol/object-wire-format.md`).
//!
//! The reader and writer are hand-rolled rather than built on a generic msgpack
//! library: every length on the wire is untrusted, so nothing is preallocated from
//! one, every read is bounds-checked, and nesting is capped at
//! [`MAX_DEPTH`](super::limits::MAX_DEPTH).
//!
//! `reader` reads item headers, `decode` and `encode` walk values by type; the
//! number forms live in `super::numbers`, shared with the JSON codec.

mod decode;
mod encode;
mod reader;
mod wire;

pub use decode::from_msgpack;
pub use encode::to_msgpack;
