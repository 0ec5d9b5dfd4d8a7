//! The tfplugin6 service driven in-process over a real tonic channel (an in-memory duplex
//! pipe instead of a socket), the way Terraform drives it: requests built with the cty
//! codecs from the schemas the provider itself returns, and the protocol rules of
//! shared/docs/plugin-protocol.md asserted on the answers.
//!
//! Where an RPC needs the Defentry API, an in-process defentry-mock answers.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use defentry_mock::{
    self as mock, faults::Fault, MockConfig, MockServer, DEFAULT_SERVICE_ACCOUNT,
    DEFAULT_SERVICE_ACCOUNT_PASSWORD,
};
use hyper_util::rt::TokioIo;
use terraform_provider_defentry::defentry::DefentryProvider;
use terraform_provider_defentry::sdk::cty::{from_msgpack, to_msgpack, Type, Value};
use terraform_provider_defentry::sdk::proto::tfplugin6 as pb;
use terraform_provider_defentry::sdk::ProviderServer;
use tonic::transport::{Channel, Endpoint, Server};
use tonic::Code;

use pb::attribute_path::step::Selector;
use pb::provider_client::ProviderClient;

type Client = ProviderClient<Channel>;

const MAX_MESSAGE: usize = 256 << 20;
const TOKEN: &str = "defentry_token";
const SESSION: &str = "defentry_session";
const NOPE: &str = "defentry_nope";

// ------------------------------------------------------------------------------------------
// Plumbing

/// A client connected to a fresh `ProviderServer` whose provider sees only `env`.
async fn connect(env: &[(&str, &str)]) -> Client {
    ProviderClient::new(channel(env).await)
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE)
}

/// A channel to a fresh `ProviderServer` over an in-memory pipe.
async fn channel(env: &[(&str, &str)]) -> Channel {
    let vars: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    let provider = DefentryProvider::with_env(Arc::new(move |k| vars.get(k).cloned()));
    let service = pb::provider_server::ProviderServer::new(ProviderServer::new(provider))
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE);
    let (client_io, server_io) = tokio::io::duplex(1 << 16);
    tokio::spawn(
        Server::builder()
            .add_service(service)
            .serve_with_incoming(tokio_stream::once(Ok::<_, std::io::Error>(server_io))),
    );
    let mut slot = Some(client_io);
    Endpoint::from_static("http://in-process")
        .connect_with_connector(tower::service_fn(move |_: tonic::codegen::http::Uri| {
            let io = slot.take();
            async move {
                io.map(TokioIo::new)
                    .ok_or_else(|| std::io::Error::other("the in-process pipe is used up"))
            }
        }))
        .await
        .expect("connect over the duplex pipe")
}

