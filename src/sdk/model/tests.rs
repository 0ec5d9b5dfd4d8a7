use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::*;
use crate::schema::{Attribute, NestedBlock, Nesting};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Inner {
    c: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Model {
    name: String,
    enabled: bool,
    count: u32,
    ratio: f64,
    triggers: BTreeMap<String, String>,
    tags: Vec<String>,
    labels: Vec<String>,
    inner: Inner,
    items: Vec<Inner>,
    note: Option<String>,
    token: Maybe<String>,
}

/// A schema with every attribute shape and a single and a list block.
fn block() -> Block {
    Block::new(vec![
        Attribute::required("name", Type::String),
        Attribute::optional("enabled", Type::Bool),
        Attribute::optional("count", Type::Number),
        Attribute::optional("ratio", Type::Number),
        Attribute::optional("triggers", Type::map(Type::String)),
        Attribute::optional("tags", Type::list(Type::String)),
        Attribute::optional("labels", Type::set(Type::String)),
        Attribute::optional("note", Type::String),
        Attribute::computed("token", Type::String),
    ])
    .nested(nested("inner", Nesting::Single))
    .nested(nested("items", Nesting::List))
}

fn nested(name: &str, nesting: Nesting) -> NestedBlock {
    NestedBlock {
        type_name: name.into(),
        block: Block::new(vec![Attribute::optional("c", Type::Bool)]),
        nesting,
        min_items: 0,
        max_items: 0,
    }
}

fn model() -> Model {
    Model {
        name: "n".into(),
        enabled: true,
        count: 3,
        ratio: 0.1,
        triggers: BTreeMap::from([("k".to_string(), "v".to_string())]),
        tags: vec!["a".into(), "b".into()],
        labels: vec!["x".into()],
        inner: Inner { c: false },
        items: vec![Inner { c: true }],
        note: None,
        token: Maybe::Unknown,
    }
}

fn num(s: &str) -> Value {
    Value::number(s.parse::<crate::cty::BigDecimal>().unwrap())
}

#[test]
fn every_shape_round_trips_through_a_value() {
    let ty = block().implied_type();
    let v = to_value(&model(), &ty).unwrap();
    let inner = |c| Value::object([("c", Value::Bool(c))]);
    let want = Value::object([
        ("name", Value::string("n")),
        ("enabled", Value::Bool(true)),
        ("count", Value::int(3)),
        ("ratio", num("0.1")),
        ("triggers", Value::object([("k", Value::string("v"))])),
        (
            "tags",
            Value::List(vec![Value::string("a"), Value::string("b")].into()),
        ),
        ("labels", Value::Set(vec![Value::string("x")].into())),
        ("inner", inner(false)),
        ("items", Value::List(vec![inner(true)].into())),
        ("note", Value::Null),
        ("token", Value::unknown()),
    ]);
    assert_eq!(v, want);
    assert_eq!(from_value::<Model>(&v).unwrap(), model());
}

#[test]
fn nulls_and_unknowns_read_into_option_and_maybe() {
    #[derive(Debug, PartialEq, Deserialize)]
    struct M {
        a: Option<String>,
        b: Maybe<String>,
        c: Maybe<String>,
        d: Maybe<i64>,
        e: (),
    }
    let v = Value::object([
        ("a", Value::Null),
        ("b", Value::Null),
        ("c", Value::unknown()),
        ("d", Value::int(-4)),
        ("e", Value::Null),
    ]);
    let m: M = from_value(&v).unwrap();
    assert_eq!(
        m,
        M {
            a: None,
            b: Maybe::Null,
            c: Maybe::Unknown,
            d: Maybe::Known(-4),
            e: (),
        }
    );
    assert!(m.b.is_known() && m.b.is_null() && !m.c.is_known() && m.c.is_unknown());
    assert_eq!(m.d.as_ref().known(), Some(&&-4));
    assert_eq!(m.d.clone().map(|d| d * 2).into_known(), Some(-8));
    assert_eq!(m.c.known(), None);
    assert_eq!(Maybe::from(Some(1)), Maybe::Known(1));
    assert_eq!(Maybe::<i32>::from(None), Maybe::Null);
}

#[test]
fn unknown_where_a_known_value_is_required_names_the_attribute() {
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct M {
        token: Option<String>,
    }
    let e = from_value::<M>(&Value::object([("token", Value::unknown())])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "at token: unknown value where a known one is required"
    );
    assert_eq!(e.path(), Some(&AttributePath::attr("token")));
}

#[test]
fn null_into_a_required_field_names_the_attribute() {
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct M {
        rotation_period: String,
    }
    let e = from_value::<M>(&Value::object([("rotation_period", Value::Null)])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "at rotation_period: expected a string, found null"
    );
    let e = from_value::<M>(&Value::object([("rotation_period", Value::Bool(true))])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "at rotation_period: expected a string, found a bool"
    );
}

#[test]
fn nested_errors_name_the_full_path() {
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct A {
        b: B,
    }
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct B {
        n: u8,
        triggers: HashMap<String, i32>,
        list: Vec<bool>,
    }
    let v = |n: Value, t: Value, l: Value| {
        Value::object([("b", Value::object([("n", n), ("triggers", t), ("list", l)]))])
    };
    let ok = |t| Value::object([("k", t)]);
    let list = |b| Value::List(vec![Value::Bool(true), b].into());
    let cases = [
        (
            v(Value::int(300), ok(Value::int(1)), list(Value::Bool(true))),
            "at b.n: 300 is out of range for u8",
        ),
        (
            v(num("1.5"), ok(Value::int(1)), list(Value::Bool(true))),
            "at b.n: expected a whole number, found 1.5",
        ),
        (
            v(
                Value::int(1),
                ok(Value::string("x")),
                list(Value::Bool(true)),
            ),
            r#"at b.triggers["k"]: expected a number, found a string"#,
        ),
        (
            v(Value::int(1), ok(Value::int(1)), list(Value::Null)),
            "at b.list[1]: expected a bool, found null",
        ),
        (
            Value::object([("b", Value::object([("n", Value::int(1))]))]),
            "at b: missing field `triggers`",
        ),
        (Value::string("x"), "expected an object, found a string"),
    ];
    for (value, want) in cases {
        assert_eq!(from_value::<A>(&value).unwrap_err().to_string(), want);
    }
    assert_eq!(
        from_value::<A>(&Value::string("x")).unwrap_err().path(),
        None
    );
}

#[test]
fn numbers_read_into_every_numeric_type() {
    assert_eq!(from_value::<i64>(&Value::int(i64::MIN)).unwrap(), i64::MIN);
    assert_eq!(
        from_value::<u64>(&num("18446744073709551615")).unwrap(),
        u64::MAX
    );
    assert_eq!(from_value::<u128>(&num("1e20")).unwrap(), 10u128.pow(20));
    assert_eq!(from_value::<i8>(&num("-128.000")).unwrap(), -128);
    assert_eq!(from_value::<f64>(&num("0.1")).unwrap(), 0.1);
    assert_eq!(from_value::<f32>(&num("2.5")).unwrap(), 2.5);
    assert!(from_value::<u32>(&Value::int(-1)).is_err());
    assert!(from_value::<f64>(&num("1e400")).is_err());
    let e = from_value::<f32>(&num("1e39")).unwrap_err();
    assert_eq!(e.to_string(), "1e+39 does not fit a floating-point number");
    assert_eq!(to_value(&0.1f32, &Type::Number).unwrap(), num("0.1"));
    assert_eq!(
        to_value(&u128::MAX, &Type::Number).unwrap(),
        num(&u128::MAX.to_string())
    );
    let e = to_value(&f64::NAN, &Type::Number).unwrap_err();
    assert_eq!(e.to_string(), "the number NaN has no Terraform type");
    let e = to_value(
        &BTreeMap::from([("r", f64::INFINITY)]),
        &Type::map(Type::Number),
    );
    assert_eq!(
        e.unwrap_err().path(),
        Some(&AttributePath::root().at_key("r"))
    );
}

#[test]
fn dynamic_values_are_read_through_and_written_with_their_type() {
    let v = Value::Dynamic(Box::new((Type::String, Value::string("x"))));
    assert_eq!(from_value::<String>(&v).unwrap(), "x");
    let w = to_value(&BTreeMap::from([("a", 1)]), &Type::Dynamic).unwrap();
    let want_ty = Type::object([("a", Type::Number)]);
    assert_eq!(
        w,
        Value::Dynamic(Box::new((want_ty, Value::object([("a", Value::int(1))]))))
    );
}

#[test]
fn sets_come_from_vecs_by_type_and_tuples_from_lists() {
    let tags = vec!["a".to_string()];
    let set = to_value(&tags, &Type::set(Type::String)).unwrap();
    assert_eq!(set, Value::Set(vec![Value::string("a")].into()));
    let list = to_value(&tags, &Type::list(Type::String)).unwrap();
    assert_eq!(list, Value::List(vec![Value::string("a")].into()));
    assert_eq!(from_value::<Vec<String>>(&set).unwrap(), tags);
    let tuple_ty = Type::Tuple(vec![Type::String, Type::Number]);
    let t = to_value(&("a", 2), &tuple_ty).unwrap();
    assert_eq!(from_value::<(String, u8)>(&t).unwrap(), ("a".into(), 2));
    let e = from_value::<(String,)>(&t).unwrap_err();
    assert_eq!(e.to_string(), "1 more elements than the model reads");
}

#[test]
fn attributes_the_model_does_not_name_are_written_as_null() {
    #[derive(Serialize)]
    struct Part {
        a: &'static str,
    }
    let ty = Type::object([
        ("a", Type::String),
        ("b", Type::list(Type::Number)),
        ("c", Type::object([("d", Type::Bool)])),
    ]);
    let v = to_value(&Part { a: "x" }, &ty).unwrap();
    assert_eq!(
        v,
        Value::object([
            ("a", Value::string("x")),
            ("b", Value::Null),
            ("c", Value::Null)
        ])
    );
}

#[test]
fn a_model_that_does_not_fit_the_type_is_an_error() {
    #[derive(Serialize)]
    struct Wrong {
        a: bool,
        extra: u8,
    }
    let ty = Type::object([("a", Type::String)]);
    let e = to_value(&Wrong { a: true, extra: 1 }, &ty).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("does not conform to type object: unexpected attribute"),
        "{e}"
    );
    let e = to_value(
        &Wrong { a: true, extra: 1 },
        &Type::object([("a", Type::String), ("extra", Type::Number)]),
    )
    .unwrap_err();
    assert_eq!(e.path(), Some(&AttributePath::attr("a")));
}

