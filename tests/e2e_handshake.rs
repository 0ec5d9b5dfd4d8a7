//! The provider binary against a go-plugin-like client: cookie and version checks, the
//! handshake line, AutoMTLS with a Terraform-shaped client certificate, plaintext, signals,
//! Shutdown, and debug (reattach) mode.

pub mod common_plugin;

use std::os::unix::process::ExitStatusExt as _;
use std::path::Path;

use common_plugin::{
    health_check, terraform_client_identity, ClientIdentity, Handshake, Plugin, MAGIC_COOKIE,
    MAGIC_COOKIE_KEY, SERVING,
};
use terraform_provider_defentry::sdk::proto::plugin::grpc_broker_client::GrpcBrokerClient;
use terraform_provider_defentry::sdk::proto::plugin::grpc_controller_client::GrpcControllerClient;
use terraform_provider_defentry::sdk::proto::plugin::grpc_stdio_client::GrpcStdioClient;
use terraform_provider_defentry::sdk::proto::plugin::{ConnInfo, Empty};
use terraform_provider_defentry::sdk::proto::tfplugin6::get_provider_schema;
use terraform_provider_defentry::sdk::proto::tfplugin6::provider_client::ProviderClient;
use tonic::transport::Channel;

/// The provider started the way Terraform starts it, with AutoMTLS for a fresh client
/// identity, past its handshake. Its socket lives in the returned directory.
async fn automtls_plugin() -> (tempfile::TempDir, ClientIdentity, Plugin, Handshake) {
    let dir = tempfile::tempdir().unwrap();
    let client = terraform_client_identity();
    let mut plugin = Plugin::spawn_like_terraform(dir.path(), Some(&client.pem));
    let hs = plugin.handshake().await;
    (dir, client, plugin, hs)
}

/// Calls Shutdown like go-plugin's client Kill() and checks the process leaves cleanly:
/// status 0, nothing more on stdout, no abandoned calls, socket file removed.
async fn shutdown_and_check(plugin: Plugin, channel: Channel, socket: Option<&str>) -> String {
    GrpcControllerClient::new(channel)
        .shutdown(Empty {})
        .await
        .expect("Shutdown RPC");
    let (status, rest, stderr) = plugin.wait().await;
    assert_eq!(status.code(), Some(0), "{status:?}; stderr: {stderr}");
    assert_eq!(rest, "", "stdout must hold only the handshake line");
    assert!(
        !stderr.contains("abandoned"),
        "shutdown was not graceful: {stderr}"
    );
    if let Some(socket) = socket {
        assert!(!Path::new(socket).exists(), "socket {socket} left behind");
    }
    stderr
}

/// The tfplugin6 service is mounted and answers with the Defentry schema.
async fn schema_resource_types(channel: Channel) -> Vec<String> {
    let resp = ProviderClient::new(channel)
        .get_provider_schema(get_provider_schema::Request {})
        .await
        .expect("GetProviderSchema answers")
        .into_inner();
    let mut types: Vec<String> = resp.resource_schemas.into_keys().collect();
    types.sort();
    types
}

/// Starts the provider with exactly `env`, which must make it exit 1 without printing a
/// handshake; returns its stderr.
async fn refused_with(env: &[(&str, &str)]) -> String {
    let (status, stdout, stderr) = Plugin::spawn(env, &[]).wait().await;
    assert_eq!(status.code(), Some(1));
    assert_eq!(stdout, "");
    stderr
}

#[tokio::test]
async fn run_by_hand_exits_1_with_an_explanation() {
    let stderr = refused_with(&[]).await;
    assert!(stderr.contains("Terraform provider plugin"), "{stderr}");
    assert!(
        stderr.contains("not meant to be executed directly"),
        "{stderr}"
    );
    assert!(stderr.contains("--debug"), "{stderr}");

    let stderr = refused_with(&[(MAGIC_COOKIE_KEY, "wrong")]).await;
    assert!(stderr.contains("--debug"), "{stderr}");
}

