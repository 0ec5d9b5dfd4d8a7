//! Terraform's JSON encoding of cty values (go-cty `cty/json`).
//!
//! Decoding parses into `serde_json::Value` first (`arbitrary_precision` keeps numbers
//! exact), then walks it by type. The parse is bounded by [`MAX_DEPTH`], the same limit
//! as msgpack's, checked by an iterative scan before serde_json's recursive parser runs.
//! Encoding writes text directly so numbers keep full precision and dynamic values come
//! out as `{"value":…,"type":…}` like go-cty.

use std::fmt::Write as _;

use serde_json::Value as J;

use super::bounded_json::parse_bounded;
use super::conform::check_conforms;
use super::limits::{deep, MAX_DEPTH};
use super::numbers::{number_text, number_value};
use super::path::{index_step, AttributePath, PathStep};
use super::value::{CtyError, Type, Value};
use super::walker::Walker;

/// The decoder: it reads a parsed `serde_json::Value`, so it holds no input.
type Decoder = Walker<()>;

impl Decoder {
    fn fail(&self, reason: impl Into<String>) -> CtyError {
        self.malformed("json", reason)
    }

    fn value(&mut self, j: &J, ty: &Type, depth: usize) -> Result<Value, CtyError> {
        deep(|| self.value_here(j, ty, depth))
    }

    /// One level of [`Self::value`], run by it on a stack with room to spare.
    fn value_here(&mut self, j: &J, ty: &Type, depth: usize) -> Result<Value, CtyError> {
        if depth > MAX_DEPTH {
            return Err(self.fail(format!("nested more than {MAX_DEPTH} levels deep")));
        }
        if j.is_null() {
            return Ok(Value::Null);
        }
        let wrong =
            |d: &Self, what: &str| d.fail(format!("{what} is required, found {}", json_kind(j)));
        match ty {
            // go-cty converts numbers and bools given for a string.
            Type::String => match j {
                J::String(s) => Ok(Value::String(s.clone())),
                J::Number(n) => Ok(Value::String(n.as_str().to_owned())),
                J::Bool(b) => Ok(Value::String(b.to_string())),
                _ => Err(wrong(self, "string")),
            },
            // ...and numeric strings given for a number, go-cty's `+Inf`/`-Inf` included.
            Type::Number => match j {
                J::Number(n) => number_value(n.as_str()),
                J::String(s) => number_value(s),
                _ => return Err(wrong(self, "number")),
            }
            .map_err(|e| self.fail(e)),
            // ...and the strings "true"/"1"/"false"/"0" given for a bool.
            Type::Bool => match j {
                J::Bool(b) => Ok(Value::Bool(*b)),
                J::String(s) if s == "true" || s == "1" => Ok(Value::Bool(true)),
                J::String(s) if s == "false" || s == "0" => Ok(Value::Bool(false)),
                _ => Err(wrong(self, "bool")),
            },
            Type::List(ety) | Type::Set(ety) => {
                let J::Array(items) = j else {
                    return Err(wrong(self, "array"));
                };
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    self.path.push(index_step(i));
                    out.push(self.value(item, ety, depth + 1)?);
                    self.path.pop();
                }
                Ok(Value::list_or_set(ty, out))
            }
            Type::Tuple(etys) => {
                let J::Array(items) = j else {
                    return Err(wrong(self, "array"));
                };
                if items.len() != etys.len() {
                    return Err(self.fail(format!(
                        "a tuple of {} elements is required, found {}",
                        etys.len(),
                        items.len()
                    )));
                }
                let mut out = Vec::with_capacity(items.len());
                for (i, (item, ety)) in items.iter().zip(etys).enumerate() {
                    self.path.push(index_step(i));
                    out.push(self.value(item, ety, depth + 1)?);
                    self.path.pop();
                }
                Ok(Value::List(out.into()))
            }
            Type::Map(ety) => {
                let J::Object(entries) = j else {
                    return Err(wrong(self, "object"));
                };
                let mut out = Vec::with_capacity(entries.len());
                for (k, item) in entries {
                    self.path.push(PathStep::Key(k.clone()));
                    out.push((k.clone(), self.value(item, ety, depth + 1)?));
                    self.path.pop();
                }
                Ok(Value::Map(out.into_iter().collect()))
            }
            Type::Object(atys) => {
                let J::Object(entries) = j else {
                    return Err(wrong(self, "object"));
                };
                if let Some(extra) = entries.keys().find(|k| !atys.contains_key(*k)) {
                    return Err(self.fail(format!("unsupported attribute {extra:?}")));
                }
                let mut out = Vec::with_capacity(atys.len());
                for (name, aty) in atys {
                    self.path.push(PathStep::Attr(name.clone()));
                    // Missing attributes are null.
                    let v = match entries.get(name) {
                        Some(item) => self.value(item, aty, depth + 1)?,
                        None => Value::Null,
                    };
                    self.path.pop();
                    out.push((name.clone(), v));
                }
                Ok(Value::Map(out.into_iter().collect()))
            }
            Type::Dynamic => {
                let J::Object(entries) = j else {
                    return Err(wrong(self, "object with \"value\" and \"type\""));
                };
                if let Some(extra) = entries.keys().find(|k| *k != "value" && *k != "type") {
                    return Err(
                        self.fail(format!("invalid key {extra:?} in dynamically-typed value"))
                    );
                }
                let ty_json = entries
                    .get("type")
                    .ok_or_else(|| self.fail("missing type in dynamically-typed value"))?;
                let item = entries
                    .get("value")
                    .ok_or_else(|| self.fail("missing value in dynamically-typed value"))?;
                let cty = Type::from_json_value(ty_json)
                    .map_err(|e| self.fail(format!("dynamic value has an invalid type: {e}")))?;
                let v = self.value(item, &cty, depth + 1)?;
                Ok(Value::Dynamic(Box::new((cty, v))))
            }
        }
    }
}

