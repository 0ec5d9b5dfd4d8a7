//! Data-source RPCs: read (validation is the shared `Entries::validate`).

use super::super::convert;
use super::super::data_source::{ReadDataRequest, ReadDataResponse};
use super::super::diag::Diagnostic;
use super::super::proto::tfplugin6 as pb;
use super::super::provider::Provider;
use super::shape::{answer, halt_on_errors, span};
use super::ProviderServer;

impl<P: Provider> ProviderServer<P> {
    /// Runs detached from the connection (see [`ProviderServer::detached`]): a read may log in.
    pub(super) async fn read_data_source(
        &self,
        r: pb::read_data_source::Request,
    ) -> Result<pb::read_data_source::Response, tonic::Status> {
        let s = span("ReadDataSource", &r.type_name);
        self.detached(|this| async move {
            answer(s, Default::default, async |diags| {
                let e = this.inner.data_sources.lookup(&r.type_name)?;
                let config = e.decode(r.config.as_ref(), "configuration")?;
                let data = this.data()?;
                let req = ReadDataRequest {
                    config,
                    client_capabilities: convert::client_capabilities(r.client_capabilities),
                };
                let mut resp = ReadDataResponse::default();
                e.imp.read(&this.ctx(), &data, req, &mut resp).await;
                diags.extend(resp.diagnostics);
                halt_on_errors(diags)?;
                if resp.state.is_null() || !resp.state.is_wholly_known() {
                    return Err(Diagnostic::error(
                        "Provider produced an incomplete result",
                        "The data source returned a null or partly unknown result. This is a bug in the provider; please report it.",
                    )
                    .into());
                }
                Ok(pb::read_data_source::Response {
                    state: Some(convert::encode(&resp.state, &e.ty, "data source result")?),
                    ..Default::default()
                })
            })
            .await
        })
        .await
    }
}