#[test]
fn serde_attributes_work() {
    #[derive(Debug, PartialEq, Default, Serialize, Deserialize)]
    struct Id(String);
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Kind {
        Daily,
        Weekly,
    }
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Extra {
        x: bool,
    }
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct M {
        #[serde(rename = "type")]
        kind: Kind,
        #[serde(default)]
        id: Id,
        #[serde(skip)]
        cache: u8,
        #[serde(flatten)]
        extra: Extra,
    }
    let ty = Type::object([
        ("type", Type::String),
        ("id", Type::String),
        ("x", Type::Bool),
    ]);
    let v = Value::object([("type", Value::string("weekly")), ("x", Value::Bool(true))]);
    let m: M = from_value(&v).unwrap();
    let want = M {
        kind: Kind::Weekly,
        id: Id(String::new()),
        cache: 0,
        extra: Extra { x: true },
    };
    assert_eq!(m, want);
    let back = to_value(&m, &ty).unwrap();
    assert_eq!(back.attr("type").as_str(), Some("weekly"));
    assert_eq!(back.attr("id").as_str(), Some(""));
    assert_eq!(back.attr("x").as_bool(), Some(true));
    // A flattened struct is read as a map: its paths say ["type"] rather than type.
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct K {
        #[serde(rename = "type")]
        kind: Kind,
    }
    let k: K = from_value(&Value::object([("type", Value::string("daily"))])).unwrap();
    assert_eq!(k.kind, Kind::Daily);
    let e = to_value(&Some(Ok::<u8, u8>(1)), &Type::Number).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the newtype variant Ok has no Terraform type"
    );
    let bad = Value::object([("type", Value::string("hourly"))]);
    let e = from_value::<K>(&bad).unwrap_err();
    assert_eq!(
        e.to_string(),
        "at type: unknown variant `hourly`, expected `daily` or `weekly`"
    );
}

