//! Conformance of the cty codecs with go-cty and terraform-plugin-go: their published
//! round-trip values and hex vectors, written out here as data, plus bounded fuzzing
//! of both decoders (no panic, and a decoded value never much larger than its input).

pub mod common_cty;

use std::str::FromStr;

use common_cty::AttrNames;
use proptest::collection::vec;
use proptest::prelude::*;
use terraform_provider_defentry::sdk::cty::*;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn num(s: &str) -> Value {
    Value::number(BigDecimal::from_str(s).unwrap())
}

fn refined(rf: Refinements) -> Value {
    Value::Unknown(Box::new(rf))
}

fn dynv(ty: Type, v: Value) -> Value {
    Value::Dynamic(Box::new((ty, v)))
}

const POS_INF: Value = Value::Infinity { negative: false };
const NEG_INF: Value = Value::Infinity { negative: true };

/// terraform-plugin-go's `TestValueFromMsgPack` vectors (tests/data/tftypes_msgpack.tsv):
/// every one decodes, and re-encodes to exactly the same bytes.
#[test]
fn tftypes_msgpack_vectors_round_trip_byte_exact() {
    let data = include_str!("data/tftypes_msgpack.tsv");
    let mut count = 0;
    for line in data
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let [name, ty, hex] = line.split('\t').collect::<Vec<_>>()[..] else {
            panic!("bad vector line {line:?}")
        };
        let ty = Type::from_json_bytes(ty.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let bytes = unhex(hex);
        let v = from_msgpack(&bytes, &ty).unwrap_or_else(|e| panic!("{name}: decode: {e}"));
        let again = to_msgpack(&v, &ty).unwrap_or_else(|e| panic!("{name}: encode: {e}"));
        assert_eq!(hex::encode(again), hex, "{name}");
        count += 1;
    }
    assert_eq!(count, 62);
}

/// The values behind a few of those vectors, so the bytes are not only self-consistent.
#[test]
fn tftypes_vectors_decode_to_their_values() {
    let cases = [
        ("cb7ff0000000000000", POS_INF),
        ("cbfff0000000000000", NEG_INF),
        ("cf7fffffffffffffff", Value::int(i64::MAX)),
        ("d38000000000000000", Value::int(i64::MIN)),
        ("a3302e38", num("0.8")),
        (
            "b339323233333732303336383534373735383038",
            num("9223372036854775808"),
        ),
    ];
    for (hex, want) in cases {
        assert_eq!(
            from_msgpack(&unhex(hex), &Type::Number).unwrap(),
            want,
            "{hex}"
        );
    }
    // The smallest subnormal float, exactly: 2^-1074 has 751 significant digits.
    let tiny = from_msgpack(&unhex("cb0000000000000001"), &Type::Number).unwrap();
    assert_eq!(tiny.as_number().map(|n| n.big().digits()), Some(751));
}

