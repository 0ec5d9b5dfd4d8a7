//! Extra trusted CA roots from `ca_cert_pem`.

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

use crate::sdk::errors::chain_text;

use super::error::ClientBuildError;

/// Every CERTIFICATE block of `pem`, each checked to be a usable trust anchor.
pub(super) fn parse_ca_pem(pem: &str) -> Result<Vec<reqwest::Certificate>, ClientBuildError> {
    let mut certs = Vec::new();
    for (i, item) in CertificateDer::pem_slice_iter(pem.as_bytes()).enumerate() {
        let der = item.map_err(|e| ClientBuildError::CaPemInvalid {
            reason: pem_error_reason(&e).to_owned(),
        })?;
        let index = i + 1;
        webpki::anchor_from_trusted_cert(&der).map_err(|e| {
            ClientBuildError::CaCertificateInvalid {
                index,
                reason: e.to_string(),
            }
        })?;
        let cert = reqwest::Certificate::from_der(der.as_ref()).map_err(|e| {
            ClientBuildError::CaCertificateInvalid {
                index,
                reason: chain_text(&e),
            }
        })?;
        certs.push(cert);
    }
    if certs.is_empty() {
        return Err(ClientBuildError::CaPemNoCertificates);
    }
    Ok(certs)
}

/// Our own wording: the parser's would quote lines of the input.
fn pem_error_reason(e: &rustls_pki_types::pem::Error) -> &'static str {
    use rustls_pki_types::pem::Error;
    match e {
        Error::MissingSectionEnd { .. } => "a block has no -----END line",
        Error::IllegalSectionStart { .. } => "a -----BEGIN line is malformed",
        Error::Base64Decode(_) => "a block is not valid base64",
        Error::SectionTooLarge => "a block is too large",
        _ => "unreadable PEM",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_bundle_and_names_the_bad_certificate() {
        let a = rcgen::generate_simple_self_signed(vec!["a.example".into()]).unwrap();
        let b = rcgen::generate_simple_self_signed(vec!["b.example".into()]).unwrap();
        let bundle = format!("{}\n{}", a.cert.pem(), b.cert.pem());
        assert_eq!(parse_ca_pem(&bundle).unwrap().len(), 2);
        // A good certificate followed by garbage is still an error, naming the bad one.
        let bad = format!(
            "{}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            a.cert.pem()
        );
        assert!(matches!(
            parse_ca_pem(&bad),
            Err(ClientBuildError::CaCertificateInvalid { index: 2, .. })
        ));
    }
}
