//! Logging in go-hclog's JSON shape, so Terraform files provider logs under the right level.
//!
//! go-plugin's client reads each stderr line as JSON and takes `@level`, `@message` and
//! `@timestamp` (Go layout `2006-01-02T15:04:05.000000Z07:00`, i.e. exactly six fractional
//! digits); every other key becomes a key/value pair. A line that is not such JSON is
//! logged at DEBUG whatever it says, which is why tracing-subscriber's own JSON format
//! (with `level`/`fields` keys) is not enough.

use std::io::Write;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{EnvFilter, LevelFilter};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::Layer;

/// `@module` of every line; terraform-plugin-log uses the same for provider logs.
const MODULE: &str = "provider";

/// Dependencies whose debug/trace output would drown the provider's own.
const NOISY_CRATES: &[&str] = &[
    "h2",
    "hyper",
    "hyper_util",
    "tower",
    "rustls",
    "tokio_rustls",
];

/// Installs a global tracing subscriber writing go-hclog JSON lines to stderr.
///
/// The level comes from `TF_LOG_PROVIDER`, else `TF_LOG` (`trace`, `debug`, `info`, `warn`,
/// `error`, `off`; `json` and unrecognised values mean trace, as in Terraform), else warn.
/// A non-empty `RUST_LOG` replaces all of that with its own directives.
/// Calling it again, or after another subscriber was installed, does nothing.
pub fn init_logging() {
    let filter = filter_from(|key| std::env::var(key).ok());
    let layer = HclogLayer::new(|| std::io::stderr().lock()).with_filter(filter);
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

/// Builds the level filter from the environment (through `get`, for tests).
fn filter_from(get: impl Fn(&str) -> Option<String>) -> EnvFilter {
    let non_empty = |key: &str| get(key).filter(|v| !v.trim().is_empty());
    if let Some(filter) = non_empty("RUST_LOG").and_then(|d| EnvFilter::try_new(d).ok()) {
        return filter;
    }
    let level = non_empty("TF_LOG_PROVIDER")
        .or_else(|| non_empty("TF_LOG"))
        .map_or(LevelFilter::WARN, |v| terraform_level(&v));
    let mut directives = level.to_string().to_lowercase();
    if level > LevelFilter::INFO {
        for krate in NOISY_CRATES {
            directives.push_str(&format!(",{krate}=info"));
        }
    }
    EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new("warn"))
}

/// Terraform's reading of `TF_LOG`: unknown values are TRACE, not off.
fn terraform_level(value: &str) -> LevelFilter {
    match value.trim().to_ascii_lowercase().as_str() {
        "off" => LevelFilter::OFF,
        "error" => LevelFilter::ERROR,
        "warn" | "warning" => LevelFilter::WARN,
        "info" => LevelFilter::INFO,
        "debug" => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    }
}

/// Formats events as one go-hclog JSON object per line, with the fields of the enclosing
/// spans (outermost first) and then the event's own fields flattened into it.
pub(crate) struct HclogLayer<W> {
    make_writer: W,
}

impl<W> HclogLayer<W> {
    pub(crate) fn new(make_writer: W) -> Self {
        Self { make_writer }
    }
}

/// A span's recorded fields, kept in its extensions.
struct SpanFields(Map<String, Value>);

impl<S, W> Layer<S> for HclogLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'a> MakeWriter<'a> + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Map::new();
        attrs.record(&mut JsonVisitor(&mut fields));
        span.extensions_mut().insert(SpanFields(fields));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(SpanFields(fields)) = extensions.get_mut::<SpanFields>() {
            values.record(&mut JsonVisitor(fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Map::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(SpanFields(span_fields)) = span.extensions().get::<SpanFields>() {
                    fields.extend(span_fields.clone());
                }
            }
        }
        event.record(&mut JsonVisitor(&mut fields));

        let message = match fields.remove("message") {
            Some(Value::String(s)) => s,
            Some(other) => other.to_string(),
            None => String::new(),
        };
        fields.insert(
            "@level".into(),
            level_name(*event.metadata().level()).into(),
        );
        fields.insert("@message".into(), message.into());
        fields.insert("@module".into(), MODULE.into());
        fields.insert("@timestamp".into(), timestamp().into());

        let mut line = Value::Object(fields).to_string().into_bytes();
        line.push(b'\n');
        // One write per line keeps lines whole; a closed stderr must not take us down.
        let _ = self.make_writer.make_writer().write_all(&line);
    }
}

/// go-hclog's level names.
fn level_name(level: Level) -> &'static str {
    match level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

/// RFC 3339 in UTC with microseconds, the only precision go-plugin's parser accepts.
fn timestamp() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

/// Records tracing fields as JSON values.
struct JsonVisitor<'a>(&'a mut Map<String, Value>);

impl JsonVisitor<'_> {
    fn put(&mut self, field: &Field, value: Value) {
        let name = field.name();
        let name = name.strip_prefix("r#").unwrap_or(name);
        self.0.insert(name.to_owned(), value);
    }
}

