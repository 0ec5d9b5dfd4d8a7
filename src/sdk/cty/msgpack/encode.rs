//! A [`Value`] to msgpack bytes, in the compact forms go-cty writes.

use bigdecimal::BigDecimal;

use super::wire::*;
use crate::cty::conform::check_conforms;
use crate::cty::limits::{deep, MAX_DEPTH};
use crate::cty::numbers::{wire_number, WireNumber};
use crate::cty::path::{index_step, AttributePath, PathStep};
use crate::cty::value::{CtyError, Refinements, Type, Value};
use crate::cty::walker::Walker;

/// Writes the first of `forms` (marker, width in bits; narrowest first) that `fits`,
/// then the low bytes of `be` (the number's 8 big-endian bytes) for that width.
fn write_fixed(out: &mut Vec<u8>, forms: [(u8, u32); 4], fits: impl Fn(u32) -> bool, be: [u8; 8]) {
    let (marker, bits) = forms
        .into_iter()
        .find(|&(_, bits)| fits(bits))
        .unwrap_or(forms[3]);
    out.push(marker);
    out.extend_from_slice(&be[8 - bits as usize / 8..]);
}

fn write_uint(out: &mut Vec<u8>, u: u64) {
    if u <= 0x7f {
        out.push(u as u8);
    } else {
        let forms = [(0xcc, 8), (0xcd, 16), (0xce, 32), (0xcf, 64)];
        write_fixed(
            out,
            forms,
            |bits| bits == 64 || u >> bits == 0,
            u.to_be_bytes(),
        );
    }
}

/// The smallest encoding; non-negative values use the uint forms, as go's msgpack does.
fn write_int(out: &mut Vec<u8>, i: i64) {
    if let Ok(u) = u64::try_from(i) {
        write_uint(out, u);
    } else if i >= -32 {
        out.push(i as u8);
    } else {
        // A negative `i` fits `bits` signed bits when everything above them is sign.
        let forms = [(0xd0, 8), (0xd1, 16), (0xd2, 32), (0xd3, 64)];
        write_fixed(out, forms, |bits| i >> (bits - 1) == -1, i.to_be_bytes());
    }
}

/// Writes a length-prefixed header: `fix` (with its bit mask) when the length fits,
/// else the 8/16/32-bit forms (`None` where the format has no such form).
fn write_len(
    out: &mut Vec<u8>,
    len: usize,
    fix: Option<(u8, usize)>,
    m8: Option<u8>,
    m16: u8,
    m32: u8,
) -> Result<(), String> {
    match fix {
        Some((marker, max)) if len <= max => out.push(marker | len as u8),
        _ => match (
            m8,
            u8::try_from(len),
            u16::try_from(len),
            u32::try_from(len),
        ) {
            (Some(m), Ok(l), _, _) => out.extend([m, l]),
            (_, _, Ok(l), _) => {
                out.push(m16);
                out.extend(l.to_be_bytes());
            }
            (_, _, _, Ok(l)) => {
                out.push(m32);
                out.extend(l.to_be_bytes());
            }
            _ => return Err(format!("length {len} is too large for msgpack")),
        },
    }
    Ok(())
}

