//! Limits shared by both codecs, in a file of its own so every codec file can name them.

/// Deepest nesting of collections and dynamic wrappers accepted, the same in both
/// codecs (a value that plans must also survive a JSON state upgrade). Terraform can
/// produce values this deep: HCL has no limit, `jsondecode` accepts Go `encoding/json`'s
/// 10,000 levels, and Terraform's state and plan JSON reader stops at 10,000, so nothing
/// deeper survives a Terraform state round trip. Every walk at this depth (both codecs,
/// conformance, and a decoded [`Value`](super::Value)'s clone, compare, format and drop)
/// fits a tokio worker's 2 MiB stack even in a debug build: each level goes through
/// [`deep`], which moves the recursion onto a fresh heap-allocated stack segment when
/// the current one runs low (`tests/cty_conformance.rs`).
pub const MAX_DEPTH: usize = 10_000;

/// Stack left below which [`deep`] switches to a new segment: more than any single level
/// of a walk uses, debug frames included (the msgpack decoder's are the largest, a few KiB).
const RED_ZONE: usize = 128 * 1024;
/// Size of each new stack segment: room for a few hundred levels, so segments are rare.
const SEGMENT: usize = 2 * 1024 * 1024;

/// Runs one level of a recursive walk with at least [`RED_ZONE`] of stack to spare, so no
/// depth up to [`MAX_DEPTH`] overflows the thread's stack.
#[inline]
pub(super) fn deep<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(RED_ZONE, SEGMENT, f)
}
