//! The state every codec walks a value with, shared by the JSON and msgpack codecs.

use super::path::AttributePath;
use super::value::{CtyError, Type};

/// The state of a codec walking a value by type: what it reads or writes (`io`), and the
/// path its errors report. Each codec adds its walk in an `impl Walker<ItsIo>`.
pub(super) struct Walker<S> {
    pub(super) io: S,
    pub(super) path: AttributePath,
}

impl<S> Walker<S> {
    /// A walker at the root of the value.
    pub(super) fn new(io: S) -> Self {
        Walker {
            io,
            path: AttributePath::root(),
        }
    }

    /// The encoders' error: the value here does not conform to `ty`.
    pub(super) fn mismatch(&self, ty: &Type, reason: impl Into<String>) -> CtyError {
        CtyError::mismatch(&self.path, ty, reason)
    }

    /// The decoders' error: the `encoding` bytes here are not a value of the type.
    pub(super) fn malformed(&self, encoding: &'static str, reason: impl Into<String>) -> CtyError {
        CtyError::Malformed {
            encoding,
            path: self.path.clone(),
            reason: reason.into(),
        }
    }
}
