//! Terraform's msgpack encoding of cty values (go-cty `cty/msgpack`, Terraform's
//! `docs/plugin-protocol/object-wire-format.md`).
//!
//! The reader and writer are hand-rolled rather than built on a generic msgpack
//! library: every length on the wire is untrusted, so nothing is preallocated from
//! one, every read is bounds-checked, and nesting is capped at [`MAX_DEPTH`].
//!
//! Also home to the number helpers shared with the JSON codec.

use std::collections::BTreeMap;

use bigdecimal::BigDecimal;
use num_bigint::{BigInt, Sign};

use super::conform::{check_conforms, MAX_DEPTH};
use super::path::{index_step, AttributePath, PathStep};
use super::value::{CtyError, Refinements, Type, Value};

/// Terraform rejects refinement payloads above 1 KiB, so we never read or write more.
const MAX_REFINEMENT_PAYLOAD: usize = 1024;
/// A string-prefix refinement is cut to this many bytes so the payload stays small.
const MAX_PREFIX_BYTES: usize = 256;
/// A number-bound refinement whose encoding is longer than this is dropped.
const MAX_BOUND_BYTES: usize = 256;

/// The ext type go-cty uses for an unknown value that carries refinements.
const EXT_REFINED_UNKNOWN: i8 = 12;
/// What Terraform writes for a plain unknown: fixext1, type 0, one zero byte.
const PLAIN_UNKNOWN: [u8; 3] = [0xd4, 0, 0];

const REFINE_NULLNESS: i64 = 1;
const REFINE_STRING_PREFIX: i64 = 2;
const REFINE_NUMBER_MIN: i64 = 3;
const REFINE_NUMBER_MAX: i64 = 4;
const REFINE_LENGTH_MIN: i64 = 5;
const REFINE_LENGTH_MAX: i64 = 6;

// ---------------------------------------------------------------------------
// Numbers (shared with json.rs)
// ---------------------------------------------------------------------------

/// Largest decimal exponent (|scale| after normalising) a number may have. Far beyond
/// anything Terraform produces (it keeps 512-bit floats), small enough that writing the
/// number out in plain decimal form, as the wire formats require, stays cheap.
pub(super) const MAX_DECIMAL_EXPONENT: i64 = 20_000;
/// Longest number text accepted, so parsing cannot be made quadratic-slow.
const MAX_NUMBER_TEXT: usize = 2 * MAX_DECIMAL_EXPONENT as usize + 64;

/// How a number travels in msgpack.
#[derive(Debug, PartialEq)]
enum WireNumber {
    /// Exactly an int64.
    Int(i64),
    /// Not an integer, and exactly a float64.
    Float(f64),
    /// Anything else, as plain decimal text.
    Text(String),
}

/// Normalises a number (strips trailing zeros) and checks its exponent is in range.
fn normalized_checked(n: &BigDecimal) -> Result<BigDecimal, String> {
    let n = n.normalized();
    let (_, scale) = n.as_bigint_and_scale();
    if scale.unsigned_abs() > MAX_DECIMAL_EXPONENT.unsigned_abs() {
        return Err(format!(
            "number exponent {} is out of the supported range ±{MAX_DECIMAL_EXPONENT}",
            -scale
        ));
    }
    Ok(n)
}

/// Plain (never scientific) decimal text of `digits × 10^-scale`, like Go's `Text('f', -1)`.
fn plain_text(digits: &BigInt, scale: i64) -> String {
    let mut s = digits.magnitude().to_string();
    if scale <= 0 {
        s.extend(std::iter::repeat_n('0', scale.unsigned_abs() as usize));
    } else {
        let scale = scale.unsigned_abs() as usize;
        if s.len() <= scale {
            let pad = "0".repeat(scale + 1 - s.len());
            s.insert_str(0, &pad);
        }
        s.insert(s.len() - scale, '.');
    }
    if digits.sign() == Sign::Minus {
        s.insert(0, '-');
    }
    s
}

