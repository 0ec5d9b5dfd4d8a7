//! Data-source RPCs: validate and read.

use tracing::Instrument;

use super::super::convert;
use super::super::data_source::ReadDataRequest;
use super::super::diag::{Diagnostic, Diagnostics};
use super::super::proto::tfplugin6 as pb;
use super::super::provider::Provider;
use super::shape::{halt_on_errors, lookup, settle, span, validate_config, Body};
use super::ProviderServer;

impl<P: Provider> ProviderServer<P> {
    pub(super) async fn validate_data_source(
        &self,
        r: pb::validate_data_resource_config::Request,
    ) -> pb::validate_data_resource_config::Response {
        let s = span("ValidateDataResourceConfig", &r.type_name);
        let diagnostics = validate_config(
            &self.inner.data_sources,
            "data source",
            &r.type_name,
            r.config.as_ref(),
            |imp, req| async move { imp.validate(req).await },
        )
        .instrument(s)
        .await;
        pb::validate_data_resource_config::Response { diagnostics }
    }

    /// Runs detached from the connection (see [`ProviderServer::detached`]): a read may log in.
    pub(super) async fn read_data_source(
        &self,
        r: pb::read_data_source::Request,
    ) -> Result<pb::read_data_source::Response, tonic::Status> {
        let s = span("ReadDataSource", &r.type_name);
        self.detached(|this| {
            async move {
                let mut diags = Diagnostics::new();
                let body = this.read_data_source_body(r, &mut diags).await;
                let mut out = settle(body, &mut diags, Default::default);
                out.diagnostics = convert::diagnostics(diags);
                out
            }
            .instrument(s)
        })
        .await
    }

    async fn read_data_source_body(
        &self,
        r: pb::read_data_source::Request,
        diags: &mut Diagnostics,
    ) -> Body<pb::read_data_source::Response> {
        let e = lookup(&self.inner.data_sources, "data source", &r.type_name)?;
        let config = e.decode(r.config.as_ref(), "configuration")?;
        let data = self.data()?;
        let req = ReadDataRequest {
            config,
            client_capabilities: convert::client_capabilities(r.client_capabilities),
        };
        let resp = e.imp.read(&self.ctx(), &data, req).await;
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
    }
}
