//! Terraform's msgpack encoding of cty values (go-cty `cty/msgpack`, Terraform's
//! `docs/plugin-protocol/object-wire-format.md`).
//!
//! The reader and writer are hand-rolled rather than built on a generic msgpack
//! library: every length on the wire is untrusted, so nothing is preallocated from
//! one, every read is bounds-checked, and nesting is capped at
//! [`MAX_DEPTH`](super::conform::MAX_DEPTH).
//!
//! `reader` reads item headers, `decode` and `encode` walk values by type; the
//! number forms live in `super::numbers`, shared with the JSON codec.

mod decode;
mod encode;
mod reader;

pub use decode::from_msgpack;
pub use encode::to_msgpack;

/// Terraform rejects refinement payloads above 1 KiB, so we never read or write more.
const MAX_REFINEMENT_PAYLOAD: usize = 1024;
/// A string-prefix refinement is cut to this many bytes so the payload stays small.
const MAX_PREFIX_BYTES: usize = 256;
/// A number-bound refinement whose encoding is longer than this is dropped.
const MAX_BOUND_BYTES: usize = 256;

/// The ext type go-cty uses for an unknown value that carries refinements.
const EXT_REFINED_UNKNOWN: i8 = 12;
/// What Terraform writes for a plain unknown: fixext1, type 0, one zero byte.
const PLAIN_UNKNOWN: [u8; 3] = [0xd4, 0, 0];

const REFINE_NULLNESS: i64 = 1;
const REFINE_STRING_PREFIX: i64 = 2;
const REFINE_NUMBER_MIN: i64 = 3;
const REFINE_NUMBER_MAX: i64 = 4;
const REFINE_LENGTH_MIN: i64 = 5;
const REFINE_LENGTH_MAX: i64 = 6;
