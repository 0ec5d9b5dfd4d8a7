//! Golden-byte, round-trip and robustness tests for the cty DynamicValue codecs
//! (msgpack and JSON), checked against go-cty's wire format.

pub mod common_cty;

use std::str::FromStr;

use common_cty::AttrNames;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::strategy::Union;
use terraform_provider_defentry::sdk::cty::*;

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

/// Bytes from space-separated hex, e.g. `h("92 a1 61")`.
fn h(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

/// Concatenates byte pieces.
fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn num(s: &str) -> Value {
    Value::number(BigDecimal::from_str(s).unwrap())
}

fn dynv(ty: Type, v: Value) -> Value {
    Value::Dynamic(Box::new((ty, v)))
}

fn refined(rf: Refinements) -> Value {
    Value::Unknown(Box::new(rf))
}

/// Asserts `v` encodes to exactly `bytes` under `ty`, and `bytes` decodes back to `v`.
#[track_caller]
fn golden(ty: &Type, v: &Value, bytes: &[u8]) {
    let enc = to_msgpack(v, ty).unwrap_or_else(|e| panic!("encode {v:?} as {ty}: {e}"));
    assert_eq!(
        hex::encode(&enc),
        hex::encode(bytes),
        "encoding {v:?} as {ty}"
    );
    let dec = from_msgpack(bytes, ty).unwrap_or_else(|e| panic!("decode {v:?} as {ty}: {e}"));
    assert_eq!(&dec, v, "decoding {} as {ty}", hex::encode(bytes));
}

/// Asserts `bytes` decode to `v` (for encodings we accept but never write).
#[track_caller]
fn decodes(ty: &Type, bytes: &[u8], v: &Value) {
    let dec = from_msgpack(bytes, ty)
        .unwrap_or_else(|e| panic!("decode {} as {ty}: {e}", hex::encode(bytes)));
    assert_eq!(&dec, v, "decoding {} as {ty}", hex::encode(bytes));
}

#[track_caller]
fn rejects(ty: &Type, bytes: &[u8]) -> String {
    match from_msgpack(bytes, ty) {
        Ok(v) => panic!("{} decoded as {ty} to {v:?}", hex::encode(bytes)),
        Err(e) => e.to_string(),
    }
}

#[track_caller]
fn json_golden(ty: &Type, v: &Value, text: &str) {
    let enc = to_json(v, ty).unwrap_or_else(|e| panic!("encode {v:?} as {ty}: {e}"));
    assert_eq!(
        String::from_utf8(enc).unwrap(),
        text,
        "encoding {v:?} as {ty}"
    );
    let dec = from_json(text.as_bytes(), ty).unwrap_or_else(|e| panic!("decode {text}: {e}"));
    assert_eq!(&dec, v, "decoding {text} as {ty}");
}

#[track_caller]
fn json_decodes(ty: &Type, text: &str, v: &Value) {
    let dec = from_json(text.as_bytes(), ty).unwrap_or_else(|e| panic!("decode {text}: {e}"));
    assert_eq!(&dec, v, "decoding {text} as {ty}");
}

#[track_caller]
fn json_rejects(ty: &Type, text: &[u8]) -> String {
    match from_json(text, ty) {
        Ok(v) => panic!("{} decoded as {ty} to {v:?}", String::from_utf8_lossy(text)),
        Err(e) => e.to_string(),
    }
}

fn all_types() -> Vec<Type> {
    vec![
        Type::String,
        Type::Number,
        Type::Bool,
        Type::Dynamic,
        Type::list(Type::String),
        Type::set(Type::Number),
        Type::map(Type::Bool),
        Type::Tuple(vec![Type::String, Type::Number]),
        Type::Tuple(vec![]),
        Type::object([("a", Type::String), ("b", Type::Number)]),
        Type::object(Vec::<(String, Type)>::new()),
    ]
}

// ---------------------------------------------------------------------------
// msgpack goldens: primitives
// ---------------------------------------------------------------------------

#[test]
fn msgpack_string() {
    golden(&Type::String, &Value::string(""), &h("a0"));
    golden(
        &Type::String,
        &Value::string("hello"),
        &h("a5 68 65 6c 6c 6f"),
    );
    let s31 = "x".repeat(31);
    golden(
        &Type::String,
        &Value::string(&s31),
        &cat(&[&h("bf"), s31.as_bytes()]),
    );
    let s32 = "x".repeat(32);
    golden(
        &Type::String,
        &Value::string(&s32),
        &cat(&[&h("d9 20"), s32.as_bytes()]),
    );
    let s256 = "y".repeat(256);
    golden(
        &Type::String,
        &Value::string(&s256),
        &cat(&[&h("da 01 00"), s256.as_bytes()]),
    );
    let s65536 = "z".repeat(65536);
    golden(
        &Type::String,
        &Value::string(&s65536),
        &cat(&[&h("db 00 01 00 00"), s65536.as_bytes()]),
    );
    golden(&Type::String, &Value::string("é"), &h("a2 c3 a9"));
    // bin is accepted for strings too (go's DecodeString does).
    decodes(&Type::String, &h("c4 02 68 69"), &Value::string("hi"));
}

#[test]
fn msgpack_number_integers() {
    golden(&Type::Number, &Value::int(0), &h("00"));
    golden(&Type::Number, &Value::int(1), &h("01"));
    golden(&Type::Number, &Value::int(127), &h("7f"));
    golden(&Type::Number, &Value::int(128), &h("cc 80"));
    golden(&Type::Number, &Value::int(200), &h("cc c8"));
    golden(&Type::Number, &Value::int(65535), &h("cd ff ff"));
    golden(&Type::Number, &Value::int(65536), &h("ce 00 01 00 00"));
    golden(
        &Type::Number,
        &Value::int(1 << 40),
        &h("cf 00 00 01 00 00 00 00 00"),
    );
    golden(
        &Type::Number,
        &Value::int(i64::MAX),
        &h("cf 7f ff ff ff ff ff ff ff"),
    );
    golden(&Type::Number, &Value::int(-1), &h("ff"));
    golden(&Type::Number, &Value::int(-32), &h("e0"));
    golden(&Type::Number, &Value::int(-33), &h("d0 df"));
    golden(&Type::Number, &Value::int(-200), &h("d1 ff 38"));
    golden(&Type::Number, &Value::int(-70000), &h("d2 ff fe ee 90"));
    golden(
        &Type::Number,
        &Value::int(i64::MIN),
        &h("d3 80 00 00 00 00 00 00 00"),
    );
    // A trailing-zero decimal is still the integer.
    golden(&Type::Number, &num("100.00"), &h("64"));
    golden(&Type::Number, &num("1e2"), &h("64"));
}

#[test]
fn msgpack_number_accepts_every_int_width() {
    decodes(&Type::Number, &h("d0 ff"), &Value::int(-1));
    decodes(&Type::Number, &h("d0 05"), &Value::int(5));
    decodes(&Type::Number, &h("d1 00 05"), &Value::int(5));
    decodes(&Type::Number, &h("d2 00 00 00 05"), &Value::int(5));
    decodes(
        &Type::Number,
        &h("d3 00 00 00 00 00 00 00 05"),
        &Value::int(5),
    );
    decodes(&Type::Number, &h("cc 05"), &Value::int(5));
    decodes(&Type::Number, &h("cd 00 05"), &Value::int(5));
    decodes(&Type::Number, &h("ce 00 00 00 05"), &Value::int(5));
    decodes(
        &Type::Number,
        &h("cf 00 00 00 00 00 00 00 05"),
        &Value::int(5),
    );
    // uint64 beyond i64::MAX, which Terraform may send.
    decodes(
        &Type::Number,
        &h("cf ff ff ff ff ff ff ff ff"),
        &num("18446744073709551615"),
    );
    decodes(
        &Type::Number,
        &h("cf 80 00 00 00 00 00 00 00"),
        &num("9223372036854775808"),
    );
    // ...and we write those back as text, as go-cty does.
    assert_eq!(
        to_msgpack(&num("18446744073709551615"), &Type::Number).unwrap(),
        cat(&[&h("b4"), b"18446744073709551615"])
    );
}

#[test]
fn msgpack_number_floats_and_text() {
    golden(&Type::Number, &num("1.5"), &h("cb 3f f8 00 00 00 00 00 00"));
    golden(
        &Type::Number,
        &num("-0.25"),
        &h("cb bf d0 00 00 00 00 00 00"),
    );
    // 0.1 is not a float64, so it travels as exact decimal text.
    golden(&Type::Number, &num("0.1"), &cat(&[&h("a3"), b"0.1"]));
    golden(
        &Type::Number,
        &num("-123.456"),
        &cat(&[&h("a8"), b"-123.456"]),
    );
    // Integers beyond int64 are text even when a float64 could hold them exactly (2^64 can).
    golden(
        &Type::Number,
        &num("18446744073709551616"),
        &cat(&[&h("b4"), b"18446744073709551616"]),
    );
    golden(
        &Type::Number,
        &num("-9223372036854775809"),
        &cat(&[&h("b4"), b"-9223372036854775809"]),
    );
    let big = format!("1{}", "0".repeat(400));
    golden(
        &Type::Number,
        &num("1e400"),
        &cat(&[&h("da 01 91"), big.as_bytes()]),
    );
    let tiny = format!("0.{}1", "0".repeat(399));
    golden(
        &Type::Number,
        &num("1e-400"),
        &cat(&[&h("da 01 92"), tiny.as_bytes()]),
    );
    // float32, float64 and every textual number form decode.
    decodes(&Type::Number, &h("ca 3f c0 00 00"), &num("1.5"));
    decodes(
        &Type::Number,
        &h("cb 40 59 00 00 00 00 00 00"),
        &Value::int(100),
    );
    decodes(
        &Type::Number,
        &h("cb 3f b9 99 99 99 99 99 9a"),
        &num("0.1000000000000000055511151231257827021181583404541015625"),
    );
    decodes(&Type::Number, &cat(&[&h("a3"), b"1e3"]), &Value::int(1000));
    decodes(&Type::Number, &cat(&[&h("a4"), b"-2.5"]), &num("-2.5"));
    decodes(&Type::Number, &cat(&[&h("c4 01"), b"7"]), &Value::int(7));
    decodes(&Type::Number, &cat(&[&h("a5"), b"1.0E1"]), &Value::int(10));
}

#[test]
fn msgpack_number_rejects_non_numbers() {
    rejects(&Type::Number, &h("cb 7f f8 00 00 00 00 00 00")); // NaN
    rejects(&Type::Number, &h("ca 7f c0 00 00")); // float32 NaN
    rejects(&Type::Number, &cat(&[&h("a3"), b"abc"]));
    rejects(&Type::Number, &cat(&[&h("a8"), b"Infinity"]));
    rejects(&Type::Number, &h("a0"));
    rejects(&Type::Number, &cat(&[&h("a7"), b"1e99999"]));
    rejects(&Type::Number, &h("c3"));
    rejects(&Type::Number, &h("90"));
}

#[test]
fn msgpack_number_out_of_range_is_an_encode_error() {
    let huge = Value::number(BigDecimal::new(1.into(), -1_000_000_000));
    assert!(matches!(
        to_msgpack(&huge, &Type::Number),
        Err(CtyError::TypeMismatch { .. })
    ));
    assert!(matches!(
        to_json(&huge, &Type::Number),
        Err(CtyError::TypeMismatch { .. })
    ));
    let tiny = Value::number(BigDecimal::new(1.into(), 1_000_000_000));
    assert!(to_msgpack(&tiny, &Type::Number).is_err());
}

#[test]
fn msgpack_bool_and_null() {
    golden(&Type::Bool, &Value::Bool(true), &h("c3"));
    golden(&Type::Bool, &Value::Bool(false), &h("c2"));
    for ty in all_types() {
        golden(&ty, &Value::Null, &h("c0"));
    }
}

#[test]
fn empty_input_is_null() {
    for ty in all_types() {
        assert_eq!(from_msgpack(b"", &ty), Ok(Value::Null), "{ty}");
        assert_eq!(from_json(b"", &ty), Ok(Value::Null), "{ty}");
    }
}

// ---------------------------------------------------------------------------
// msgpack goldens: collections and structural types
// ---------------------------------------------------------------------------

#[test]
fn msgpack_list() {
    let ty = Type::list(Type::String);
    golden(&ty, &Value::List(vec![].into()), &h("90"));
    golden(
        &ty,
        &Value::List(vec![Value::string("a"), Value::string("b")].into()),
        &h("92 a1 61 a1 62"),
    );
    golden(
        &ty,
        &Value::List(vec![Value::Null, Value::unknown()].into()),
        &h("92 c0 d4 00 00"),
    );
    let sixteen = Value::List(vec![Value::string("a"); 16].into());
    let mut bytes = h("dc 00 10");
    for _ in 0..16 {
        bytes.extend(h("a1 61"));
    }
    golden(&ty, &sixteen, &bytes);
}

#[test]
fn msgpack_set() {
    let ty = Type::set(Type::Number);
    golden(&ty, &Value::Set(vec![].into()), &h("90"));
    golden(
        &ty,
        &Value::Set(vec![Value::int(1), Value::int(2)].into()),
        &h("92 01 02"),
    );
    golden(
        &ty,
        &Value::Set(vec![Value::unknown()].into()),
        &h("91 d4 00 00"),
    );
}

#[test]
fn null_at_every_level() {
    golden(
        &Type::set(Type::String),
        &Value::Set(vec![Value::Null].into()),
        &h("91 c0"),
    );
    golden(
        &Type::map(Type::String),
        &Value::object([("k", Value::Null)]),
        &h("81 a1 6b c0"),
    );
    golden(
        &Type::Tuple(vec![Type::Bool]),
        &Value::List(vec![Value::Null].into()),
        &h("91 c0"),
    );
    let inner = Type::object([("o", Type::object([("l", Type::list(Type::String))]))]);
    golden(
        &inner,
        &Value::object([("o", Value::Null)]),
        &h("81 a1 6f c0"),
    );
    golden(
        &inner,
        &Value::object([("o", Value::object([("l", Value::Null)]))]),
        &h("81 a1 6f 81 a1 6c c0"),
    );
    golden(
        &inner,
        &Value::object([(
            "o",
            Value::object([("l", Value::List(vec![Value::Null].into()))]),
        )]),
        &h("81 a1 6f 81 a1 6c 91 c0"),
    );
    golden(
        &Type::Dynamic,
        &dynv(
            Type::object([("a", Type::String)]),
            Value::object([("a", Value::Null)]),
        ),
        &cat(&[
            &h("92 c4 19"),
            br#"["object",{"a":"string"}]"#,
            &h("81 a1 61 c0"),
        ]),
    );
    json_golden(
        &inner,
        &Value::object([(
            "o",
            Value::object([("l", Value::List(vec![Value::Null].into()))]),
        )]),
        r#"{"o":{"l":[null]}}"#,
    );
}

#[test]
fn numbers_compare_by_value() {
    assert_eq!(num("1.50"), num("1.5"));
    assert_eq!(num("100"), num("1e2"));
    assert_eq!(num("0"), num("-0.000"));
    assert_ne!(num("0.1"), num("0.10000000000000001"));
    // Decoded numbers come back normalised.
    let v = from_msgpack(&cat(&[&h("a6"), b"1.5000"]), &Type::Number).unwrap();
    let Value::Number(n) = &v else {
        panic!("not a number")
    };
    assert_eq!(n.big().as_bigint_and_exponent().1, 1);
}

#[test]
fn msgpack_map() {
    let ty = Type::map(Type::Bool);
    golden(&ty, &Value::Map(Default::default()), &h("80"));
    golden(
        &ty,
        &Value::object([("a", Value::Bool(true)), ("b", Value::Null)]),
        &h("82 a1 61 c3 a1 62 c0"),
    );
    // Any key order is accepted.
    decodes(
        &ty,
        &h("82 a1 62 c2 a1 61 c3"),
        &Value::object([("a", Value::Bool(true)), ("b", Value::Bool(false))]),
    );
}

#[test]
fn msgpack_tuple() {
    let ty = Type::Tuple(vec![Type::String, Type::Number]);
    golden(
        &ty,
        &Value::List(vec![Value::string("a"), Value::int(1)].into()),
        &h("92 a1 61 01"),
    );
    golden(
        &ty,
        &Value::List(vec![Value::Null, Value::unknown()].into()),
        &h("92 c0 d4 00 00"),
    );
    golden(&Type::Tuple(vec![]), &Value::List(vec![].into()), &h("90"));
    rejects(&ty, &h("91 a1 61"));
    rejects(&ty, &h("93 a1 61 01 02"));
    rejects(&ty, &h("90"));
}

#[test]
fn msgpack_object() {
    let ty = Type::object([("a", Type::String), ("b", Type::Number)]);
    golden(
        &ty,
        &Value::object([("a", Value::string("x")), ("b", Value::Null)]),
        &h("82 a1 61 a1 78 a1 62 c0"),
    );
    golden(
        &ty,
        &Value::object([("a", Value::unknown()), ("b", Value::int(3))]),
        &h("82 a1 61 d4 00 00 a1 62 03"),
    );
    golden(
        &Type::object(Vec::<(String, Type)>::new()),
        &Value::Map(Default::default()),
        &h("80"),
    );
    // Attribute order on the wire is irrelevant.
    decodes(
        &ty,
        &h("82 a1 62 03 a1 61 a1 78"),
        &Value::object([("a", Value::string("x")), ("b", Value::int(3))]),
    );
    // Exactly the attributes of the type.
    assert!(rejects(&ty, &h("81 a1 61 a1 78")).contains("2 attributes"));
    assert!(rejects(&ty, &h("80")).contains("2 attributes"));
    assert!(rejects(&ty, &h("83 a1 61 a1 78 a1 62 c0 a1 63 c0")).contains("2 attributes"));
    assert!(rejects(&ty, &h("82 a1 61 a1 78 a1 63 c0")).contains("unsupported attribute \"c\""));
    assert!(rejects(&ty, &h("82 a1 61 a1 78 a1 61 a1 79")).contains("duplicate"));
    assert!(rejects(&ty, &h("82 01 a1 78 a1 62 c0")).contains("strings"));
}

#[test]
fn msgpack_nested() {
    let ty = Type::object([
        ("id", Type::String),
        (
            "items",
            Type::list(Type::object([
                ("n", Type::Number),
                ("tags", Type::set(Type::String)),
            ])),
        ),
        ("meta", Type::map(Type::list(Type::Bool))),
    ]);
    let v = Value::object([
        ("id", Value::string("i")),
        (
            "items",
            Value::List(
                vec![
                    Value::object([
                        ("n", num("0.1")),
                        ("tags", Value::Set(vec![Value::string("t")].into())),
                    ]),
                    Value::object([("n", Value::Null), ("tags", Value::Null)]),
                    Value::Null,
                    Value::unknown(),
                ]
                .into(),
            ),
        ),
        (
            "meta",
            Value::object([(
                "k",
                Value::List(vec![Value::Bool(false), Value::Null].into()),
            )]),
        ),
    ]);
    let bytes = cat(&[
        &h("83"),
        &h("a2 69 64 a1 69"),
        &h("a5"),
        b"items",
        &h("94"),
        &h("82 a1 6e a3"),
        b"0.1",
        &h("a4"),
        b"tags",
        &h("91 a1 74"),
        &h("82 a1 6e c0 a4"),
        b"tags",
        &h("c0"),
        &h("c0"),
        &h("d4 00 00"),
        &h("a4"),
        b"meta",
        &h("81 a1 6b 92 c2 c0"),
    ]);
    golden(&ty, &v, &bytes);
    // Errors deep inside point at the right place.
    let mut broken = bytes.clone();
    let pos = broken.windows(2).position(|w| w == h("c2 c0")).unwrap();
    broken[pos] = 0x01;
    let err = from_msgpack(&broken, &ty).unwrap_err();
    assert!(err.to_string().contains(r#"meta["k"][0]"#), "{err}");
}

// ---------------------------------------------------------------------------
// msgpack goldens: dynamic
// ---------------------------------------------------------------------------

#[test]
fn msgpack_dynamic() {
    let d = Type::Dynamic;
    golden(
        &d,
        &dynv(Type::String, Value::string("x")),
        &cat(&[&h("92 c4 08"), b"\"string\"", &h("a1 78")]),
    );
    golden(
        &d,
        &dynv(Type::Number, Value::int(5)),
        &cat(&[&h("92 c4 08"), b"\"number\"", &h("05")]),
    );
    golden(
        &d,
        &dynv(Type::Number, num("0.1")),
        &cat(&[&h("92 c4 08"), b"\"number\"", &h("a3"), b"0.1"]),
    );
    golden(
        &d,
        &dynv(Type::Bool, Value::Bool(true)),
        &cat(&[&h("92 c4 06"), b"\"bool\"", &h("c3")]),
    );
    golden(
        &d,
        &dynv(
            Type::list(Type::String),
            Value::List(vec![Value::string("a")].into()),
        ),
        &cat(&[&h("92 c4 11"), br#"["list","string"]"#, &h("91 a1 61")]),
    );
    golden(
        &d,
        &dynv(
            Type::set(Type::Bool),
            Value::Set(vec![Value::Bool(false)].into()),
        ),
        &cat(&[&h("92 c4 0e"), br#"["set","bool"]"#, &h("91 c2")]),
    );
    golden(
        &d,
        &dynv(
            Type::map(Type::Number),
            Value::object([("k", Value::int(1))]),
        ),
        &cat(&[&h("92 c4 10"), br#"["map","number"]"#, &h("81 a1 6b 01")]),
    );
    golden(
        &d,
        &dynv(
            Type::Tuple(vec![Type::String, Type::Bool]),
            Value::List(vec![Value::string("a"), Value::Bool(true)].into()),
        ),
        &cat(&[
            &h("92 c4 1b"),
            br#"["tuple",["string","bool"]]"#,
            &h("92 a1 61 c3"),
        ]),
    );
    golden(
        &d,
        &dynv(
            Type::object([("a", Type::Number)]),
            Value::object([("a", Value::int(1))]),
        ),
        &cat(&[
            &h("92 c4 19"),
            br#"["object",{"a":"number"}]"#,
            &h("81 a1 61 01"),
        ]),
    );
    // null and unknown of dynamic type are bare.
    golden(&d, &Value::Null, &h("c0"));
    golden(&d, &Value::unknown(), &h("d4 00 00"));
    // A typed null and a typed unknown keep their type.
    golden(
        &d,
        &dynv(Type::String, Value::Null),
        &cat(&[&h("92 c4 08"), b"\"string\"", &h("c0")]),
    );
    golden(
        &d,
        &dynv(Type::String, Value::unknown()),
        &cat(&[&h("92 c4 08"), b"\"string\"", &h("d4 00 00")]),
    );
    // The type may also arrive as str.
    decodes(
        &d,
        &cat(&[&h("92 a8"), b"\"string\"", &h("a1 78")]),
        &dynv(Type::String, Value::string("x")),
    );
    // Dynamic nested in an object and a list.
    let ty = Type::object([("v", Type::Dynamic), ("l", Type::list(Type::Dynamic))]);
    golden(
        &ty,
        &Value::object([
            ("v", dynv(Type::Bool, Value::Bool(true))),
            (
                "l",
                Value::List(
                    vec![
                        Value::Null,
                        dynv(Type::Number, Value::int(2)),
                        Value::unknown(),
                    ]
                    .into(),
                ),
            ),
        ]),
        &cat(&[
            &h("82 a1 6c 93 c0 92 c4 08"),
            b"\"number\"",
            &h("02 d4 00 00 a1 76 92 c4 06"),
            b"\"bool\"",
            &h("c3"),
        ]),
    );
}

#[test]
fn msgpack_dynamic_errors() {
    let d = Type::Dynamic;
    assert!(rejects(&d, &h("a1 78")).contains("2-element array"));
    assert!(rejects(&d, &h("91 c4 08")).contains("2-element array"));
    assert!(rejects(&d, &h("93 c0 c0 c0")).contains("2-element array"));
    assert!(rejects(&d, &h("92 01 01")).contains("type as JSON"));
    assert!(rejects(&d, &cat(&[&h("92 c4 05"), b"\"str\"", &h("a1 78")])).contains("invalid type"));
    assert!(rejects(&d, &cat(&[&h("92 c4 04"), b"nope", &h("a1 78")])).contains("invalid type"));
    // The value must match the type it claims.
    rejects(&d, &cat(&[&h("92 c4 06"), b"\"bool\"", &h("a1 78")]));
}

#[test]
fn dynamic_type_mismatches_are_encode_errors() {
    // A concrete value without its type cannot go under dynamic...
    assert!(to_msgpack(&Value::string("x"), &Type::Dynamic).is_err());
    assert!(to_json(&Value::string("x"), &Type::Dynamic).is_err());
    // ...nor a wrapped one under a concrete type...
    assert!(to_msgpack(&dynv(Type::String, Value::string("x")), &Type::String).is_err());
    // ...nor one whose value does not match its own type.
    assert!(to_msgpack(&dynv(Type::Bool, Value::string("x")), &Type::Dynamic).is_err());
}

// ---------------------------------------------------------------------------
// msgpack goldens: unknowns and refinements
// ---------------------------------------------------------------------------

#[test]
fn msgpack_plain_unknown_for_every_type() {
    for ty in all_types() {
        golden(&ty, &Value::unknown(), &h("d4 00 00"));
        // Any 0/1-byte extension, whatever its type code, is a plain unknown.
        decodes(&ty, &h("d4 05 ff"), &Value::unknown());
        decodes(&ty, &h("c7 00 00"), &Value::unknown());
        decodes(&ty, &h("c7 01 0c 00"), &Value::unknown());
        // Refinements that carry nothing encode as plain.
        let noop = match ty {
            Type::String => Some(Refinements {
                string_prefix: Some(String::new()),
                ..Default::default()
            }),
            Type::List(_) | Type::Set(_) | Type::Map(_) => Some(Refinements {
                length_min: Some(0),
                ..Default::default()
            }),
            _ => None,
        };
        if let Some(noop) = noop {
            assert!(!noop.is_empty());
            assert_eq!(
                to_msgpack(&refined(noop), &ty).unwrap(),
                h("d4 00 00"),
                "{ty}"
            );
        }
    }
}

#[test]
fn msgpack_refined_not_null() {
    let rf = Refinements {
        not_null: true,
        ..Default::default()
    };
    for ty in all_types() {
        if ty == Type::Dynamic {
            // Dynamic unknowns carry no refinements: written bare, and ignored on read.
            assert_eq!(
                to_msgpack(&refined(rf.clone()), &ty).unwrap(),
                h("d4 00 00")
            );
            decodes(&ty, &h("c7 03 0c 81 01 c2"), &Value::unknown());
        } else {
            golden(&ty, &refined(rf.clone()), &h("c7 03 0c 81 01 c2"));
        }
    }
    // "Definitely null" collapses to null, as go-cty does.
    decodes(&Type::String, &h("c7 03 0c 81 01 c3"), &Value::Null);
}

#[test]
fn msgpack_refined_string_prefix() {
    let ty = Type::String;
    golden(
        &ty,
        &refined(Refinements {
            string_prefix: Some("abc".into()),
            ..Default::default()
        }),
        &h("c7 06 0c 81 02 a3 61 62 63"),
    );
    golden(
        &ty,
        &refined(Refinements {
            not_null: true,
            string_prefix: Some("ab".into()),
            ..Default::default()
        }),
        &h("c7 07 0c 82 01 c2 02 a2 61 62"),
    );
    // The payload exactly fills a fixext4 here.
    golden(
        &ty,
        &refined(Refinements {
            string_prefix: Some("a".into()),
            ..Default::default()
        }),
        &h("d6 0c 81 02 a1 61"),
    );
    rejects(&Type::Number, &h("c7 06 0c 81 02 a3 61 62 63"));
    rejects(&ty, &h("c7 03 0c 81 02 01"));
    rejects(&ty, &h("c7 05 0c 81 02 a2 ff fe"));
}

#[test]
fn msgpack_refined_number_bounds() {
    let ty = Type::Number;
    golden(
        &ty,
        &refined(Refinements {
            number_lower: Some((BigDecimal::from(0), true)),
            ..Default::default()
        }),
        &h("c7 05 0c 81 03 92 00 c3"),
    );
    golden(
        &ty,
        &refined(Refinements {
            number_upper: Some((BigDecimal::from_str("1.5").unwrap(), false)),
            ..Default::default()
        }),
        &h("c7 0d 0c 81 04 92 cb 3f f8 00 00 00 00 00 00 c2"),
    );
    golden(
        &ty,
        &refined(Refinements {
            not_null: true,
            number_lower: Some((BigDecimal::from(0), true)),
            number_upper: Some((BigDecimal::from(10), false)),
            ..Default::default()
        }),
        &h("c7 0b 0c 83 01 c2 03 92 00 c3 04 92 0a c2"),
    );
    golden(
        &ty,
        &refined(Refinements {
            number_lower: Some((BigDecimal::from_str("0.1").unwrap(), true)),
            ..Default::default()
        }),
        // An 8-byte payload is a fixext8.
        &cat(&[&h("d7 0c 81 03 92 a3"), b"0.1", &h("c3")]),
    );
    rejects(&Type::String, &h("c7 05 0c 81 03 92 00 c3"));
    rejects(&ty, &h("c7 04 0c 81 03 91 00"));
    rejects(&ty, &h("c7 05 0c 81 03 92 c0 c3"));
    rejects(&ty, &h("c7 05 0c 81 03 92 00 01"));
}

#[test]
fn msgpack_refined_collection_length() {
    for ty in [
        Type::list(Type::String),
        Type::set(Type::Number),
        Type::map(Type::Bool),
    ] {
        golden(
            &ty,
            &refined(Refinements {
                length_min: Some(1),
                length_max: Some(5),
                ..Default::default()
            }),
            &h("c7 05 0c 82 05 01 06 05"),
        );
        golden(
            &ty,
            &refined(Refinements {
                length_max: Some(3),
                ..Default::default()
            }),
            &h("c7 03 0c 81 06 03"),
        );
        golden(
            &ty,
            &refined(Refinements {
                length_max: Some(200),
                ..Default::default()
            }),
            &h("d6 0c 81 06 cc c8"),
        );
        golden(
            &ty,
            &refined(Refinements {
                not_null: true,
                length_min: Some(2),
                ..Default::default()
            }),
            &h("c7 05 0c 82 01 c2 05 02"),
        );
        // A signed-int length is accepted; a negative one is not.
        decodes(
            &ty,
            &h("c7 04 0c 81 05 d0 02"),
            &refined(Refinements {
                length_min: Some(2),
                ..Default::default()
            }),
        );
        rejects(&ty, &h("c7 03 0c 81 05 ff"));
        rejects(&ty, &h("c7 03 0c 81 05 c3"));
    }
    for ty in [
        Type::Tuple(vec![Type::String]),
        Type::object([("a", Type::String)]),
        Type::String,
    ] {
        rejects(&ty, &h("c7 03 0c 81 06 03"));
    }
}

#[test]
fn msgpack_refinements_ignore_unknown_keys_and_reject_garbage() {
    decodes(
        &Type::String,
        &h("c7 07 0c 82 07 92 01 02 01 c2"),
        &refined(Refinements {
            not_null: true,
            ..Default::default()
        }),
    );
    // Unknown keys with nested maps, and a uint64 key, are skipped.
    decodes(
        &Type::String,
        &h("c7 10 0c 82 cf ff ff ff ff ff ff ff ff 81 a1 61 90 01 c2"),
        &refined(Refinements {
            not_null: true,
            ..Default::default()
        }),
    );
    // Trailing payload bytes after the map are ignored.
    decodes(
        &Type::String,
        &h("c7 04 0c 81 01 c2 ff"),
        &refined(Refinements {
            not_null: true,
            ..Default::default()
        }),
    );
    rejects(&Type::String, &h("c7 02 0c 01 02")); // payload not a map
    rejects(&Type::String, &h("c7 03 0c 81 a1 61")); // non-integer key
    rejects(&Type::String, &h("c7 03 0c 81 01 01")); // nullness not a bool
    rejects(&Type::String, &h("c7 03 0c 82 01 c2")); // truncated map
    rejects(&Type::String, &h("c7 03 05 81 01 c2")); // other ext types must be tiny
    rejects(&Type::String, &h("d5 00 00 00"));
    // Oversize payloads are refused before being read.
    let mut big = h("c8 04 01 0c 81 02 da 03 fc");
    big.extend(std::iter::repeat_n(b'a', 1020));
    assert!(rejects(&Type::String, &big).contains("oversize"));
}

#[test]
fn oversize_refinements_are_weakened() {
    // A bound whose text would bloat the payload is dropped: a weaker, still true, refinement.
    let long = BigDecimal::from_str(&format!("0.{}1", "0".repeat(300))).unwrap();
    let v = refined(Refinements {
        not_null: true,
        number_lower: Some((long, true)),
        number_upper: Some((BigDecimal::from(1), true)),
        ..Default::default()
    });
    assert_eq!(
        to_msgpack(&v, &Type::Number).unwrap(),
        h("c7 07 0c 82 01 c2 04 92 01 c3")
    );
    // A long prefix is cut short.
    let v = refined(Refinements {
        string_prefix: Some("p".repeat(5000)),
        ..Default::default()
    });
    let back = from_msgpack(&to_msgpack(&v, &Type::String).unwrap(), &Type::String).unwrap();
    let Value::Unknown(back) = &back else {
        panic!("not unknown")
    };
    let prefix = back.string_prefix.as_deref().unwrap();
    assert!(prefix.len() < 256 && prefix.len() > 200 && prefix.bytes().all(|b| b == b'p'));
}

#[test]
fn refinements_that_do_not_fit_the_type_do_not_encode() {
    let prefix = refined(Refinements {
        string_prefix: Some("a".into()),
        ..Default::default()
    });
    assert!(to_msgpack(&prefix, &Type::Number).is_err());
    let bound = refined(Refinements {
        number_lower: Some((BigDecimal::from(1), true)),
        ..Default::default()
    });
    assert!(to_msgpack(&bound, &Type::list(Type::String)).is_err());
    let len = refined(Refinements {
        length_max: Some(1),
        ..Default::default()
    });
    assert!(to_msgpack(&len, &Type::Tuple(vec![])).is_err());
    assert!(to_msgpack(&len, &Type::Dynamic).is_ok());
}

// ---------------------------------------------------------------------------
// msgpack: malformed input
// ---------------------------------------------------------------------------

#[test]
fn msgpack_malformed_inputs_are_errors() {
    let s = Type::String;
    rejects(&s, &h("a5 68 65")); // truncated string
    rejects(&s, &h("a2 ff fe")); // invalid UTF-8
    rejects(&s, &h("c1")); // never-used marker
    rejects(&s, &h("c0 c0")); // trailing bytes
    rejects(&s, &h("01")); // wrong type
    rejects(&s, &h("db ff ff ff ff")); // huge declared length, no data
    rejects(&Type::Bool, &h("a1 61"));
    rejects(&Type::Bool, &h("01"));
    rejects(&Type::list(Type::String), &h("dd ff ff ff ff")); // 4G elements declared
    rejects(&Type::list(Type::String), &h("dd ff ff ff ff a1 61"));
    rejects(&Type::list(Type::String), &h("81 a1 61 a1 61"));
    rejects(&Type::map(Type::String), &h("df ff ff ff ff"));
    rejects(&Type::map(Type::String), &h("81 01 a1 61")); // non-string key
    rejects(&Type::map(Type::String), &h("81 a2 ff fe a1 61")); // invalid UTF-8 key
    rejects(&Type::map(Type::String), &h("82 a1 61 a1 61 a1 61 a1 62")); // duplicate key
    rejects(&Type::map(Type::String), &h("92 a1 61 a1 61"));
    rejects(&Type::set(Type::String), &h("a1 61"));
    rejects(&Type::object([("a", Type::String)]), &h("91 a1 61"));
    rejects(&Type::Number, &h("cb 3f f8 00"));
    rejects(&Type::Number, &h("d3 00"));
}

#[test]
fn msgpack_deep_nesting_is_an_error_not_a_crash() {
    let mut ty = Type::String;
    for _ in 0..=MAX_DEPTH {
        ty = Type::list(ty);
    }
    let mut bytes = vec![0x91; MAX_DEPTH + 1];
    bytes.extend(h("a1 61"));
    assert!(rejects(&ty, &bytes).contains("nested"));
    // 100 levels is fine.
    let mut ty100 = Type::String;
    for _ in 0..100 {
        ty100 = Type::list(ty100);
    }
    let mut ok = vec![0x91; 100];
    ok.extend(h("a1 61"));
    let v = from_msgpack(&ok, &ty100).unwrap();
    assert_eq!(to_msgpack(&v, &ty100).unwrap(), ok);
    // Dynamic wrappers inside dynamic wrappers, far deeper than the cap.
    let mut dynamic = Vec::new();
    for _ in 0..100_000 {
        dynamic.extend(cat(&[&h("92 c4 09"), b"\"dynamic\""]));
    }
    dynamic.push(0xc0);
    assert!(rejects(&Type::Dynamic, &dynamic).contains("nested"));
    // Encoding a too-deep value is an error too.
    let mut deep = Value::string("a");
    let mut deep_ty = Type::String;
    for _ in 0..=MAX_DEPTH {
        deep = Value::List(vec![deep].into());
        deep_ty = Type::list(deep_ty);
    }
    assert!(to_msgpack(&deep, &deep_ty).is_err());
    assert!(to_json(&deep, &deep_ty).is_err());
    assert!(deep.conforms(&deep_ty).is_err());
}

#[test]
fn encoders_reject_mismatches_with_paths() {
    let ty = Type::object([("a", Type::String), ("b", Type::list(Type::Number))]);
    let cases = [
        (Value::object([("a", Value::string("x"))]), "(root)"),
        (
            Value::object([
                ("a", Value::string("x")),
                ("b", Value::Null),
                ("c", Value::Null),
            ]),
            "(root)",
        ),
        (
            Value::object([("a", Value::int(1)), ("b", Value::Null)]),
            "a",
        ),
        (
            Value::object([
                ("a", Value::Null),
                (
                    "b",
                    Value::List(vec![Value::int(1), Value::string("x")].into()),
                ),
            ]),
            "b[1]",
        ),
        (
            Value::object([("a", Value::Null), ("b", Value::Set(vec![].into()))]),
            "b",
        ),
        (Value::List(vec![].into()), "(root)"),
    ];
    for (v, at) in cases {
        for err in [
            to_msgpack(&v, &ty).unwrap_err(),
            to_json(&v, &ty).unwrap_err(),
            v.conforms(&ty).unwrap_err(),
        ] {
            let CtyError::TypeMismatch { path, .. } = &err else {
                panic!("{err:?}")
            };
            assert_eq!(path.to_string(), at, "{v:?}: {err}");
        }
    }
    let tuple = Type::Tuple(vec![Type::String]);
    assert!(to_msgpack(&Value::List(vec![].into()), &tuple).is_err());
    assert!(to_msgpack(&Value::Set(vec![Value::string("a")].into()), &tuple).is_err());
    assert!(to_msgpack(
        &Value::List(vec![Value::string("a")].into()),
        &Type::set(Type::String)
    )
    .is_err());
}

// ---------------------------------------------------------------------------
// JSON goldens
// ---------------------------------------------------------------------------

#[test]
fn json_primitives() {
    json_golden(&Type::String, &Value::string("hello"), r#""hello""#);
    json_golden(
        &Type::String,
        &Value::string("q\"\\\n\u{1}é"),
        r#""q\"\\\n\u0001é""#,
    );
    json_golden(&Type::Number, &Value::int(1), "1");
    json_golden(&Type::Number, &Value::int(-1), "-1");
    json_golden(&Type::Number, &num("1.5"), "1.5");
    json_golden(&Type::Number, &num("0.1"), "0.1");
    json_golden(
        &Type::Number,
        &num("18446744073709551616"),
        "18446744073709551616",
    );
    json_golden(
        &Type::Number,
        &num("1e400"),
        &format!("1{}", "0".repeat(400)),
    );
    json_golden(&Type::Number, &num("-1e-5"), "-0.00001");
    json_golden(&Type::Bool, &Value::Bool(true), "true");
    json_golden(&Type::Bool, &Value::Bool(false), "false");
    json_decodes(&Type::Number, "1e400", &num("1e400"));
    json_decodes(
        &Type::Number,
        "12345678901234567890123456789.000000000000000000001",
        &num("12345678901234567890123456789.000000000000000000001"),
    );
    json_decodes(&Type::Number, "1.0", &Value::int(1));
    json_decodes(&Type::String, r#""\ud83d\ude00""#, &Value::string("😀"));
    for ty in all_types() {
        json_golden(&ty, &Value::Null, "null");
    }
}

#[test]
fn json_collections() {
    json_golden(&Type::list(Type::String), &Value::List(vec![].into()), "[]");
    json_golden(
        &Type::list(Type::String),
        &Value::List(vec![Value::string("a"), Value::Null].into()),
        r#"["a",null]"#,
    );
    json_golden(
        &Type::set(Type::Number),
        &Value::Set(vec![Value::int(1), num("0.5")].into()),
        "[1,0.5]",
    );
    json_golden(
        &Type::map(Type::Bool),
        &Value::Map(Default::default()),
        "{}",
    );
    json_golden(
        &Type::map(Type::Bool),
        &Value::object([("a", Value::Bool(true)), ("b", Value::Null)]),
        r#"{"a":true,"b":null}"#,
    );
    let tuple = Type::Tuple(vec![Type::String, Type::Number]);
    json_golden(
        &tuple,
        &Value::List(vec![Value::string("a"), Value::int(1)].into()),
        r#"["a",1]"#,
    );
    json_golden(&Type::Tuple(vec![]), &Value::List(vec![].into()), "[]");
    assert!(json_rejects(&tuple, br#"["a"]"#).contains("tuple of 2"));
    assert!(json_rejects(&tuple, br#"["a",1,2]"#).contains("tuple of 2"));
}

#[test]
fn json_objects() {
    let ty = Type::object([
        ("a", Type::String),
        ("b", Type::Number),
        ("c", Type::list(Type::Bool)),
    ]);
    json_golden(
        &ty,
        &Value::object([
            ("a", Value::string("x")),
            ("b", Value::Null),
            ("c", Value::List(vec![Value::Bool(true)].into())),
        ]),
        r#"{"a":"x","b":null,"c":[true]}"#,
    );
    // Missing attributes are null.
    json_decodes(
        &ty,
        r#"{"b":2}"#,
        &Value::object([("a", Value::Null), ("b", Value::int(2)), ("c", Value::Null)]),
    );
    json_decodes(
        &ty,
        "{}",
        &Value::object([("a", Value::Null), ("b", Value::Null), ("c", Value::Null)]),
    );
    json_golden(
        &Type::object(Vec::<(String, Type)>::new()),
        &Value::Map(Default::default()),
        "{}",
    );
    // Extra attributes are not.
    assert!(json_rejects(&ty, br#"{"a":"x","z":1}"#).contains("unsupported attribute \"z\""));
    let err = from_json(br#"{"c":[true,"nope"]}"#, &ty).unwrap_err();
    assert!(err.to_string().contains("c[1]"), "{err}");
}

#[test]
fn json_dynamic() {
    let d = Type::Dynamic;
    json_golden(
        &d,
        &dynv(Type::String, Value::string("x")),
        r#"{"value":"x","type":"string"}"#,
    );
    json_golden(
        &d,
        &dynv(Type::Number, num("0.1")),
        r#"{"value":0.1,"type":"number"}"#,
    );
    json_golden(
        &d,
        &dynv(Type::Bool, Value::Bool(false)),
        r#"{"value":false,"type":"bool"}"#,
    );
    json_golden(
        &d,
        &dynv(
            Type::list(Type::String),
            Value::List(vec![Value::string("a")].into()),
        ),
        r#"{"value":["a"],"type":["list","string"]}"#,
    );
    json_golden(
        &d,
        &dynv(
            Type::object([("a", Type::Number)]),
            Value::object([("a", Value::int(1))]),
        ),
        r#"{"value":{"a":1},"type":["object",{"a":"number"}]}"#,
    );
    json_golden(
        &d,
        &dynv(
            Type::Tuple(vec![Type::Dynamic]),
            Value::List(vec![dynv(Type::String, Value::string("i"))].into()),
        ),
        r#"{"value":[{"value":"i","type":"string"}],"type":["tuple",["dynamic"]]}"#,
    );
    json_golden(
        &d,
        &dynv(Type::String, Value::Null),
        r#"{"value":null,"type":"string"}"#,
    );
    json_golden(&d, &Value::Null, "null");
    json_decodes(
        &d,
        r#"{"type":"string","value":"x"}"#,
        &dynv(Type::String, Value::string("x")),
    );
    let ty = Type::object([("v", Type::Dynamic)]);
    json_golden(
        &ty,
        &Value::object([(
            "v",
            dynv(
                Type::map(Type::String),
                Value::object([("k", Value::string("v"))]),
            ),
        )]),
        r#"{"v":{"value":{"k":"v"},"type":["map","string"]}}"#,
    );
    assert!(json_rejects(&d, br#"{"value":"x"}"#).contains("missing type"));
    assert!(json_rejects(&d, br#"{"type":"string"}"#).contains("missing value"));
    assert!(json_rejects(&d, br#"{"type":"string","value":"x","x":1}"#).contains("invalid key"));
    assert!(json_rejects(&d, br#"{"type":"strin","value":"x"}"#).contains("invalid type"));
    assert!(json_rejects(&d, br#""x""#).contains("required"));
    json_rejects(&d, br#"{"type":"bool","value":"x"}"#);
}

#[test]
fn json_rejects_unknowns() {
    assert_eq!(
        to_json(&Value::unknown(), &Type::String),
        Err(CtyError::UnknownInJson(AttributePath::root()))
    );
    assert_eq!(
        to_json(&Value::unknown(), &Type::Dynamic),
        Err(CtyError::UnknownInJson(AttributePath::root()))
    );
    let ty = Type::object([("m", Type::map(Type::Dynamic))]);
    let v = Value::object([(
        "m",
        Value::object([("k", dynv(Type::String, Value::unknown()))]),
    )]);
    assert_eq!(
        to_json(&v, &ty),
        Err(CtyError::UnknownInJson(
            AttributePath::attr("m").at_key("k")
        ))
    );
}

#[test]
fn json_malformed_inputs_are_errors() {
    json_rejects(&Type::String, b"\"abc");
    json_rejects(&Type::String, b"\"a\" 1");
    json_rejects(&Type::String, b"\xff");
    json_rejects(&Type::String, b"\"\xff\xfe\"");
    json_rejects(&Type::String, br#""\ud800""#);
    json_rejects(&Type::String, b"[]");
    json_rejects(&Type::Number, b"NaN");
    json_rejects(&Type::Number, b"\"Infinity\"");
    json_rejects(&Type::Number, b"1e999999");
    json_rejects(&Type::Number, b"[1]");
    json_rejects(&Type::Bool, b"1");
    json_rejects(&Type::list(Type::String), b"{}");
    json_rejects(&Type::map(Type::String), b"[]");
    json_rejects(&Type::map(Type::String), br#"{"a":1.5e}"#);
    json_rejects(&Type::object([("a", Type::String)]), b"[]");
    json_rejects(&Type::Dynamic, b"[1]");
    assert!(
        json_rejects(&Type::Dynamic, "[".repeat(MAX_DEPTH + 2).as_bytes()).contains("recursion")
    );
}

// ---------------------------------------------------------------------------
// property tests
// ---------------------------------------------------------------------------

fn arb_type() -> impl Strategy<Value = Type> {
    common_cty::arb_type(4, 24, 4, AttrNames::Random)
}

fn arb_number() -> BoxedStrategy<BigDecimal> {
    prop_oneof![
        any::<i64>().prop_map(BigDecimal::from),
        any::<u64>().prop_map(BigDecimal::from),
        (-1000i64..1000).prop_map(BigDecimal::from),
        // Shortest decimal forms of floats: some exact float64s, most not.
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| BigDecimal::from_str(&format!("{f:e}")).unwrap()),
        (any::<i128>(), -400i64..400).prop_map(|(d, s)| BigDecimal::new(d.into(), s)),
    ]
    .boxed()
}

/// Number bounds short enough never to be dropped from a refinement payload.
fn arb_bound() -> BoxedStrategy<BigDecimal> {
    prop_oneof![
        any::<i64>().prop_map(BigDecimal::from),
        (any::<i64>(), -30i64..30).prop_map(|(d, s)| BigDecimal::new(d.into(), s)),
        (-1e30f64..1e30).prop_map(|f| BigDecimal::from_str(&format!("{f:e}")).unwrap()),
    ]
    .boxed()
}

fn arb_unknown(ty: &Type) -> BoxedStrategy<Value> {
    let wrap = |rf: Refinements| Value::Unknown(Box::new(rf));
    match ty {
        // go-cty never refines a dynamic unknown.
        Type::Dynamic => Just(Value::unknown()).boxed(),
        Type::String => (any::<bool>(), proptest::option::of("\\PC{1,20}"))
            .prop_map(move |(not_null, string_prefix)| {
                wrap(Refinements {
                    not_null,
                    string_prefix,
                    ..Default::default()
                })
            })
            .boxed(),
        Type::Number => (
            any::<bool>(),
            proptest::option::of((arb_bound(), any::<bool>())),
            proptest::option::of((arb_bound(), any::<bool>())),
        )
            .prop_map(move |(not_null, mut number_lower, mut number_upper)| {
                // Only ranges some number lies in: empty ones are refused (go-cty panics).
                if let (Some(lo), Some(hi)) = (&mut number_lower, &mut number_upper) {
                    if lo.0 > hi.0 {
                        std::mem::swap(lo, hi);
                    }
                    if lo.0 == hi.0 {
                        (lo.1, hi.1) = (true, true);
                    }
                }
                wrap(Refinements {
                    not_null,
                    number_lower,
                    number_upper,
                    ..Default::default()
                })
            })
            .boxed(),
        Type::List(_) | Type::Set(_) | Type::Map(_) => (
            any::<bool>(),
            proptest::option::of(1..u64::MAX),
            proptest::option::of(any::<u64>()),
        )
            .prop_map(move |(not_null, mut length_min, mut length_max)| {
                // Only length ranges some collection fits: empty ones are refused.
                if let (Some(min), Some(max)) = (&mut length_min, &mut length_max) {
                    if *min > *max {
                        std::mem::swap(min, max);
                    }
                }
                // A zero minimum says nothing and is never written.
                let length_min = length_min.filter(|m| *m > 0);
                wrap(Refinements {
                    not_null,
                    length_min,
                    length_max,
                    ..Default::default()
                })
            })
            .boxed(),
        _ => any::<bool>()
            .prop_map(move |not_null| {
                wrap(Refinements {
                    not_null,
                    ..Default::default()
                })
            })
            .boxed(),
    }
}

/// A value of `ty`; `dyn_depth` bounds how many fresh types dynamic values may invent.
fn arb_value(ty: &Type, unknowns: bool, dyn_depth: u32) -> BoxedStrategy<Value> {
    let known: BoxedStrategy<Value> = match ty {
        Type::String => any::<String>().prop_map(Value::String).boxed(),
        Type::Number => arb_number().prop_map(Value::number).boxed(),
        Type::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Type::List(e) => vec(arb_value(e, unknowns, dyn_depth), 0..4)
            .prop_map(Value::list)
            .boxed(),
        Type::Set(e) => vec(arb_value(e, unknowns, dyn_depth), 0..4)
            .prop_map(|items| Value::Set(items.into()))
            .boxed(),
        Type::Map(e) => btree_map(".{0,8}", arb_value(e, unknowns, dyn_depth), 0..4)
            .prop_map(|m| Value::Map(m.into_iter().collect()))
            .boxed(),
        Type::Tuple(ts) => ts
            .iter()
            .map(|t| arb_value(t, unknowns, dyn_depth))
            .collect::<Vec<_>>()
            .prop_map(Value::list)
            .boxed(),
        Type::Object(attrs) => {
            let names: Vec<String> = attrs.keys().cloned().collect();
            attrs
                .values()
                .map(|t| arb_value(t, unknowns, dyn_depth))
                .collect::<Vec<_>>()
                .prop_map(move |vals| Value::Map(names.iter().cloned().zip(vals).collect()))
                .boxed()
        }
        Type::Dynamic if dyn_depth == 0 => Just(Value::Null).boxed(),
        Type::Dynamic => arb_type()
            .prop_flat_map(move |t| {
                arb_value(&t, unknowns, dyn_depth - 1)
                    .prop_map(move |v| Value::Dynamic(Box::new((t.clone(), v))))
            })
            .boxed(),
    };
    let mut options = vec![(8, known), (1, Just(Value::Null).boxed())];
    if unknowns {
        options.push((1, arb_unknown(ty)));
    }
    Union::new_weighted(options).boxed()
}

fn arb_typed_value(unknowns: bool) -> impl Strategy<Value = (Type, Value)> {
    arb_type().prop_flat_map(move |t| arb_value(&t, unknowns, 2).prop_map(move |v| (t.clone(), v)))
}

/// Overwrites some bytes and maybe truncates.
fn mutate(mut bytes: Vec<u8>, edits: &[(usize, u8)], cut: Option<usize>) -> Vec<u8> {
    if !bytes.is_empty() {
        for (i, b) in edits {
            let n = bytes.len();
            bytes[i % n] = *b;
        }
    }
    if let Some(c) = cut {
        bytes.truncate(c % (bytes.len() + 1));
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn msgpack_round_trips((ty, v) in arb_typed_value(true)) {
        prop_assert!(v.conforms(&ty).is_ok());
        let bytes = to_msgpack(&v, &ty).unwrap();
        let back = from_msgpack(&bytes, &ty).unwrap();
        prop_assert_eq!(&back, &v);
        // Our encoding is canonical: re-encoding gives the same bytes.
        prop_assert_eq!(to_msgpack(&back, &ty).unwrap(), bytes);
    }

    #[test]
    fn json_round_trips((ty, v) in arb_typed_value(false)) {
        let bytes = to_json(&v, &ty).unwrap();
        // Always valid JSON.
        serde_json::from_slice::<serde_json::Value>(&bytes).unwrap();
        let back = from_json(&bytes, &ty).unwrap();
        prop_assert_eq!(&back, &v);
        prop_assert_eq!(to_json(&back, &ty).unwrap(), bytes);
        // And the same value survives msgpack.
        prop_assert_eq!(from_msgpack(&to_msgpack(&v, &ty).unwrap(), &ty).unwrap(), v);
    }

    #[test]
    fn msgpack_never_panics_on_arbitrary_bytes(ty in arb_type(), bytes in vec(any::<u8>(), 0..64)) {
        if let Ok(v) = from_msgpack(&bytes, &ty) {
            // Whatever decodes conforms and can be written back.
            prop_assert!(v.conforms(&ty).is_ok());
            to_msgpack(&v, &ty).unwrap();
        }
    }

    #[test]
    fn msgpack_never_panics_on_corrupted_encodings(
        (ty, v) in arb_typed_value(true),
        edits in vec((any::<usize>(), any::<u8>()), 1..4),
        cut in proptest::option::of(any::<usize>()),
    ) {
        let bytes = mutate(to_msgpack(&v, &ty).unwrap(), &edits, cut);
        if let Ok(v2) = from_msgpack(&bytes, &ty) {
            prop_assert!(v2.conforms(&ty).is_ok());
            to_msgpack(&v2, &ty).unwrap();
        }
    }

    #[test]
    fn json_never_panics_on_arbitrary_input(
        ty in arb_type(),
        text in "[\\[\\]{}\",:0-9a-z.eE+\\- \\\\]{0,48}",
        bytes in vec(any::<u8>(), 0..48),
    ) {
        for input in [text.as_bytes(), &bytes[..]] {
            if let Ok(v) = from_json(input, &ty) {
                prop_assert!(v.conforms(&ty).is_ok());
                to_json(&v, &ty).unwrap();
                to_msgpack(&v, &ty).unwrap();
            }
        }
    }

    #[test]
    fn json_never_panics_on_corrupted_encodings(
        (ty, v) in arb_typed_value(false),
        edits in vec((any::<usize>(), prop_oneof![Just(b'"'), Just(b'{'), Just(b']'), Just(b','), Just(b'1'), Just(b'e'), any::<u8>()]), 1..4),
        cut in proptest::option::of(any::<usize>()),
    ) {
        let bytes = mutate(to_json(&v, &ty).unwrap(), &edits, cut);
        if let Ok(v2) = from_json(&bytes, &ty) {
            prop_assert!(v2.conforms(&ty).is_ok());
            to_json(&v2, &ty).unwrap();
        }
    }

    #[test]
    fn number_text_round_trips(n in arb_number()) {
        let v = Value::number(n);
        prop_assert_eq!(from_msgpack(&to_msgpack(&v, &Type::Number).unwrap(), &Type::Number).unwrap(), v.clone());
        prop_assert_eq!(from_json(&to_json(&v, &Type::Number).unwrap(), &Type::Number).unwrap(), v);
    }
}
