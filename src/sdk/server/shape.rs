//! The one shape of every handler: find the object type ([`lookup`]), decode with its
//! schema ([`Entry::decode`]), call the provider, encode ([`Entry::encode_state`]); the body
//! returns a [`Body`] so that `?` ends it, and [`settle`] turns the outcome into the answer.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use super::super::convert::{self, decode, encode};
use super::super::cty::{Type, Value};
use super::super::diag::{Diagnostic, Diagnostics};
use super::super::proto::tfplugin6 as pb;
use super::super::provider::ValidateRequest;
use super::super::schema::Schema;

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

pub(super) type Entries<T> = HashMap<String, Arc<Entry<T>>>;

pub(super) fn entries<T: ?Sized>(
    items: Vec<Arc<T>>,
    name: impl Fn(&T) -> &'static str,
    schema: impl Fn(&T) -> Schema,
) -> Entries<T> {
    items
        .into_iter()
        .map(|imp| {
            let s = schema(&imp);
            let ty = s.block.implied_type();
            (
                name(&imp).to_string(),
                Arc::new(Entry { imp, schema: s, ty }),
            )
        })
        .collect()
}

/// Finds an object type by name: the one lookup every handler starts with.
pub(super) fn lookup<T: ?Sized>(
    map: &Entries<T>,
    kind: &str,
    name: &str,
) -> Result<Arc<Entry<T>>, Diagnostic> {
    map.get(name).cloned().ok_or_else(|| {
        Diagnostic::error(
            format!("Unknown {kind} type"),
            format!("This provider has no {kind} type named {name:?}. Check the spelling, or upgrade the provider."),
        )
    })
}

/// Why a handler body ended early: the diagnostics that stopped it (none when the errors
/// are already among those it collected).
pub(super) struct Halt(Diagnostics);

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

/// The one way a handler ends: the body's answer, or `fallback` with the diagnostics that
/// stopped it added to `diags`.
pub(super) fn settle<T>(body: Body<T>, diags: &mut Diagnostics, fallback: impl FnOnce() -> T) -> T {
    body.unwrap_or_else(|Halt(d)| {
        diags.extend(d);
        fallback()
    })
}

/// Validates the configuration of a data source, ephemeral resource or action type: the
/// shared body of their Validate*Config RPCs.
pub(super) async fn validate_config<T: ?Sized, F>(
    map: &Entries<T>,
    kind: &str,
    type_name: &str,
    config: Option<&pb::DynamicValue>,
    validate: impl FnOnce(Arc<T>, ValidateRequest) -> F,
) -> Vec<pb::Diagnostic>
where
    F: Future<Output = Diagnostics>,
{
    let body = async {
        let e = lookup(map, kind, type_name)?;
        let config = e.decode(config, "configuration")?;
        Ok(validate(Arc::clone(&e.imp), ValidateRequest::new(config)).await)
    };
    let mut diags = Diagnostics::new();
    let found = settle(body.await, &mut diags, Diagnostics::new);
    diags.extend(found);
    convert::diagnostics(diags)
}

/// The answer of a handler that answers only with diagnostics.
pub(super) fn diagnostics_only(body: Body<()>, mut diags: Diagnostics) -> Vec<pb::Diagnostic> {
    settle(body, &mut diags, || ());
    convert::diagnostics(diags)
}

/// Wraps handler bodies in a span naming the RPC and object type; never records values.
pub(super) fn span(rpc: &'static str, type_name: &str) -> tracing::Span {
    tracing::debug_span!("rpc", rpc, type_name)
}