/// go-cty's `TestRoundTrip` values (cty/msgpack/roundtrip_test.go), each with the bytes
/// go-cty writes for it.
#[test]
fn go_cty_msgpack_round_trip_values() {
    let s = Type::String;
    let n = Type::Number;
    let ls = Type::list(Type::String);
    let not_null = || Refinements {
        not_null: true,
        ..Default::default()
    };
    let big = "9".repeat(100);
    let cases: Vec<(Type, Value, String)> = vec![
        (s.clone(), Value::string("hello"), "a568656c6c6f".into()),
        (s.clone(), Value::string(""), "a0".into()),
        (s.clone(), Value::Null, "c0".into()),
        (s.clone(), Value::unknown(), "d40000".into()),
        (s.clone(), refined(not_null()), "c7030c8101c2".into()),
        (
            s.clone(),
            refined(Refinements {
                string_prefix: Some("foo-".into()),
                ..Default::default()
            }),
            "c7070c8102a4666f6f2d".into(),
        ),
        (
            s.clone(),
            refined(Refinements {
                not_null: true,
                string_prefix: Some("foo-".into()),
                ..Default::default()
            }),
            "c7090c8201c202a4666f6f2d".into(),
        ),
        (Type::Bool, Value::Bool(true), "c3".into()),
        (Type::Bool, Value::Bool(false), "c2".into()),
        (Type::Bool, refined(not_null()), "c7030c8101c2".into()),
        (n.clone(), Value::int(1), "01".into()),
        (n.clone(), num("1.5"), "cb3ff8000000000000".into()),
        (n.clone(), num(&big), format!("d964{}", hex::encode(&big))),
        (
            n.clone(),
            num("9223372036854775807"),
            "cf7fffffffffffffff".into(),
        ),
        (
            n.clone(),
            num("9223372036854775808"),
            format!("b3{}", hex::encode("9223372036854775808")),
        ),
        (
            n.clone(),
            num("18446744073709551616"),
            format!("b4{}", hex::encode("18446744073709551616")),
        ),
        (n.clone(), num("0.8"), "a3302e38".into()),
        (n.clone(), POS_INF, "cb7ff0000000000000".into()),
        (n.clone(), NEG_INF, "cbfff0000000000000".into()),
        (
            n.clone(),
            refined(Refinements {
                number_lower: Some((BigDecimal::from(0), true)),
                ..Default::default()
            }),
            "c7050c81039200c3".into(),
        ),
        (
            n.clone(),
            refined(Refinements {
                number_upper: Some((BigDecimal::from(0), false)),
                ..Default::default()
            }),
            "c7050c81049200c2".into(),
        ),
        (
            n.clone(),
            refined(Refinements {
                number_lower: Some((BigDecimal::from(0), true)),
                number_upper: Some((BigDecimal::from(1), true)),
                ..Default::default()
            }),
            "c7090c82039200c3049201c3".into(),
        ),
        (
            ls.clone(),
            Value::List(vec![Value::string("hello")].into()),
            "91a568656c6c6f".into(),
        ),
        (
            ls.clone(),
            Value::List(vec![Value::Null].into()),
            "91c0".into(),
        ),
        (ls.clone(), Value::List(vec![].into()), "90".into()),
        (
            ls.clone(),
            refined(Refinements {
                length_min: Some(1),
                length_max: Some(2),
                ..Default::default()
            }),
            "c7050c8205010602".into(),
        ),
        (
            ls.clone(),
            refined(Refinements {
                not_null: true,
                length_max: Some(1),
                ..Default::default()
            }),
            "c7050c8201c20601".into(),
        ),
        (
            Type::map(Type::String),
            Value::object([("greeting", Value::unknown())]),
            "81a86772656574696e67d40000".into(),
        ),
        (Type::Tuple(vec![]), Value::List(vec![].into()), "90".into()),
        (
            Type::object([("a", Type::String), ("b", Type::String)]),
            Value::object([("a", Value::Null), ("b", Value::unknown())]),
            "82a161c0a162d40000".into(),
        ),
        (Type::Dynamic, Value::unknown(), "d40000".into()),
        (
            Type::list(Type::Dynamic),
            Value::List(vec![dynv(Type::String, Value::string("hello"))].into()),
            "9192c40822737472696e6722a568656c6c6f".into(),
        ),
    ];
    for (ty, v, hex) in cases {
        let bytes = to_msgpack(&v, &ty).unwrap_or_else(|e| panic!("{v:?}: {e}"));
        assert_eq!(hex::encode(&bytes), hex, "{v:?} as {ty}");
        assert_eq!(from_msgpack(&bytes, &ty).unwrap(), v, "{hex}");
    }
}

/// go-cty's `TestRoundTrip_truncatesStringPrefixRefinement`: the prefix each long
/// refinement comes back as.
#[test]
fn long_string_prefixes_are_cut_like_go_cty() {
    let cases = [
        ("a".repeat(1024), "a".repeat(254)),
        ("c".repeat(255) + "-", "c".repeat(255) + "-"),
        ("d".repeat(255) + "🤷🤷", "d".repeat(254)),
        ("e".repeat(254) + "/xyz", "e".repeat(254) + "/"),
        ("é".repeat(300), "é".repeat(126)),
    ];
    for (prefix, want) in cases {
        let v = refined(Refinements {
            not_null: true,
            string_prefix: Some(prefix.clone()),
            ..Default::default()
        });
        let back = from_msgpack(&to_msgpack(&v, &Type::String).unwrap(), &Type::String).unwrap();
        let Value::Unknown(rf) = &back else {
            panic!("{back:?}")
        };
        assert_eq!(rf.string_prefix.as_deref(), Some(want.as_str()), "{prefix}");
        assert!(rf.not_null);
    }
}

