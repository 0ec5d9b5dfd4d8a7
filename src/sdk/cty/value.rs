//! The value system itself: types, values with their unknowns and refinements, and the
//! error every codec and check reports.

use std::borrow::Cow;
use std::collections::BTreeMap;

use bigdecimal::BigDecimal;

use super::limits::deep;
use super::map;
use super::path::AttributePath;

/// Errors from decoding, encoding or type-checking cty values.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CtyError {
    /// The bytes are not valid msgpack or JSON for the expected type.
    #[error("malformed {encoding} at {path}: {reason}")]
    Malformed {
        /// `msgpack` or `json`.
        encoding: &'static str,
        /// Where in the value the problem is.
        path: AttributePath,
        /// What was wrong.
        reason: String,
    },
    /// A value does not conform to the type it is encoded with.
    #[error("value at {path} does not conform to type {expected}: {reason}")]
    TypeMismatch {
        /// Where in the value the problem is.
        path: AttributePath,
        /// The type's friendly name.
        expected: String,
        /// What was wrong.
        reason: String,
    },
    /// A type constraint in JSON form could not be understood.
    #[error("invalid type specification: {0}")]
    InvalidType(String),
    /// JSON cannot carry unknown values.
    #[error("unknown value at {0} cannot be encoded as JSON")]
    UnknownInJson(AttributePath),
}

/// Collects `(name, item)` pairs with owned names, for the `object` constructors.
fn named<S: Into<String>, T, C: FromIterator<(String, T)>>(
    pairs: impl IntoIterator<Item = (S, T)>,
) -> C {
    pairs.into_iter().map(|(k, v)| (k.into(), v)).collect()
}

impl CtyError {
    /// A [`CtyError::TypeMismatch`] at `path`: the value there does not conform to `ty`.
    pub(super) fn mismatch(path: &AttributePath, ty: &Type, reason: impl Into<String>) -> CtyError {
        CtyError::TypeMismatch {
            path: path.clone(),
            expected: ty.friendly_name(),
            reason: reason.into(),
        }
    }
}

/// A cty type. Object attribute order is irrelevant (sorted), as in go-cty.
///
/// A dynamic value's type is as deep as the value, so, as for [`Value`], the recursive
/// traits are written out to run each level through [`deep`].
pub enum Type {
    /// `string`
    String,
    /// `number` (arbitrary precision)
    Number,
    /// `bool`
    Bool,
    /// `dynamic`: the concrete type travels with the value.
    Dynamic,
    /// `list(T)`
    List(Box<Type>),
    /// `set(T)`
    Set(Box<Type>),
    /// `map(T)`
    Map(Box<Type>),
    /// `tuple([T...])`
    Tuple(Vec<Type>),
    /// `object({name = T...})`
    Object(BTreeMap<String, Type>),
}

impl Type {
    /// The variant's position, which orders types of different kinds as a derive would.
    fn rank(&self) -> u8 {
        match self {
            Type::String => 0,
            Type::Number => 1,
            Type::Bool => 2,
            Type::Dynamic => 3,
            Type::List(_) => 4,
            Type::Set(_) => 5,
            Type::Map(_) => 6,
            Type::Tuple(_) => 7,
            Type::Object(_) => 8,
        }
    }
}

impl Clone for Type {
    fn clone(&self) -> Self {
        deep(|| match self {
            Type::String => Type::String,
            Type::Number => Type::Number,
            Type::Bool => Type::Bool,
            Type::Dynamic => Type::Dynamic,
            Type::List(e) => Type::List(e.clone()),
            Type::Set(e) => Type::Set(e.clone()),
            Type::Map(e) => Type::Map(e.clone()),
            Type::Tuple(es) => Type::Tuple(es.clone()),
            Type::Object(attrs) => Type::Object(attrs.clone()),
        })
    }
}

