//! msgpack bytes to a [`Value`], driven by the [`Type`] as in go-cty.

use super::reader::{utf8, Head, Reader};
use super::wire::*;
use crate::cty::limits::{deep, MAX_DEPTH};
use crate::cty::numbers::{number_value, number_value_from_f64};
use crate::cty::path::{index_step, PathStep};
use crate::cty::value::{CtyError, Map, Refinements, Type, Value};
use crate::cty::walker::Walker;

/// A number from any of the encodings go-cty accepts: int, uint, float32/64 (±Infinity
/// included), or text (decimal, or go-cty's `+Inf`/`-Inf`).
fn number_from_head(head: Head<'_>) -> Result<Value, String> {
    match head {
        Head::Int(i) => Ok(Value::int(i)),
        Head::Uint(u) => Ok(Value::number(u)),
        Head::Float(f) => number_value_from_f64(f),
        Head::Str(b) | Head::Bin(b) => number_value(&utf8(b)?),
        other => Err(format!("number is required, found {}", other.describe())),
    }
}

/// The decoder: it reads msgpack bytes.
type Decoder<'a> = Walker<Reader<'a>>;

impl<'a> Decoder<'a> {
    fn fail(&self, reason: impl Into<String>) -> CtyError {
        self.malformed("msgpack", reason)
    }