fn json_kind(j: &J) -> &'static str {
    match j {
        J::Null => "null",
        J::Bool(_) => "bool",
        J::Number(_) => "number",
        J::String(_) => "string",
        J::Array(_) => "array",
        J::Object(_) => "object",
    }
}

/// Decodes JSON bytes as a value of `ty`. Missing object attributes are null.
pub fn from_json(bytes: &[u8], ty: &Type) -> Result<Value, CtyError> {
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    let j = parse_bounded(bytes).map_err(|reason| CtyError::Malformed {
        encoding: "json",
        path: AttributePath::root(),
        reason,
    })?;
    Decoder::new(()).value(&j.0, ty, 0)
}

/// The encoder: it writes JSON text.
type Encoder = Walker<String>;

impl Encoder {
    fn string(&mut self, s: &str) {
        self.io.push('"');
        for c in s.chars() {
            match c {
                '"' => self.io.push_str("\\\""),
                '\\' => self.io.push_str("\\\\"),
                '\n' => self.io.push_str("\\n"),
                '\r' => self.io.push_str("\\r"),
                '\t' => self.io.push_str("\\t"),
                c if u32::from(c) < 0x20 => {
                    let _ = write!(self.io, "\\u{:04x}", u32::from(c));
                }
                c => self.io.push(c),
            }
        }
        self.io.push('"');
    }

    fn value(&mut self, v: &Value, ty: &Type, depth: usize) -> Result<(), CtyError> {
        deep(|| self.value_here(v, ty, depth))
    }

    /// One level of [`Self::value`], run by it on a stack with room to spare.
    fn value_here(&mut self, v: &Value, ty: &Type, depth: usize) -> Result<(), CtyError> {
        if depth > MAX_DEPTH {
            return Err(self.mismatch(ty, format!("nested more than {MAX_DEPTH} levels deep")));
        }
        match (v, ty) {
            (Value::Unknown(_), _) => return Err(CtyError::UnknownInJson(self.path.clone())),
            (Value::Null, _) => self.io.push_str("null"),
            (Value::Dynamic(d), Type::Dynamic) => {
                let (cty, inner) = &**d;
                self.io.push_str("{\"value\":");
                self.value(inner, cty, depth + 1)?;
                self.io.push_str(",\"type\":");
                cty.write_json(&mut self.io);
                self.io.push('}');
            }
            (Value::String(s), Type::String) => self.string(s),
            (Value::Number(n), Type::Number) => {
                let text = match n.as_i64() {
                    Some(i) => i.to_string(),
                    None => number_text(&n.big()).map_err(|e| self.mismatch(ty, e))?,
                };
                self.io.push_str(&text);
            }
            // As in go-cty: JSON has no infinity, and a string would change the type.
            (Value::Infinity { .. }, Type::Number) => {
                return Err(self.mismatch(ty, "infinity cannot be encoded as JSON"));
            }
            (Value::Bool(b), Type::Bool) => self.io.push_str(if *b { "true" } else { "false" }),
            (Value::List(vs), Type::List(ety)) | (Value::Set(vs), Type::Set(ety)) => {
                self.elements(vs.iter().map(|ev| (ev, &**ety)), depth)?;
            }
            (Value::List(vs), Type::Tuple(etys)) if vs.len() == etys.len() => {
                self.elements(vs.iter().zip(etys), depth)?;
            }
            (Value::Map(m), Type::Map(ety)) => {
                let members = m
                    .iter()
                    .map(|(k, ev)| (k, PathStep::Key(k.clone()), ev, &**ety));
                self.members(members, depth)?;
            }
            (Value::Map(m), Type::Object(atys)) if m.len() == atys.len() => {
                let mut members = Vec::with_capacity(atys.len());
                for (name, aty) in atys {
                    let Some(av) = m.get(name) else {
                        return Err(self.mismatch(ty, format!("missing attribute {name:?}")));
                    };
                    members.push((name, PathStep::Attr(name.clone()), av, aty));
                }
                self.members(members, depth)?;
            }
            _ => return Err(self.mismatch(ty, format!("found {}", v.describe()))),
        }
        Ok(())
    }

