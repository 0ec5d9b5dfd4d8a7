//! Ephemeral-resource RPCs: open, renew and close (validation is the shared `Entries::validate`).

use super::super::convert;
use super::super::ephemeral::{
    CloseResponse, OpenRequest, OpenResponse, PrivateRequest, RenewResponse,
};
use super::super::private::Private;
use super::super::proto::tfplugin6 as pb;
use super::super::provider::Provider;
use super::shape::{answer, halt_on_errors, span};
use super::ProviderServer;

impl<P: Provider> ProviderServer<P> {
    /// Runs detached from the connection (see [`ProviderServer::detached`]): an open may log
    /// in, and the session must not be lost half-way.
    pub(super) async fn open_ephemeral(
        &self,
        r: pb::open_ephemeral_resource::Request,
    ) -> Result<pb::open_ephemeral_resource::Response, tonic::Status> {
        let s = span("OpenEphemeralResource", &r.type_name);
        self.detached(|this| async move {
            answer(s, Default::default, async |diags| {
                let e = this.inner.ephemerals.lookup(&r.type_name)?;
                let config = e.decode(r.config.as_ref(), "configuration")?;
                let data = this.data()?;
                let req = OpenRequest {
                    config,
                    client_capabilities: convert::client_capabilities(r.client_capabilities),
                };
                let mut resp = OpenResponse::default();
                e.imp.open(&this.ctx(), &data, req, &mut resp).await;
                diags.extend(resp.diagnostics);
                halt_on_errors(diags)?;
                Ok(pb::open_ephemeral_resource::Response {
                    result: Some(convert::encode(&resp.result, &e.ty, "ephemeral result")?),
                    private: private_bytes(resp.private),
                    renew_at: resp.renew_at.map(convert::timestamp),
                    ..Default::default()
                })
            })
            .await
        })
        .await
    }

    pub(super) async fn renew_ephemeral(
        &self,
        r: pb::renew_ephemeral_resource::Request,
    ) -> pb::renew_ephemeral_resource::Response {
        let s = span("RenewEphemeralResource", &r.type_name);
        answer(s, Default::default, async |diags| {
            let e = self.inner.ephemerals.lookup(&r.type_name)?;
            let data = self.data()?;
            let req = private_request(r.private);
            let mut resp = RenewResponse {
                private: req.private.clone(),
                ..RenewResponse::default()
            };
            e.imp.renew(&self.ctx(), &data, req, &mut resp).await;
            diags.extend(resp.diagnostics);
            Ok(pb::renew_ephemeral_resource::Response {
                private: private_bytes(resp.private),
                renew_at: resp.renew_at.map(convert::timestamp),
                ..Default::default()
            })
        })
        .await
    }

    /// Runs detached from the connection (see [`ProviderServer::detached`]), like open.
    pub(super) async fn close_ephemeral(
        &self,
        r: pb::close_ephemeral_resource::Request,
    ) -> Result<pb::close_ephemeral_resource::Response, tonic::Status> {
        let s = span("CloseEphemeralResource", &r.type_name);
        self.detached(|this| async move {
            answer(s, Default::default, async |diags| {
                let e = this.inner.ephemerals.lookup(&r.type_name)?;
                let data = this.data()?;
                let mut resp = CloseResponse::default();
                // Close must run even after StopProvider, so it gets a fresh stop token.
                let ctx = this.unstopped_ctx();
                e.imp
                    .close(&ctx, &data, private_request(r.private), &mut resp)
                    .await;
                diags.extend(resp.diagnostics);
                Ok(Default::default())
            })
            .await
        })
        .await
    }
}

/// The private data Terraform sent (absent means none).
fn private_request(private: Option<Vec<u8>>) -> PrivateRequest {
    PrivateRequest {
        private: Private::from_bytes(private.unwrap_or_default()),
    }
}

/// Private data for Terraform: absent when empty.
fn private_bytes(private: Private) -> Option<Vec<u8>> {
    Some(private.into_bytes()).filter(|p| !p.is_empty())
}