impl PartialEq for Type {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for Type {}

impl PartialOrd for Type {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// The order a derive would give: by kind, then by contents.
impl Ord for Type {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        deep(|| match (self, other) {
            (Type::List(a), Type::List(b))
            | (Type::Set(a), Type::Set(b))
            | (Type::Map(a), Type::Map(b)) => a.cmp(b),
            (Type::Tuple(a), Type::Tuple(b)) => a.cmp(b),
            (Type::Object(a), Type::Object(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        })
    }
}

impl std::hash::Hash for Type {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        deep(|| {
            self.rank().hash(state);
            match self {
                Type::List(e) | Type::Set(e) | Type::Map(e) => e.hash(state),
                Type::Tuple(es) => es.hash(state),
                Type::Object(attrs) => attrs.hash(state),
                _ => {}
            }
        })
    }
}

/// The same text `#[derive(Debug)]` would write.
impl std::fmt::Debug for Type {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        deep(|| match self {
            Type::String => f.write_str("String"),
            Type::Number => f.write_str("Number"),
            Type::Bool => f.write_str("Bool"),
            Type::Dynamic => f.write_str("Dynamic"),
            Type::List(e) => f.debug_tuple("List").field(e).finish(),
            Type::Set(e) => f.debug_tuple("Set").field(e).finish(),
            Type::Map(e) => f.debug_tuple("Map").field(e).finish(),
            Type::Tuple(es) => f.debug_tuple("Tuple").field(es).finish(),
            Type::Object(attrs) => f.debug_tuple("Object").field(attrs).finish(),
        })
    }
}

impl Drop for Type {
    /// Drops the element types one level further down the stack, through [`deep`].
    fn drop(&mut self) {
        match self {
            Type::List(e) | Type::Set(e) | Type::Map(e) if e.rank() >= 4 => {
                let e = std::mem::replace(&mut **e, Type::String);
                deep(|| drop(e));
            }
            Type::Tuple(es) if !es.is_empty() => {
                let es = std::mem::take(es);
                deep(|| drop(es));
            }
            Type::Object(attrs) if !attrs.is_empty() => {
                let attrs = std::mem::take(attrs);
                deep(|| drop(attrs));
            }
            _ => {}
        }
    }
}

impl Type {
    /// `list(elem)`.
    pub fn list(elem: Type) -> Type {
        Type::List(Box::new(elem))
    }
    /// `set(elem)`.
    pub fn set(elem: Type) -> Type {
        Type::Set(Box::new(elem))
    }
    /// `map(elem)`.
    pub fn map(elem: Type) -> Type {
        Type::Map(Box::new(elem))
    }
    /// `object({...})` from `(name, type)` pairs.
    pub fn object<S: Into<String>>(attrs: impl IntoIterator<Item = (S, Type)>) -> Type {
        Type::Object(named(attrs))
    }

    /// The type in Terraform's JSON type-constraint syntax (`"string"`, `["list","string"]`, ...).
    pub fn to_json_value(&self) -> serde_json::Value {
        use serde_json::Value as J;
        deep(|| match self {
            Type::String => J::from("string"),
            Type::Number => J::from("number"),
            Type::Bool => J::from("bool"),
            Type::Dynamic => J::from("dynamic"),
            Type::List(e) => J::Array(vec![J::from("list"), e.to_json_value()]),
            Type::Set(e) => J::Array(vec![J::from("set"), e.to_json_value()]),
            Type::Map(e) => J::Array(vec![J::from("map"), e.to_json_value()]),
            Type::Tuple(es) => J::Array(vec![
                J::from("tuple"),
                J::Array(es.iter().map(Type::to_json_value).collect()),
            ]),
            Type::Object(attrs) => J::Array(vec![
                J::from("object"),
                J::Object(
                    attrs
                        .iter()
                        .map(|(k, v)| (k.clone(), v.to_json_value()))
                        .collect(),
                ),
            ]),
        })
    }

    /// The JSON type-constraint bytes, as `Schema.Attribute.type` carries them.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        let mut out = String::new();
        self.write_json(&mut out);
        out.into_bytes()
    }