/// The object type Terraform derives from a schema block.
fn block_type(b: &pb::schema::Block) -> Type {
    use pb::schema::nested_block::NestingMode;
    let mut attrs = BTreeMap::new();
    for a in &b.attributes {
        let ty =
            Type::from_json_bytes(&a.r#type).unwrap_or_else(|e| panic!("type of {}: {e}", a.name));
        attrs.insert(a.name.clone(), ty);
    }
    for nb in &b.block_types {
        let inner = block_type(nb.block.as_ref().expect("nested block"));
        let ty = match NestingMode::try_from(nb.nesting).expect("nesting mode") {
            NestingMode::Single | NestingMode::Group => inner,
            NestingMode::List => Type::list(inner),
            NestingMode::Set => Type::set(inner),
            NestingMode::Map => Type::map(inner),
            NestingMode::Invalid => panic!("invalid nesting of {}", nb.type_name),
        };
        attrs.insert(nb.type_name.clone(), ty);
    }
    Type::Object(attrs)
}

fn schema_type(s: Option<&pb::Schema>) -> Type {
    block_type(
        s.and_then(|s| s.block.as_ref())
            .expect("schema with a block"),
    )
}

/// The types of everything the provider offers, from GetProviderSchema.
struct Types {
    provider: Type,
    token: Type,
    session: Type,
}

async fn types(c: &mut Client) -> Types {
    let s = c
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await
        .expect("GetProviderSchema")
        .into_inner();
    Types {
        provider: schema_type(s.provider.as_ref()),
        token: schema_type(s.resource_schemas.get(TOKEN)),
        session: schema_type(s.ephemeral_resource_schemas.get(SESSION)),
    }
}

/// An object of type `ty` with every attribute null except `set`.
fn obj(ty: &Type, set: &[(&str, Value)]) -> Value {
    let Type::Object(attrs) = ty else {
        panic!("not an object type: {ty:?}")
    };
    let mut m: BTreeMap<String, Value> = attrs.keys().map(|k| (k.clone(), Value::Null)).collect();
    for (k, v) in set {
        assert!(m.contains_key(*k), "no attribute {k} in {ty:?}");
        m.insert((*k).to_string(), v.clone());
    }
    Value::Map(m.into_iter().collect())
}

fn dv(v: &Value, ty: &Type) -> Option<pb::DynamicValue> {
    Some(pb::DynamicValue {
        msgpack: to_msgpack(v, ty).expect("encode request value"),
        json: Vec::new(),
    })
}

fn raw(msgpack: &[u8]) -> Option<pb::DynamicValue> {
    Some(pb::DynamicValue {
        msgpack: msgpack.to_vec(),
        json: Vec::new(),
    })
}

fn decode(v: Option<&pb::DynamicValue>, ty: &Type) -> Value {
    let v = v.expect("a DynamicValue");
    assert!(v.json.is_empty(), "the provider must answer in msgpack");
    from_msgpack(&v.msgpack, ty).expect("decode response value")
}

fn caps(write_only: bool) -> Option<pb::ClientCapabilities> {
    Some(pb::ClientCapabilities {
        deferral_allowed: false,
        write_only_attributes_allowed: write_only,
    })
}

const ERROR: i32 = pb::diagnostic::Severity::Error as i32;

/// Attribute names along a diagnostic's path.
fn path_of(d: &pb::Diagnostic) -> Vec<String> {
    d.attribute
        .as_ref()
        .map(|p| {
            p.steps
                .iter()
                .map(|s| match &s.selector {
                    Some(Selector::AttributeName(a)) => a.clone(),
                    Some(Selector::ElementKeyString(k)) => format!("[{k:?}]"),
                    Some(Selector::ElementKeyInt(i)) => format!("[{i}]"),
                    None => "?".to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Every diagnostic carries a real severity and a summary (INVALID counts as nothing).
fn assert_well_formed(what: &str, d: &[pb::Diagnostic]) {
    for x in d {
        assert!(
            x.severity == ERROR || x.severity == pb::diagnostic::Severity::Warning as i32,
            "{what}: diagnostic without severity: {x:?}"
        );
        assert!(!x.summary.is_empty(), "{what}: diagnostic without summary");
    }
}

/// Exactly one error, containing `summary`, optionally pointing at `attr`.
fn assert_one_error(what: &str, d: &[pb::Diagnostic], summary: &str, attr: Option<&str>) {
    assert_well_formed(what, d);
    let errors: Vec<&pb::Diagnostic> = d.iter().filter(|d| d.severity == ERROR).collect();
    assert_eq!(errors.len(), 1, "{what}: {d:?}");
    assert!(
        errors[0].summary.contains(summary),
        "{what}: summary {:?} lacks {summary:?}",
        errors[0].summary
    );
    assert!(!errors[0].detail.is_empty(), "{what}: no detail");
    let want: Vec<String> = attr.map(|a| vec![a.to_string()]).unwrap_or_default();
    assert_eq!(path_of(errors[0]), want, "{what}: attribute path");
}

fn assert_no_diags(what: &str, d: &[pb::Diagnostic]) {
    assert!(d.is_empty(), "{what}: unexpected diagnostics {d:?}");
}

/// The answer of a call that must be OK (failures are diagnostics, not gRPC errors).
fn ok<T>(what: &str, r: Result<tonic::Response<T>, tonic::Status>) -> T {
    match r {
        Ok(r) => r.into_inner(),
        Err(s) => panic!(
            "{what} answered {:?} ({}) instead of OK with diagnostics",
            s.code(),
            s.message()
        ),
    }
}

async fn configure(c: &mut Client, t: &Types, set: &[(&str, Value)]) -> Vec<pb::Diagnostic> {
    ok(
        "ConfigureProvider",
        c.configure_provider(pb::configure_provider::Request {
            terraform_version: "1.15.5".into(),
            config: dv(&obj(&t.provider, set), &t.provider),
            client_capabilities: caps(true),
        })
        .await,
    )
    .diagnostics
}

/// A mock CRM in this process, and a client whose provider is configured against it.
async fn configured_against_mock() -> (MockServer, Client, Types) {
    let mock = mock::spawn(MockConfig::default()).await.expect("mock");
    let mut c = connect(&[
        ("DEFENTRY_API_DOMAIN", mock.base_url()),
        ("DEFENTRY_USERNAME", DEFAULT_SERVICE_ACCOUNT),
        ("DEFENTRY_PASSWORD", DEFAULT_SERVICE_ACCOUNT_PASSWORD),
    ])
    .await;
    let t = types(&mut c).await;
    let d = configure(&mut c, &t, &[("request_timeout", Value::string("5m"))]).await;
    assert_no_diags("ConfigureProvider", &d);
    (mock, c, t)
}

fn plan_create(t: &Types, config: &Value) -> pb::plan_resource_change::Request {
    pb::plan_resource_change::Request {
        type_name: TOKEN.into(),
        prior_state: dv(&Value::Null, &t.token),
        // On create Terraform proposes the configuration itself (computed values null).
        proposed_new_state: dv(config, &t.token),
        config: dv(config, &t.token),
        client_capabilities: caps(true),
        ..Default::default()
    }
}

// ------------------------------------------------------------------------------------------
// Schema

#[tokio::test]
async fn schema_follows_the_protocol() {
    let mut c = connect(&[]).await;
    let s = ok(
        "GetProviderSchema",
        c.get_provider_schema(pb::get_provider_schema::Request {})
            .await,
    );
    assert_no_diags("GetProviderSchema", &s.diagnostics);
    assert!(s.provider.is_some(), "missing provider schema");
    let caps = s.server_capabilities.expect("server capabilities");
    assert!(caps.get_provider_schema_optional);
    assert!(!caps.plan_destroy && !caps.move_resource_state && !caps.generate_resource_config);

    let names = |m: Vec<&String>| {
        let mut v: Vec<String> = m.into_iter().cloned().collect();
        v.sort();
        v
    };
    assert_eq!(names(s.resource_schemas.keys().collect()), [TOKEN]);
    assert_eq!(names(s.data_source_schemas.keys().collect()), [SESSION]);
    assert_eq!(
        names(s.ephemeral_resource_schemas.keys().collect()),
        [SESSION]
    );
    assert_eq!(
        names(s.action_schemas.keys().collect()),
        [
            "defentry_logout",
            "defentry_password_forgot",
            "defentry_password_reset"
        ]
    );
    assert!(s.functions.is_empty() && s.list_resource_schemas.is_empty());

    let mut all: Vec<(String, &pb::Schema)> =
        vec![("provider".into(), s.provider.as_ref().unwrap())];
    all.extend(s.resource_schemas.iter().map(|(k, v)| (k.clone(), v)));
    all.extend(s.data_source_schemas.iter().map(|(k, v)| (k.clone(), v)));
    all.extend(
        s.ephemeral_resource_schemas
            .iter()
            .map(|(k, v)| (k.clone(), v)),
    );
    all.extend(
        s.action_schemas
            .iter()
            .map(|(k, v)| (k.clone(), v.schema.as_ref().expect("action schema"))),
    );
    for (name, schema) in all {
        let block = schema.block.as_ref().expect("block");
        assert_eq!(block.version, schema.version, "{name}");
        assert_eq!(
            block.description_kind,
            pb::StringKind::Markdown as i32,
            "{name}"
        );
        assert!(!block.description.is_empty(), "{name} is undocumented");
        for a in &block.attributes {
            let what = format!("{name}.{}", a.name);
            assert!(
                a.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{what}: bad name"
            );
            // Exactly one of type and nested_type.
            assert!(a.nested_type.is_none() && !a.r#type.is_empty(), "{what}");
            Type::from_json_bytes(&a.r#type).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert!(
                a.required ^ (a.optional || a.computed),
                "{what}: required/optional/computed {}/{}/{}",
                a.required,
                a.optional,
                a.computed
            );
            if a.write_only {
                assert!(!a.computed, "{what}: write-only cannot be computed");
                assert!(
                    name == TOKEN,
                    "{what}: write-only outside a managed resource"
                );
            }
            assert_eq!(
                a.description_kind,
                pb::StringKind::Markdown as i32,
                "{what}"
            );
            assert!(!a.description.is_empty(), "{what} is undocumented");
        }
    }

    let token = &s.resource_schemas[TOKEN].block.as_ref().unwrap().attributes;
    let flag = |n: &str| {
        let a = token.iter().find(|a| a.name == n).expect(n);
        (a.sensitive, a.write_only)
    };
    assert_eq!(flag("password_wo"), (true, true));
    assert_eq!(flag("totp_secret"), (true, true));
    assert_eq!(flag("token"), (true, false));
    assert_eq!(flag("token_id"), (false, false));

    // GetMetadata (unused by Terraform) agrees with the schema.
    let m = ok(
        "GetMetadata",
        c.get_metadata(pb::get_metadata::Request {}).await,
    );
    assert_no_diags("GetMetadata", &m.diagnostics);
    assert_eq!(
        m.resources
            .iter()
            .map(|r| r.type_name.as_str())
            .collect::<Vec<_>>(),
        [TOKEN]
    );
    assert_eq!(m.server_capabilities, Some(caps));
    // Identity is optional: an empty answer (or Unimplemented) is what Terraform tolerates.
    let ids = ok(
        "GetResourceIdentitySchemas",
        c.get_resource_identity_schemas(pb::get_resource_identity_schemas::Request {})
            .await,
    );
    assert!(ids.identity_schemas.is_empty());
    assert_no_diags("GetResourceIdentitySchemas", &ids.diagnostics);
}

// ------------------------------------------------------------------------------------------
// Every RPC answers OK
//
// Every RPC Terraform 1.11–1.15 may call answers OK; unknown type names and unsupported
// features come back as error diagnostics, never as a gRPC error or a crash.

/// One RPC that must answer OK with exactly one error diagnostic containing `$summary`.
macro_rules! check {
    ($what:expr, $call:expr, $summary:expr) => {{
        let r = ok($what, $call.await);
        assert_one_error($what, &r.diagnostics, $summary, None);
        r
    }};
}

/// [`check!`] of RPCs the provider does not offer: each answers OK with one "not supported"
/// error. `rpc(module { field: value })` sends a `pb::module::Request` with those fields, the
/// rest default.
macro_rules! refused {
    ($c:ident: $($what:literal => $rpc:ident($m:ident { $($field:ident: $value:expr),* })),* $(,)?) => {$({
        #[allow(clippy::needless_update)]
        let req = pb::$m::Request { $($field: $value,)* ..Default::default() };
        check!($what, $c.$rpc(req), UNSUPPORTED);
    })*};
}

const UNKNOWN: &str = "Unknown";
const UNSUPPORTED: &str = "not supported";

/// A `DynamicValue` that is null of an empty object: the configuration of a type the
/// provider does not know.
fn null_config() -> Option<pb::DynamicValue> {
    dv(&Value::Null, &Type::Object(BTreeMap::new()))
}

/// The server still answers after the errors a test provoked.
async fn assert_still_serving(c: &mut Client) {
    ok(
        "GetProviderSchema",
        c.get_provider_schema(pb::get_provider_schema::Request {})
            .await,
    );
}

/// Every RPC naming a type the provider does not have answers OK with one error
/// diagnostic (streams: in their one event), never a gRPC error.
#[tokio::test]
async fn rpcs_on_an_unknown_type_answer_ok_with_an_error() {
    let mut c = connect(&[]).await;

    check!(
        "ValidateResourceConfig",
        c.validate_resource_config(pb::validate_resource_config::Request {
            type_name: NOPE.into(),
            config: null_config(),
            client_capabilities: caps(true),
        }),
        UNKNOWN
    );
    check!(
        "ValidateDataResourceConfig",
        c.validate_data_resource_config(pb::validate_data_resource_config::Request {
            type_name: NOPE.into(),
            config: null_config(),
        }),
        UNKNOWN
    );
    check!(
        "ValidateEphemeralResourceConfig",
        c.validate_ephemeral_resource_config(pb::validate_ephemeral_resource_config::Request {
            type_name: NOPE.into(),
            config: null_config(),
        }),
        UNKNOWN
    );
    check!(
        "ValidateActionConfig",
        c.validate_action_config(pb::validate_action_config::Request {
            type_name: NOPE.into(),
            config: null_config(),
        }),
        UNKNOWN
    );
    let r = check!(
        "UpgradeResourceState",
        c.upgrade_resource_state(pb::upgrade_resource_state::Request {
            type_name: NOPE.into(),
            version: 0,
            raw_state: Some(pb::RawState {
                json: b"{}".to_vec(),
                flatmap: HashMap::new(),
            }),
        }),
        UNKNOWN
    );
    assert!(r.upgraded_state.is_none());
    check!(
        "ReadResource",
        c.read_resource(pb::read_resource::Request {
            type_name: NOPE.into(),
            current_state: null_config(),
            ..Default::default()
        }),
        UNKNOWN
    );
    let r = check!(
        "PlanResourceChange",
        c.plan_resource_change(pb::plan_resource_change::Request {
            type_name: NOPE.into(),
            config: null_config(),
            proposed_new_state: null_config(),
            ..Default::default()
        }),
        UNKNOWN
    );
    assert!(!r.legacy_type_system);
    check!(
        "ApplyResourceChange",
        c.apply_resource_change(pb::apply_resource_change::Request {
            type_name: NOPE.into(),
            ..Default::default()
        }),
        UNKNOWN
    );
    let r = check!(
        "ImportResourceState",
        c.import_resource_state(pb::import_resource_state::Request {
            type_name: NOPE.into(),
            id: "x".into(),
            ..Default::default()
        }),
        UNKNOWN
    );
    assert!(r.imported_resources.is_empty());
    let r = check!(
        "ReadDataSource",
        c.read_data_source(pb::read_data_source::Request {
            type_name: NOPE.into(),
            config: null_config(),
            ..Default::default()
        }),
        UNKNOWN
    );
    assert!(r.state.is_none());
    check!(
        "OpenEphemeralResource",
        c.open_ephemeral_resource(pb::open_ephemeral_resource::Request {
            type_name: NOPE.into(),
            config: null_config(),
            ..Default::default()
        }),
        UNKNOWN
    );
    check!(
        "RenewEphemeralResource",
        c.renew_ephemeral_resource(pb::renew_ephemeral_resource::Request {
            type_name: NOPE.into(),
            private: None,
        }),
        UNKNOWN
    );
    check!(
        "CloseEphemeralResource",
        c.close_ephemeral_resource(pb::close_ephemeral_resource::Request {
            type_name: NOPE.into(),
            private: None,
        }),
        UNKNOWN
    );
    check!(
        "PlanAction",
        c.plan_action(pb::plan_action::Request {
            action_type: NOPE.into(),
            config: null_config(),
            ..Default::default()
        }),
        UNKNOWN
    );

    let mut s = ok(
        "InvokeAction",
        c.invoke_action(pb::invoke_action::Request {
            action_type: NOPE.into(),
            config: null_config(),
            ..Default::default()
        })
        .await,
    );
    let ev = s
        .message()
        .await
        .expect("InvokeAction stream")
        .expect("an event");
    match ev.r#type {
        Some(pb::invoke_action::event::Type::Completed(done)) => {
            assert_one_error("InvokeAction", &done.diagnostics, UNKNOWN, None)
        }
        other => panic!("InvokeAction: expected completion, got {other:?}"),
    }
    assert!(s.message().await.expect("end of stream").is_none());
    assert_still_serving(&mut c).await;
}

/// List resources, resource identity, moves and config generation are not offered: OK with
/// one "not supported" error (ListResource in its one event).
#[tokio::test]
async fn rpcs_the_provider_does_not_offer_answer_ok_with_an_error() {
    let mut c = connect(&[]).await;

    refused!(c:
        "ValidateListResourceConfig" => validate_list_resource_config(validate_list_resource_config { type_name: NOPE.into(), config: null_config() }),
        "UpgradeResourceIdentity" => upgrade_resource_identity(upgrade_resource_identity { type_name: TOKEN.into() }),
        "MoveResourceState" => move_resource_state(move_resource_state { target_type_name: TOKEN.into() }),
        "GenerateResourceConfig" => generate_resource_config(generate_resource_config { type_name: TOKEN.into() }),
    );
    let mut s = ok(
        "ListResource",
        c.list_resource(pb::list_resource::Request {
            type_name: NOPE.into(),
            ..Default::default()
        })
        .await,
    );
    let ev = s
        .message()
        .await
        .expect("ListResource stream")
        .expect("an event");
    assert_one_error("ListResource", &ev.diagnostic, UNSUPPORTED, None);
    assert!(s.message().await.expect("end of stream").is_none());
    assert_still_serving(&mut c).await;
}

/// No provider functions: an empty list, and a call is a function error naming it.
#[tokio::test]
async fn no_functions_are_offered() {
    let mut c = connect(&[]).await;

    let f = ok(
        "GetFunctions",
        c.get_functions(pb::get_functions::Request {}).await,
    );
    assert!(f.functions.is_empty());
    assert_no_diags("GetFunctions", &f.diagnostics);
    let r = ok(
        "CallFunction",
        c.call_function(pb::call_function::Request {
            name: "nope".into(),
            arguments: Vec::new(),
        })
        .await,
    );
    assert!(r.result.is_none());
    assert!(r.error.is_some_and(|e| e.text.contains("nope")));
    assert_still_serving(&mut c).await;
}

/// The state-store RPCs answer OK with one "not supported" error.
#[tokio::test]
async fn state_storage_is_not_offered() {
    let mut c = connect(&[]).await;

    refused!(c:
        "ValidateStateStoreConfig" => validate_state_store_config(validate_state_store { type_name: NOPE.into(), config: null_config() }),
        "ConfigureStateStore" => configure_state_store(configure_state_store { type_name: NOPE.into() }),
    );
    let mut s = ok(
        "ReadStateBytes",
        c.read_state_bytes(pb::read_state_bytes::Request {
            type_name: NOPE.into(),
            state_id: "default".into(),
        })
        .await,
    );
    let chunk = s.message().await.expect("ReadStateBytes").expect("a chunk");
    assert_one_error("ReadStateBytes", &chunk.diagnostics, UNSUPPORTED, None);
    check!(
        "WriteStateBytes",
        c.write_state_bytes(tokio_stream::iter([pb::write_state_bytes::RequestChunk {
            bytes: b"{}".to_vec(),
            total_length: 2,
            ..Default::default()
        }])),
        UNSUPPORTED
    );
    refused!(c:
        "LockState" => lock_state(lock_state { type_name: NOPE.into() }),
        "UnlockState" => unlock_state(unlock_state { type_name: NOPE.into() }),
        "GetStates" => get_states(get_states { type_name: NOPE.into() }),
        "DeleteState" => delete_state(delete_state { type_name: NOPE.into() }),
    );
    assert_still_serving(&mut c).await;
}

/// Before ConfigureProvider a plan of a known type is a diagnostic, not a crash, and the
/// server keeps serving after StopProvider.
#[tokio::test]
async fn plan_before_configure_is_a_diagnostic() {
    let mut c = connect(&[]).await;
    let t = types(&mut c).await;
    // Known types before ConfigureProvider: a diagnostic, not a crash.
    let config = obj(&t.token, &[]);
    let r = ok(
        "PlanResourceChange",
        c.plan_resource_change(plan_create(&t, &config)).await,
    );
    assert_one_error("unconfigured plan", &r.diagnostics, "not configured", None);
    assert!(r.planned_state.is_none());

    let r = ok(
        "StopProvider",
        c.stop_provider(pb::stop_provider::Request {}).await,
    );
    assert_eq!(r.error, "");
    assert_still_serving(&mut c).await;
}

/// Sanity check of the harness: an RPC the service does not have is Unimplemented, so the
/// OK answers above are the provider's own.
#[tokio::test]
async fn a_missing_method_is_unimplemented() {
    let mut grpc = tonic::client::Grpc::new(channel(&[]).await);
    grpc.ready().await.expect("ready");
    let path =
        tonic::codegen::http::uri::PathAndQuery::from_static("/tfplugin6.Provider/NoSuchMethod");
    let codec =
        tonic_prost::ProstCodec::<pb::stop_provider::Request, pb::stop_provider::Response>::default(
        );
    let err = grpc
        .unary(
            tonic::Request::new(pb::stop_provider::Request {}),
            path,
            codec,
        )
        .await
        .expect_err("no such method");
    assert_eq!(err.code(), Code::Unimplemented);
}

// ------------------------------------------------------------------------------------------
// UpgradeResourceState

#[tokio::test]
async fn upgrade_resource_state_round_trips_and_nulls_write_only() {
    let mut c = connect(&[]).await;
    let t = types(&mut c).await;
    let stored = serde_json::json!({
        "id": "42", "token_id": "42", "token": "42|secret", "authorization_header": "Bearer 42|secret",
        "username": "svc@example.com", "keep_logged": true, "password_wo": "leaked",
        "password_wo_version": "1", "totp_secret": null, "two_factor_code": null,
        "rotation_period": "720h", "triggers": {"a": "b"},
        "created_at": "2026-01-01T00:00:00Z", "rotate_at": "2026-01-31T00:00:00Z",
        // An attribute an older provider version had.
        "legacy": "x"
    });
    let r = ok(
        "UpgradeResourceState",
        c.upgrade_resource_state(pb::upgrade_resource_state::Request {
            type_name: TOKEN.into(),
            version: 0,
            raw_state: Some(pb::RawState {
                json: serde_json::to_vec(&stored).unwrap(),
                flatmap: HashMap::new(),
            }),
        })
        .await,
    );
    assert_no_diags("UpgradeResourceState", &r.diagnostics);
    let got = decode(r.upgraded_state.as_ref(), &t.token);
    assert!(got.is_wholly_known());
    let want = obj(
        &t.token,
        &[
            ("id", Value::string("42")),
            ("token_id", Value::string("42")),
            ("token", Value::string("42|secret")),
            ("authorization_header", Value::string("Bearer 42|secret")),
            ("username", Value::string("svc@example.com")),
            ("keep_logged", Value::Bool(true)),
            ("password_wo_version", Value::string("1")),
            ("rotation_period", Value::string("720h")),
            ("triggers", Value::object([("a", Value::string("b"))])),
            ("created_at", Value::string("2026-01-01T00:00:00Z")),
            ("rotate_at", Value::string("2026-01-31T00:00:00Z")),
        ],
    );
    assert_eq!(got, want, "password_wo must be null, `legacy` dropped");

    // State missing attributes the schema has gained reads them as null.
    let r = ok(
        "UpgradeResourceState",
        c.upgrade_resource_state(pb::upgrade_resource_state::Request {
            type_name: TOKEN.into(),
            version: 0,
            raw_state: Some(pb::RawState {
                json: br#"{"id":"1","token":"1|s"}"#.to_vec(),
                flatmap: HashMap::new(),
            }),
        })
        .await,
    );
    assert_no_diags("sparse state", &r.diagnostics);
    assert_eq!(
        decode(r.upgraded_state.as_ref(), &t.token),
        obj(
            &t.token,
            &[("id", Value::string("1")), ("token", Value::string("1|s"))]
        )
    );

    // A newer schema version, legacy flatmap state, and junk: error diagnostics.
    for (what, version, json, flatmap, summary) in [
        (
            "future version",
            7,
            b"{}".to_vec(),
            HashMap::new(),
            "Unsupported state version",
        ),
        (
            "flatmap",
            0,
            Vec::new(),
            HashMap::from([("id".to_string(), "1".to_string())]),
            "legacy state",
        ),
        (
            "not an object",
            0,
            b"[1,2]".to_vec(),
            HashMap::new(),
            "Invalid stored state",
        ),
        (
            "not JSON",
            0,
            b"{".to_vec(),
            HashMap::new(),
            "Invalid stored state",
        ),
        (
            "wrong type",
            0,
            br#"{"keep_logged":"maybe"}"#.to_vec(),
            HashMap::new(),
            "Invalid stored state",
        ),
    ] {
        let r = ok(
            what,
            c.upgrade_resource_state(pb::upgrade_resource_state::Request {
                type_name: TOKEN.into(),
                version,
                raw_state: Some(pb::RawState { json, flatmap }),
            })
            .await,
        );
        assert_one_error(what, &r.diagnostics, summary, None);
        assert!(r.upgraded_state.is_none(), "{what}");
    }
}

// ------------------------------------------------------------------------------------------
// Planning

#[tokio::test]
async fn plan_on_create_marks_computed_unknown_and_nulls_write_only() {
    let mut c = connect(&[
        ("DEFENTRY_API_DOMAIN", "http://127.0.0.1:9"),
        ("DEFENTRY_USERNAME", "svc@example.com"),
        ("DEFENTRY_PASSWORD", "pw"),
    ])
    .await;
    let t = types(&mut c).await;
    assert_no_diags("ConfigureProvider", &configure(&mut c, &t, &[]).await);

    let config = obj(
        &t.token,
        &[
            ("password_wo", Value::string("hunter2")),
            ("rotation_period", Value::string("1h")),
        ],
    );
    let r = ok(
        "PlanResourceChange",
        c.plan_resource_change(plan_create(&t, &config)).await,
    );
    assert_no_diags("plan", &r.diagnostics);
    assert!(!r.legacy_type_system && r.deferred.is_none());
    assert!(r.requires_replace.is_empty(), "{:?}", r.requires_replace);
    let u = Value::unknown;
    let want = obj(
        &t.token,
        &[
            // Optional+computed: filled from the provider configuration.
            ("username", Value::string("svc@example.com")),
            ("keep_logged", Value::Bool(false)),
            ("rotation_period", Value::string("1h")),
            // Computed: decided at apply.
            ("id", u()),
            ("token_id", u()),
            ("token", u()),
            ("authorization_header", u()),
            ("created_at", u()),
            ("rotate_at", u()),
        ],
    );
    // Byte-for-byte: unknowns travel as msgpack extension values, write-only as nil.
    let planned = r.planned_state.expect("planned state");
    assert_eq!(planned.msgpack, to_msgpack(&want, &t.token).unwrap());
    assert!(
        planned.msgpack.windows(3).any(|w| w == [0xd4, 0, 0]),
        "no ext-0 unknown in {:02x?}",
        planned.msgpack
    );
    assert_eq!(from_msgpack(&planned.msgpack, &t.token).unwrap(), want);

    // Update: prior state from an apply, username changed → replace on that path only.
    let prior = obj(
        &t.token,
        &[
            ("id", Value::string("1")),
            ("token_id", Value::string("1")),
            ("token", Value::string("1|s")),
            ("authorization_header", Value::string("Bearer 1|s")),
            ("username", Value::string("svc@example.com")),
            ("keep_logged", Value::Bool(false)),
            ("created_at", Value::string("2026-01-01T00:00:00Z")),
        ],
    );
    let mut config = obj(
        &t.token,
        &[("username", Value::string("other@example.com"))],
    );
    let mut proposed = prior.clone();
    proposed.set_attr("username", Value::string("other@example.com"));
    let r = ok(
        "PlanResourceChange",
        c.plan_resource_change(pb::plan_resource_change::Request {
            type_name: TOKEN.into(),
            prior_state: dv(&prior, &t.token),
            proposed_new_state: dv(&proposed, &t.token),
            config: dv(&config, &t.token),
            client_capabilities: caps(true),
            ..Default::default()
        })
        .await,
    );
    assert_no_diags("update plan", &r.diagnostics);
    let paths: Vec<Vec<String>> = r
        .requires_replace
        .iter()
        .map(|p| {
            path_of(&pb::Diagnostic {
                attribute: Some(p.clone()),
                ..Default::default()
            })
        })
        .collect();
    assert_eq!(paths, [vec!["username".to_string()]]);
    let planned = decode(r.planned_state.as_ref(), &t.token);
    assert_eq!(planned.attr("token_id").as_str(), Some("1"), "prior kept");

    // A write-only value in config and proposed state never reaches the plan on update either.
    config.set_attr("password_wo", Value::string("new"));
    proposed.set_attr("password_wo", Value::string("new"));
    let r = ok(
        "PlanResourceChange",
        c.plan_resource_change(pb::plan_resource_change::Request {
            type_name: TOKEN.into(),
            prior_state: dv(&prior, &t.token),
            proposed_new_state: dv(&proposed, &t.token),
            config: dv(&config, &t.token),
            client_capabilities: caps(true),
            ..Default::default()
        })
        .await,
    );
    assert_no_diags("update plan with write-only", &r.diagnostics);
    assert!(decode(r.planned_state.as_ref(), &t.token)
        .attr("password_wo")
        .is_null());

    // Destroy: null proposed state plans null.
    let r = ok(
        "PlanResourceChange",
        c.plan_resource_change(pb::plan_resource_change::Request {
            type_name: TOKEN.into(),
            prior_state: dv(&prior, &t.token),
            proposed_new_state: dv(&Value::Null, &t.token),
            config: dv(&Value::Null, &t.token),
            ..Default::default()
        })
        .await,
    );
    assert_no_diags("destroy plan", &r.diagnostics);
    assert!(decode(r.planned_state.as_ref(), &t.token).is_null());
}

// ------------------------------------------------------------------------------------------
// Validation

#[tokio::test]
async fn write_only_needs_client_support() {
    let mut c = connect(&[]).await;
    let t = types(&mut c).await;
    let config = obj(&t.token, &[("password_wo", Value::string("hunter2"))]);
    for capabilities in [None, caps(false)] {
        let r = ok(
            "ValidateResourceConfig",
            c.validate_resource_config(pb::validate_resource_config::Request {
                type_name: TOKEN.into(),
                config: dv(&config, &t.token),
                client_capabilities: capabilities,
            })
            .await,
        );
        assert_one_error(
            "write-only without support",
            &r.diagnostics,
            "Write-only",
            Some("password_wo"),
        );
    }
    let r = ok(
        "ValidateResourceConfig",
        c.validate_resource_config(pb::validate_resource_config::Request {
            type_name: TOKEN.into(),
            config: dv(&config, &t.token),
            client_capabilities: caps(true),
        })
        .await,
    );
    assert_no_diags("write-only with support", &r.diagnostics);
    // Unset write-only attributes are fine on any client.
    let r = ok(
        "ValidateResourceConfig",
        c.validate_resource_config(pb::validate_resource_config::Request {
            type_name: TOKEN.into(),
            config: dv(&obj(&t.token, &[]), &t.token),
            client_capabilities: None,
        })
        .await,
    );
    assert_no_diags("no write-only values", &r.diagnostics);
}

/// ValidateResourceConfig of a `defentry_token` with `set` (a client with write-only support).
async fn validate_token(c: &mut Client, t: &Types, set: &[(&str, Value)]) -> Vec<pb::Diagnostic> {
    ok(
        "ValidateResourceConfig",
        c.validate_resource_config(pb::validate_resource_config::Request {
            type_name: TOKEN.into(),
            config: dv(&obj(&t.token, set), &t.token),
            client_capabilities: caps(true),
        })
        .await,
    )
    .diagnostics
}

/// ValidateProviderConfig with `set`.
async fn validate_provider(
    c: &mut Client,
    t: &Types,
    set: &[(&str, Value)],
) -> Vec<pb::Diagnostic> {
    ok(
        "ValidateProviderConfig",
        c.validate_provider_config(pb::validate_provider_config::Request {
            config: dv(&obj(&t.provider, set), &t.provider),
        })
        .await,
    )
    .diagnostics
}

#[tokio::test]
async fn invalid_settings_point_at_their_attribute() {
    let mut c = connect(&[]).await;
    let t = types(&mut c).await;

    // Each bad value: one error, summary "Invalid <attribute>", pointing at the attribute.
    let token_cases = [
        ("rotation_period", Value::string("soon")),
        ("rotation_period", Value::string("-1h")),
        ("two_factor_code", Value::string("12")),
        ("totp_secret", Value::string("not base32!")),
    ];
    for (attr, v) in token_cases {
        let d = validate_token(&mut c, &t, &[(attr, v.clone())]).await;
        let summary = format!("Invalid {attr}");
        assert_one_error(&format!("{attr} = {v:?}"), &d, &summary, Some(attr));
    }
    let provider_cases = [
        ("api_domain", Value::string("ftp://example.com")),
        ("api_domain", Value::string("not a url")),
        ("api_domain", Value::string("http://example.com")),
        ("request_timeout", Value::string("fast")),
        ("max_retries", Value::int(99)),
        ("rate_limit_timeout", Value::string("a while")),
    ];
    for (attr, v) in provider_cases {
        let d = validate_provider(&mut c, &t, &[(attr, v.clone())]).await;
        let summary = format!("Invalid {attr}");
        assert_one_error(&format!("{attr} = {v:?}"), &d, &summary, Some(attr));
    }

    // Configuration may hold unknowns at validate time: they are not errors.
    let unknowns = [
        ("rotation_period", Value::unknown()),
        ("password_wo", Value::unknown()),
    ];
    let d = validate_token(&mut c, &t, &unknowns).await;
    assert_no_diags("unknown token config", &d);
    let d = validate_provider(&mut c, &t, &[("api_domain", Value::unknown())]).await;
    assert_no_diags("unknown provider config", &d);
    // Valid settings pass.
    let valid = [
        ("api_domain", Value::string("https://api.example.com")),
        ("request_timeout", Value::string("2m")),
        ("max_retries", Value::int(3)),
    ];
    let d = validate_provider(&mut c, &t, &valid).await;
    assert_no_diags("valid provider config", &d);
}

// ------------------------------------------------------------------------------------------
// Malformed input

#[tokio::test]
async fn malformed_dynamic_values_give_diagnostics() {
    let mut c = connect(&[("DEFENTRY_API_DOMAIN", "http://127.0.0.1:9")]).await;
    let t = types(&mut c).await;
    // 0xc1 is never used in msgpack; the others are truncated, wrong-shaped or wrong-typed.
    let one_attr_short = {
        let Type::Object(attrs) = &t.token else {
            unreachable!()
        };
        let mut attrs = attrs.clone();
        attrs.remove("id");
        let short = Type::Object(attrs.clone());
        to_msgpack(&obj(&short, &[]), &short).unwrap()
    };
    let bad: Vec<(&str, Vec<u8>)> = vec![
        ("reserved marker", vec![0xc1]),
        ("truncated", vec![0x8e, 0xa2, b'i']),
        ("string for object", vec![0xa3, b'a', b'b', b'c']),
        ("missing attribute", one_attr_short),
        ("ext 12 with a non-map payload", vec![0xd5, 12, 0x01, 0x02]),
        ("ext 5 over one byte", vec![0xd5, 5, 0x80, 0x80]),
    ];
    for (what, bytes) in &bad {
        let r = ok(
            what,
            c.validate_provider_config(pb::validate_provider_config::Request {
                config: raw(bytes),
            })
            .await,
        );
        assert_one_error(what, &r.diagnostics, "Invalid", None);
        let r = ok(
            what,
            c.configure_provider(pb::configure_provider::Request {
                config: raw(bytes),
                ..Default::default()
            })
            .await,
        );
        assert_one_error(what, &r.diagnostics, "Invalid", None);
        let r = ok(
            what,
            c.validate_resource_config(pb::validate_resource_config::Request {
                type_name: TOKEN.into(),
                config: raw(bytes),
                client_capabilities: caps(true),
            })
            .await,
        );
        assert_one_error(what, &r.diagnostics, "Invalid", None);
    }
    // JSON is decoded too (Terraform falls back to it when msgpack is empty).
    let r = ok(
        "json",
        c.validate_provider_config(pb::validate_provider_config::Request {
            config: Some(pb::DynamicValue {
                msgpack: Vec::new(),
                json: b"{\"api_domain\": 7".to_vec(),
            }),
        })
        .await,
    );
    assert_one_error("bad json", &r.diagnostics, "Invalid", None);

    // Now configured, the state-carrying RPCs get the same treatment.
    assert_no_diags("ConfigureProvider", &configure(&mut c, &t, &[]).await);
    let junk = raw(&[0xc1]);
    let r = ok(
        "PlanResourceChange",
        c.plan_resource_change(pb::plan_resource_change::Request {
            type_name: TOKEN.into(),
            prior_state: dv(&Value::Null, &t.token),
            proposed_new_state: junk.clone(),
            config: junk.clone(),
            ..Default::default()
        })
        .await,
    );
    assert_one_error("plan", &r.diagnostics, "Invalid", None);
    assert!(r.planned_state.is_none());
    let prior = dv(&obj(&t.token, &[("id", Value::string("1"))]), &t.token);
    let r = ok(
        "ApplyResourceChange",
        c.apply_resource_change(pb::apply_resource_change::Request {
            type_name: TOKEN.into(),
            prior_state: prior.clone(),
            planned_state: junk.clone(),
            config: junk.clone(),
            ..Default::default()
        })
        .await,
    );
    assert_one_error("apply", &r.diagnostics, "Invalid", None);
    assert_eq!(r.new_state, prior, "a failed apply keeps the prior state");
    let r = ok(
        "ReadResource",
        c.read_resource(pb::read_resource::Request {
            type_name: TOKEN.into(),
            current_state: junk.clone(),
            ..Default::default()
        })
        .await,
    );
    assert_one_error("read", &r.diagnostics, "Invalid", None);
    let r = ok(
        "ReadDataSource",
        c.read_data_source(pb::read_data_source::Request {
            type_name: SESSION.into(),
            config: junk.clone(),
            ..Default::default()
        })
        .await,
    );
    assert_one_error("read data", &r.diagnostics, "Invalid", None);
    assert!(r.state.is_none());
    let r = ok(
        "OpenEphemeralResource",
        c.open_ephemeral_resource(pb::open_ephemeral_resource::Request {
            type_name: SESSION.into(),
            config: junk.clone(),
            ..Default::default()
        })
        .await,
    );
    assert_one_error("open", &r.diagnostics, "Invalid", None);
    assert!(r.result.is_none());
    let r = ok(
        "PlanAction",
        c.plan_action(pb::plan_action::Request {
            action_type: "defentry_logout".into(),
            config: junk.clone(),
            ..Default::default()
        })
        .await,
    );
    assert_one_error("plan action", &r.diagnostics, "Invalid", None);

    // Still serving.
    ok(
        "GetProviderSchema",
        c.get_provider_schema(pb::get_provider_schema::Request {})
            .await,
    );
}

// ------------------------------------------------------------------------------------------
// Apply lifecycle and StopProvider

/// Once the faulted request of `call` reached the mock, sends StopProvider and returns what
/// `call` answers (bounded).
async fn stop_during<T>(mock: &MockServer, c: &mut Client, call: tokio::task::JoinHandle<T>) -> T {
    faults_taken(mock, &call).await;
    let r = ok(
        "StopProvider",
        c.stop_provider(pb::stop_provider::Request {}).await,
    );
    assert_eq!(r.error, "");
    tokio::time::timeout(Duration::from_secs(30), call)
        .await
        .expect("call still running 30 s after StopProvider")
        .expect("call task")
}

/// Waits until the mock has taken every fault, i.e. the faulted request arrived.
async fn faults_taken<T>(mock: &MockServer, apply: &tokio::task::JoinHandle<T>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !mock.state().with_store(|s| s.faults.list().is_empty()) {
        assert!(
            Instant::now() < deadline,
            "the login never reached the mock"
        );
        assert!(!apply.is_finished(), "apply ended before its login");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn login_hold(mock: &MockServer, hold: Duration) {
    mock.state().with_store(|s| {
        s.faults.add(Fault {
            path: "/api/v1/crm/auth/login".into(),
            method: Some("POST".into()),
            status: None,
            count: 1,
            delay_ms: hold.as_millis() as u64,
            retry_after: None,
            body: None,
            content_type: None,
            ..Fault::default()
        })
    });
}

fn apply_create(
    t: &Types,
    planned: &pb::DynamicValue,
    config: &Value,
) -> pb::apply_resource_change::Request {
    pb::apply_resource_change::Request {
        type_name: TOKEN.into(),
        prior_state: dv(&Value::Null, &t.token),
        planned_state: Some(planned.clone()),
        config: dv(config, &t.token),
        ..Default::default()
    }
}

#[tokio::test]
async fn stop_provider_finishes_a_sent_login_starts_no_retry_and_later_calls_run() {
    let (mock, mut c, t) = configured_against_mock().await;
    let config = obj(
        &t.token,
        &[(
            "password_wo",
            Value::string(DEFAULT_SERVICE_ACCOUNT_PASSWORD),
        )],
    );
    let plan = ok(
        "PlanResourceChange",
        c.plan_resource_change(plan_create(&t, &config)).await,
    );
    assert_no_diags("plan", &plan.diagnostics);
    let planned = plan.planned_state.expect("planned state");
    let active = || mock.state().with_store(|s| s.sessions(None).active);
    // A login already sent when Terraform stops is finished (the client's timeout is five
    // minutes), and its session is returned as created: Terraform records it in state.
    let hold = Duration::from_secs(2);
    login_hold(&mock, hold);
    let mut c2 = c.clone();
    let req = apply_create(&t, &planned, &config);
    let apply = tokio::spawn(async move { c2.apply_resource_change(req).await });
    let r = ok(
        "ApplyResourceChange",
        stop_during(&mock, &mut c, apply).await,
    );
    assert_no_diags("apply finished after stop", &r.diagnostics);
    let created = decode(r.new_state.as_ref(), &t.token);
    let token_id = created
        .attr("token_id")
        .as_str()
        .expect("token in state")
        .to_owned();
    assert_eq!(active(), 1, "the finished login is the one session");
    let listed = mock.state().with_store(|s| s.sessions(None).sessions);
    assert!(
        listed.iter().any(|x| x.token_id == token_id),
        "{token_id} not active"
    );

    // A retry is not started once Terraform stops: the backoff wait (60 s asked) ends at once.
    mock.state().with_store(|s| {
        s.faults.add(Fault {
            path: "/api/v1/crm/auth/login".into(),
            method: Some("POST".into()),
            status: Some(503),
            count: 1,
            delay_ms: 0,
            retry_after: Some("60".into()),
            body: None,
            content_type: None,
            ..Fault::default()
        })
    });
    let mut c2 = c.clone();
    let req = apply_create(&t, &planned, &config);
    let apply = tokio::spawn(async move { c2.apply_resource_change(req).await });
    let stopped = Instant::now();
    let r = ok(
        "ApplyResourceChange",
        stop_during(&mock, &mut c, apply).await,
    );
    assert!(
        stopped.elapsed() < Duration::from_secs(10),
        "took {:?}",
        stopped.elapsed()
    );
    assert_one_error("stopped retry", &r.diagnostics, "Interrupted", None);
    assert!(
        r.new_state
            .as_ref()
            .is_none_or(|v| decode(Some(v), &t.token).is_null()),
        "nothing was created"
    );
    assert_eq!(active(), 1, "no second login was sent");
    mock.state().with_store(|s| s.reset());

    // Calls after StopProvider run normally: create, read, delete.
    let r = ok(
        "ApplyResourceChange",
        c.apply_resource_change(apply_create(&t, &planned, &config))
            .await,
    );
    assert_no_diags("apply after stop", &r.diagnostics);
    let state = decode(r.new_state.as_ref(), &t.token);
    assert!(state.is_wholly_known(), "{state:?}");
    assert!(state.attr("password_wo").is_null(), "write-only in state");
    let planned_v = from_msgpack(&planned.msgpack, &t.token).unwrap();
    let Value::Map(pm) = &planned_v else {
        unreachable!()
    };
    for (k, v) in pm {
        if v.is_wholly_known() && k != "password_wo" {
            assert_eq!(state.attr(k), v, "apply changed planned value {k}");
        }
    }
    assert_eq!(mock.state().with_store(|s| s.sessions(None).active), 1);

    let r = ok(
        "ReadResource",
        c.read_resource(pb::read_resource::Request {
            type_name: TOKEN.into(),
            current_state: r.new_state.clone(),
            private: r.private.clone(),
            ..Default::default()
        })
        .await,
    );
    assert_no_diags("read", &r.diagnostics);
    assert_eq!(decode(r.new_state.as_ref(), &t.token), state);

    let r = ok(
        "ApplyResourceChange",
        c.apply_resource_change(pb::apply_resource_change::Request {
            type_name: TOKEN.into(),
            prior_state: dv(&state, &t.token),
            planned_state: dv(&Value::Null, &t.token),
            config: dv(&Value::Null, &t.token),
            planned_private: r.private,
            ..Default::default()
        })
        .await,
    );
    assert_no_diags("delete", &r.diagnostics);
    assert!(decode(r.new_state.as_ref(), &t.token).is_null());
    assert_eq!(mock.state().with_store(|s| s.sessions(None).active), 0);
}

#[tokio::test]
async fn a_session_opened_after_stop_provider_is_logged_out_again() {
    // Terraform keeps neither a data source result nor an ephemeral open that finishes
    // after it asked to stop (and sends no close): the session must not outlive the call.
    let (mock, mut c, t) = configured_against_mock().await;
    let active = || mock.state().with_store(|s| s.sessions(None).active);
    for kind in ["data source", "ephemeral resource"] {
        login_hold(&mock, Duration::from_secs(1));
        let mut c2 = c.clone();
        let config = dv(&obj(&t.session, &[]), &t.session);
        let call = tokio::spawn(async move {
            if kind == "data source" {
                let r = c2
                    .read_data_source(pb::read_data_source::Request {
                        type_name: SESSION.into(),
                        config,
                        ..Default::default()
                    })
                    .await;
                ok("ReadDataSource", r).diagnostics
            } else {
                let r = c2
                    .open_ephemeral_resource(pb::open_ephemeral_resource::Request {
                        type_name: SESSION.into(),
                        config,
                        client_capabilities: caps(true),
                    })
                    .await;
                ok("OpenEphemeralResource", r).diagnostics
            }
        });
        let diags = stop_during(&mock, &mut c, call).await;
        assert_one_error(kind, &diags, "Interrupted", None);
        assert!(
            diags[0]
                .detail
                .contains("The session was logged out again."),
            "{kind}: {}",
            diags[0].detail
        );
        let logins = mock.state().with_store(|s| s.sessions(None).logins);
        assert!(logins >= 1, "{kind}: the login did not happen");
        assert_eq!(active(), 0, "{kind}: the session outlived the call");
    }
}

#[tokio::test]
async fn ephemeral_session_opens_and_closes() {
    let (mock, mut c, t) = configured_against_mock().await;
    let config = obj(&t.session, &[]);
    let r = ok(
        "OpenEphemeralResource",
        c.open_ephemeral_resource(pb::open_ephemeral_resource::Request {
            type_name: SESSION.into(),
            config: dv(&config, &t.session),
            client_capabilities: caps(true),
        })
        .await,
    );
    assert_no_diags("open", &r.diagnostics);
    let result = decode(r.result.as_ref(), &t.session);
    assert!(result.is_wholly_known());
    assert!(result.attr("token").as_str().is_some());
    assert_eq!(mock.state().with_store(|s| s.sessions(None).active), 1);
    let r = ok(
        "CloseEphemeralResource",
        c.close_ephemeral_resource(pb::close_ephemeral_resource::Request {
            type_name: SESSION.into(),
            private: r.private,
        })
        .await,
    );
    assert_no_diags("close", &r.diagnostics);
    assert_eq!(mock.state().with_store(|s| s.sessions(None).active), 0);
}