#[tokio::test]
async fn protocol_5_only_exits_1_naming_the_offer() {
    let stderr = refused_with(&[
        (MAGIC_COOKIE_KEY, MAGIC_COOKIE),
        ("PLUGIN_PROTOCOL_VERSIONS", "5"),
    ])
    .await;
    assert!(stderr.contains("PLUGIN_PROTOCOL_VERSIONS=5"), "{stderr}");
    assert!(stderr.contains("protocol 6"), "{stderr}");

    let stderr = refused_with(&[(MAGIC_COOKIE_KEY, MAGIC_COOKIE)]).await;
    assert!(stderr.contains("PLUGIN_PROTOCOL_VERSIONS"), "{stderr}");
}

#[tokio::test]
async fn automtls_with_terraform_like_client() {
    let (dir, client, plugin, hs) = automtls_plugin().await;

    assert_eq!(hs.core, "1");
    assert_eq!(hs.version, "6");
    assert_eq!(hs.network, "unix");
    assert!(Path::new(&hs.address).starts_with(dir.path()), "{hs:?}");
    assert!(Path::new(&hs.address).exists());
    assert_eq!(hs.protocol, "grpc");
    assert!(
        !hs.cert_field.contains('='),
        "padded base64: {}",
        hs.cert_field
    );
    // go-plugin only loads a certificate from a field longer than 50 characters.
    assert!(hs.cert_field.len() > 50);
    let cert = hs.cert.clone().unwrap();
    let parsed = webpki::EndEntityCert::try_from(&cert).expect("field 6 is an X.509 certificate");
    let localhost = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    parsed.verify_is_valid_for_subject_name(&localhost).unwrap();

    let channel = hs.connect(Some(&client)).await.unwrap();
    assert_eq!(health_check(channel.clone()).await.unwrap(), SERVING);
    assert_eq!(
        schema_resource_types(channel.clone()).await,
        vec!["defentry_token".to_string()]
    );

    // Terraform opens both streams right after connecting and never closes them itself;
    // they must stay open and still let Shutdown finish gracefully.
    let mut stdio = GrpcStdioClient::new(channel.clone())
        .stream_stdio(())
        .await
        .unwrap()
        .into_inner();
    let (broker_tx, broker_rx) = tokio::sync::mpsc::channel::<ConnInfo>(1);
    let mut broker = GrpcBrokerClient::new(channel.clone())
        .start_stream(tokio_stream::wrappers::ReceiverStream::new(broker_rx))
        .await
        .unwrap()
        .into_inner();
    broker_tx.send(ConnInfo::default()).await.unwrap();
    // A ping after both streams are up proves neither stream blocks the connection.
    assert_eq!(health_check(channel.clone()).await.unwrap(), SERVING);

    shutdown_and_check(plugin, channel, Some(&hs.address)).await;
    // Both streams ended without yielding data.
    assert!(matches!(stdio.message().await, Ok(None) | Err(_)));
    assert!(matches!(broker.message().await, Ok(None) | Err(_)));
    drop(broker_tx);
}

#[tokio::test]
async fn automtls_refuses_other_or_missing_client_certs() {
    let (_dir, client, plugin, hs) = automtls_plugin().await;

    let stranger = terraform_client_identity();
    let with_other = async {
        let channel = hs.connect(Some(&stranger)).await?;
        Ok::<_, common_plugin::BoxError>(health_check(channel).await?)
    };
    assert!(
        with_other.await.is_err(),
        "a different client cert was accepted"
    );

    let without = async {
        let channel = hs.connect(None).await?;
        Ok::<_, common_plugin::BoxError>(health_check(channel).await?)
    };
    assert!(
        without.await.is_err(),
        "a client without a cert was accepted"
    );

    let plaintext = async {
        let channel = common_plugin::dial(&hs.network, &hs.address, None).await?;
        Ok::<_, common_plugin::BoxError>(health_check(channel).await?)
    };
    assert!(
        plaintext.await.is_err(),
        "plaintext was accepted under AutoMTLS"
    );

    // Failed handshakes cost only their own connection.
    let channel = hs.connect(Some(&client)).await.unwrap();
    assert_eq!(health_check(channel).await.unwrap(), SERVING);

    // SIGTERM is a graceful exit.
    plugin.signal("TERM");
    let (status, rest, stderr) = plugin.wait().await;
    assert_eq!(status.code(), Some(0), "{status:?}; stderr: {stderr}");
    assert_eq!(rest, "");
    assert!(!Path::new(&hs.address).exists());
}

