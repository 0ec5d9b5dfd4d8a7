//! The one shape of every handler: a body finds the object type ([`lookup`]), decodes with its
//! schema ([`Entry::decode`]), calls the provider and encodes ([`Entry::encode_state`]),
//! returning a [`Body`] so that `?` ends it; [`finish`] turns the outcome and the diagnostics
//! collected on the way into the protocol answer.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;

use tracing::Instrument;

use futures_util::Stream;

use super::super::action::Action;
use super::super::context::Context;
use super::super::convert::{self, decode, encode};
use super::super::cty::{Type, Value};
use super::super::data_source::DataSource;
use super::super::diag::{Diagnostic, Diagnostics};
use super::super::ephemeral::EphemeralResource;
use super::super::object::{ObjectType, ValidateRequest, ValidateResponse};
use super::super::proto::tfplugin6 as pb;
use super::super::resource::Resource;
use super::super::schema::Schema;

/// The answer of a streaming RPC.
pub(super) type EventStream<T> =
    Pin<Box<dyn Stream<Item = Result<T, tonic::Status>> + Send + 'static>>;

/// How diagnostics name each kind of object type ("resource", "data source", ...).
pub(super) trait Kind: ObjectType {
    const KIND: &'static str;
}

macro_rules! kind {
    ($($tr:ident => $name:literal),* $(,)?) => {$(
        impl<D: Send + Sync + 'static> Kind for dyn $tr<D> {
            const KIND: &'static str = $name;
        }
    )*};
}

kind!(
    Resource => "resource",
    DataSource => "data source",
    EphemeralResource => "ephemeral resource",
    Action => "action",
);

/// One registered object type with its schema and implied type, computed once and shared.
pub(super) struct Entry<T: ?Sized> {
    pub(super) imp: Arc<T>,
    pub(super) schema: Schema,
    pub(super) ty: Type,
}

impl<T: ?Sized> Entry<T> {
    /// Decodes a value Terraform sent for this type; `what` names it in the diagnostic.
    pub(super) fn decode(
        &self,
        v: Option<&pb::DynamicValue>,
        what: &str,
    ) -> Result<Value, Diagnostic> {
        decode(v, &self.ty, what)
    }

    /// Encodes a value for Terraform, with write-only attributes nulled (they never leave
    /// the provider in a plan or a state).
    pub(super) fn encode_state(
        &self,
        mut v: Value,
        what: &str,
    ) -> Result<pb::DynamicValue, Diagnostic> {
        self.schema.block.null_write_only(&mut v);
        encode(&v, &self.ty, what)
    }
}

/// The object types of one kind, by type name.
pub(super) struct Entries<T: ?Sized>(HashMap<String, Arc<Entry<T>>>);

impl<T: ?Sized + Kind> Entries<T> {
    pub(super) fn new(items: Vec<Arc<T>>) -> Self {
        Self(
            items
                .into_iter()
                .map(|imp| {
                    let schema = imp.schema();
                    let ty = schema.block.implied_type();
                    let name = imp.type_name().to_string();
                    (name, Arc::new(Entry { imp, schema, ty }))
                })
                .collect(),
        )
    }

    /// Finds an object type by name: the one lookup every handler starts with.
    pub(super) fn lookup(&self, name: &str) -> Result<Arc<Entry<T>>, Diagnostic> {
        self.0.get(name).cloned().ok_or_else(|| {
            let kind = T::KIND;
            Diagnostic::error(
                format!("Unknown {kind} type"),
                format!("This provider has no {kind} type named {name:?}. Check the spelling, or upgrade the provider."),
            )
        })
    }

    /// Every registered type.
    pub(super) fn iter(&self) -> impl Iterator<Item = (&String, &Arc<Entry<T>>)> {
        self.0.iter()
    }

