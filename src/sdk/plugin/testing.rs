//! For tests of providers built on this SDK (feature `testing`): a client certificate shaped
//! like the one Terraform presents over AutoMTLS, so a test can play Terraform's part of the
//! handshake, and a sink that collects log output.

use std::io::Write;
use std::sync::{Arc, Mutex};

use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A log writer whose clones share one buffer: give a subscriber
/// `move || sink.clone()` as its writer and read what it wrote with [`LogSink::text`].
#[derive(Clone, Default)]
pub struct LogSink(Arc<Mutex<Vec<u8>>>);

impl LogSink {
    /// Everything written so far (lossy UTF-8).
    pub fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut bytes = self.0.lock().unwrap_or_else(|e| e.into_inner());
        bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A client certificate with its key, as DER and the certificate as PEM (what Terraform puts
/// in `PLUGIN_CLIENT_CERT`).
pub struct ClientIdentity {
    /// The certificate.
    pub der: CertificateDer<'static>,
    /// Its private key (PKCS#8).
    pub key: PrivateKeyDer<'static>,
    /// The certificate as PEM.
    pub pem: String,
}

/// A fresh certificate shaped like the one go-plugin's `generateCert` makes for Terraform:
/// ECDSA P-521 / SHA-512, self-signed, CA:TRUE, CN=localhost, O=HashiCorp, EKU client and
/// server auth. Panics if rcgen cannot make one (test code).
pub fn terraform_client_identity() -> ClientIdentity {
    make().expect("rcgen makes a P-521 client certificate")
}

fn make() -> Result<ClientIdentity, rcgen::Error> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512)?;
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()])?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "HashiCorp");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::DigitalSignature,
        rcgen::KeyUsagePurpose::KeyEncipherment,
        rcgen::KeyUsagePurpose::KeyAgreement,
        rcgen::KeyUsagePurpose::KeyCertSign,
    ];
    params.extended_key_usages = vec![
        rcgen::ExtendedKeyUsagePurpose::ClientAuth,
        rcgen::ExtendedKeyUsagePurpose::ServerAuth,
    ];
    let cert = params.self_signed(&key)?;
    Ok(ClientIdentity {
        der: cert.der().clone(),
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        pem: cert.pem(),
    })
}