    /// Writes the JSON type constraint, as compact as serde_json writes it; written here
    /// rather than through serde_json, whose recursion a deep type would overflow.
    pub(super) fn write_json(&self, out: &mut String) {
        let nested = |out: &mut String, kind: &str, e: &Type| {
            out.push_str(&format!("[\"{kind}\","));
            e.write_json(out);
            out.push(']');
        };
        deep(|| match self {
            Type::String => out.push_str("\"string\""),
            Type::Number => out.push_str("\"number\""),
            Type::Bool => out.push_str("\"bool\""),
            Type::Dynamic => out.push_str("\"dynamic\""),
            Type::List(e) => nested(out, "list", e),
            Type::Set(e) => nested(out, "set", e),
            Type::Map(e) => nested(out, "map", e),
            Type::Tuple(es) => {
                out.push_str("[\"tuple\",[");
                for (i, e) in es.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    e.write_json(out);
                }
                out.push_str("]]");
            }
            Type::Object(attrs) => {
                out.push_str("[\"object\",{");
                for (i, (name, e)) in attrs.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    // A string serialises infallibly.
                    out.push_str(&serde_json::to_string(name).unwrap_or_default());
                    out.push(':');
                    e.write_json(out);
                }
                out.push_str("}]");
            }
        })
    }

    /// Parses a JSON type constraint.
    pub fn from_json_value(v: &serde_json::Value) -> Result<Type, CtyError> {
        use serde_json::Value as J;
        let bad = || CtyError::InvalidType(v.to_string());
        deep(|| match v {
            J::String(s) => match s.as_str() {
                "string" => Ok(Type::String),
                "number" => Ok(Type::Number),
                "bool" => Ok(Type::Bool),
                "dynamic" => Ok(Type::Dynamic),
                _ => Err(bad()),
            },
            J::Array(parts) => {
                let kind = parts.first().and_then(J::as_str).ok_or_else(bad)?;
                let arg = parts.get(1).ok_or_else(bad)?;
                match kind {
                    "list" => Ok(Type::list(Type::from_json_value(arg)?)),
                    "set" => Ok(Type::set(Type::from_json_value(arg)?)),
                    "map" => Ok(Type::map(Type::from_json_value(arg)?)),
                    "tuple" => Ok(Type::Tuple(
                        arg.as_array()
                            .ok_or_else(bad)?
                            .iter()
                            .map(Type::from_json_value)
                            .collect::<Result<_, _>>()?,
                    )),
                    // A third element (optional attributes) only appears in function types;
                    // optionality does not change the wire encoding, so it is accepted and dropped.
                    "object" => Ok(Type::Object(
                        arg.as_object()
                            .ok_or_else(bad)?
                            .iter()
                            .map(|(k, t)| Ok((k.clone(), Type::from_json_value(t)?)))
                            .collect::<Result<_, CtyError>>()?,
                    )),
                    _ => Err(bad()),
                }
            }
            _ => Err(bad()),
        })
    }

    /// Parses JSON type-constraint bytes.
    pub fn from_json_bytes(b: &[u8]) -> Result<Type, CtyError> {
        let v = super::bounded_json::parse_bounded(b).map_err(CtyError::InvalidType)?;
        Type::from_json_value(&v.0)
    }

    /// A short human name, like go-cty's `FriendlyName`.
    pub fn friendly_name(&self) -> String {
        // A loop, not recursion: collection types nest as deep as values do.
        let mut name = String::new();
        let mut ty = self;
        loop {
            match ty {
                Type::List(e) | Type::Set(e) | Type::Map(e) => {
                    name.push_str(match ty {
                        Type::List(_) => "list of ",
                        Type::Set(_) => "set of ",
                        _ => "map of ",
                    });
                    ty = e;
                }
                Type::String => break name + "string",
                Type::Number => break name + "number",
                Type::Bool => break name + "bool",
                Type::Dynamic => break name + "dynamic",
                Type::Tuple(_) => break name + "tuple",
                Type::Object(_) => break name + "object",
            }
        }
    }
}

impl std::fmt::Display for Type {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.friendly_name())
    }
}

/// What Terraform knows about an unknown value (msgpack ext 12). All fields optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Refinements {
    /// `Some(false)`: definitely not null. (go-cty never refines to "definitely null".)
    pub not_null: bool,
    /// A known prefix of an unknown string.
    pub string_prefix: Option<String>,
    /// Lower bound of an unknown number: `(bound, inclusive)`.
    pub number_lower: Option<(BigDecimal, bool)>,
    /// Upper bound of an unknown number: `(bound, inclusive)`.
    pub number_upper: Option<(BigDecimal, bool)>,
    /// Minimum length of an unknown collection.
    pub length_min: Option<u64>,
    /// Maximum length of an unknown collection.
    pub length_max: Option<u64>,
}