#[tokio::test]
async fn plaintext_without_client_cert() {
    let dir = tempfile::tempdir().unwrap();
    let mut plugin = Plugin::spawn_like_terraform(dir.path(), None);
    let hs = plugin.handshake().await;
    assert_eq!(hs.cert_field, "");
    assert!(hs.cert.is_none());
    assert_eq!(hs.network, "unix");

    let channel = hs.connect(None).await.unwrap();
    assert_eq!(health_check(channel.clone()).await.unwrap(), SERVING);
    assert_eq!(
        schema_resource_types(channel.clone()).await,
        vec!["defentry_token".to_string()]
    );
    shutdown_and_check(plugin, channel, Some(&hs.address)).await;
}

#[tokio::test]
async fn sigint_is_ignored() {
    let (_dir, client, plugin, hs) = automtls_plugin().await;

    plugin.signal("INT");
    plugin.signal("INT");
    let channel = hs.connect(Some(&client)).await.unwrap();
    assert_eq!(health_check(channel.clone()).await.unwrap(), SERVING);
    // Had SIGINT kept its default action, the pending signal would have killed the process
    // before this exit, and the status would carry the signal instead of code 0.
    shutdown_and_check(plugin, channel, Some(&hs.address)).await;
}

#[tokio::test]
async fn unusable_socket_dir_falls_back_to_tcp() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let client = terraform_client_identity();
    let mut plugin = Plugin::spawn_like_terraform(&missing, Some(&client.pem));
    let hs = plugin.handshake().await;
    assert_eq!(hs.network, "tcp");
    assert!(hs.address.starts_with("127.0.0.1:"), "{hs:?}");
    let channel = hs.connect(Some(&client)).await.unwrap();
    assert_eq!(health_check(channel.clone()).await.unwrap(), SERVING);
    shutdown_and_check(plugin, channel, None).await;
}

#[tokio::test]
async fn debug_mode_prints_reattach_config_and_serves_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let mut plugin = Plugin::spawn(
        &[("PLUGIN_UNIX_SOCKET_DIR", dir.path().to_str().unwrap())],
        &["--debug"],
    );
    assert_eq!(
        plugin.read_line().await.unwrap(),
        "Provider started. To attach Terraform CLI, set the TF_REATTACH_PROVIDERS \
         environment variable with the following:"
    );
    assert_eq!(plugin.read_line().await.unwrap(), "");
    let line = plugin.read_line().await.unwrap();
    let json = line
        .strip_prefix("\tTF_REATTACH_PROVIDERS='")
        .and_then(|l| l.strip_suffix('\''))
        .unwrap_or_else(|| panic!("reattach line {line:?}"));
    let reattach: serde_json::Value = serde_json::from_str(json).unwrap();
    let entry = &reattach["registry.terraform.io/defentry/defentry"];
    assert_eq!(entry["Protocol"], "grpc");
    assert_eq!(entry["ProtocolVersion"], 6);
    assert_eq!(entry["Test"], true);
    assert_eq!(entry["Pid"], plugin.pid());
    assert_eq!(entry["Addr"]["Network"], "unix");
    let socket = entry["Addr"]["String"].as_str().unwrap().to_owned();
    assert!(Path::new(&socket).starts_with(dir.path()));

    let channel = common_plugin::dial("unix", &socket, None).await.unwrap();
    assert_eq!(health_check(channel.clone()).await.unwrap(), SERVING);
    assert_eq!(
        schema_resource_types(channel).await,
        vec!["defentry_token".to_string()]
    );

    // In a terminal, Ctrl-C is how the user stops it.
    plugin.signal("INT");
    let (status, rest, stderr) = plugin.wait().await;
    assert_eq!(
        status.code(),
        Some(0),
        "{status:?} {:?}; {stderr}",
        status.signal()
    );
    assert_eq!(
        rest, "\n",
        "only the banner's closing blank line may follow"
    );
    assert!(!Path::new(&socket).exists());
}

#[test]
fn handshake_parser_rejects_wrong_field_counts() {
    // The helper must itself fail on a malformed line, or the checks above prove nothing.
    let five = std::panic::catch_unwind(|| Handshake::parse("1|6|unix|/tmp/x|grpc"));
    assert!(five.is_err());
    let padded = std::panic::catch_unwind(|| Handshake::parse("1|6|unix|/tmp/x|grpc|+w=="));
    assert!(padded.is_err());
}