/// Refinements no value could meet are refused with a message, never passed on (go-cty
/// panics on them), both when encoding and when decoding.
#[test]
fn contradictory_refinements_are_refused() {
    let empty_range = refined(Refinements {
        number_lower: Some((BigDecimal::from(2), true)),
        number_upper: Some((BigDecimal::from(1), true)),
        ..Default::default()
    });
    let err = to_msgpack(&empty_range, &Type::Number)
        .unwrap_err()
        .to_string();
    assert!(err.contains("inconsistent refinements"), "{err}");
    let half_open = refined(Refinements {
        number_lower: Some((BigDecimal::from(1), false)),
        number_upper: Some((BigDecimal::from(1), true)),
        ..Default::default()
    });
    assert!(to_msgpack(&half_open, &Type::Number).is_err());
    let point = refined(Refinements {
        number_lower: Some((BigDecimal::from(1), true)),
        number_upper: Some((BigDecimal::from(1), true)),
        ..Default::default()
    });
    assert!(to_msgpack(&point, &Type::Number).is_ok());
    let lengths = refined(Refinements {
        length_min: Some(3),
        length_max: Some(2),
        ..Default::default()
    });
    let err = to_msgpack(&lengths, &Type::set(Type::String))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("minimum length 3 is above the maximum length 2"),
        "{err}"
    );
    assert!(lengths.conforms(&Type::set(Type::String)).is_err());
    // The same contradictions on the wire are malformed input.
    assert!(from_msgpack(&unhex("c7050c8205030602"), &Type::list(Type::String)).is_err());
    assert!(from_msgpack(&unhex("c7090c82039202c3049201c3"), &Type::Number).is_err());
    // An infinite bound (what older go-cty writes for "none") decodes as no bound.
    let v = from_msgpack(&unhex("c70d0c810392cbfff0000000000000c2"), &Type::Number).unwrap();
    assert_eq!(v, refined(Refinements::default()));
}

/// ±Infinity: every form go-cty and tftypes write or accept decodes; msgpack writes the
/// float64 form; JSON refuses to write it, as go-cty does.
#[test]
fn infinity_in_every_form() {
    let n = Type::Number;
    for (hex, want) in [
        ("cb7ff0000000000000", POS_INF),
        ("cbfff0000000000000", NEG_INF),
        ("ca7f800000", POS_INF),
        ("caff800000", NEG_INF),
        ("a42b496e66", POS_INF), // "+Inf", go-cty's Text('f', -1)
        ("a42d496e66", NEG_INF), // "-Inf"
        ("a3496e66", POS_INF),   // "Inf"
        ("a3696e66", POS_INF),   // "inf"
    ] {
        assert_eq!(from_msgpack(&unhex(hex), &n).unwrap(), want, "{hex}");
    }
    assert_eq!(
        hex::encode(to_msgpack(&NEG_INF, &n).unwrap()),
        "cbfff0000000000000"
    );
    for (text, want) in [
        ("\"+Inf\"", POS_INF),
        ("\"-Inf\"", NEG_INF),
        ("\"Inf\"", POS_INF),
    ] {
        assert_eq!(from_json(text.as_bytes(), &n).unwrap(), want, "{text}");
    }
    let err = to_json(&POS_INF, &n).unwrap_err().to_string();
    assert!(err.contains("infinity cannot be encoded as JSON"), "{err}");
    // Not spellings Go accepts: still errors.
    for bad in ["Infinity", "+-Inf", "INF", "inf "] {
        assert!(
            from_json(format!("{bad:?}").as_bytes(), &n).is_err(),
            "{bad}"
        );
    }
    // Inside a dynamic value and a list, too.
    let ty = Type::list(Type::Dynamic);
    let v = Value::List(vec![dynv(Type::Number, POS_INF)].into());
    assert_eq!(from_msgpack(&to_msgpack(&v, &ty).unwrap(), &ty).unwrap(), v);
}

