//! A model of Terraform's value system (go-cty): types, values, unknowns, and the
//! two wire encodings Terraform uses for `DynamicValue` (msgpack and JSON).
//!
//! Values are untyped trees; every codec takes the [`Type`] that gives them meaning,
//! just as go-cty decodes by type.

mod bounded_json;
mod conform;
mod json;
mod limits;
mod map;
mod msgpack;
mod numbers;
mod path;
mod value;
mod walker;

pub use bigdecimal::BigDecimal;
pub use json::{from_json, to_json};
pub use limits::MAX_DEPTH;
pub use msgpack::{from_msgpack, to_msgpack};
pub use numbers::MAX_PLAIN_ZEROS;
pub use path::{AttributePath, PathStep};
pub use value::{CtyError, Map, MapIter, Number, Refinements, Type, Value};
