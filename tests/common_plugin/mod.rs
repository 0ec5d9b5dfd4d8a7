//! Test helpers that play Terraform's part of the go-plugin protocol: start the provider
//! binary, read its handshake, and dial it over unix/TCP with or without AutoMTLS.
//!
//! Declared with `pub mod common_plugin;`, so the helpers a test file leaves unused are not
//! dead code (see `tests/common/mod.rs`).

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use hyper_util::rt::TokioIo;
use rustls_pki_types::{CertificateDer, ServerName};
pub use terraform_provider_defentry::sdk::plugin::testing::{
    terraform_client_identity, ClientIdentity,
};
pub use terraform_provider_defentry::sdk::plugin::MAGIC_COOKIE_KEY;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};
use tokio::task::JoinHandle;
use tonic::transport::{Channel, Endpoint};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub use terraform_provider_defentry::sdk::plugin::MAGIC_COOKIE_VALUE as MAGIC_COOKIE;

/// How long the binary may take to print its handshake or exit; a deadline, not a delay.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Environment the test runner might have that would change the provider's behaviour.
const INHERITED: &[&str] = &[
    MAGIC_COOKIE_KEY,
    "PLUGIN_PROTOCOL_VERSIONS",
    "PLUGIN_CLIENT_CERT",
    "PLUGIN_UNIX_SOCKET_DIR",
    "PLUGIN_UNIX_SOCKET_GROUP",
    "PLUGIN_MIN_PORT",
    "PLUGIN_MAX_PORT",
    "PLUGIN_MULTIPLEX_GRPC",
    "TF_LOG",
    "TF_LOG_PROVIDER",
    "RUST_LOG",
];

/// A running provider process.
pub struct Plugin {
    pub child: Child,
    pub stdout: BufReader<ChildStdout>,
    stderr: JoinHandle<String>,
}

impl Plugin {
    /// Starts the provider binary with exactly `env` (plus PATH-like basics) and `args`.
    pub fn spawn(env: &[(&str, &str)], args: &[&str]) -> Plugin {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_terraform-provider-defentry"));
        for key in INHERITED {
            cmd.env_remove(key);
        }
        cmd.envs(env.iter().copied())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut stderr = child.stderr.take().unwrap();
        let stderr = tokio::spawn(async move {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text).await;
            text
        });
        Plugin {
            child,
            stdout,
            stderr,
        }
    }

    /// The environment Terraform would pass, with an optional client certificate.
    pub fn spawn_like_terraform(socket_dir: &Path, client_cert_pem: Option<&str>) -> Plugin {
        let dir = socket_dir.to_str().unwrap();
        let mut env = vec![
            (MAGIC_COOKIE_KEY, MAGIC_COOKIE),
            ("PLUGIN_PROTOCOL_VERSIONS", "5,6"),
            ("PLUGIN_MIN_PORT", "10000"),
            ("PLUGIN_MAX_PORT", "25000"),
            ("PLUGIN_UNIX_SOCKET_DIR", dir),
        ];
        if let Some(pem) = client_cert_pem {
            env.push(("PLUGIN_CLIENT_CERT", pem));
        }
        Plugin::spawn(&env, &[])
    }

    pub fn pid(&self) -> u32 {
        self.child.id().unwrap()
    }

    /// Reads one stdout line (without the `\n`), or None at end of output.
    pub async fn read_line(&mut self) -> Option<String> {
        let mut line = String::new();
        let n = tokio::time::timeout(DEADLINE, self.stdout.read_line(&mut line))
            .await
            .expect("provider printed nothing before the deadline")
            .unwrap();
        if n == 0 {
            return None;
        }
        assert!(line.ends_with('\n'), "unterminated stdout line {line:?}");
        line.pop();
        Some(line)
    }

    /// Reads and parses the go-plugin handshake line.
    pub async fn handshake(&mut self) -> Handshake {
        let line = self.read_line().await.expect("no handshake line");
        Handshake::parse(&line)
    }

    /// Sends `signal` (e.g. "INT", "TERM") with kill(1).
    pub fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for exit; returns the status, everything left on stdout, and all of stderr.
    pub async fn wait(mut self) -> (std::process::ExitStatus, String, String) {
        let status = tokio::time::timeout(DEADLINE, self.child.wait())
            .await
            .expect("provider did not exit before the deadline")
            .unwrap();
        let mut rest = String::new();
        tokio::time::timeout(DEADLINE, self.stdout.read_to_string(&mut rest))
            .await
            .unwrap()
            .unwrap();
        let stderr = tokio::time::timeout(DEADLINE, self.stderr)
            .await
            .unwrap()
            .unwrap();
        (status, rest, stderr)
    }
}

