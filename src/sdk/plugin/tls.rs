//! go-plugin AutoMTLS: a fresh server certificate per process, and a client-certificate
//! verifier pinned to the certificate Terraform passes in `PLUGIN_CLIENT_CERT`.
//!
//! Terraform's client certificate is a self-signed P-521/SHA-512 certificate with CA:TRUE.
//! rustls' `WebPkiClientVerifier` rejects such a leaf (`CaUsedAsEndEntity`), so instead of
//! path validation we compare the presented certificate byte for byte with the pinned one
//! and only check the handshake signature, with aws-lc-rs (ring cannot do P-521).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};

use super::error::PluginError;

/// Environment variable holding Terraform's client certificate (PEM) under AutoMTLS.
pub(crate) const CLIENT_CERT_KEY: &str = "PLUGIN_CLIENT_CERT";

/// The name go-plugin's client verifies the server certificate against.
const SERVER_NAME: &str = "localhost";

/// Clock skew allowance, as go-plugin gives its own certificates.
const BACKDATE: Duration = Duration::from_secs(30);

/// Far longer than any provider process lives; the certificate dies with the process.
const LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);

/// The crypto provider for everything TLS here: aws-lc-rs, because it verifies P-521.
pub(crate) fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The server's own certificate and key.
pub(crate) struct ServerIdentity {
    /// DER of the self-signed certificate, also sent to the client in the handshake line.
    pub(crate) cert_der: CertificateDer<'static>,
    key_der: PrivateKeyDer<'static>,
}

/// Generates a self-signed ECDSA P-256 certificate for `localhost`, usable for serverAuth,
/// valid from 30 s ago.
pub(crate) fn generate_server_identity() -> Result<ServerIdentity, PluginError> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = rcgen::CertificateParams::new(vec![SERVER_NAME.to_owned()])?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, SERVER_NAME);
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    params.is_ca = rcgen::IsCa::NoCa;
    // rcgen's dates come from the `time` crate; offsetting the epoch by a std Duration
    // avoids depending on it directly.
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .saturating_sub(BACKDATE);
    params.not_before = rcgen::date_time_ymd(1970, 1, 1) + since_epoch;
    params.not_after = params.not_before + LIFETIME;
    let cert = params.self_signed(&key)?;
    Ok(ServerIdentity {
        cert_der: cert.der().clone(),
        key_der: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    })
}

/// Parses every certificate in the PEM Terraform passes; at least one is required.
pub(crate) fn parse_client_certs(pem: &str) -> Result<Vec<CertificateDer<'static>>, PluginError> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PluginError::BadClientCert(e.to_string()))?;
    if certs.is_empty() {
        return Err(PluginError::BadClientCert(
            "no CERTIFICATE block found".to_owned(),
        ));
    }
    Ok(certs)
}