/// The number as plain decimal text, as the JSON encoding and msgpack strings carry it.
pub(super) fn number_text(n: &BigDecimal) -> Result<String, String> {
    let n = normalized_checked(n)?;
    let (digits, scale) = n.as_bigint_and_scale();
    Ok(plain_text(&digits, scale))
}

/// Parses a decimal number: `[+-]digits[.digits][(e|E)[+-]digits]` (either side of the
/// point may be empty, not both). Infinities and NaN are not numbers here.
pub(super) fn parse_number(text: &str) -> Result<BigDecimal, String> {
    if text.len() > MAX_NUMBER_TEXT {
        return Err(format!("number text of {} bytes is too long", text.len()));
    }
    let bad = || format!("{text:?} is not a decimal number");
    let b = text.as_bytes();
    let mut i = 0;
    let negative = match b.first() {
        Some(b'-') => {
            i = 1;
            true
        }
        Some(b'+') => {
            i = 1;
            false
        }
        _ => false,
    };
    let mut digits = Vec::with_capacity(b.len());
    let mut frac_len: i64 = 0;
    while let Some(&c) = b.get(i).filter(|c| c.is_ascii_digit()) {
        digits.push(c);
        i += 1;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while let Some(&c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            digits.push(c);
            frac_len += 1;
            i += 1;
        }
    }
    if digits.is_empty() {
        return Err(bad());
    }
    let mut exp: i64 = 0;
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        let exp_negative = match b.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let start = i;
        while let Some(&c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            exp = exp
                .checked_mul(10)
                .and_then(|e| e.checked_add(i64::from(c - b'0')))
                .filter(|e| *e <= 1_000_000_000)
                .ok_or_else(|| format!("number {text:?} has an out-of-range exponent"))?;
            i += 1;
        }
        if i == start {
            return Err(bad());
        }
        if exp_negative {
            exp = -exp;
        }
    }
    if i != b.len() {
        return Err(bad());
    }
    let magnitude = BigInt::parse_bytes(&digits, 10).ok_or_else(bad)?;
    let value = if negative { -magnitude } else { magnitude };
    normalized_checked(&BigDecimal::new(value, frac_len - exp))
}

/// The exact value of a finite float; an error for NaN and infinities, which a
/// `BigDecimal` cannot hold.
pub(super) fn number_from_f64(f: f64) -> Result<BigDecimal, String> {
    if !f.is_finite() {
        return Err(format!("{f} is not a finite number"));
    }
    let bits = f.to_bits();
    let negative = bits >> 63 != 0;
    let biased_exp = ((bits >> 52) & 0x7ff) as i64;
    let fraction = bits & ((1u64 << 52) - 1);
    // f = mantissa × 2^exp exactly.
    let (mantissa, exp) = if biased_exp == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1u64 << 52), biased_exp - 1075)
    };
    let mut digits = BigInt::from(mantissa);
    let scale = if exp >= 0 {
        digits <<= exp.unsigned_abs();
        0
    } else {
        // m × 2^-k = m × 5^k / 10^k
        let k = exp.unsigned_abs() as u32;
        digits *= BigInt::from(5u8).pow(k);
        i64::from(k)
    };
    if negative {
        digits = -digits;
    }
    Ok(BigDecimal::new(digits, scale).normalized())
}

/// Picks the msgpack form go-cty would: int64 if exact, float64 if a non-integer that
/// float64 holds exactly, decimal text otherwise.
fn wire_number(n: &BigDecimal) -> Result<WireNumber, String> {
    let n = normalized_checked(n)?;
    let (digits, scale) = n.as_bigint_and_scale();
    if scale <= 0 {
        // An integer; beyond 10^18 × digits it cannot be an int64 anyway.
        if scale >= -18 {
            let full = digits.as_ref() * BigInt::from(10u8).pow(scale.unsigned_abs() as u32);
            if let Ok(i) = i64::try_from(&full) {
                return Ok(WireNumber::Int(i));
            }
        }
        return Ok(WireNumber::Text(plain_text(&digits, scale)));
    }
    let text = plain_text(&digits, scale);
    if let Ok(f) = text.parse::<f64>() {
        if number_from_f64(f).is_ok_and(|exact| exact == n) {
            return Ok(WireNumber::Float(f));
        }
    }
    Ok(WireNumber::Text(text))
}

