//! Turns client errors into diagnostics that say what happened and what to do.

use std::fmt::Display;

use crate::sdk::cty::AttributePath;
use crate::sdk::{Cancelled, Diagnostic};

use super::client::ApiError;

/// Maps an API error met while `doing` something (e.g. "log in") to a diagnostic.
/// Field errors from a 422 point at `field_path(field)` when the caller knows the attribute.
pub fn api_error(
    err: &ApiError,
    doing: &str,
    field_path: impl Fn(&str) -> Option<AttributePath>,
) -> Diagnostic {
    let err = Sentence(err);
    match err.0 {
        ApiError::InvalidCredentials { .. } => Diagnostic::error(
            "Defentry rejected the credentials",
            format!(
                "{err} Check `username` and `password` (or DEFENTRY_USERNAME and DEFENTRY_PASSWORD), \
                 and that the service account still exists in the Defentry CRM portal."
            ),
        )
        .at_opt(field_path("password")),
        ApiError::Unauthenticated => Diagnostic::error(
            "Defentry session is no longer valid",
            format!("Could not {doing}: {err} Log in again (for a managed token: replace it, e.g. with `terraform apply -replace`)."),
        ),
        ApiError::Forbidden { .. } => Diagnostic::error(
            "Defentry refused the request",
            format!("Could not {doing}: {err}"),
        ),
        ApiError::Validation { fields, .. } => {
            let path = fields.keys().find_map(|f| field_path(f));
            Diagnostic::error(
                "Defentry rejected the input",
                format!("Could not {doing}: {err} Correct the value and run Terraform again."),
            )
            .at_opt(path)
        }
        ApiError::RateLimited { .. } => Diagnostic::error(
            "Defentry rate limit reached",
            format!("Could not {doing}: {err} Raise `rate_limit_timeout` in the provider block to wait longer, \
                lower Terraform's -parallelism, or spread large `count`/`for_each` fleets over several runs; \
                nothing was lost, so running Terraform again later finishes the job."),
        ),
        ApiError::Server { .. } => Diagnostic::error(
            "Defentry server error",
            format!("Could not {doing}: {err} Nothing was lost: run Terraform again once the service recovers."),
        ),
        ApiError::Transport { .. } => Diagnostic::error(
            "Cannot reach Defentry",
            format!("Could not {doing}: {err} Check `api_domain` (or DEFENTRY_API_DOMAIN), the network, and `ca_cert_pem` if the server uses a private CA."),
        ),
        ApiError::UnexpectedResponse { .. } | ApiError::UnexpectedStatus { .. } => Diagnostic::error(
            "Unexpected response from Defentry",
            format!("Could not {doing}: {err} Check that `api_domain` points at the Defentry API (the base URL your account manager gave you)."),
        ),
        ApiError::Cancelled => cancelled(doing),
    }
}

/// Error messages are written to read inside others ("could not reach ...: timed out"), so
/// they end without a full stop. Displayed through this, one ends with a full stop, ready
/// for the sentence that follows it in a diagnostic.
pub struct Sentence<T>(pub T);

impl<T: Display> Display for Sentence<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = self.0.to_string();
        let text = text.trim_end();
        f.write_str(text)?;
        if text.ends_with(['.', '!', '?']) {
            Ok(())
        } else {
            f.write_str(".")
        }
    }
}

/// `err`'s message as a full sentence (see [`Sentence`]).
pub fn sentence(err: impl Display) -> String {
    Sentence(err).to_string()
}

/// The diagnostic for an operation interrupted by Terraform (Ctrl-C).
pub fn cancelled(doing: &str) -> Diagnostic {
    Diagnostic::error(
        "Interrupted",
        format!("Terraform asked the provider to stop before it could {doing}: {Cancelled}. Run Terraform again to finish."),
    )
}

trait AtOpt {
    fn at_opt(self, p: Option<AttributePath>) -> Self;
}

impl AtOpt for Diagnostic {
    fn at_opt(self, p: Option<AttributePath>) -> Self {
        match p {
            Some(p) => self.at(p),
            None => self,
        }
    }
}

#[cfg(test)]
mod tests;
