//! Reading a model from a [`Value`]: a serde `Deserializer` over the value tree.
//!
//! Every deserializer carries its path so that errors name the attribute. In lenient
//! mode (used by `check_model`) mismatches are logged and a default is read instead, so
//! one pass finds every mismatching attribute rather than the first.

use std::cell::RefCell;

use bigdecimal::ToPrimitive;
use serde::de::value::{BorrowedStrDeserializer, StrDeserializer};
use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use super::error::ModelError;
use super::maybe::MAYBE;
use crate::cty::{AttributePath, BigDecimal, PathStep, Value};

/// Mismatches found in lenient mode.
pub(super) type Log = RefCell<Vec<ModelError>>;

static NULL: Value = Value::Null;

/// A deserializer for one value at one path.
pub(super) struct De<'de> {
    v: &'de Value,
    path: AttributePath,
    /// Lenient mode: log mismatches here and read defaults.
    log: Option<&'de Log>,
    /// Under an already reported mismatch: log nothing more.
    quiet: bool,
}

impl<'de> De<'de> {
    pub(super) fn new(v: &'de Value, log: Option<&'de Log>) -> Self {
        Self {
            v,
            path: AttributePath::root(),
            log,
            quiet: false,
        }
    }

    fn child(&self, v: &'de Value, step: PathStep) -> Self {
        let mut path = self.path.clone();
        path.push(step);
        Self {
            v,
            path,
            log: self.log,
            quiet: self.quiet,
        }
    }

    /// The value with `dynamic` wrappers removed.
    fn value(&self) -> &'de Value {
        let mut v = self.v;
        while let Value::Dynamic(d) = v {
            v = &d.1;
        }
        v
    }

    /// Strict: the error. Lenient: logs it (unless quiet) and lets the caller read a default.
    fn fail(&self, e: ModelError) -> Result<(), ModelError> {
        match self.log {
            None => Err(e),
            Some(log) => {
                if !self.quiet {
                    log.borrow_mut().push(e);
                }
                Ok(())
            }
        }
    }

    fn mismatch(&self, expected: &'static str) -> Result<(), ModelError> {
        let v = self.value();
        self.fail(match v {
            Value::Unknown(_) => ModelError::Unknown {
                path: self.path.clone(),
            },
            _ => ModelError::Mismatch {
                path: self.path.clone(),
                expected,
                found: v.describe(),
            },
        })
    }

    /// A scalar picked from the value; `None` when lenient mode should read a default.
    fn get<P>(
        &self,
        expected: &'static str,
        pick: impl FnOnce(&'de Value) -> Option<Result<P, String>>,
    ) -> Result<Option<P>, ModelError> {
        match pick(self.value()) {
            Some(Ok(p)) => Ok(Some(p)),
            Some(Err(reason)) => self
                .fail(ModelError::Number {
                    path: self.path.clone(),
                    reason,
                })
                .map(|()| None),
            None => self.mismatch(expected).map(|()| None),
        }
    }

    fn int<I>(&self) -> Result<I, ModelError>
    where
        I: TryFrom<i128> + TryFrom<u128> + Default,
    {
        let pick = |v: &Value| match v {
            Value::Number(n) => Some(to_int::<I>(&n.big())),
            Value::Infinity { .. } => Some(Err("expected a whole number, found infinity".into())),
            _ => None,
        };
        Ok(self.get("a number", pick)?.unwrap_or_default())
    }

    /// A float no larger than `max` in magnitude (`f32::MAX` for an f32).
    fn float(&self, max: f64) -> Result<f64, ModelError> {
        let pick = |v: &Value| match v {
            Value::Number(n) => Some(
                n.big()
                    .to_f64()
                    .filter(|f| f.abs() <= max)
                    .ok_or_else(|| format!("{n} does not fit a floating-point number")),
            ),
            // A float holds infinity; the model's own checks decide whether it is allowed.
            Value::Infinity { negative } => Some(Ok(if *negative {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            })),
            _ => None,
        };
        Ok(self.get("a number", pick)?.unwrap_or_default())
    }

    fn str(&self) -> Result<&'de str, ModelError> {
        let pick = |v: &'de Value| match v {
            Value::String(s) => Some(Ok(s.as_str())),
            _ => None,
        };
        Ok(self.get("a string", pick)?.unwrap_or_default())
    }

    fn map_access(
        self,
        m: Option<&'de crate::cty::Map>,
        fields: Option<&'static [&'static str]>,
    ) -> MapAcc<'de> {
        // Lenient mode reads the model's fields the value lacks as null, so that one
        // missing attribute does not hide the others.
        let phantoms = match (self.log, fields) {
            (Some(_), Some(fields)) => fields
                .iter()
                .filter(|f| m.is_none_or(|m| !m.contains_key(f)))
                .copied()
                .collect(),
            _ => Vec::new(),
        };
        MapAcc {
            entries: m.map(|m| m.iter()),
            phantoms: phantoms.into_iter(),
            attrs: fields.is_some(),
            next: None,
            parent: self,
        }
    }
}