impl Refinements {
    /// True when nothing is refined (a plain unknown, encoded as ext 0).
    pub fn is_empty(&self) -> bool {
        *self == Refinements::default()
    }

    /// Why no value could satisfy these refinements, if none could: go-cty panics on
    /// such refinements, so the codecs refuse them rather than pass them on.
    pub fn contradiction(&self) -> Option<String> {
        if let (Some((lo, lo_inc)), Some((hi, hi_inc))) = (&self.number_lower, &self.number_upper) {
            if lo > hi || (lo == hi && !(*lo_inc && *hi_inc)) {
                return Some(format!(
                    "the number range {}{lo}, {hi}{} is empty",
                    if *lo_inc { "[" } else { "(" },
                    if *hi_inc { "]" } else { ")" },
                ));
            }
        }
        match (self.length_min, self.length_max) {
            (Some(min), Some(max)) if min > max => Some(format!(
                "the minimum length {min} is above the maximum length {max}"
            )),
            _ => None,
        }
    }
}

/// An exact number, as [`Value::Number`] holds it: inline when its digits fit an `i64`
/// and its scale an `i16` (most numbers Terraform sends, decimals like `0.1` included),
/// else a boxed [`BigDecimal`], so a value stays small.
#[derive(Clone)]
pub struct Number(Repr);

#[derive(Clone)]
enum Repr {
    /// `digits × 10^-scale`, as a [`BigDecimal`] holds it.
    Small {
        digits: i64,
        scale: i16,
    },
    Big(Box<BigDecimal>),
}

impl Number {
    /// The number as a [`BigDecimal`], borrowed when it is held as one.
    pub fn big(&self) -> Cow<'_, BigDecimal> {
        match &self.0 {
            Repr::Small { digits, scale } => {
                Cow::Owned(BigDecimal::new((*digits).into(), i64::from(*scale)))
            }
            Repr::Big(n) => Cow::Borrowed(n),
        }
    }
    /// The number, if it is a whole number that fits an `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match self.0 {
            Repr::Small { digits, scale: 0 } => Some(digits),
            Repr::Small { digits, scale } if (-18..0).contains(&scale) => {
                digits.checked_mul(10i64.pow(u32::from(scale.unsigned_abs())))
            }
            _ => None,
        }
    }
}

impl From<i64> for Number {
    fn from(digits: i64) -> Self {
        Number(Repr::Small { digits, scale: 0 })
    }
}

impl From<u64> for Number {
    fn from(u: u64) -> Self {
        i64::try_from(u).map_or_else(|_| BigDecimal::from(u).into(), Number::from)
    }
}

impl From<BigDecimal> for Number {
    fn from(n: BigDecimal) -> Self {
        let (digits, scale) = n.as_bigint_and_exponent();
        match (i64::try_from(&digits), i16::try_from(scale)) {
            (Ok(digits), Ok(scale)) => Number(Repr::Small { digits, scale }),
            _ => Number(Repr::Big(Box::new(n))),
        }
    }
}

impl PartialEq for Number {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (
                Repr::Small { digits, scale },
                Repr::Small {
                    digits: d2,
                    scale: s2,
                },
            ) if scale == s2 => digits == d2,
            _ => self.big() == other.big(),
        }
    }
}

impl Eq for Number {}

impl std::fmt::Display for Number {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.as_i64() {
            Some(i) => i.fmt(f),
            None => self.big().fmt(f),
        }
    }
}

impl std::fmt::Debug for Number {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}

/// The attributes of an object or the entries of a map, in key order.
pub type Map = map::Map<Value>;
/// Iterator over a [`Map`]'s `(&name, &value)` pairs.
pub type MapIter<'a> = map::Iter<'a, Value>;

/// A cty value. Its type is given by context (the schema), except under `dynamic`.
///
/// Clone, compare, format and drop are written out rather than derived so that each
/// level runs through [`deep`]: a value nested [`MAX_DEPTH`](super::MAX_DEPTH) deep
/// must not overflow the stack of whoever holds it.
#[derive(Default)]
pub enum Value {
    /// null, of whatever type the context says.
    #[default]
    Null,
    /// A value Terraform does not know yet, possibly with refinements.
    Unknown(Box<Refinements>),
    /// A string.
    String(String),
    /// A number, exact.
    Number(Number),
    /// Positive or negative infinity, the numbers a `BigDecimal` cannot hold (HCL's `1/0`,
    /// go-cty's `PositiveInfinity` and `NegativeInfinity`).
    Infinity {
        /// True for negative infinity.
        negative: bool,
    },
    /// A bool.
    Bool(bool),
    /// Elements of a list or a tuple, in order (`Vec::into` or [`Value::list`] builds one).
    List(Box<[Value]>),
    /// Elements of a set (order carries no meaning).
    Set(Box<[Value]>),
    /// A map, or an object's attributes.
    Map(Map),
    /// A value whose type is only known at run time (inside a `dynamic` type).
    Dynamic(Box<(Type, Value)>),
}