    /// Validates a configuration of the named type: the whole Validate*Config RPC of data
    /// sources, ephemeral resources and actions (`rpc` names it in the trace).
    pub(super) async fn validate<R: Answer + Default>(
        &self,
        ctx: &Context,
        rpc: &'static str,
        type_name: &str,
        config: Option<&pb::DynamicValue>,
    ) -> R {
        let body = async {
            let e = self.lookup(type_name)?;
            let config = e.decode(config, "configuration")?;
            let mut resp = ValidateResponse::default();
            e.imp
                .validate(ctx, ValidateRequest::new(config), &mut resp)
                .await;
            Ok(resp.diagnostics)
        };
        finish_diagnostics(
            body.instrument(span(rpc, type_name)).await,
            Diagnostics::new(),
        )
    }
}

/// Why a handler body ended early: the diagnostics that stopped it (none when the errors
/// are already among those it collected).
pub(super) struct Halt(pub(super) Diagnostics);

impl From<Diagnostic> for Halt {
    fn from(d: Diagnostic) -> Self {
        Self(d.into())
    }
}

impl From<Diagnostics> for Halt {
    fn from(d: Diagnostics) -> Self {
        Self(d)
    }
}

/// What a handler body returns; the diagnostics it collects go into a `&mut Diagnostics`.
pub(super) type Body<T> = Result<T, Halt>;

/// Ends a handler body when the diagnostics collected so far hold an error.
pub(super) fn halt_on_errors(diags: &Diagnostics) -> Body<()> {
    if diags.has_errors() {
        Err(Halt(Diagnostics::new()))
    } else {
        Ok(())
    }
}

/// A protocol answer that carries diagnostics.
pub(super) trait Answer {
    fn set_diagnostics(&mut self, d: Vec<pb::Diagnostic>);
}

macro_rules! answer {
    ($($m:ident),* $(,)?) => {$(
        impl Answer for pb::$m::Response {
            fn set_diagnostics(&mut self, d: Vec<pb::Diagnostic>) {
                self.diagnostics = d;
            }
        }
    )*};
}

answer!(
    validate_provider_config,
    configure_provider,
    validate_resource_config,
    plan_resource_change,
    apply_resource_change,
    read_resource,
    upgrade_resource_state,
    import_resource_state,
    validate_data_resource_config,
    read_data_source,
    validate_ephemeral_resource_config,
    open_ephemeral_resource,
    renew_ephemeral_resource,
    close_ephemeral_resource,
    validate_action_config,
    plan_action,
);

/// The one way a handler ends: the body's answer, or `fallback` when it stopped early, with
/// every diagnostic collected (and those that stopped it) set on it.
pub(super) fn finish<T: Answer>(
    body: Body<T>,
    mut diags: Diagnostics,
    fallback: impl FnOnce() -> T,
) -> T {
    let mut out = body.unwrap_or_else(|Halt(d)| {
        diags.extend(d);
        fallback()
    });
    out.set_diagnostics(convert::diagnostics(diags));
    out
}

/// Runs a handler body in its span and settles it with [`finish`]: the one way every handler
/// ends. The body collects diagnostics in the `&mut Diagnostics` it is given and stops with
/// `?`; `fallback` is the answer when it stopped.
pub(super) async fn answer<T: Answer>(
    span: tracing::Span,
    fallback: impl FnOnce() -> T,
    body: impl AsyncFnOnce(&mut Diagnostics) -> Body<T>,
) -> T {
    let mut diags = Diagnostics::new();
    let out = body(&mut diags).instrument(span).await;
    finish(out, diags, fallback)
}

/// [`finish`] for a body whose answer is diagnostics only.
pub(super) fn finish_diagnostics<T: Answer + Default>(
    body: Body<Diagnostics>,
    mut diags: Diagnostics,
) -> T {
    let found = body.map(|d| {
        diags.extend(d);
        T::default()
    });
    finish(found, diags, T::default)
}

/// Wraps handler bodies in a span naming the RPC and object type; never records values.
pub(super) fn span(rpc: &'static str, type_name: &str) -> tracing::Span {
    tracing::debug_span!("rpc", rpc, type_name)
}
