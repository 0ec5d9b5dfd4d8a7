//! The go-plugin handshake: magic cookie, protocol negotiation, the stdout line and the
//! debug-mode reattach text. Pure functions over strings, so they are unit-tested here.

use base64::Engine as _;

use super::error::PluginError;

/// Environment variable in which Terraform (and OpenTofu) pass the magic cookie.
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
/// The cookie value shared by every Terraform provider; a UX check, not a secret.
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// Comma-separated plugin protocol versions the client can speak.
pub(crate) const PROTOCOL_VERSIONS_KEY: &str = "PLUGIN_PROTOCOL_VERSIONS";
/// go-plugin's own protocol version (field 1 of the handshake line).
pub(crate) const CORE_PROTOCOL_VERSION: u32 = 1;
/// The only Terraform plugin protocol this SDK serves.
pub(crate) const PROTOCOL_VERSION: u32 = 6;

/// Fails unless the cookie Terraform sets is present and correct.
pub(crate) fn check_cookie(value: Option<&str>) -> Result<(), PluginError> {
    match value {
        Some(v) if v == MAGIC_COOKIE_VALUE => Ok(()),
        _ => Err(PluginError::NotLaunchedByTerraform),
    }
}

/// Picks protocol 6 from the client's offer, as go-plugin's server does.
///
/// Entries are trimmed and unparsable ones ignored (go-plugin skips them too), but they
/// stay in the error text so the user sees exactly what was offered.
pub(crate) fn negotiate_version(offered: Option<&str>) -> Result<u32, PluginError> {
    let offered = offered.map(str::trim).unwrap_or_default();
    if offered.is_empty() {
        // go-plugin treats a missing list as a legacy client that only knows the
        // handshake's default version, which for Terraform is protocol 4 or 5.
        return Err(PluginError::LegacyClient);
    }
    let supported = offered
        .split(',')
        .filter_map(|v| v.trim().parse::<u32>().ok())
        .any(|v| v == PROTOCOL_VERSION);
    if supported {
        Ok(PROTOCOL_VERSION)
    } else {
        Err(PluginError::UnsupportedProtocol {
            offered: offered.to_owned(),
        })
    }
}

/// Where the server listens, as go-plugin names it in the handshake line and reattach JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ListenAddr {
    /// A unix domain socket path (never used on Windows, where go-plugin speaks TCP only).
    #[cfg_attr(not(unix), allow(dead_code))]
    Unix(String),
    /// `127.0.0.1:port`.
    Tcp(String),
}

impl ListenAddr {
    /// go's `net.Addr.Network()`.
    pub(crate) fn network(&self) -> &'static str {
        match self {
            ListenAddr::Unix(_) => "unix",
            ListenAddr::Tcp(_) => "tcp",
        }
    }

    /// go's `net.Addr.String()`.
    pub(crate) fn address(&self) -> &str {
        match self {
            ListenAddr::Unix(a) | ListenAddr::Tcp(a) => a,
        }
    }
}

/// DER → standard base64 without padding (Go's `base64.RawStdEncoding`), which is what
/// go-plugin's client decodes from field 6.
pub(crate) fn encode_cert(der: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(der)
}

/// The single stdout line, `\n` included:
/// `CORE|VERSION|NETWORK|ADDRESS|grpc|CERT`, with CERT empty when serving plaintext.
pub(crate) fn handshake_line(addr: &ListenAddr, server_cert_der: Option<&[u8]>) -> String {
    let cert = server_cert_der.map(encode_cert).unwrap_or_default();
    format!(
        "{CORE_PROTOCOL_VERSION}|{PROTOCOL_VERSION}|{}|{}|grpc|{cert}\n",
        addr.network(),
        addr.address()
    )
}

/// The `TF_REATTACH_PROVIDERS` JSON for one provider. `Test: true` is what makes
/// go-plugin report protocol version 6 to Terraform (and stops Terraform from killing us).
pub(crate) fn reattach_json(provider_address: &str, addr: &ListenAddr, pid: u32) -> String {
    let mut providers = serde_json::Map::new();
    providers.insert(
        provider_address.to_owned(),
        serde_json::json!({
            "Protocol": "grpc",
            "ProtocolVersion": PROTOCOL_VERSION,
            "Pid": pid,
            "Test": true,
            "Addr": { "Network": addr.network(), "String": addr.address() },
        }),
    );
    serde_json::Value::Object(providers).to_string()
}