fn write_str(out: &mut Vec<u8>, s: &str) -> Result<(), String> {
    write_len(out, s.len(), Some((0xa0, 31)), Some(0xd9), 0xda, 0xdb)?;
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

fn write_bin(out: &mut Vec<u8>, b: &[u8]) -> Result<(), String> {
    write_len(out, b.len(), None, Some(0xc4), 0xc5, 0xc6)?;
    out.extend_from_slice(b);
    Ok(())
}

fn write_array_len(out: &mut Vec<u8>, n: usize) -> Result<(), String> {
    write_len(out, n, Some((0x90, 15)), None, 0xdc, 0xdd)
}

fn write_map_len(out: &mut Vec<u8>, n: usize) -> Result<(), String> {
    write_len(out, n, Some((0x80, 15)), None, 0xde, 0xdf)
}

fn write_ext(out: &mut Vec<u8>, code: i8, payload: &[u8]) -> Result<(), String> {
    let fixed = match payload.len() {
        1 => Some(0xd4),
        2 => Some(0xd5),
        4 => Some(0xd6),
        8 => Some(0xd7),
        16 => Some(0xd8),
        _ => None,
    };
    match fixed {
        Some(m) => out.push(m),
        None => write_len(out, payload.len(), None, Some(0xc7), 0xc8, 0xc9)?,
    }
    out.extend(code.to_be_bytes());
    out.extend_from_slice(payload);
    Ok(())
}

fn write_number(out: &mut Vec<u8>, n: &BigDecimal) -> Result<(), String> {
    match wire_number(n)? {
        WireNumber::Int(i) => write_int(out, i),
        WireNumber::Float(f) => {
            out.push(0xcb);
            out.extend(f.to_be_bytes());
        }
        WireNumber::Text(t) => write_str(out, &t)?,
    }
    Ok(())
}

/// What go-cty's encoder keeps of a string-prefix refinement: up to
/// [`MAX_PREFIX_BYTES`] as is; a longer one is cut to one byte less and then loses its
/// last character (which text appended later could combine with) unless that is one
/// of the delimiters go-cty's `SafeKnownPrefix` trusts to end a grapheme cluster.
fn weakened_prefix(prefix: &str) -> &str {
    if prefix.len() <= MAX_PREFIX_BYTES {
        return prefix;
    }
    let cut = truncate_str(prefix, MAX_PREFIX_BYTES - 1);
    let mut chars = cut.chars();
    match chars.next_back() {
        Some(last) if ends_grapheme_cluster(last) => cut,
        _ => chars.as_str(),
    }
}

/// The characters go-cty (`ctystrings.sequenceMustEndGraphemeCluster`) treats as
/// safe to end a known prefix.
fn ends_grapheme_cluster(c: char) -> bool {
    matches!(
        c,
        '-' | '_'
            | ':'
            | ';'
            | '/'
            | '\\'
            | ','
            | '.'
            | '('
            | ')'
            | '{'
            | '}'
            | '['
            | ']'
            | '|'
            | '?'
            | '!'
            | '~'
            | ' '
            | '\t'
            | '@'
            | '#'
            | '$'
            | '%'
            | '^'
            | '&'
            | '*'
            | '+'
            | '"'
            | '\''
    )
}

/// The longest prefix of `s` of at most `max` bytes that ends on a char boundary.
fn truncate_str(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

/// The ext-12 payload for the refinements that apply to `ty`, or `None` when none do.
/// Over-long refinements are weakened (never strengthened) to keep the payload small.
fn refinement_payload(rf: &Refinements, ty: &Type) -> Result<Option<Vec<u8>>, String> {
    let mut body = Vec::new();
    let mut entries = 0usize;
    if rf.not_null {
        entries += 1;
        write_int(&mut body, REFINE_NULLNESS);
        body.push(0xc2);
    }
    match ty {
        Type::String => {
            if let Some(prefix) = rf.string_prefix.as_deref() {
                let cut = weakened_prefix(prefix);
                if !cut.is_empty() {
                    entries += 1;
                    write_int(&mut body, REFINE_STRING_PREFIX);
                    write_str(&mut body, cut)?;
                }
            }
        }
        Type::Number => {
            for (key, bound) in [
                (REFINE_NUMBER_MIN, &rf.number_lower),
                (REFINE_NUMBER_MAX, &rf.number_upper),
            ] {
                if let Some((n, inclusive)) = bound {
                    let mut entry = Vec::new();
                    write_int(&mut entry, key);
                    write_array_len(&mut entry, 2)?;
                    write_number(&mut entry, n)?;
                    entry.push(if *inclusive { 0xc3 } else { 0xc2 });
                    if entry.len() <= MAX_BOUND_BYTES {
                        entries += 1;
                        body.extend(entry);
                    }
                }
            }
        }
        Type::List(_) | Type::Set(_) | Type::Map(_) => {
            if let Some(min) = rf.length_min.filter(|m| *m > 0) {
                entries += 1;
                write_int(&mut body, REFINE_LENGTH_MIN);
                write_uint(&mut body, min);
            }
            if let Some(max) = rf.length_max {
                entries += 1;
                write_int(&mut body, REFINE_LENGTH_MAX);
                write_uint(&mut body, max);
            }
        }
        _ => {}
    }
    if entries == 0 {
        return Ok(None);
    }
    let mut payload = Vec::with_capacity(body.len() + 1);
    write_map_len(&mut payload, entries)?;
    payload.extend(body);
    Ok(Some(payload))
}

/// The encoder: it writes msgpack bytes.
type Encoder = Walker<Vec<u8>>;

impl Encoder {
    fn value(&mut self, v: &Value, ty: &Type, depth: usize) -> Result<(), CtyError> {
        deep(|| self.value_here(v, ty, depth))
    }

    /// One level of [`Self::value`], run by it on a stack with room to spare.
    fn value_here(&mut self, v: &Value, ty: &Type, depth: usize) -> Result<(), CtyError> {
        if depth > MAX_DEPTH {
            return Err(self.mismatch(ty, format!("nested more than {MAX_DEPTH} levels deep")));
        }
        match (v, ty) {
            // A dynamic unknown can carry no refinements on the wire.
            (Value::Unknown(_), Type::Dynamic) => self.io.extend(PLAIN_UNKNOWN),
            (Value::Unknown(rf), _) => {
                match refinement_payload(rf, ty).map_err(|e| self.mismatch(ty, e))? {
                    None => self.io.extend(PLAIN_UNKNOWN),
                    Some(payload) => write_ext(&mut self.io, EXT_REFINED_UNKNOWN, &payload)
                        .map_err(|e| self.mismatch(ty, e))?,
                }
            }
            (Value::Null, _) => self.io.push(0xc0),
            (Value::Dynamic(d), Type::Dynamic) => {
                let (cty, inner) = &**d;
                write_array_len(&mut self.io, 2).map_err(|e| self.mismatch(ty, e))?;
                write_bin(&mut self.io, &cty.to_json_bytes()).map_err(|e| self.mismatch(ty, e))?;
                self.value(inner, cty, depth + 1)?;
            }
            (Value::String(s), Type::String) => {
                write_str(&mut self.io, s).map_err(|e| self.mismatch(ty, e))?;
            }
            (Value::Number(n), Type::Number) => match n.as_i64() {
                Some(i) => write_int(&mut self.io, i),
                None => write_number(&mut self.io, &n.big()).map_err(|e| self.mismatch(ty, e))?,
            },
            // go-cty writes infinities as float64.
            (Value::Infinity { negative }, Type::Number) => {
                let f = if *negative {
                    f64::NEG_INFINITY
                } else {
                    f64::INFINITY
                };
                self.io.push(0xcb);
                self.io.extend(f.to_be_bytes());
            }
            (Value::Bool(b), Type::Bool) => self.io.push(if *b { 0xc3 } else { 0xc2 }),
            (Value::List(vs), Type::List(ety)) | (Value::Set(vs), Type::Set(ety)) => {
                write_array_len(&mut self.io, vs.len()).map_err(|e| self.mismatch(ty, e))?;
                for (i, ev) in vs.iter().enumerate() {
                    self.path.push(index_step(i));
                    self.value(ev, ety, depth + 1)?;
                    self.path.pop();
                }
            }
            (Value::List(vs), Type::Tuple(etys)) if vs.len() == etys.len() => {
                write_array_len(&mut self.io, vs.len()).map_err(|e| self.mismatch(ty, e))?;
                for (i, (ev, ety)) in vs.iter().zip(etys).enumerate() {
                    self.path.push(index_step(i));
                    self.value(ev, ety, depth + 1)?;
                    self.path.pop();
                }
            }
            (Value::Map(m), Type::Map(ety)) => {
                write_map_len(&mut self.io, m.len()).map_err(|e| self.mismatch(ty, e))?;
                for (k, ev) in m {
                    self.path.push(PathStep::Key(k.clone()));
                    write_str(&mut self.io, k).map_err(|e| self.mismatch(ty, e))?;
                    self.value(ev, ety, depth + 1)?;
                    self.path.pop();
                }
            }
            (Value::Map(m), Type::Object(atys)) if m.len() == atys.len() => {
                write_map_len(&mut self.io, atys.len()).map_err(|e| self.mismatch(ty, e))?;
                for (name, aty) in atys {
                    let Some(av) = m.get(name) else {
                        return Err(self.mismatch(ty, format!("missing attribute {name:?}")));
                    };
                    self.path.push(PathStep::Attr(name.clone()));
                    write_str(&mut self.io, name).map_err(|e| self.mismatch(ty, e))?;
                    self.value(av, aty, depth + 1)?;
                    self.path.pop();
                }
            }
            _ => return Err(self.mismatch(ty, format!("found {}", v.describe()))),
        }
        Ok(())
    }
}

/// Encodes `v` as msgpack according to `ty`.
pub fn to_msgpack(v: &Value, ty: &Type) -> Result<Vec<u8>, CtyError> {
    check_conforms(v, ty, &mut AttributePath::root())?;
    let mut e = Encoder::new(Vec::new());
    e.value(v, ty, 0)?;
    Ok(e.io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cty::from_msgpack;

    #[test]
    fn ints_use_smallest_form() {
        let enc = |i: i64| {
            let mut v = Vec::new();
            write_int(&mut v, i);
            v
        };
        assert_eq!(enc(0), [0x00]);
        assert_eq!(enc(127), [0x7f]);
        assert_eq!(enc(128), [0xcc, 0x80]);
        assert_eq!(enc(256), [0xcd, 0x01, 0x00]);
        assert_eq!(enc(65536), [0xce, 0, 1, 0, 0]);
        assert_eq!(enc(1 << 32), [0xcf, 0, 0, 0, 1, 0, 0, 0, 0]);
        assert_eq!(enc(-1), [0xff]);
        assert_eq!(enc(-32), [0xe0]);
        assert_eq!(enc(-33), [0xd0, 0xdf]);
        assert_eq!(enc(-129), [0xd1, 0xff, 0x7f]);
        assert_eq!(enc(-32769), [0xd2, 0xff, 0xff, 0x7f, 0xff]);
        assert_eq!(enc(i64::MIN), [0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn long_prefix_is_weakened_not_rejected() {
        let rf = Refinements {
            string_prefix: Some("é".repeat(300)),
            ..Default::default()
        };
        let bytes = to_msgpack(&Value::Unknown(Box::new(rf)), &Type::String).unwrap();
        let back = from_msgpack(&bytes, &Type::String).unwrap();
        let Value::Unknown(back) = &back else {
            panic!()
        };
        let p = back.string_prefix.as_deref().unwrap();
        assert!(p.len() <= MAX_PREFIX_BYTES && p.len() >= MAX_PREFIX_BYTES - 4);
        assert!("é".repeat(300).starts_with(p));
    }
}