fn to_int<I: TryFrom<i128> + TryFrom<u128>>(n: &BigDecimal) -> Result<I, String> {
    if !n.is_integer() {
        return Err(format!("expected a whole number, found {n}"));
    }
    n.to_i128()
        .and_then(|i| I::try_from(i).ok())
        .or_else(|| n.to_u128().and_then(|u| I::try_from(u).ok()))
        .ok_or_else(|| format!("{n} is out of range for {}", std::any::type_name::<I>()))
}

/// Methods that read the same as another one, whatever their extra arguments.
macro_rules! forward {
    ($($method:ident($($arg:ident: $t:ty),*) => $to:ident;)*) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $t,)* visitor: V) -> Result<V::Value, ModelError> {
            $(let _ = $arg;)*
            self.$to(visitor)
        }
    )*};
}

macro_rules! ints {
    ($($method:ident $visit:ident $t:ty),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ModelError> {
            visitor.$visit(self.int::<$t>()?)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for De<'de> {
    type Error = ModelError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ModelError> {
        match self.value() {
            Value::Null => visitor.visit_unit(),
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) if n.big().is_integer() => {
                match (n.big().to_i64(), n.big().to_u64()) {
                    (Some(i), _) => visitor.visit_i64(i),
                    (_, Some(u)) => visitor.visit_u64(u),
                    _ => self.deserialize_f64(visitor),
                }
            }
            Value::Number(_) | Value::Infinity { .. } => self.deserialize_f64(visitor),
            Value::List(_) | Value::Set(_) => self.deserialize_seq(visitor),
            Value::Map(_) => self.deserialize_map(visitor),
            Value::Unknown(_) | Value::Dynamic(_) => {
                self.mismatch("a known value")?;
                visitor.visit_unit()
            }
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ModelError> {
        let pick = |v: &Value| v.as_bool().map(Ok);
        visitor.visit_bool(self.get("a bool", pick)?.unwrap_or_default())
    }

    ints!(deserialize_i8 visit_i8 i8, deserialize_i16 visit_i16 i16, deserialize_i32 visit_i32 i32,
        deserialize_i64 visit_i64 i64, deserialize_i128 visit_i128 i128, deserialize_u8 visit_u8 u8,
        deserialize_u16 visit_u16 u16, deserialize_u32 visit_u32 u32, deserialize_u64 visit_u64 u64,
        deserialize_u128 visit_u128 u128);

    forward! {
        deserialize_char() => deserialize_str;
        deserialize_string() => deserialize_str;
        deserialize_identifier() => deserialize_str;
        deserialize_bytes() => deserialize_seq;
        deserialize_byte_buf() => deserialize_seq;
        deserialize_unit_struct(_name: &'static str) => deserialize_unit;
        deserialize_tuple(_len: usize) => deserialize_seq;
        deserialize_tuple_struct(_name: &'static str, _len: usize) => deserialize_seq;
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ModelError> {
        visitor.visit_f32(self.float(f64::from(f32::MAX))? as f32)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ModelError> {
        visitor.visit_f64(self.float(f64::MAX)?)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ModelError> {
        visitor.visit_borrowed_str(self.str()?)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ModelError> {
        match self.value() {
            Value::Null => visitor.visit_none(),
            Value::Unknown(_) => {
                self.mismatch("a known value")?;
                visitor.visit_none()
            }
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ModelError> {
        if !self.value().is_null() {
            self.mismatch("null")?;
        }
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ModelError> {
        // `Maybe` asks by name: unknown arrives as unit, null as none (see `Maybe`'s visitor).
        match self.value() {
            Value::Unknown(_) if name == MAYBE => visitor.visit_unit(),
            Value::Null if name == MAYBE => visitor.visit_none(),
            _ => visitor.visit_newtype_struct(self),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ModelError> {
        let items = match self.value() {
            Value::List(items) | Value::Set(items) => Some(&items[..]),
            _ => {
                self.mismatch("a list or set")?;
                None
            }
        };
        let mut acc = SeqAcc {
            items: items.unwrap_or_default().iter().enumerate(),
            parent: self,
        };
        let out = visitor.visit_seq(&mut acc)?;
        let left = acc.items.len();
        if left > 0 {
            acc.parent.fail(ModelError::Custom {
                path: acc.parent.path.clone(),
                message: format!("{left} more elements than the model reads"),
            })?;
        }
        Ok(out)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ModelError> {
        let m = self.value().as_map();
        if m.is_none() {
            self.mismatch("a map")?;
        }
        visitor.visit_map(self.map_access(m, None))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ModelError> {
        let m = self.value().as_map();
        let mut de = self;
        if m.is_none() {
            de.mismatch("an object")?;
            de.quiet = true;
        }
        visitor.visit_map(de.map_access(m, Some(fields)))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ModelError> {
        // Unit variants only: Terraform has no sum types, a string is how schemas say "one of".
        let s: StrDeserializer<'_, ModelError> = self.str()?.into_deserializer();
        visitor.visit_enum(s)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ModelError> {
        visitor.visit_unit()
    }
}

/// Elements of a list, set or tuple.
struct SeqAcc<'de> {
    items: std::iter::Enumerate<std::slice::Iter<'de, Value>>,
    parent: De<'de>,
}

impl<'de> de::SeqAccess<'de> for SeqAcc<'de> {
    type Error = ModelError;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, ModelError> {
        let Some((i, v)) = self.items.next() else {
            return Ok(None);
        };
        let child = self.parent.child(v, PathStep::Index(i as i64));
        let path = child.path.clone();
        seed.deserialize(child).map(Some).map_err(|e| e.or_at(path))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

/// Entries of a map or attributes of an object, then (lenient mode) the model's fields
/// the value lacks.
struct MapAcc<'de> {
    entries: Option<crate::cty::MapIter<'de>>,
    phantoms: std::vec::IntoIter<&'static str>,
    /// Object attributes (paths say `.a`) rather than map keys (`["a"]`).
    attrs: bool,
    next: Option<De<'de>>,
    parent: De<'de>,
}

impl<'de> de::MapAccess<'de> for MapAcc<'de> {
    type Error = ModelError;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ModelError> {
        let step = |k: &str| match self.attrs {
            true => PathStep::Attr(k.to_string()),
            false => PathStep::Key(k.to_string()),
        };
        let (key, child) = match self.entries.as_mut().and_then(Iterator::next) {
            Some((k, v)) => (k.as_str(), self.parent.child(v, step(k))),
            None => match self.phantoms.next() {
                Some(k) => {
                    let mut child = self.parent.child(&NULL, step(k));
                    child.fail(ModelError::Custom {
                        path: child.path.clone(),
                        message: "in the model but not in the schema".into(),
                    })?;
                    child.quiet = true;
                    (k, child)
                }
                None => return Ok(None),
            },
        };
        self.next = Some(child);
        let k: BorrowedStrDeserializer<'de, ModelError> = BorrowedStrDeserializer::new(key);
        seed.deserialize(k).map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, ModelError> {
        let child = self.next.take().ok_or_else(|| ModelError::Custom {
            path: self.parent.path.clone(),
            message: "a value was read before its key".into(),
        })?;
        let path = child.path.clone();
        seed.deserialize(child).map_err(|e| e.or_at(path))
    }
}