// A decoded value costs this much per null, integer or list element (issue 19): every
// payload but `String`'s fits 16 bytes, and the variant tag lives in the niche of the
// string's capacity. `README.md` (benchmarks) has the bytes per input byte it gives.
const _: () = assert!(std::mem::size_of::<Value>() <= 24);

impl Clone for Value {
    fn clone(&self) -> Self {
        deep(|| match self {
            Value::Null => Value::Null,
            Value::Unknown(rf) => Value::Unknown(rf.clone()),
            Value::String(s) => Value::String(s.clone()),
            Value::Number(n) => Value::Number(n.clone()),
            Value::Infinity { negative } => Value::Infinity {
                negative: *negative,
            },
            Value::Bool(b) => Value::Bool(*b),
            Value::List(vs) => Value::List(vs.clone()),
            Value::Set(vs) => Value::Set(vs.clone()),
            Value::Map(m) => Value::Map(m.clone()),
            Value::Dynamic(d) => Value::Dynamic(d.clone()),
        })
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        deep(|| match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Unknown(a), Value::Unknown(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::Number(a), Value::Number(b)) => a == b,
            (Value::Infinity { negative: a }, Value::Infinity { negative: b }) => a == b,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::List(a), Value::List(b)) | (Value::Set(a), Value::Set(b)) => a == b,
            (Value::Map(a), Value::Map(b)) => a == b,
            (Value::Dynamic(a), Value::Dynamic(b)) => a == b,
            _ => false,
        })
    }
}

/// The same text `#[derive(Debug)]` would write.
impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        deep(|| match self {
            Value::Null => f.write_str("Null"),
            Value::Unknown(rf) => f.debug_tuple("Unknown").field(rf).finish(),
            Value::String(s) => f.debug_tuple("String").field(s).finish(),
            Value::Number(n) => f.debug_tuple("Number").field(n).finish(),
            Value::Infinity { negative } => f
                .debug_struct("Infinity")
                .field("negative", negative)
                .finish(),
            Value::Bool(b) => f.debug_tuple("Bool").field(b).finish(),
            Value::List(vs) => f.debug_tuple("List").field(vs).finish(),
            Value::Set(vs) => f.debug_tuple("Set").field(vs).finish(),
            Value::Map(m) => f.debug_tuple("Map").field(m).finish(),
            Value::Dynamic(d) => f.debug_tuple("Dynamic").field(d).finish(),
        })
    }
}

impl Drop for Value {
    /// Drops the children one level further down the stack, through [`deep`].
    fn drop(&mut self) {
        match self {
            Value::List(vs) | Value::Set(vs) if !vs.is_empty() => {
                let vs = std::mem::take(vs);
                deep(|| drop(vs));
            }
            Value::Map(m) if !m.is_empty() => {
                let m = std::mem::take(m);
                deep(|| drop(m));
            }
            Value::Dynamic(d) => {
                let inner = std::mem::take(&mut d.1);
                deep(|| drop(inner));
            }
            _ => {}
        }
    }
}