/// A parsed `CORE|VERSION|NETWORK|ADDRESS|PROTOCOL|CERT` line.
#[derive(Debug, Clone)]
pub struct Handshake {
    pub core: String,
    pub version: String,
    pub network: String,
    pub address: String,
    pub protocol: String,
    /// The raw base64 field.
    pub cert_field: String,
    /// Decoded server certificate, if any.
    pub cert: Option<CertificateDer<'static>>,
}

impl Handshake {
    pub fn parse(line: &str) -> Handshake {
        let fields: Vec<&str> = line.split('|').collect();
        assert_eq!(fields.len(), 6, "handshake line {line:?}");
        let cert_field = fields[5].to_owned();
        let cert = (!cert_field.is_empty()).then(|| {
            let der = base64::engine::general_purpose::STANDARD_NO_PAD
                .decode(&cert_field)
                .unwrap_or_else(|e| panic!("cert field is not unpadded base64: {e}"));
            CertificateDer::from(der)
        });
        Handshake {
            core: fields[0].to_owned(),
            version: fields[1].to_owned(),
            network: fields[2].to_owned(),
            address: fields[3].to_owned(),
            protocol: fields[4].to_owned(),
            cert_field,
            cert,
        }
    }

    /// Dials the plugin as go-plugin does: TLS (ServerName localhost, ALPN h2, trusting only
    /// the handshake's certificate) when the line carries one, plaintext otherwise.
    pub async fn connect(&self, client: Option<&ClientIdentity>) -> Result<Channel, BoxError> {
        let tls = self
            .cert
            .as_ref()
            .map(|cert| Arc::new(client_tls_config(cert, client)));
        dial(&self.network, &self.address, tls).await
    }
}

/// rustls client configuration like go-plugin's AutoMTLS client.
pub fn client_tls_config(
    server_cert: &CertificateDer<'static>,
    client: Option<&ClientIdentity>,
) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(server_cert.clone()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
    .unwrap()
    .with_root_certificates(roots);
    let mut config = match client {
        Some(id) => builder
            .with_client_auth_cert(vec![id.der.clone()], id.key.clone_key())
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    config
}

/// Opens an HTTP/2 channel to `network`/`address`, optionally through TLS.
pub async fn dial(
    network: &str,
    address: &str,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> Result<Channel, BoxError> {
    let network = network.to_owned();
    let address = address.to_owned();
    let connector = tower::service_fn(move |_: tonic::codegen::http::Uri| {
        let network = network.clone();
        let address = address.clone();
        let tls = tls.clone();
        async move {
            let io: Box<dyn Io> = match network.as_str() {
                "unix" => Box::new(tokio::net::UnixStream::connect(&address).await?),
                "tcp" => Box::new(tokio::net::TcpStream::connect(&address).await?),
                other => return Err(format!("unknown network {other}").into()),
            };
            let io: Box<dyn Io> = match tls {
                Some(config) => {
                    let name = ServerName::try_from("localhost")?;
                    let stream = tokio_rustls::TlsConnector::from(config)
                        .connect(name, io)
                        .await?;
                    let alpn = stream.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
                    if alpn.as_deref() != Some(&b"h2"[..]) {
                        return Err(format!("server did not select ALPN h2: {alpn:?}").into());
                    }
                    Box::new(stream)
                }
                None => io,
            };
            Ok::<_, BoxError>(TokioIo::new(io))
        }
    });
    // The URI only fills in :authority; the connector decides where to go.
    let channel = Endpoint::from_static("http://localhost")
        .connect_timeout(DEADLINE)
        .connect_with_connector(connector)
        .await?;
    Ok(channel)
}

pub trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

/// grpc.health.v1 Check for go-plugin's "plugin" service.
pub async fn health_check(channel: Channel) -> Result<i32, tonic::Status> {
    let mut client = tonic_health::pb::health_client::HealthClient::new(channel);
    let resp = client
        .check(tonic_health::pb::HealthCheckRequest {
            service: "plugin".to_owned(),
        })
        .await?;
    Ok(resp.into_inner().status)
}

pub const SERVING: i32 = tonic_health::pb::health_check_response::ServingStatus::Serving as i32;