impl Visit for JsonVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        let value = serde_json::Number::from_f64(value)
            .map_or_else(|| Value::String(value.to_string()), Value::Number);
        self.put(field, value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.into());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        // The cause chain too (reqwest's outer message says little), skipping causes
        // that a Display already includes, as thiserror's `{0}` messages do.
        let text = crate::errors::chain_text(value);
        self.put(field, text.into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, format!("{value:?}").into());
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::LogSink;
    use super::*;

    fn capture(filter: EnvFilter, f: impl FnOnce()) -> Vec<Value> {
        let sink = LogSink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::registry()
            .with(HclogLayer::new(move || writer.clone()).with_filter(filter));
        tracing::subscriber::with_default(subscriber, f);
        sink.text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn env(pairs: &[(&str, &str)]) -> EnvFilter {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        filter_from(move |key| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()))
    }

    #[test]
    fn lines_have_hclog_keys_and_flattened_fields() {
        let lines = capture(EnvFilter::new("trace"), || {
            let span = tracing::info_span!(
                "rpc",
                rpc = "ReadResource",
                type_name = tracing::field::Empty
            );
            let _guard = span.enter();
            span.record("type_name", "acme_thing");
            tracing::warn!(
                attempt = 2_u64,
                ok = false,
                ratio = 0.5,
                "retrying \"call\""
            );
        });
        assert_eq!(lines.len(), 1);
        let line = &lines[0];
        assert_eq!(line["@level"], "warn");
        assert_eq!(line["@message"], "retrying \"call\"");
        assert_eq!(line["@module"], "provider");
        assert_eq!(line["rpc"], "ReadResource");
        assert_eq!(line["type_name"], "acme_thing");
        assert_eq!(line["attempt"], 2);
        assert_eq!(line["ok"], false);
        assert_eq!(line["ratio"], 0.5);
        assert!(line.get("message").is_none());
        let ts = line["@timestamp"].as_str().unwrap();
        // What go-plugin's time.Parse layout demands: 6 fractional digits, then Z.
        assert_eq!(ts.len(), "2006-01-02T15:04:05.000000Z".len(), "{ts}");
        assert!(chrono::DateTime::parse_from_rfc3339(ts).is_ok(), "{ts}");
        assert_eq!(&ts[19..20], ".");
        assert!(ts.ends_with('Z'));
    }

    #[test]
    fn every_level_is_named_as_hclog_does() {
        let lines = capture(EnvFilter::new("trace"), || {
            tracing::trace!("t");
            tracing::debug!("d");
            tracing::info!("i");
            tracing::warn!("w");
            tracing::error!("e");
        });
        let levels: Vec<_> = lines.iter().map(|l| l["@level"].clone()).collect();
        assert_eq!(levels, ["trace", "debug", "info", "warn", "error"]);
    }

    #[derive(Debug, thiserror::Error)]
    #[error("request failed")]
    struct Opaque(#[source] std::io::Error);

    #[test]
    fn errors_record_their_cause_chain_once() {
        let opaque = Opaque(std::io::Error::other("connection refused"));
        let verbose = crate::plugin::PluginError::Listen(std::io::Error::other("denied"));
        let lines = capture(EnvFilter::new("trace"), || {
            tracing::error!(error = &opaque as &(dyn std::error::Error + 'static), "a");
            tracing::error!(error = &verbose as &(dyn std::error::Error + 'static), "b");
        });
        assert_eq!(lines[0]["error"], "request failed: connection refused");
        assert_eq!(lines[1]["error"], "cannot listen for Terraform: denied");
    }

    fn levels_passing(filter: EnvFilter) -> Vec<Value> {
        capture(filter, || {
            tracing::trace!("t");
            tracing::debug!("d");
            tracing::info!("i");
            tracing::warn!("w");
            tracing::error!("e");
        })
        .into_iter()
        .map(|l| l["@level"].clone())
        .collect()
    }

    #[test]
    fn level_comes_from_terraform_variables() {
        assert_eq!(levels_passing(env(&[])), ["warn", "error"]);
        assert_eq!(
            levels_passing(env(&[("TF_LOG", "INFO")])),
            ["info", "warn", "error"]
        );
        assert_eq!(levels_passing(env(&[("TF_LOG", "json")])).len(), 5);
        assert_eq!(levels_passing(env(&[("TF_LOG", "1")])).len(), 5);
        assert_eq!(levels_passing(env(&[("TF_LOG", "off")])).len(), 0);
        assert_eq!(
            levels_passing(env(&[("TF_LOG", "trace"), ("TF_LOG_PROVIDER", "error")])),
            ["error"]
        );
        assert_eq!(
            levels_passing(env(&[("TF_LOG", "error"), ("TF_LOG_PROVIDER", "debug")])).len(),
            4
        );
        assert_eq!(
            levels_passing(env(&[("TF_LOG", "trace"), ("RUST_LOG", "error")])),
            ["error"]
        );
        // An empty RUST_LOG does not count.
        assert_eq!(
            levels_passing(env(&[("TF_LOG", "info"), ("RUST_LOG", "")])).len(),
            3
        );
    }

    #[test]
    fn dependency_noise_is_capped_at_info() {
        let filter = env(&[("TF_LOG", "trace")]).to_string();
        assert!(filter.contains("h2=info"), "{filter}");
        let quiet = env(&[("TF_LOG", "warn")]).to_string();
        assert!(!quiet.contains("h2"), "{quiet}");
    }
}