impl Value {
    /// A list of `items`, or a set when `ty` is a set type (the decoders read both alike).
    pub(super) fn list_or_set(ty: &Type, items: Vec<Value>) -> Value {
        if matches!(ty, Type::Set(_)) {
            Value::Set(items.into())
        } else {
            Value::List(items.into())
        }
    }
    /// A list (or tuple) of `items`.
    pub fn list(items: impl Into<Box<[Value]>>) -> Value {
        Value::List(items.into())
    }
    /// A plain unknown.
    pub fn unknown() -> Value {
        Value::Unknown(Box::default())
    }
    /// A string value.
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }
    /// A number from an integer.
    pub fn int(i: i64) -> Value {
        Value::Number(i.into())
    }
    /// An object (or map) from `(name, value)` pairs.
    pub fn object<S: Into<String>>(attrs: impl IntoIterator<Item = (S, Value)>) -> Value {
        Value::Map(named(attrs))
    }
    /// A string, or null for `None`.
    pub fn opt_string<S: Into<String>>(s: Option<S>) -> Value {
        s.map_or(Value::Null, |s| Value::String(s.into()))
    }

    /// A short name for what kind of value this is, for error messages ("a string").
    pub fn describe(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Unknown(_) => "an unknown value",
            Value::String(_) => "a string",
            Value::Number(_) | Value::Infinity { .. } => "a number",
            Value::Bool(_) => "a bool",
            Value::List(_) => "a list or tuple",
            Value::Set(_) => "a set",
            Value::Map(_) => "a map or object",
            Value::Dynamic(_) => "a dynamically-typed value",
        }
    }

    /// Whether this is null.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
    /// Whether this value itself is known (its children may not be).
    pub fn is_known(&self) -> bool {
        !matches!(self, Value::Unknown(_))
    }
    /// Whether this value and everything inside it is known.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown(_) => false,
            Value::List(vs) | Value::Set(vs) => vs.iter().all(Value::is_wholly_known),
            Value::Map(m) => m.values().all(Value::is_wholly_known),
            Value::Dynamic(d) => d.1.is_wholly_known(),
            _ => true,
        }
    }
    /// The value inside any dynamic wrappers: what the `as_*` accessors look at.
    fn concrete(&self) -> &Value {
        match self {
            Value::Dynamic(d) => d.1.concrete(),
            v => v,
        }
    }
    /// The string, if this is a known string.
    pub fn as_str(&self) -> Option<&str> {
        match self.concrete() {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
    /// The bool, if this is a known bool.
    pub fn as_bool(&self) -> Option<bool> {
        match self.concrete() {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
    /// A number value.
    pub fn number(n: impl Into<Number>) -> Value {
        Value::Number(n.into())
    }
    /// The number, if this is a known number.
    pub fn as_number(&self) -> Option<&Number> {
        match self.concrete() {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }
    /// The attributes or entries, if this is a known object or map.
    pub fn as_map(&self) -> Option<&Map> {
        match self.concrete() {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }
    /// The elements, if this is a known list, tuple or set.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self.concrete() {
            Value::List(v) | Value::Set(v) => Some(v),
            _ => None,
        }
    }
    /// An attribute of an object; `Value::Null` when absent or when `self` is not a known object.
    pub fn attr(&self, name: &str) -> &Value {
        static NULL: Value = Value::Null;
        self.as_map().and_then(|m| m.get(name)).unwrap_or(&NULL)
    }
    /// Mutable access to an attribute of a known object.
    pub fn attr_mut(&mut self, name: &str) -> Option<&mut Value> {
        match self {
            Value::Map(m) => m.get_mut(name),
            _ => None,
        }
    }
    /// Sets an attribute of a known object (no-op on anything else).
    pub fn set_attr(&mut self, name: &str, v: Value) {
        if let Value::Map(m) = self {
            m.insert(name.to_string(), v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_json_round_trips() {
        let t = Type::object([
            ("a", Type::String),
            ("b", Type::list(Type::Number)),
            ("c", Type::map(Type::set(Type::Bool))),
            ("d", Type::Tuple(vec![Type::Dynamic, Type::String])),
        ]);
        let bytes = t.to_json_bytes();
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            r#"["object",{"a":"string","b":["list","number"],"c":["map",["set","bool"]],"d":["tuple",["dynamic","string"]]}]"#
        );
        assert_eq!(Type::from_json_bytes(&bytes), Ok(t));
    }

    #[test]
    fn bad_type_json_is_an_error() {
        for bad in [
            r#""strin""#,
            r#"["list"]"#,
            "7",
            r#"["object",[]]"#,
            "not json",
        ] {
            assert!(Type::from_json_bytes(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn attr_of_non_object_is_null() {
        assert!(Value::Null.attr("x").is_null());
        let o = Value::object([("x", Value::string("y"))]);
        assert_eq!(o.attr("x").as_str(), Some("y"));
    }
}