// ---------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------

/// One msgpack item header; strings, binaries and extensions come with their payload.
#[derive(Debug, Clone, Copy)]
enum Head<'a> {
    Nil,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(&'a [u8]),
    Bin(&'a [u8]),
    Array(usize),
    Map(usize),
    Ext(i8, &'a [u8]),
}

impl Head<'_> {
    fn describe(&self) -> &'static str {
        match self {
            Head::Nil => "nil",
            Head::Bool(_) => "bool",
            Head::Int(_) | Head::Uint(_) => "integer",
            Head::Float(_) => "float",
            Head::Str(_) => "string",
            Head::Bin(_) => "binary",
            Head::Array(_) => "array",
            Head::Map(_) => "map",
            Head::Ext(..) => "extension",
        }
    }
}

/// A bounds-checked cursor over msgpack bytes.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.buf.len())
            .ok_or_else(|| {
                format!(
                    "truncated input: {n} more bytes expected at offset {}",
                    self.pos
                )
            })?;
        let s = self.buf.get(self.pos..end).ok_or("truncated input")?;
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.array::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16, String> {
        Ok(u16::from_be_bytes(self.array()?))
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    fn len8(&mut self) -> Result<usize, String> {
        Ok(usize::from(self.u8()?))
    }
    fn len16(&mut self) -> Result<usize, String> {
        Ok(usize::from(self.u16()?))
    }
    fn len32(&mut self) -> Result<usize, String> {
        usize::try_from(self.u32()?).map_err(|_| "length does not fit in memory".to_string())
    }

    fn ext(&mut self, len: usize) -> Result<Head<'a>, String> {
        let code = i8::from_be_bytes(self.array()?);
        Ok(Head::Ext(code, self.take(len)?))
    }

    /// Reads one header (and the payload of a string, binary or extension).
    fn head(&mut self) -> Result<Head<'a>, String> {
        let marker = self.u8()?;
        Ok(match marker {
            0x00..=0x7f => Head::Uint(u64::from(marker)),
            0x80..=0x8f => Head::Map(usize::from(marker & 0x0f)),
            0x90..=0x9f => Head::Array(usize::from(marker & 0x0f)),
            0xa0..=0xbf => Head::Str(self.take(usize::from(marker & 0x1f))?),
            0xc0 => Head::Nil,
            0xc1 => return Err("invalid msgpack marker 0xc1".into()),
            0xc2 => Head::Bool(false),
            0xc3 => Head::Bool(true),
            0xc4 => {
                let n = self.len8()?;
                Head::Bin(self.take(n)?)
            }
            0xc5 => {
                let n = self.len16()?;
                Head::Bin(self.take(n)?)
            }
            0xc6 => {
                let n = self.len32()?;
                Head::Bin(self.take(n)?)
            }
            0xc7 => {
                let n = self.len8()?;
                self.ext(n)?
            }
            0xc8 => {
                let n = self.len16()?;
                self.ext(n)?
            }
            0xc9 => {
                let n = self.len32()?;
                self.ext(n)?
            }
            0xca => Head::Float(f64::from(f32::from_be_bytes(self.array()?))),
            0xcb => Head::Float(f64::from_be_bytes(self.array()?)),
            0xcc => Head::Uint(u64::from(self.u8()?)),
            0xcd => Head::Uint(u64::from(self.u16()?)),
            0xce => Head::Uint(u64::from(self.u32()?)),
            0xcf => Head::Uint(u64::from_be_bytes(self.array()?)),
            0xd0 => Head::Int(i64::from(i8::from_be_bytes(self.array()?))),
            0xd1 => Head::Int(i64::from(i16::from_be_bytes(self.array()?))),
            0xd2 => Head::Int(i64::from(i32::from_be_bytes(self.array()?))),
            0xd3 => Head::Int(i64::from_be_bytes(self.array()?)),
            0xd4 => self.ext(1)?,
            0xd5 => self.ext(2)?,
            0xd6 => self.ext(4)?,
            0xd7 => self.ext(8)?,
            0xd8 => self.ext(16)?,
            0xd9 => {
                let n = self.len8()?;
                Head::Str(self.take(n)?)
            }
            0xda => {
                let n = self.len16()?;
                Head::Str(self.take(n)?)
            }
            0xdb => {
                let n = self.len32()?;
                Head::Str(self.take(n)?)
            }
            0xdc => Head::Array(self.len16()?),
            0xdd => Head::Array(self.len32()?),
            0xde => Head::Map(self.len16()?),
            0xdf => Head::Map(self.len32()?),
            0xe0..=0xff => Head::Int(i64::from(marker as i8)),
        })
    }

    /// Skips one whole item (for refinement keys we do not know).
    fn skip(&mut self, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err("nested too deeply".into());
        }
        match self.head()? {
            Head::Array(n) => {
                for _ in 0..n {
                    self.skip(depth + 1)?;
                }
            }
            Head::Map(n) => {
                for _ in 0..n {
                    self.skip(depth + 1)?;
                    self.skip(depth + 1)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

fn utf8(b: &[u8]) -> Result<String, String> {
    std::str::from_utf8(b)
        .map(str::to_owned)
        .map_err(|e| format!("string is not valid UTF-8: {e}"))
}

/// A number from any of the encodings go-cty accepts: int, uint, float32/64, or text.
fn number_from_head(head: Head<'_>) -> Result<BigDecimal, String> {
    match head {
        Head::Int(i) => Ok(BigDecimal::from(i)),
        Head::Uint(u) => Ok(BigDecimal::from(u)),
        Head::Float(f) => number_from_f64(f),
        Head::Str(b) | Head::Bin(b) => parse_number(&utf8(b)?),
        other => Err(format!("number is required, found {}", other.describe())),
    }
}

struct Decoder<'a> {
    r: Reader<'a>,
    path: AttributePath,
}

impl<'a> Decoder<'a> {
    fn fail(&self, reason: impl Into<String>) -> CtyError {
        CtyError::Malformed {
            encoding: "msgpack",
            path: self.path.clone(),
            reason: reason.into(),
        }
    }

    fn head(&mut self) -> Result<Head<'a>, CtyError> {
        self.r.head().map_err(|e| self.fail(e))
    }

    fn value(&mut self, ty: &Type, depth: usize) -> Result<Value, CtyError> {
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
            Type::Number => number_from_head(head)
                .map(Value::Number)
                .map_err(|e| self.fail(e)),
            Type::Bool => match head {
                Head::Bool(b) => Ok(Value::Bool(b)),
                _ => Err(wrong(self, "bool")),
            },
            Type::List(ety) | Type::Set(ety) => {
                let Head::Array(n) = head else {
                    return Err(wrong(self, "array"));
                };
                let mut out = Vec::new();
                for i in 0..n {
                    self.path.push(index_step(i));
                    out.push(self.value(ety, depth + 1)?);
                    self.path.pop();
                }
                Ok(if matches!(ty, Type::Set(_)) {
                    Value::Set(out)
                } else {
                    Value::List(out)
                })
            }
            Type::Tuple(etys) => {
                let Head::Array(n) = head else {
                    return Err(wrong(self, "array"));
                };
                if n != etys.len() {
                    return Err(self.fail(format!(
                        "a tuple of {} elements is required, found {n}",
                        etys.len()
                    )));
                }
                let mut out = Vec::new();
                for (i, ety) in etys.iter().enumerate() {
                    self.path.push(index_step(i));
                    out.push(self.value(ety, depth + 1)?);
                    self.path.pop();
                }
                Ok(Value::List(out))
            }
            Type::Map(ety) => {
                let Head::Map(n) = head else {
                    return Err(wrong(self, "map"));
                };
                let mut out = BTreeMap::new();
                for _ in 0..n {
                    let key = self.key()?;
                    if out.contains_key(&key) {
                        return Err(self.fail(format!("duplicate map key {key:?}")));
                    }
                    self.path.push(PathStep::Key(key.clone()));
                    let v = self.value(ety, depth + 1)?;
                    self.path.pop();
                    out.insert(key, v);
                }
                Ok(Value::Map(out))
            }
            Type::Object(atys) => {
                let Head::Map(n) = head else {
                    return Err(wrong(self, "map"));
                };
                if n != atys.len() {
                    return Err(self.fail(format!(
                        "an object with {} attributes is required, found {n}",
                        atys.len()
                    )));
                }
                let mut out = BTreeMap::new();
                for _ in 0..n {
                    let key = self.key()?;
                    let Some(aty) = atys.get(&key) else {
                        return Err(self.fail(format!("unsupported attribute {key:?}")));
                    };
                    if out.contains_key(&key) {
                        return Err(self.fail(format!("duplicate attribute {key:?}")));
                    }
                    self.path.push(PathStep::Attr(key.clone()));
                    let v = self.value(aty, depth + 1)?;
                    self.path.pop();
                    out.insert(key, v);
                }
                // n == atys.len(), keys distinct and all known: every attribute is present.
                Ok(Value::Map(out))
            }
            Type::Dynamic => self.dynamic(head, depth),
        }
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
                    if key == REFINE_NUMBER_MIN {
                        rf.number_lower = Some((num, inclusive));
                    } else {
                        rf.number_upper = Some((num, inclusive));
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
        // Trailing bytes after the map are ignored, as go-cty does (room for extensions).
        Ok(Value::Unknown(Box::new(rf)))
    }
}

/// Decodes msgpack bytes as a value of `ty`. Empty input is null.
pub fn from_msgpack(bytes: &[u8], ty: &Type) -> Result<Value, CtyError> {
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    let mut d = Decoder {
        r: Reader::new(bytes),
        path: AttributePath::root(),
    };
    let v = d.value(ty, 0)?;
    if !d.r.at_end() {
        return Err(d.fail(format!(
            "{} trailing bytes after the value",
            bytes.len().saturating_sub(d.r.pos)
        )));
    }
    Ok(v)
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

fn write_uint(out: &mut Vec<u8>, u: u64) {
    if u <= 0x7f {
        out.push(u as u8);
    } else if let Ok(b) = u8::try_from(u) {
        out.extend([0xcc, b]);
    } else if let Ok(s) = u16::try_from(u) {
        out.push(0xcd);
        out.extend(s.to_be_bytes());
    } else if let Ok(w) = u32::try_from(u) {
        out.push(0xce);
        out.extend(w.to_be_bytes());
    } else {
        out.push(0xcf);
        out.extend(u.to_be_bytes());
    }
}

/// The smallest encoding; non-negative values use the uint forms, as go's msgpack does.
fn write_int(out: &mut Vec<u8>, i: i64) {
    if let Ok(u) = u64::try_from(i) {
        write_uint(out, u);
    } else if i >= -32 {
        out.push(i as u8);
    } else if let Ok(b) = i8::try_from(i) {
        out.push(0xd0);
        out.extend(b.to_be_bytes());
    } else if let Ok(s) = i16::try_from(i) {
        out.push(0xd1);
        out.extend(s.to_be_bytes());
    } else if let Ok(w) = i32::try_from(i) {
        out.push(0xd2);
        out.extend(w.to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend(i.to_be_bytes());
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
                let mut cut = truncate_str(prefix, MAX_PREFIX_BYTES);
                if cut.len() < prefix.len() {
                    // The cut may split a character sequence that Unicode normalisation
                    // would combine with what follows; drop one more char to stay safe.
                    let mut chars = cut.chars();
                    chars.next_back();
                    cut = chars.as_str();
                }
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

struct Encoder {
    out: Vec<u8>,
    path: AttributePath,
}

impl Encoder {
    fn fail(&self, ty: &Type, reason: impl Into<String>) -> CtyError {
        CtyError::TypeMismatch {
            path: self.path.clone(),
            expected: ty.friendly_name(),
            reason: reason.into(),
        }
    }

    fn value(&mut self, v: &Value, ty: &Type, depth: usize) -> Result<(), CtyError> {
        if depth > MAX_DEPTH {
            return Err(self.fail(ty, format!("nested more than {MAX_DEPTH} levels deep")));
        }
        match (v, ty) {
            // A dynamic unknown can carry no refinements on the wire.
            (Value::Unknown(_), Type::Dynamic) => self.out.extend(PLAIN_UNKNOWN),
            (Value::Unknown(rf), _) => {
                match refinement_payload(rf, ty).map_err(|e| self.fail(ty, e))? {
                    None => self.out.extend(PLAIN_UNKNOWN),
                    Some(payload) => write_ext(&mut self.out, EXT_REFINED_UNKNOWN, &payload)
                        .map_err(|e| self.fail(ty, e))?,
                }
            }
            (Value::Null, _) => self.out.push(0xc0),
            (Value::Dynamic(d), Type::Dynamic) => {
                let (cty, inner) = &**d;
                write_array_len(&mut self.out, 2).map_err(|e| self.fail(ty, e))?;
                write_bin(&mut self.out, &cty.to_json_bytes()).map_err(|e| self.fail(ty, e))?;
                self.value(inner, cty, depth + 1)?;
            }
            (Value::String(s), Type::String) => {
                write_str(&mut self.out, s).map_err(|e| self.fail(ty, e))?;
            }
            (Value::Number(n), Type::Number) => {
                write_number(&mut self.out, n).map_err(|e| self.fail(ty, e))?;
            }
            (Value::Bool(b), Type::Bool) => self.out.push(if *b { 0xc3 } else { 0xc2 }),
            (Value::List(vs), Type::List(ety)) | (Value::Set(vs), Type::Set(ety)) => {
                write_array_len(&mut self.out, vs.len()).map_err(|e| self.fail(ty, e))?;
                for (i, ev) in vs.iter().enumerate() {
                    self.path.push(index_step(i));
                    self.value(ev, ety, depth + 1)?;
                    self.path.pop();
                }
            }
            (Value::List(vs), Type::Tuple(etys)) if vs.len() == etys.len() => {
                write_array_len(&mut self.out, vs.len()).map_err(|e| self.fail(ty, e))?;
                for (i, (ev, ety)) in vs.iter().zip(etys).enumerate() {
                    self.path.push(index_step(i));
                    self.value(ev, ety, depth + 1)?;
                    self.path.pop();
                }
            }
            (Value::Map(m), Type::Map(ety)) => {
                write_map_len(&mut self.out, m.len()).map_err(|e| self.fail(ty, e))?;
                for (k, ev) in m {
                    self.path.push(PathStep::Key(k.clone()));
                    write_str(&mut self.out, k).map_err(|e| self.fail(ty, e))?;
                    self.value(ev, ety, depth + 1)?;
                    self.path.pop();
                }
            }
            (Value::Map(m), Type::Object(atys)) if m.len() == atys.len() => {
                write_map_len(&mut self.out, atys.len()).map_err(|e| self.fail(ty, e))?;
                for (name, aty) in atys {
                    let Some(av) = m.get(name) else {
                        return Err(self.fail(ty, format!("missing attribute {name:?}")));
                    };
                    self.path.push(PathStep::Attr(name.clone()));
                    write_str(&mut self.out, name).map_err(|e| self.fail(ty, e))?;
                    self.value(av, aty, depth + 1)?;
                    self.path.pop();
                }
            }
            _ => return Err(self.fail(ty, format!("found {}", v.describe()))),
        }
        Ok(())
    }
}

/// Encodes `v` as msgpack according to `ty`.
pub fn to_msgpack(v: &Value, ty: &Type) -> Result<Vec<u8>, CtyError> {
    check_conforms(v, ty, &mut AttributePath::root())?;
    let mut e = Encoder {
        out: Vec::new(),
        path: AttributePath::root(),
    };
    e.value(v, ty, 0)?;
    Ok(e.out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(s: &str) -> BigDecimal {
        parse_number(s).unwrap()
    }

    #[test]
    fn wire_number_picks_go_cty_forms() {
        assert_eq!(wire_number(&num("-1")), Ok(WireNumber::Int(-1)));
        assert_eq!(wire_number(&num("1.5")), Ok(WireNumber::Float(1.5)));
        assert_eq!(wire_number(&num("100.000")), Ok(WireNumber::Int(100)));
        assert_eq!(wire_number(&num("0.1")), Ok(WireNumber::Text("0.1".into())));
        // Integers beyond int64 are text even when float64 holds them exactly.
        assert_eq!(
            wire_number(&num("18446744073709551616")),
            Ok(WireNumber::Text("18446744073709551616".into()))
        );
        assert_eq!(
            wire_number(&num("9223372036854775807")),
            Ok(WireNumber::Int(i64::MAX))
        );
        assert_eq!(
            wire_number(&num("-9223372036854775808")),
            Ok(WireNumber::Int(i64::MIN))
        );
        assert_eq!(
            wire_number(&num("1e-3")),
            Ok(WireNumber::Text("0.001".into()))
        );
        assert_eq!(
            wire_number(&num("0.5e-1")),
            Ok(WireNumber::Text("0.05".into()))
        );
        assert_eq!(wire_number(&num("-0.25")), Ok(WireNumber::Float(-0.25)));
    }

    #[test]
    fn parses_decimal_grammar() {
        for (text, plain) in [
            ("0", "0"),
            ("-0", "0"),
            ("+7", "7"),
            (".5", "0.5"),
            ("5.", "5"),
            ("1E3", "1000"),
            ("1e+2", "100"),
            ("-12.3400", "-12.34"),
            ("000123", "123"),
        ] {
            assert_eq!(number_text(&num(text)).unwrap(), plain, "{text}");
        }
        for bad in [
            "", "-", ".", "e5", "1e", "1e+", "1.2.3", "0x10", "Infinity", "NaN", " 1", "1 ",
            "1_000",
        ] {
            assert!(parse_number(bad).is_err(), "{bad:?}");
        }
        assert!(parse_number("1e20001").is_err());
        assert!(parse_number("1e99999999999999999999").is_err());
        assert!(parse_number("1e20000").is_ok());
    }

    #[test]
    fn floats_convert_exactly() {
        assert_eq!(
            number_from_f64(0.1).unwrap(),
            num("0.1000000000000000055511151231257827021181583404541015625")
        );
        assert_eq!(number_from_f64(-2.0).unwrap(), num("-2"));
        assert_eq!(
            number_from_f64(5e-324).unwrap().normalized(),
            number_from_f64(5e-324).unwrap()
        );
        assert!(number_from_f64(f64::NAN).is_err());
        assert!(number_from_f64(f64::INFINITY).is_err());
    }

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
    fn reader_rejects_truncation_without_panicking() {
        for bytes in [
            &[0xdbu8, 0xff, 0xff, 0xff, 0xff][..],
            &[0xcb, 0],
            &[0xc9, 0, 0],
            &[0xc1],
        ] {
            assert!(Reader::new(bytes).head().is_err(), "{bytes:x?}");
        }
    }

    #[test]
    fn skip_handles_nesting() {
        let mut r = Reader::new(&[0x92, 0x81, 0xa1, b'a', 0x90, 0xc0, 0x07]);
        r.skip(0).unwrap();
        assert_eq!(r.head().unwrap().describe(), "integer");
        assert!(r.at_end());
    }

    #[test]
    fn long_prefix_is_weakened_not_rejected() {
        let rf = Refinements {
            string_prefix: Some("é".repeat(300)),
            ..Default::default()
        };
        let bytes = to_msgpack(&Value::Unknown(Box::new(rf)), &Type::String).unwrap();
        let Value::Unknown(back) = from_msgpack(&bytes, &Type::String).unwrap() else {
            panic!()
        };
        let p = back.string_prefix.unwrap();
        assert!(p.len() <= MAX_PREFIX_BYTES && p.len() >= MAX_PREFIX_BYTES - 4);
        assert!("é".repeat(300).starts_with(&p));
    }
}