#[test]
fn maybe_round_trips_through_json() {
    let known: Maybe<u8> = serde_json::from_str("3").unwrap();
    assert_eq!(known, Maybe::Known(3));
    let null: Maybe<u8> = serde_json::from_str("null").unwrap();
    assert_eq!(null, Maybe::Null);
    assert_eq!(serde_json::to_string(&Maybe::Known(3)).unwrap(), "3");
    assert_eq!(serde_json::to_string(&Maybe::<u8>::Null).unwrap(), "null");
    assert_eq!(
        serde_json::to_string(&Maybe::<u8>::Unknown).unwrap(),
        "null"
    );
}

#[test]
fn check_model_accepts_a_matching_model() {
    assert_eq!(check_model::<Model>(&block()), Ok(()));
}

#[test]
fn check_model_lists_every_mismatching_attribute() {
    #[derive(Serialize, Deserialize)]
    struct WrongInner {
        c: String,
    }
    #[derive(Serialize, Deserialize)]
    struct Wrong {
        name: String,
        enabled: String,
        count: u32,
        ratio: f64,
        triggers: BTreeMap<String, String>,
        tags: Vec<String>,
        labels: Vec<String>,
        inner: WrongInner,
        items: Vec<Inner>,
        token: Maybe<String>,
        surplus: bool,
    }
    let err = check_model::<Wrong>(&block()).unwrap_err();
    assert_eq!(
        err.lines().collect::<Vec<_>>(),
        [
            "at enabled: expected a string, found a bool",
            "at inner.c: expected a string, found a bool",
            "at note: in the schema but not in the model",
            "at surplus: in the model but not in the schema",
        ],
        "{err}"
    );
}

