//! Action RPCs: plan and invoke (a stream of progress lines, then the completion); validation
//! is the shared `Entries::validate`.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use super::super::action::{Action, ActionRequest, InvokeResponse, PlanActionResponse};
use super::super::convert;
use super::super::diag::{Diagnostic, Diagnostics};
use super::super::proto::tfplugin6 as pb;
use super::super::provider::Provider;
use super::shape::{finish_diagnostics, span, Body, Entry, EventStream, Halt};
use super::ProviderServer;

/// A decoded action call (see [`ProviderServer::action_call`]).
struct ActionCall<P: Provider> {
    entry: Arc<Entry<dyn Action<P::Data>>>,
    data: Arc<P::Data>,
    req: ActionRequest,
}

impl<P: Provider> ProviderServer<P> {
    pub(super) async fn plan_action(
        &self,
        r: pb::plan_action::Request,
    ) -> pb::plan_action::Response {
        let s = span("PlanAction", &r.action_type);
        let body = async {
            let c = self.action_call(&r.action_type, r.config.as_ref(), r.client_capabilities)?;
            let mut resp = PlanActionResponse::default();
            c.entry
                .imp
                .plan(&self.ctx(), &c.data, c.req, &mut resp)
                .await;
            Ok(resp.diagnostics)
        };
        finish_diagnostics(body.instrument(s).await, Diagnostics::new())
    }

    /// What planning and invoking an action both start from: the type, decoded config, data.
    fn action_call(
        &self,
        type_name: &str,
        config: Option<&pb::DynamicValue>,
        caps: Option<pb::ClientCapabilities>,
    ) -> Body<ActionCall<P>> {
        let entry = self.inner.actions.lookup(type_name)?;
        let config = entry.decode(config, "configuration")?;
        let data = self.data()?;
        let req = ActionRequest {
            config,
            client_capabilities: convert::client_capabilities(caps),
        };
        Ok(ActionCall { entry, data, req })
    }

    /// Runs the action on a task of its own; its progress lines stream to Terraform as they
    /// come, then the completion with its diagnostics.
    pub(super) fn invoke_action(
        &self,
        r: pb::invoke_action::Request,
    ) -> EventStream<pb::invoke_action::Event> {
        use pb::invoke_action::event::{Completed, Progress as PbProgress, Type as Ev};
        let (tx, rx) = mpsc::channel::<String>(16);
        let (done_tx, done_rx) = oneshot::channel::<Diagnostics>();
        let this = self.clone();
        let s = span("InvokeAction", &r.action_type);
        tokio::spawn(
            async move {
                let diags = match this.action_call(
                    &r.action_type,
                    r.config.as_ref(),
                    r.client_capabilities,
                ) {
                    Ok(c) => {
                        let mut resp = InvokeResponse::new(tx);
                        c.entry
                            .imp
                            .invoke(&this.ctx(), &c.data, c.req, &mut resp)
                            .await;
                        resp.diagnostics
                    }
                    Err(Halt(d)) => d,
                };
                let _ = done_tx.send(diags);
            }
            .instrument(s),
        );
        // The sender drops when the action finishes, which ends the progress stream.
        let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
        // Progress lines first (in order), then the completion with its diagnostics.
        let progress = futures_util::StreamExt::map(stream, |message| {
            Ok(pb::invoke_action::Event {
                r#type: Some(Ev::Progress(PbProgress { message })),
            })
        });
        let completed = futures_util::stream::once(async move {
            let diags = done_rx.await.unwrap_or_else(|_| {
                Diagnostic::error(
                    "Action failed",
                    "The action stopped unexpectedly. Run it again; if it keeps failing, report it.",
                )
                .into()
            });
            Ok(pb::invoke_action::Event {
                r#type: Some(Ev::Completed(Completed {
                    diagnostics: convert::diagnostics(diags),
                })),
            })
        });
        Box::pin(futures_util::StreamExt::chain(progress, completed))
    }
}