/// Builds the rustls server configuration for AutoMTLS: TLS 1.2+, ALPN `h2` (grpc-go 1.67+
/// refuses a TLS peer without it), and a mandatory client certificate pinned to `client_certs`.
pub(crate) fn server_config(
    identity: &ServerIdentity,
    client_certs: Vec<CertificateDer<'static>>,
) -> Result<rustls::ServerConfig, PluginError> {
    let provider = crypto_provider();
    let verifier = PinnedClientCertVerifier::new(client_certs, &provider);
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(
            vec![identity.cert_der.clone()],
            identity.key_der.clone_key(),
        )?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

/// Accepts exactly the pinned client certificates and checks the handshake signatures.
#[derive(Debug)]
pub(crate) struct PinnedClientCertVerifier {
    pinned: Vec<CertificateDer<'static>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinnedClientCertVerifier {
    pub(crate) fn new(pinned: Vec<CertificateDer<'static>>, provider: &CryptoProvider) -> Self {
        Self {
            pinned,
            algorithms: provider.signature_verification_algorithms,
        }
    }
}

impl ClientCertVerifier for PinnedClientCertVerifier {
    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        // No hints: Terraform's client sends its only certificate regardless.
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        // Byte equality with a certificate handed over out of band is the whole trust
        // decision, exactly like go-plugin's pool holding only that certificate.
        if self
            .pinned
            .iter()
            .any(|p| p.as_ref() == end_entity.as_ref())
        {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{terraform_client_identity, ClientIdentity};
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn client_config(
        server_cert: &CertificateDer<'static>,
        client: Option<(CertificateDer<'static>, PrivateKeyDer<'static>)>,
        version: &'static rustls::SupportedProtocolVersion,
    ) -> rustls::ClientConfig {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(server_cert.clone()).unwrap();
        let builder = rustls::ClientConfig::builder_with_provider(crypto_provider())
            .with_protocol_versions(&[version])
            .unwrap()
            .with_root_certificates(roots);
        let mut config = match client {
            Some((cert, key)) => builder.with_client_auth_cert(vec![cert], key).unwrap(),
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"h2".to_vec()];
        config
    }

    /// Runs one handshake over an in-memory pipe and exchanges a byte both ways.
    async fn handshake(
        server: rustls::ServerConfig,
        client: rustls::ClientConfig,
    ) -> Result<Option<Vec<u8>>, std::io::Error> {
        let (c, s) = tokio::io::duplex(64 * 1024);
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
        let server_side = tokio::spawn(async move {
            let mut tls = acceptor.accept(s).await?;
            let mut b = [0u8; 1];
            tls.read_exact(&mut b).await?;
            tls.write_all(&b).await?;
            tls.flush().await?;
            Ok::<_, std::io::Error>(tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec))
        });
        let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
        let client_side = async move {
            let mut tls = connector.connect(name, c).await?;
            tls.write_all(b"x").await?;
            tls.flush().await?;
            let mut b = [0u8; 1];
            tls.read_exact(&mut b).await?;
            Ok::<_, std::io::Error>(())
        };
        let client_result = client_side.await;
        let server_result = server_side.await.unwrap();
        client_result?;
        server_result
    }

    #[test]
    fn server_cert_is_for_localhost_serverauth() {
        let id = generate_server_identity().unwrap();
        let cert = webpki::EndEntityCert::try_from(&id.cert_der).unwrap();
        let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
        cert.verify_is_valid_for_subject_name(&name).unwrap();
        // A rustls client that trusts only this certificate accepts it for "localhost",
        // which also checks the serverAuth EKU and the validity window.
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new({
                let mut r = rustls::RootCertStore::empty();
                r.add(id.cert_der.clone()).unwrap();
                r
            }),
            crypto_provider(),
        )
        .build()
        .unwrap();
        use rustls::client::danger::ServerCertVerifier as _;
        verifier
            .verify_server_cert(&id.cert_der, &[], &name, &[], UnixTime::now())
            .unwrap();
    }

    #[test]
    fn pem_parsing() {
        let ClientIdentity { der, pem, .. } = terraform_client_identity();
        assert_eq!(parse_client_certs(&pem).unwrap(), vec![der.clone()]);
        let two = format!("{pem}\n{pem}");
        assert_eq!(parse_client_certs(&two).unwrap().len(), 2);
        assert!(matches!(
            parse_client_certs("not pem"),
            Err(PluginError::BadClientCert(_))
        ));
        assert!(parse_client_certs("").is_err());
    }

    #[test]
    fn verifier_pins_exact_der() {
        let der = terraform_client_identity().der;
        let other = terraform_client_identity().der;
        let v = PinnedClientCertVerifier::new(vec![der.clone()], &crypto_provider());
        assert!(v.client_auth_mandatory());
        assert!(v.root_hint_subjects().is_empty());
        assert!(v.verify_client_cert(&der, &[], UnixTime::now()).is_ok());
        assert!(v.verify_client_cert(&other, &[], UnixTime::now()).is_err());
        let mut flipped = der.to_vec();
        if let Some(last) = flipped.last_mut() {
            *last ^= 1;
        }
        assert!(v
            .verify_client_cert(&CertificateDer::from(flipped), &[], UnixTime::now())
            .is_err());
        assert!(v
            .supported_verify_schemes()
            .contains(&SignatureScheme::ECDSA_NISTP521_SHA512));
    }

    #[tokio::test]
    async fn terraform_like_client_completes_mtls_on_both_versions() {
        for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
            let id = generate_server_identity().unwrap();
            let ClientIdentity { der, key, pem } = terraform_client_identity();
            let server = server_config(&id, parse_client_certs(&pem).unwrap()).unwrap();
            let client = client_config(&id.cert_der, Some((der, key)), version);
            let alpn = handshake(server, client).await.unwrap();
            assert_eq!(alpn.as_deref(), Some(&b"h2"[..]), "{version:?}");
        }
    }

    #[tokio::test]
    async fn other_or_missing_client_cert_is_refused() {
        for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
            let id = generate_server_identity().unwrap();
            let pinned_pem = terraform_client_identity().pem;
            let ClientIdentity { der, key, .. } = terraform_client_identity();
            let pinned = parse_client_certs(&pinned_pem).unwrap();

            let server = server_config(&id, pinned.clone()).unwrap();
            let client = client_config(&id.cert_der, Some((der, key)), version);
            assert!(handshake(server, client).await.is_err(), "{version:?}");

            let server = server_config(&id, pinned).unwrap();
            let client = client_config(&id.cert_der, None, version);
            assert!(handshake(server, client).await.is_err(), "{version:?}");
        }
    }
}
