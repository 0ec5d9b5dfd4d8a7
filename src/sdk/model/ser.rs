//! Writing a model as an untyped [`Value`] tree: a serde `Serializer`.
//!
//! Structs and string-keyed maps become `Value::Map`, sequences `Value::List`;
//! `to_value` then shapes the tree by the schema type (sets, nulls, dynamic).

use serde::ser::{self, Impossible, Serialize};

use super::error::ModelError;
use super::maybe::UNKNOWN;
use crate::cty::{AttributePath, BigDecimal, Map, PathStep, Value};

/// A serializer for one value at one path.
pub(super) struct Ser {
    pub(super) path: AttributePath,
}

impl Ser {
    fn child(&self, step: PathStep) -> Ser {
        let mut path = self.path.clone();
        path.push(step);
        Ser { path }
    }

    /// The shortest decimal that reads back as the float: what a user wrote, not its
    /// binary expansion.
    fn float(self, v: impl std::fmt::Display, finite: bool) -> Result<Value, ModelError> {
        match v.to_string().parse::<BigDecimal>() {
            Ok(n) if finite => Ok(Value::number(n)),
            _ => Err(self.unsupported(&format!("the number {v}"))),
        }
    }

    fn unsupported(&self, what: &str) -> ModelError {
        ModelError::Custom {
            path: self.path.clone(),
            message: format!("{what} has no Terraform type"),
        }
    }
}

/// Serializes `value` as the child at `step`, naming that child in errors.
fn write_child<T: Serialize + ?Sized>(
    parent: &Ser,
    step: PathStep,
    value: &T,
) -> Result<Value, ModelError> {
    let child = parent.child(step);
    let path = child.path.clone();
    value.serialize(child).map_err(|e| e.or_at(path))
}

macro_rules! ints {
    ($($method:ident $t:ty),*) => {$(
        fn $method(self, v: $t) -> Result<Value, ModelError> {
            Ok(Value::number(BigDecimal::from(v)))
        }
    )*};
}

impl ser::Serializer for Ser {
    type Ok = Value;
    type Error = ModelError;
    type SerializeSeq = SeqSer;
    type SerializeTuple = SeqSer;
    type SerializeTupleStruct = SeqSer;
    type SerializeTupleVariant = Impossible<Value, ModelError>;
    type SerializeMap = MapSer;
    type SerializeStruct = MapSer;
    type SerializeStructVariant = Impossible<Value, ModelError>;

    fn serialize_bool(self, v: bool) -> Result<Value, ModelError> {
        Ok(Value::Bool(v))
    }

    ints!(serialize_i8 i8, serialize_i16 i16, serialize_i32 i32, serialize_i64 i64,
        serialize_i128 i128, serialize_u8 u8, serialize_u16 u16, serialize_u32 u32,
        serialize_u64 u64, serialize_u128 u128);

    fn serialize_f32(self, v: f32) -> Result<Value, ModelError> {
        // Via f32's own shortest form: 0.1f32 is 0.1, not 0.100000001490116...
        self.float(v, v.is_finite())
    }

    fn serialize_f64(self, v: f64) -> Result<Value, ModelError> {
        self.float(v, v.is_finite())
    }

    fn serialize_char(self, v: char) -> Result<Value, ModelError> {
        Ok(Value::String(v.to_string()))
    }

    fn serialize_str(self, v: &str) -> Result<Value, ModelError> {
        Ok(Value::string(v))
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<Value, ModelError> {
        Ok(Value::List(
            v.iter().map(|b| Value::int(i64::from(*b))).collect(),
        ))
    }

    fn serialize_none(self) -> Result<Value, ModelError> {
        Ok(Value::Null)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value, ModelError> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<Value, ModelError> {
        Ok(Value::Null)
    }

    fn serialize_unit_struct(self, name: &'static str) -> Result<Value, ModelError> {
        // `Maybe::Unknown` says so by this name; other formats see a unit (null).
        Ok(match name {
            UNKNOWN => Value::unknown(),
            _ => Value::Null,
        })
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value, ModelError> {
        Ok(Value::string(variant))
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Value, ModelError> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _value: &T,
    ) -> Result<Value, ModelError> {
        // Only unit variants (strings) read back: Terraform has no sum types.
        Err(self.unsupported(&format!("the newtype variant {variant}")))
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<SeqSer, ModelError> {
        Ok(SeqSer {
            items: Vec::with_capacity(len.unwrap_or_default()),
            ser: self,
        })
    }

    fn serialize_tuple(self, len: usize) -> Result<SeqSer, ModelError> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<SeqSer, ModelError> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, ModelError> {
        Err(self.unsupported(&format!("the tuple variant {variant}")))
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<MapSer, ModelError> {
        Ok(MapSer {
            map: Map::new(),
            key: None,
            attrs: false,
            ser: self,
        })
    }

    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<MapSer, ModelError> {
        Ok(MapSer {
            attrs: true,
            ..self.serialize_map(None)?
        })
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, ModelError> {
        Err(self.unsupported(&format!("the struct variant {variant}")))
    }
}

/// Collects a list (or tuple).
pub(super) struct SeqSer {
    items: Vec<Value>,
    ser: Ser,
}

impl SeqSer {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ModelError> {
        let i = self.items.len() as i64;
        self.items
            .push(write_child(&self.ser, PathStep::Index(i), value)?);
        Ok(())
    }
}

/// The three sequence traits differ only in names.
macro_rules! seq_impls {
    ($($trait:ident $method:ident),*) => {$(
        impl ser::$trait for SeqSer {
            type Ok = Value;
            type Error = ModelError;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ModelError> {
                self.push(value)
            }
            fn end(self) -> Result<Value, ModelError> {
                Ok(Value::List(self.items.into()))
            }
        }
    )*};
}

seq_impls!(SerializeSeq serialize_element, SerializeTuple serialize_element,
    SerializeTupleStruct serialize_field);

/// Collects a map (string keys) or an object.
pub(super) struct MapSer {
    map: Map,
    key: Option<String>,
    /// Object attributes (paths say `.a`) rather than map keys (`["a"]`).
    attrs: bool,
    ser: Ser,
}

impl MapSer {
    fn insert<T: Serialize + ?Sized>(&mut self, key: String, value: &T) -> Result<(), ModelError> {
        let step = match self.attrs {
            true => PathStep::Attr(key.clone()),
            false => PathStep::Key(key.clone()),
        };
        let v = write_child(&self.ser, step, value)?;
        self.map.insert(key, v);
        Ok(())
    }
}

impl ser::SerializeMap for MapSer {
    type Ok = Value;
    type Error = ModelError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), ModelError> {
        // Terraform map keys are strings; numbers and bools are written as text like JSON does.
        let mut key = key.serialize(Ser {
            path: self.ser.path.clone(),
        })?;
        self.key = Some(match &mut key {
            Value::String(s) => std::mem::take(s),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return Err(self.ser.unsupported("a map key that is not a string")),
        });
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ModelError> {
        let key = self.key.take().ok_or_else(|| ModelError::Custom {
            path: self.ser.path.clone(),
            message: "a map value was written before its key".into(),
        })?;
        self.insert(key, value)
    }

    fn end(self) -> Result<Value, ModelError> {
        Ok(Value::Map(self.map))
    }
}

impl ser::SerializeStruct for MapSer {
    type Ok = Value;
    type Error = ModelError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), ModelError> {
        self.insert(key.to_string(), value)
    }

    fn end(self) -> Result<Value, ModelError> {
        Ok(Value::Map(self.map))
    }
}