/// A number never re-encodes more than MAX_PLAIN_ZEROS bytes beyond its digits: huge
/// exponents keep the compact form, which go-cty and tftypes parse.
#[test]
fn numbers_keep_a_compact_form_beyond_the_bound() {
    let huge = num("1e20000");
    let bytes = to_msgpack(&huge, &Type::Number).unwrap();
    assert_eq!(bytes, [&[0xa7][..], b"1e20000"].concat());
    assert_eq!(from_msgpack(&bytes, &Type::Number).unwrap(), huge);
    assert_eq!(
        to_json(&num("-25e-20000"), &Type::Number).unwrap(),
        b"-25e-20000"
    );
    // At the bound the plain form is kept, as go-cty writes it.
    let at = format!("1{}", "0".repeat(MAX_PLAIN_ZEROS));
    assert_eq!(
        to_json(&num(&format!("1e{MAX_PLAIN_ZEROS}")), &Type::Number).unwrap(),
        at.as_bytes()
    );
    // 100,000 of them: 0.8 MB in, about as much out (this aborted the process before).
    let ty = Type::list(Type::Number);
    let mut input = vec![0xdd, 0x00, 0x01, 0x86, 0xa0];
    for _ in 0..100_000 {
        input.extend([&[0xa7][..], b"1e20000"].concat());
    }
    let v = from_msgpack(&input, &ty).unwrap();
    assert_eq!(to_msgpack(&v, &ty).unwrap(), input);
}

/// Counts a value's nodes and its string bytes, for bounding decoded size.
fn measure(v: &Value) -> (usize, usize) {
    match v {
        Value::String(s) => (1, s.len()),
        Value::List(vs) | Value::Set(vs) => vs
            .iter()
            .map(measure)
            .fold((1, 0), |(n, b), (n2, b2)| (n + n2, b + b2)),
        Value::Map(m) => m.iter().fold((1, 0), |(n, b), (k, v)| {
            let (n2, b2) = measure(v);
            (n + n2, b + b2 + k.len())
        }),
        Value::Dynamic(d) => {
            let (n, b) = measure(&d.1);
            (n + 1, b)
        }
        _ => (1, 0),
    }
}

fn arb_type() -> impl Strategy<Value = Type> {
    common_cty::arb_type(3, 12, 3, AttrNames::Indexed)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Inputs are at most 4 KiB, so each case is quick; whatever the bytes, decoding
    /// returns, and a decoded value has no more nodes than input bytes and no more
    /// string bytes than the input holds; re-encoding it stays within the number bound.
    #[test]
    fn msgpack_decoding_is_bounded(ty in arb_type(), bytes in vec(any::<u8>(), 0..4096)) {
        if let Ok(v) = from_msgpack(&bytes, &ty) {
            let (nodes, text) = measure(&v);
            prop_assert!(nodes <= bytes.len().max(1), "{nodes} nodes from {} bytes", bytes.len());
            prop_assert!(text <= bytes.len());
            if let Ok(again) = to_msgpack(&v, &ty) {
                prop_assert!(again.len() <= (bytes.len() + 1) * (MAX_PLAIN_ZEROS + 32));
            }
        }
    }

    #[test]
    fn json_decoding_is_bounded(ty in arb_type(), text in "[\\[\\]{}\",:0-9a-z.eE+\\- ]{0,512}") {
        if let Ok(v) = from_json(text.as_bytes(), &ty) {
            let (_, strings) = measure(&v);
            prop_assert!(strings <= text.len());
        }
    }

    /// Any number text the grammar allows, however large its exponent, re-encodes within
    /// MAX_PLAIN_ZEROS (+ sign, point and exponent) of its own length.
    #[test]
    fn number_text_never_blows_up(mantissa in "[1-9][0-9]{0,30}", exp in -19_900i64..=19_900) {
        let text = format!("{mantissa}e{exp}");
        let v = from_json(text.as_bytes(), &Type::Number).unwrap();
        let out = to_json(&v, &Type::Number).unwrap();
        prop_assert!(out.len() <= text.len() + MAX_PLAIN_ZEROS + 2, "{text} -> {} bytes", out.len());
        prop_assert_eq!(from_json(&out, &Type::Number).unwrap(), v);
    }
}

