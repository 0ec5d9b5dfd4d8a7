//! [`Maybe`], the model type for values that may be null or unknown, and the magic names by
//! which it talks to this module's own (de)serializer.

use std::fmt;
use std::marker::PhantomData;

use serde::de::Visitor;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Newtype-struct name by which `Maybe` asks this module's deserializer for unknowns.
pub(super) const MAYBE: &str = "$__sdk_model_Maybe";
/// Unit-struct name by which `Maybe::Unknown` tells this module's serializer what it is.
pub(super) const UNKNOWN: &str = "$__sdk_model_Unknown";

/// An attribute value that Terraform may leave null or (in validate/plan) unknown.
///
/// Other serde formats see `Unknown` as null: only cty values can carry unknowns. An
/// unknown's refinements (prefix, bounds) are not kept: `Unknown` writes a plain unknown.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Maybe<T> {
    /// Not set.
    #[default]
    Null,
    /// Not known yet; Terraform will know it at apply time.
    Unknown,
    /// A known, non-null value.
    Known(T),
}

impl<T> Maybe<T> {
    /// The value, if known and not null.
    pub fn known(&self) -> Option<&T> {
        match self {
            Maybe::Known(t) => Some(t),
            _ => None,
        }
    }
    /// The value, if known and not null.
    pub fn into_known(self) -> Option<T> {
        match self {
            Maybe::Known(t) => Some(t),
            _ => None,
        }
    }
    /// Whether it is null.
    pub fn is_null(&self) -> bool {
        matches!(self, Maybe::Null)
    }
    /// Whether it is unknown.
    pub fn is_unknown(&self) -> bool {
        matches!(self, Maybe::Unknown)
    }
    /// Whether it is not unknown (null counts as known, as in
    /// [`Value::is_known`](crate::cty::Value::is_known)).
    pub fn is_known(&self) -> bool {
        !self.is_unknown()
    }
    /// Borrows the value.
    pub fn as_ref(&self) -> Maybe<&T> {
        match self {
            Maybe::Null => Maybe::Null,
            Maybe::Unknown => Maybe::Unknown,
            Maybe::Known(t) => Maybe::Known(t),
        }
    }
    /// Converts a known value, keeping null and unknown.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Maybe<U> {
        match self {
            Maybe::Null => Maybe::Null,
            Maybe::Unknown => Maybe::Unknown,
            Maybe::Known(t) => Maybe::Known(f(t)),
        }
    }
}

impl<T> From<Option<T>> for Maybe<T> {
    fn from(o: Option<T>) -> Self {
        o.map_or(Maybe::Null, Maybe::Known)
    }
}

impl<T: Serialize> Serialize for Maybe<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Maybe::Null => s.serialize_none(),
            Maybe::Unknown => s.serialize_unit_struct(UNKNOWN),
            Maybe::Known(t) => s.serialize_some(t),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Maybe<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // This module's deserializer answers unknown with unit and null with none; other
        // formats hand over the value, read as an Option.
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Maybe<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value, null or unknown")
            }
            fn visit_unit<E>(self) -> Result<Maybe<T>, E> {
                Ok(Maybe::Unknown)
            }
            fn visit_none<E>(self) -> Result<Maybe<T>, E> {
                Ok(Maybe::Null)
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(
                self,
                d: D,
            ) -> Result<Maybe<T>, D::Error> {
                Option::<T>::deserialize(d).map(Maybe::from)
            }
        }
        d.deserialize_newtype_struct(MAYBE, V(PhantomData))
    }
}