#[test]
fn malformed_values_never_panic() {
    let odd = [
        Value::Null,
        Value::unknown(),
        Value::string("s"),
        num("1e30"),
        num("-0.5"),
        Value::Set(vec![Value::Null, Value::unknown()].into()),
        Value::object([("name", Value::List(vec![].into()))]),
        Value::Dynamic(Box::new((Type::Dynamic, Value::unknown()))),
    ];
    for v in &odd {
        assert!(from_value::<Model>(v).is_err());
        let _ = from_value::<BTreeMap<String, Maybe<u8>>>(v);
        let _ = from_value::<Vec<Option<i8>>>(v);
        let _ = from_value::<Maybe<f32>>(v);
        let _ = to_value(&model(), &Type::Dynamic);
    }
}

#[test]
fn check_model_follows_set_and_map_blocks() {
    #[derive(Serialize, Deserialize)]
    struct M {
        set: Vec<Inner>,
        map: BTreeMap<String, Inner>,
    }
    #[derive(Serialize, Deserialize)]
    struct WrongInner {
        c: u8,
    }
    #[derive(Serialize, Deserialize)]
    struct Wrong {
        set: Vec<WrongInner>,
        map: BTreeMap<String, Inner>,
    }
    let b = Block::default()
        .nested(nested("set", Nesting::Set))
        .nested(nested("map", Nesting::Map));
    assert_eq!(check_model::<M>(&b), Ok(()));
    assert_eq!(
        check_model::<Wrong>(&b),
        Err("at set[0].c: expected a number, found a bool".to_string())
    );
}

#[test]
fn check_model_catches_what_only_writing_back_shows() {
    // Reads the string, but writes a number back.
    fn as_number<S: serde::Serializer>(_: &String, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(1)
    }
    #[derive(Serialize, Deserialize)]
    struct M {
        #[serde(serialize_with = "as_number")]
        name: String,
    }
    let b = Block::new(vec![Attribute::required("name", Type::String)]);
    assert_eq!(
        check_model::<M>(&b),
        Err("at name: the schema says string; the model writes a number".to_string())
    );
}

#[test]
fn update_value_keeps_what_the_model_did_not_change() {
    #[derive(Serialize, Deserialize)]
    struct M {
        a: Maybe<String>,
        b: Maybe<String>,
        m: Maybe<BTreeMap<String, Maybe<String>>>,
    }
    let ty = Type::object([
        ("a", Type::String),
        ("b", Type::String),
        ("m", Type::map(Type::String)),
    ]);
    let refined = Value::Unknown(Box::new(crate::cty::Refinements {
        not_null: true,
        ..Default::default()
    }));
    let base = Value::object([
        ("a", refined.clone()),
        ("b", Value::string("x")),
        (
            "m",
            Value::object([("k", refined.clone()), ("l", Value::string("y"))]),
        ),
    ]);
    let mut m: M = from_value(&base).expect("reads");
    assert!(
        m.a.is_unknown(),
        "a model reads a refined unknown as unknown"
    );
    m.b = Maybe::Known("z".into());
    if let Maybe::Known(map) = &mut m.m {
        map.insert("l".into(), Maybe::Known("w".into()));
    }
    let v = update_value(&base, &m, &ty).expect("writes");
    // Untouched unknowns keep their refinements, at the top and inside a changed map.
    assert_eq!(v.attr("a"), &refined);
    assert_eq!(v.attr("m").attr("k"), &refined);
    assert_eq!(v.attr("m").attr("l").as_str(), Some("w"));
    assert_eq!(v.attr("b").as_str(), Some("z"));
    // to_value alone cannot know them.
    assert_eq!(
        to_value(&m, &ty).expect("writes").attr("a"),
        &Value::unknown()
    );
}

#[test]
fn null_reads_as_the_default_only_when_asked() {
    #[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
    struct M {
        a: Maybe<String>,
    }
    assert_eq!(from_value_or_default::<M>(&Value::Null), Ok(M::default()));
    assert!(from_value::<M>(&Value::Null).is_err());
    let v = Value::object([("a", Value::string("x"))]);
    assert_eq!(
        from_value_or_default::<M>(&v).map(|m| m.a),
        Ok(Maybe::Known("x".into()))
    );
}
