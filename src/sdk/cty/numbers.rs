//! Numbers as both wire formats carry them: exact decimal text, and the msgpack
//! int/float/text choice go-cty makes. Shared by the JSON and msgpack codecs.

use bigdecimal::BigDecimal;
use num_bigint::{BigInt, Sign};

use super::value::Value;

/// Largest decimal exponent (|scale| after normalising) a number may have. Far beyond
/// anything Terraform produces (it keeps 512-bit floats).
pub(super) const MAX_DECIMAL_EXPONENT: i64 = 20_000;
/// Most zeros written out around a number's significant digits. Beyond this the text
/// takes the compact `<digits>e<exponent>` form (which go-cty, tftypes and this codec
/// all parse), so re-encoding never makes a number more than this many bytes longer
/// than its digits: `1e20000` stays 7 bytes instead of growing to 20,001.
pub const MAX_PLAIN_ZEROS: usize = 400;
/// Longest number text accepted, so parsing cannot be made quadratic-slow.
const MAX_NUMBER_TEXT: usize = 2 * MAX_DECIMAL_EXPONENT as usize + 64;

/// How a number travels in msgpack.
#[derive(Debug, PartialEq)]
pub(super) enum WireNumber {
    /// Exactly an int64.
    Int(i64),
    /// Not an integer, and exactly a float64.
    Float(f64),
    /// Anything else, as decimal text.
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

/// Decimal text of `digits × 10^-scale`: plain like Go's `Text('f', -1)`, unless that
/// needs more than [`MAX_PLAIN_ZEROS`] zeros; then `<digits>e<exponent>`.
fn plain_text(digits: &BigInt, scale: i64) -> String {
    let mut s = digits.magnitude().to_string();
    let zeros = if scale <= 0 {
        scale.unsigned_abs()
    } else {
        (scale.unsigned_abs() + 1).saturating_sub(s.len() as u64)
    };
    if zeros > MAX_PLAIN_ZEROS as u64 {
        s.push_str(&format!("e{}", -scale));
    } else if scale <= 0 {
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

/// Parses go-cty's text forms of infinity (Go's `big.ParseFloat` spellings `Inf`/`inf`,
/// optionally signed): `Some(negative)`, or `None` for anything else.
pub(super) fn parse_infinity(text: &str) -> Option<bool> {
    let (negative, rest) = match (text.strip_prefix('-'), text.strip_prefix('+')) {
        (Some(rest), _) => (true, rest),
        (None, Some(rest)) => (false, rest),
        _ => (false, text),
    };
    matches!(rest, "Inf" | "inf").then_some(negative)
}

/// A number value from text: a decimal, or one of the infinity spellings.
pub(super) fn number_value(text: &str) -> Result<Value, String> {
    match parse_infinity(text) {
        Some(negative) => Ok(Value::Infinity { negative }),
        None => parse_number(text).map(Value::number),
    }
}

/// A number value from a float: exact when finite, ±Infinity when infinite; NaN is an error.
pub(super) fn number_value_from_f64(f: f64) -> Result<Value, String> {
    if f.is_infinite() {
        return Ok(Value::Infinity {
            negative: f.is_sign_negative(),
        });
    }
    number_from_f64(f).map(Value::number)
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
pub(super) fn wire_number(n: &BigDecimal) -> Result<WireNumber, String> {
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
}