    /// Writes `[value,...]`: a list's, set's or tuple's elements, each at its index.
    fn elements<'v>(
        &mut self,
        elements: impl IntoIterator<Item = (&'v Value, &'v Type)>,
        depth: usize,
    ) -> Result<(), CtyError> {
        self.io.push('[');
        for (i, (v, ty)) in elements.into_iter().enumerate() {
            if i > 0 {
                self.io.push(',');
            }
            self.path.push(index_step(i));
            self.value(v, ty, depth + 1)?;
            self.path.pop();
        }
        self.io.push(']');
        Ok(())
    }

    /// Writes `{"name":value,...}`: a map's or an object's members, each at its path step.
    fn members<'v>(
        &mut self,
        members: impl IntoIterator<Item = (&'v String, PathStep, &'v Value, &'v Type)>,
        depth: usize,
    ) -> Result<(), CtyError> {
        self.io.push('{');
        for (i, (name, step, v, ty)) in members.into_iter().enumerate() {
            if i > 0 {
                self.io.push(',');
            }
            self.string(name);
            self.io.push(':');
            self.path.push(step);
            self.value(v, ty, depth + 1)?;
            self.path.pop();
        }
        self.io.push('}');
        Ok(())
    }
}

/// Encodes `v` as JSON according to `ty`. Unknown values are an error.
pub fn to_json(v: &Value, ty: &Type) -> Result<Vec<u8>, CtyError> {
    check_conforms(v, ty, &mut AttributePath::root())?;
    let mut e = Encoder::new(String::new());
    e.value(v, ty, 0)?;
    Ok(e.io.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_strings_like_serde() {
        let s = "a\"b\\c\n\u{1}\u{7f}é\u{2028}";
        let bytes = to_json(&Value::string(s), &Type::String).unwrap();
        let back: String = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back, s);
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "\"a\\\"b\\\\c\\n\\u0001\u{7f}é\u{2028}\""
        );
    }

    #[test]
    fn lenient_primitive_conversions_like_go_cty() {
        assert_eq!(from_json(b"12", &Type::String), Ok(Value::string("12")));
        assert_eq!(from_json(b"true", &Type::String), Ok(Value::string("true")));
        assert_eq!(
            from_json(b"\"1.5\"", &Type::Number)
                .unwrap()
                .as_number()
                .unwrap()
                .to_string(),
            "1.5"
        );
        assert_eq!(from_json(b"\"1\"", &Type::Bool), Ok(Value::Bool(true)));
        assert_eq!(from_json(b"\"false\"", &Type::Bool), Ok(Value::Bool(false)));
        assert!(from_json(b"\"True\"", &Type::Bool).is_err());
        assert!(from_json(b"\"abc\"", &Type::Number).is_err());
    }

    #[test]
    fn unknown_reports_its_path() {
        let ty = Type::object([("a", Type::list(Type::String))]);
        let v = Value::object([(
            "a",
            Value::List(vec![Value::string("x"), Value::unknown()].into()),
        )]);
        assert_eq!(
            to_json(&v, &ty),
            Err(CtyError::UnknownInJson(
                AttributePath::attr("a").at_index(1)
            ))
        );
    }

    #[test]
    fn deep_json_is_an_error_not_a_crash() {
        let deep = "[".repeat(100_000);
        assert!(from_json(deep.as_bytes(), &Type::Dynamic).is_err());
        let mut ty = Type::String;
        for _ in 0..300 {
            ty = Type::list(ty);
        }
        let text = format!("{}{}", "[".repeat(100), "]".repeat(100));
        assert!(from_json(text.as_bytes(), &ty).is_ok());
    }
}
