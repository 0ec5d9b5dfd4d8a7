//! Ephemeral-resource RPCs: validate, open, renew and close.

use tracing::Instrument;

use super::super::convert;
use super::super::diag::Diagnostics;
use super::super::ephemeral::OpenRequest;
use super::super::proto::tfplugin6 as pb;
use super::super::provider::Provider;
use super::shape::{diagnostics_only, halt_on_errors, lookup, settle, span, validate_config, Body};
use super::ProviderServer;

const KIND: &str = "ephemeral resource";

impl<P: Provider> ProviderServer<P> {
    pub(super) async fn validate_ephemeral(
        &self,
        r: pb::validate_ephemeral_resource_config::Request,
    ) -> pb::validate_ephemeral_resource_config::Response {
        let s = span("ValidateEphemeralResourceConfig", &r.type_name);
        let diagnostics = validate_config(
            &self.inner.ephemerals,
            KIND,
            &r.type_name,
            r.config.as_ref(),
            |imp, req| async move { imp.validate(req).await },
        )
        .instrument(s)
        .await;
        pb::validate_ephemeral_resource_config::Response { diagnostics }
    }

    /// Runs detached from the connection (see [`ProviderServer::detached`]): an open may log
    /// in, and the session must not be lost half-way.
    pub(super) async fn open_ephemeral(
        &self,
        r: pb::open_ephemeral_resource::Request,
    ) -> Result<pb::open_ephemeral_resource::Response, tonic::Status> {
        let s = span("OpenEphemeralResource", &r.type_name);
        self.detached(|this| {
            async move {
                let mut diags = Diagnostics::new();
                let body = this.open_ephemeral_body(r, &mut diags).await;
                let mut out = settle(body, &mut diags, Default::default);
                out.diagnostics = convert::diagnostics(diags);
                out
            }
            .instrument(s)
        })
        .await
    }

    async fn open_ephemeral_body(
        &self,
        r: pb::open_ephemeral_resource::Request,
        diags: &mut Diagnostics,
    ) -> Body<pb::open_ephemeral_resource::Response> {
        let e = lookup(&self.inner.ephemerals, KIND, &r.type_name)?;
        let config = e.decode(r.config.as_ref(), "configuration")?;
        let data = self.data()?;
        let req = OpenRequest {
            config,
            client_capabilities: convert::client_capabilities(r.client_capabilities),
        };
        let resp = e.imp.open(&self.ctx(), &data, req).await;
        diags.extend(resp.diagnostics);
        halt_on_errors(diags)?;
        Ok(pb::open_ephemeral_resource::Response {
            result: Some(convert::encode(&resp.result, &e.ty, "ephemeral result")?),
            private: resp.private,
            renew_at: resp.renew_at.map(convert::timestamp),
            ..Default::default()
        })
    }

    pub(super) async fn renew_ephemeral(
        &self,
        r: pb::renew_ephemeral_resource::Request,
    ) -> pb::renew_ephemeral_resource::Response {
        let s = span("RenewEphemeralResource", &r.type_name);
        let mut diags = Diagnostics::new();
        let body = self.renew_ephemeral_body(r, &mut diags).instrument(s).await;
        let mut out = settle(body, &mut diags, Default::default);
        out.diagnostics = convert::diagnostics(diags);
        out
    }

    async fn renew_ephemeral_body(
        &self,
        r: pb::renew_ephemeral_resource::Request,
        diags: &mut Diagnostics,
    ) -> Body<pb::renew_ephemeral_resource::Response> {
        let e = lookup(&self.inner.ephemerals, KIND, &r.type_name)?;
        let data = self.data()?;
        let resp = e.imp.renew(&self.ctx(), &data, r.private).await;
        diags.extend(resp.diagnostics);
        Ok(pb::renew_ephemeral_resource::Response {
            private: resp.private,
            renew_at: resp.renew_at.map(convert::timestamp),
            ..Default::default()
        })
    }

    /// Runs detached from the connection (see [`ProviderServer::detached`]), like open.
    pub(super) async fn close_ephemeral(
        &self,
        r: pb::close_ephemeral_resource::Request,
    ) -> Result<pb::close_ephemeral_resource::Response, tonic::Status> {
        let s = span("CloseEphemeralResource", &r.type_name);
        self.detached(|this| {
            async move {
                let mut diags = Diagnostics::new();
                let body = this.close_ephemeral_body(r, &mut diags).await;
                let diagnostics = diagnostics_only(body, diags);
                pb::close_ephemeral_resource::Response { diagnostics }
            }
            .instrument(s)
        })
        .await
    }

    async fn close_ephemeral_body(
        &self,
        r: pb::close_ephemeral_resource::Request,
        diags: &mut Diagnostics,
    ) -> Body<()> {
        let e = lookup(&self.inner.ephemerals, KIND, &r.type_name)?;
        let data = self.data()?;
        // Close must run even after StopProvider, so it gets a fresh stop token.
        diags.extend(e.imp.close(&self.unstopped_ctx(), &data, r.private).await);
        Ok(())
    }
}