/// The human text debug mode prints on stdout, in terraform-plugin-go's words, with the
/// JSON single-quoted for POSIX shells.
pub(crate) fn debug_banner(provider_address: &str, addr: &ListenAddr, pid: u32) -> String {
    let json = reattach_json(provider_address, addr, pid).replace('\'', r#"'"'"'"#);
    format!(
        "Provider started. To attach Terraform CLI, set the TF_REATTACH_PROVIDERS environment \
         variable with the following:\n\n\tTF_REATTACH_PROVIDERS='{json}'\n\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_must_match_exactly() {
        assert!(check_cookie(Some(MAGIC_COOKIE_VALUE)).is_ok());
        for bad in [None, Some(""), Some("d602bf8f"), Some(" d602")] {
            assert!(matches!(
                check_cookie(bad),
                Err(PluginError::NotLaunchedByTerraform)
            ));
        }
        let padded = format!("{MAGIC_COOKIE_VALUE} ");
        assert!(check_cookie(Some(&padded)).is_err());
    }

    #[test]
    fn cookie_error_explains_how_to_run() {
        let text = PluginError::NotLaunchedByTerraform.to_string();
        assert!(text.contains("Terraform"));
        assert!(text.contains("--debug"));
    }

    #[test]
    fn version_six_is_chosen_in_any_order() {
        for offer in ["6", "5,6", "6,5", " 5 , 6 ", "4,6,5", "x,6"] {
            assert_eq!(negotiate_version(Some(offer)).ok(), Some(6), "{offer}");
        }
    }

    #[test]
    fn missing_versions_mean_a_legacy_client() {
        for offer in [None, Some(""), Some("  ")] {
            assert!(matches!(
                negotiate_version(offer),
                Err(PluginError::LegacyClient)
            ));
        }
    }

    #[test]
    fn without_six_the_error_names_the_offer() {
        for offer in ["5", "4,5", "7", "66", "6.0", "five"] {
            match negotiate_version(Some(offer)) {
                Err(PluginError::UnsupportedProtocol { offered }) => assert_eq!(offered, offer),
                other => panic!("{offer}: {other:?}"),
            }
            let text = negotiate_version(Some(offer)).unwrap_err().to_string();
            assert!(text.contains(offer) && text.contains('6'), "{text}");
        }
    }

    #[test]
    fn cert_base64_is_standard_and_unpadded() {
        // Lengths 1..=3 cover every padding case; 0xfb 0xff exercise '+' and '/'.
        assert_eq!(encode_cert(&[0xfb]), "+w");
        assert_eq!(encode_cert(&[0xfb, 0xff]), "+/8");
        assert_eq!(encode_cert(&[0xfb, 0xff, 0xbf]), "+/+/");
        assert_eq!(encode_cert(b""), "");
    }

    #[test]
    fn handshake_line_has_six_fields() {
        let unix = ListenAddr::Unix("/tmp/plugin42".into());
        assert_eq!(
            handshake_line(&unix, None),
            "1|6|unix|/tmp/plugin42|grpc|\n"
        );
        let tcp = ListenAddr::Tcp("127.0.0.1:4242".into());
        assert_eq!(
            handshake_line(&tcp, Some(&[0xfb, 0xff])),
            "1|6|tcp|127.0.0.1:4242|grpc|+/8\n"
        );
    }

    #[test]
    fn reattach_json_has_what_terraform_needs() {
        let addr = ListenAddr::Unix("/tmp/plugin\"1".into());
        let json: serde_json::Value = serde_json::from_str(&reattach_json(
            "registry.terraform.io/acme/foo",
            &addr,
            1234,
        ))
        .unwrap();
        let entry = &json["registry.terraform.io/acme/foo"];
        assert_eq!(entry["Protocol"], "grpc");
        assert_eq!(entry["ProtocolVersion"], 6);
        assert_eq!(entry["Pid"], 1234);
        assert_eq!(entry["Test"], true);
        assert_eq!(entry["Addr"]["Network"], "unix");
        assert_eq!(entry["Addr"]["String"], "/tmp/plugin\"1");
    }

    #[test]
    fn debug_banner_quotes_for_the_shell() {
        let addr = ListenAddr::Unix("/tmp/it's".into());
        let banner = debug_banner("example.com/a/b", &addr, 7);
        assert!(banner.starts_with(
            "Provider started. To attach Terraform CLI, set the TF_REATTACH_PROVIDERS \
             environment variable with the following:\n\n\tTF_REATTACH_PROVIDERS='{"
        ));
        assert!(banner.contains(r#""String":"/tmp/it'"'"'s""#), "{banner}");
        assert!(banner.ends_with("}'\n\n"));
    }
}