/// One nesting limit for both codecs: a value MAX_DEPTH deep travels through msgpack
/// and JSON alike, one level more is refused by both, and every walk over it (decode,
/// conformance, encode, clone, compare, format, drop, of values and of the types a
/// dynamic value carries) fits the 2 MiB stack of a tokio worker even in a debug build,
/// whose frames are several times larger than release's (there the msgpack decoder
/// alone needs over 1 MiB for 256 levels, so the walks must grow the stack as they go).
#[test]
fn one_nesting_limit_for_both_codecs_and_stack_safe() {
    let run = || {
        for depth in [MAX_DEPTH, MAX_DEPTH + 1] {
            // A list nested `depth` deep around a string, so `depth` levels of elements.
            let mut ty = Type::String;
            let mut v = Value::string("x");
            for _ in 0..depth {
                ty = Type::list(ty);
                v = Value::List(vec![v].into());
            }
            let mut bytes = vec![0x91; depth];
            bytes.extend([0xa1, b'x']);
            let json = format!("{}\"x\"{}", "[".repeat(depth), "]".repeat(depth));
            if depth == MAX_DEPTH {
                assert_eq!(from_msgpack(&bytes, &ty).unwrap(), v);
                assert_eq!(from_json(json.as_bytes(), &ty).unwrap(), v);
                assert_eq!(to_msgpack(&v, &ty).unwrap(), bytes);
                assert_eq!(to_json(&v, &ty).unwrap(), json.as_bytes());
                assert!(v.conforms(&ty).is_ok());
                let copy = v.clone();
                assert_eq!(copy, v);
                assert!(format!("{copy:?}").len() > depth);
                // The same value one level down, under a dynamic wrapper that carries
                // its type (as deep as the value) through both codecs.
                let (inner_ty, inner) = match &v {
                    Value::List(items) => (ty.friendly_name(), items[0].clone()),
                    other => panic!("{other:?}"),
                };
                assert!(inner_ty.ends_with("list of string"));
                let Type::List(elem_ty) = &ty else { panic!() };
                let d = dynv((**elem_ty).clone(), inner);
                let copy = d.clone();
                assert_eq!(copy, d);
                assert!(format!("{copy:?}").len() > depth);
                let packed = to_msgpack(&d, &Type::Dynamic).unwrap();
                assert_eq!(from_msgpack(&packed, &Type::Dynamic).unwrap(), d);
                let text = to_json(&d, &Type::Dynamic).unwrap();
                assert_eq!(from_json(&text, &Type::Dynamic).unwrap(), d);
            } else {
                for err in [
                    from_msgpack(&bytes, &ty).unwrap_err(),
                    from_json(json.as_bytes(), &ty).unwrap_err(),
                    to_msgpack(&v, &ty).unwrap_err(),
                    to_json(&v, &ty).unwrap_err(),
                    v.conforms(&ty).unwrap_err(),
                ] {
                    assert!(err.to_string().contains("nested"), "{err}");
                }
                // Malformed JSON with a deep part is an error, not a crash.
                let bad = format!("[{},1 x]", &json[1..json.len() - 1]);
                assert!(from_json(bad.as_bytes(), &ty).is_err());
            }
        }
        // Dynamic wrappers count as levels in both codecs, too.
        let mut v = Value::Null;
        for _ in 0..MAX_DEPTH {
            v = dynv(Type::Dynamic, v);
        }
        let json = |levels: usize| {
            let suffix = ",\"type\":\"dynamic\"}".repeat(levels);
            format!("{}null{suffix}", "{\"value\":".repeat(levels))
        };
        assert_eq!(
            from_msgpack(&to_msgpack(&v, &Type::Dynamic).unwrap(), &Type::Dynamic).unwrap(),
            v
        );
        assert_eq!(
            to_json(&v, &Type::Dynamic).unwrap(),
            json(MAX_DEPTH).as_bytes()
        );
        assert_eq!(
            from_json(json(MAX_DEPTH).as_bytes(), &Type::Dynamic).unwrap(),
            v
        );
        assert!(from_json(json(MAX_DEPTH + 1).as_bytes(), &Type::Dynamic).is_err());
        // An unknown refinement key is skipped whatever it holds: here arrays nested as
        // deep as the 1 KiB refinement payload allows.
        let mut payload = vec![0x81, 0x63];
        payload.extend(vec![0x91; 1020]);
        payload.push(0xc0);
        let mut bytes = vec![0xc8]; // ext 16
        bytes.extend((payload.len() as u16).to_be_bytes());
        bytes.push(0x0c); // a refined unknown
        bytes.extend(&payload);
        assert_eq!(
            from_msgpack(&bytes, &Type::String).unwrap(),
            Value::unknown()
        );
    };
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(run)
        .unwrap()
        .join()
        .unwrap();
}
