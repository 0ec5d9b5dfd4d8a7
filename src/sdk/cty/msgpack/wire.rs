//! The constants of Terraform's msgpack encoding of unknowns and refinements.

/// Terraform rejects refinement payloads above 1 KiB, so we never read or write more.
pub(super) const MAX_REFINEMENT_PAYLOAD: usize = 1024;
/// A string-prefix refinement is cut to this many bytes so the payload stays small.
pub(super) const MAX_PREFIX_BYTES: usize = 256;
/// A number-bound refinement whose encoding is longer than this is dropped.
pub(super) const MAX_BOUND_BYTES: usize = 256;

/// The ext type go-cty uses for an unknown value that carries refinements.
pub(super) const EXT_REFINED_UNKNOWN: i8 = 12;
/// What Terraform writes for a plain unknown: fixext1, type 0, one zero byte.
pub(super) const PLAIN_UNKNOWN: [u8; 3] = [0xd4, 0, 0];

pub(super) const REFINE_NULLNESS: i64 = 1;
pub(super) const REFINE_STRING_PREFIX: i64 = 2;
pub(super) const REFINE_NUMBER_MIN: i64 = 3;
pub(super) const REFINE_NUMBER_MAX: i64 = 4;
pub(super) const REFINE_LENGTH_MIN: i64 = 5;
pub(super) const REFINE_LENGTH_MAX: i64 = 6;