    fn head(&mut self) -> Result<Head<'a>, CtyError> {
        self.io.head().map_err(|e| self.fail(e))
    }

    fn value(&mut self, ty: &Type, depth: usize) -> Result<Value, CtyError> {
        deep(|| self.value_here(ty, depth))
    }

    /// One level of [`Self::value`], run by it on a stack with room to spare.
    fn value_here(&mut self, ty: &Type, depth: usize) -> Result<Value, CtyError> {
        if depth > MAX_DEPTH {
            return Err(self.fail(format!("nested more than {MAX_DEPTH} levels deep")));
        }
        let head = self.head()?;
        // Any extension is an unknown, whatever the type (go-cty does the same).
        if let Head::Ext(code, data) = head {
            return self.unknown(code, data, ty);
        }
        if let Type::Dynamic = ty {
            return self.dynamic(head, depth);
        }
        if let Head::Nil = head {
            return Ok(Value::Null);
        }
        let wrong =
            |d: &Self, what: &str| d.fail(format!("{what} is required, found {}", head.describe()));
        match ty {
            Type::String => match head {
                Head::Str(b) | Head::Bin(b) => utf8(b).map(Value::String).map_err(|e| self.fail(e)),
                _ => Err(wrong(self, "string")),
            },
            Type::Number => number_from_head(head).map_err(|e| self.fail(e)),
            Type::Bool => match head {
                Head::Bool(b) => Ok(Value::Bool(b)),
                _ => Err(wrong(self, "bool")),
            },
            Type::List(ety) | Type::Set(ety) => {
                let Head::Array(n) = head else {
                    return Err(wrong(self, "array"));
                };
                // Every element takes at least one byte, so this never reserves more
                // than the input can fill, and the list is never regrown.
                let mut out = Vec::with_capacity(n.min(self.io.remaining()));
                for i in 0..n {
                    self.path.push(index_step(i));
                    out.push(self.value(ety, depth + 1)?);
                    self.path.pop();
                }
                Ok(Value::list_or_set(ty, out))
            }
            Type::Tuple(etys) => {
                let Head::Array(n) = head else {
                    return Err(wrong(self, "array"));
                };
                self.expect_len(n, etys.len(), "a tuple of {} elements")?;
                let mut out = Vec::with_capacity(n);
                for (i, ety) in etys.iter().enumerate() {
                    self.path.push(index_step(i));
                    out.push(self.value(ety, depth + 1)?);
                    self.path.pop();
                }
                Ok(Value::List(out.into()))
            }
            Type::Map(ety) => {
                let Head::Map(n) = head else {
                    return Err(wrong(self, "map"));
                };
                // Every entry takes at least two bytes (key and value).
                let mut out = Vec::with_capacity(n.min(self.io.remaining() / 2));
                for _ in 0..n {
                    let key = self.key()?;
                    self.path.push(PathStep::Key(key.clone()));
                    let v = self.value(ety, depth + 1)?;
                    self.path.pop();
                    out.push((key, v));
                }
                Map::from_unique(out)
                    .map(Value::Map)
                    .map_err(|key| self.fail(format!("duplicate map key {key:?}")))
            }
            Type::Object(atys) => {
                let Head::Map(n) = head else {
                    return Err(wrong(self, "map"));
                };
                self.expect_len(n, atys.len(), "an object with {} attributes")?;
                let mut out = Vec::with_capacity(n);
                for _ in 0..n {
                    let key = self.key()?;
                    let Some(aty) = atys.get(&key) else {
                        return Err(self.fail(format!("unsupported attribute {key:?}")));
                    };
                    self.path.push(PathStep::Attr(key.clone()));
                    let v = self.value(aty, depth + 1)?;
                    self.path.pop();
                    out.push((key, v));
                }
                // n == atys.len(), keys distinct and all known: every attribute is present.
                Map::from_unique(out)
                    .map(Value::Map)
                    .map_err(|key| self.fail(format!("duplicate attribute {key:?}")))
            }
            Type::Dynamic => self.dynamic(head, depth),
        }
    }

    /// Checks that a header of `found` items has the `want` items of a tuple or object type;
    /// `shape` says what is required, with `{}` for `want`.
    fn expect_len(&self, found: usize, want: usize, shape: &str) -> Result<(), CtyError> {
        if found == want {
            return Ok(());
        }
        let required = shape.replace("{}", &want.to_string());
        Err(self.fail(format!("{required} is required, found {found}")))
    }

    fn key(&mut self) -> Result<String, CtyError> {
        match self.head()? {
            Head::Str(b) | Head::Bin(b) => utf8(b).map_err(|e| self.fail(e)),
            other => Err(self.fail(format!(
                "map keys must be strings, found {}",
                other.describe()
            ))),
        }
    }

    /// `[type JSON, value]`, or nil.
    fn dynamic(&mut self, head: Head<'a>, depth: usize) -> Result<Value, CtyError> {
        match head {
            Head::Nil => Ok(Value::Null),
            Head::Array(2) => {
                let ty_json = match self.head()? {
                    Head::Bin(b) | Head::Str(b) => b,
                    other => {
                        return Err(self.fail(format!(
                            "a dynamic value must start with its type as JSON bytes, found {}",
                            other.describe()
                        )))
                    }
                };
                let ty = Type::from_json_bytes(ty_json)
                    .map_err(|e| self.fail(format!("dynamic value has an invalid type: {e}")))?;
                let v = self.value(&ty, depth + 1)?;
                Ok(Value::Dynamic(Box::new((ty, v))))
            }
            other => Err(self.fail(format!(
                "a dynamic value must be a 2-element array, found {}",
                match other {
                    Head::Array(_) => "an array of another length",
                    other => other.describe(),
                }
            ))),
        }
    }

    /// An unknown: plain for an ext of one byte or less, refined for ext 12.
    fn unknown(&self, code: i8, data: &[u8], ty: &Type) -> Result<Value, CtyError> {
        if data.len() <= 1 {
            return Ok(Value::unknown());
        }
        if code != EXT_REFINED_UNKNOWN {
            return Err(self.fail(format!(
                "unsupported extension type {code} with length {}",
                data.len()
            )));
        }
        if data.len() > MAX_REFINEMENT_PAYLOAD {
            return Err(self.fail("oversize unknown value refinement"));
        }
        let mut r = Reader::new(data);
        let Ok(Head::Map(n)) = r.head() else {
            return Err(self.fail("unknown value refinements must be a map"));
        };
        // Refinements of a dynamic unknown are meaningless; go-cty ignores them.
        if let Type::Dynamic = ty {
            return Ok(Value::unknown());
        }
        let bad = |reason: &str| self.fail(format!("invalid unknown value refinement: {reason}"));
        let mut rf = Refinements::default();
        for _ in 0..n {
            let key = match r.head() {
                Ok(Head::Int(i)) => i,
                Ok(Head::Uint(u)) => i64::try_from(u).unwrap_or(i64::MAX),
                _ => return Err(bad("non-integer key")),
            };
            match key {
                REFINE_NULLNESS => match r.head() {
                    // "Definitely null" collapses to null, as in go-cty.
                    Ok(Head::Bool(true)) => return Ok(Value::Null),
                    Ok(Head::Bool(false)) => rf.not_null = true,
                    _ => return Err(bad("nullness is not a bool")),
                },
                REFINE_STRING_PREFIX => {
                    if *ty != Type::String {
                        return Err(bad("string prefix for a non-string type"));
                    }
                    let prefix = match r.head() {
                        Ok(Head::Str(b)) => utf8(b).map_err(|e| bad(&e))?,
                        _ => return Err(bad("string prefix is not a string")),
                    };
                    rf.string_prefix = Some(prefix).filter(|p| !p.is_empty());
                }
                REFINE_NUMBER_MIN | REFINE_NUMBER_MAX => {
                    if *ty != Type::Number {
                        return Err(bad("number bound for a non-number type"));
                    }
                    let shape = "number bound must be a [number, bool] array";
                    if !matches!(r.head(), Ok(Head::Array(2))) {
                        return Err(bad(shape));
                    }
                    let num = r
                        .head()
                        .and_then(number_from_head)
                        .map_err(|e| bad(&format!("{shape}: {e}")))?;
                    let Ok(Head::Bool(inclusive)) = r.head() else {
                        return Err(bad(shape));
                    };
                    // An infinite bound says nothing a Refinements can hold (older go-cty
                    // writes -Inf/+Inf for "no bound"), so it is dropped: a weaker, still
                    // true refinement.
                    let bound = num.as_number().map(|n| (n.big().into_owned(), inclusive));
                    if key == REFINE_NUMBER_MIN {
                        rf.number_lower = bound;
                    } else {
                        rf.number_upper = bound;
                    }
                }
                REFINE_LENGTH_MIN | REFINE_LENGTH_MAX => {
                    if !matches!(ty, Type::List(_) | Type::Set(_) | Type::Map(_)) {
                        return Err(bad("length bound for a non-collection type"));
                    }
                    let len = match r.head() {
                        Ok(Head::Uint(u)) => u,
                        Ok(Head::Int(i)) => {
                            u64::try_from(i).map_err(|_| bad("negative length bound"))?
                        }
                        _ => return Err(bad("length bound is not an integer")),
                    };
                    if key == REFINE_LENGTH_MIN {
                        // A lower bound of zero says nothing.
                        rf.length_min = Some(len).filter(|l| *l > 0);
                    } else {
                        rf.length_max = Some(len);
                    }
                }
                // Unknown keys are reserved for future refinements: skip them.
                _ => r.skip(0).map_err(|e| bad(&e))?,
            }
        }
        // Refinements no value could meet would make go-cty panic: refuse them here.
        if let Some(why) = rf.contradiction() {
            return Err(bad(&why));
        }
        // Trailing bytes after the map are ignored, as go-cty does (room for extensions).
        Ok(Value::Unknown(Box::new(rf)))
    }
}

/// Decodes msgpack bytes as a value of `ty`. Empty input is null.
pub fn from_msgpack(bytes: &[u8], ty: &Type) -> Result<Value, CtyError> {
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    let mut d = Decoder::new(Reader::new(bytes));
    let v = d.value(ty, 0)?;
    if !d.io.at_end() {
        return Err(d.fail(format!(
            "{} trailing bytes after the value",
            bytes.len().saturating_sub(d.io.pos)
        )));
    }
    Ok(v)
}
