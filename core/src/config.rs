//! The exporter configuration: the `OTEL_*` environment variables and the code
//! builder, with the OpenTelemetry specification's defaults and the Go SDK's
//! precedence.
//!
//! Owns: parsing and validating every setting, the precedence between sources,
//! the warnings for bad values, and printing a configuration with its secrets
//! redacted.
//! Must not: panic or abort on any input, print or log on its own (warnings go
//! to the caller, as values or through a hook), read certificate files, open
//! sockets, or depend on any crate.
//!
//! # Precedence
//!
//! For each setting the first of these that is present and valid wins:
//! 1. a value set in code on [`ConfigBuilder`];
//! 2. the signal-specific variable (`OTEL_EXPORTER_OTLP_TRACES_*`, `OTEL_SPAN_*`);
//! 3. the general variable (`OTEL_EXPORTER_OTLP_*`, `OTEL_ATTRIBUTE_*`);
//! 4. the default.
//!
//! A variable that is set but empty (after trimming white space) counts as
//! unset (specification). A value that cannot be used gives exactly one
//! [`ConfigWarning`] naming the variable, the value (secrets redacted) and
//! what is used instead, and is then treated as unset, so the next source
//! applies. Booleans are the exception the specification makes: only
//! case-insensitive `true` is true, and any other non-empty value means false
//! (with a warning unless it is `false`).
//!
//! Headers follow the Go SDK exactly: `OTEL_EXPORTER_OTLP_TRACES_HEADERS`,
//! when set, replaces `OTEL_EXPORTER_OTLP_HEADERS` as a whole (the two are not
//! merged per key), and headers set in code replace both. Only header values
//! are percent-decoded, not names (as in Go). Resource attributes, on the
//! other hand, are merged per key: code over `OTEL_RESOURCE_ATTRIBUTES`.
//!
//! # Endpoint
//!
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is a base URL: `/v1/traces` is appended to its
//! path (trailing slashes removed first), so `http://h:4318`, `http://h:4318/`
//! give `http://h:4318/v1/traces` and `http://h/p` gives `http://h/p/v1/traces`.
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is used as given, except that an empty
//! path becomes `/` (specification, and Go). An endpoint set in code is used as
//! given, except that an empty path becomes `/v1/traces` (Go's
//! `WithEndpointURL`). With the `grpc` protocol every endpoint is used as given
//! and the default is `http://localhost:4317`.

use std::fmt;
use std::time::Duration;

use crate::batch::{
    BatchConfig, DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_EXPORT_BATCH_SIZE, DEFAULT_MAX_QUEUE_SIZE,
    MAX_BATCH_BYTES_CEILING,
};
use crate::encode::SpanLimits;
use crate::sampler::Sampler;

/// The default OTLP/HTTP traces endpoint.
pub const DEFAULT_HTTP_ENDPOINT: &str = "http://localhost:4318/v1/traces";
/// The default OTLP/gRPC endpoint.
pub const DEFAULT_GRPC_ENDPOINT: &str = "http://localhost:4317";
/// The path appended to `OTEL_EXPORTER_OTLP_ENDPOINT` for traces.
pub const TRACES_PATH: &str = "/v1/traces";
/// Default export request timeout (`OTEL_EXPORTER_OTLP_TIMEOUT`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default delay between two exports (`OTEL_BSP_SCHEDULE_DELAY`).
pub const DEFAULT_SCHEDULE_DELAY: Duration = Duration::from_secs(5);
/// Default time allowed for one export, retries included (`OTEL_BSP_EXPORT_TIMEOUT`).
pub const DEFAULT_EXPORT_TIMEOUT: Duration = Duration::from_secs(30);
/// What a timeout of 0 ("indefinite" in the specification) becomes: the largest
/// number of milliseconds a 32-bit signed integer holds (about 24.8 days).
pub const INDEFINITE_TIMEOUT: Duration = Duration::from_millis(i32::MAX as u64);
/// Smallest accepted `OTLPX_MAX_BATCH_BYTES`.
pub const MIN_BATCH_BYTES: usize = 4096;
/// The `service.name` resource attribute key.
pub const SERVICE_NAME_KEY: &str = "service.name";

// Variable names.
const ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
const TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
const HEADERS: &str = "OTEL_EXPORTER_OTLP_HEADERS";
const TRACES_HEADERS: &str = "OTEL_EXPORTER_OTLP_TRACES_HEADERS";
const PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
const TRACES_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";
const COMPRESSION: &str = "OTEL_EXPORTER_OTLP_COMPRESSION";
const TRACES_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION";
const TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TIMEOUT";
const TRACES_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT";
const CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_CERTIFICATE";
const TRACES_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE";
const CLIENT_KEY: &str = "OTEL_EXPORTER_OTLP_CLIENT_KEY";
const TRACES_CLIENT_KEY: &str = "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY";
const CLIENT_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE";
const TRACES_CLIENT_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE";
const INSECURE: &str = "OTEL_EXPORTER_OTLP_INSECURE";
const TRACES_INSECURE: &str = "OTEL_EXPORTER_OTLP_TRACES_INSECURE";
const SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
const RESOURCE_ATTRIBUTES: &str = "OTEL_RESOURCE_ATTRIBUTES";
const SDK_DISABLED: &str = "OTEL_SDK_DISABLED";
const TRACES_SAMPLER: &str = "OTEL_TRACES_SAMPLER";
const TRACES_SAMPLER_ARG: &str = "OTEL_TRACES_SAMPLER_ARG";
const BSP_SCHEDULE_DELAY: &str = "OTEL_BSP_SCHEDULE_DELAY";
const BSP_EXPORT_TIMEOUT: &str = "OTEL_BSP_EXPORT_TIMEOUT";
const BSP_MAX_QUEUE_SIZE: &str = "OTEL_BSP_MAX_QUEUE_SIZE";
const BSP_MAX_EXPORT_BATCH_SIZE: &str = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE";
const MAX_BATCH_BYTES: &str = "OTLPX_MAX_BATCH_BYTES";
const ATTRIBUTE_COUNT_LIMIT: &str = "OTEL_ATTRIBUTE_COUNT_LIMIT";
const ATTRIBUTE_VALUE_LENGTH_LIMIT: &str = "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT";
const SPAN_ATTRIBUTE_COUNT_LIMIT: &str = "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT";
const SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: &str = "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT";
const SPAN_EVENT_COUNT_LIMIT: &str = "OTEL_SPAN_EVENT_COUNT_LIMIT";
const SPAN_LINK_COUNT_LIMIT: &str = "OTEL_SPAN_LINK_COUNT_LIMIT";
const EVENT_ATTRIBUTE_COUNT_LIMIT: &str = "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT";
const LINK_ATTRIBUTE_COUNT_LIMIT: &str = "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT";

/// The text that replaces a secret when a configuration is printed.
pub const REDACTED: &str = "****";

// ---------------------------------------------------------------------------
// Public value types.

/// The OTLP transport protocol (`OTEL_EXPORTER_OTLP_PROTOCOL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Protocol {
    /// `http/protobuf`, the default.
    #[default]
    HttpProtobuf,
    /// `http/json`.
    HttpJson,
    /// `grpc`.
    Grpc,
}

impl Protocol {
    /// The specification's name: `http/protobuf`, `http/json` or `grpc`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::HttpProtobuf => "http/protobuf",
            Protocol::HttpJson => "http/json",
            Protocol::Grpc => "grpc",
        }
    }

    /// The protocol for a specification name (case-insensitive).
    pub fn parse(s: &str) -> Option<Protocol> {
        let s = s.trim();
        [Protocol::HttpProtobuf, Protocol::HttpJson, Protocol::Grpc]
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s))
    }

    /// The default endpoint for this protocol.
    pub fn default_endpoint(self) -> &'static str {
        match self {
            Protocol::Grpc => DEFAULT_GRPC_ENDPOINT,
            _ => DEFAULT_HTTP_ENDPOINT,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Compression of export requests (`OTEL_EXPORTER_OTLP_COMPRESSION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    /// No compression (`none`), the default.
    #[default]
    None,
    /// gzip (`gzip`).
    Gzip,
}

impl Compression {
    /// The specification's name: `none` or `gzip`.
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
        }
    }

    /// The compression for a specification name (case-insensitive).
    pub fn parse(s: &str) -> Option<Compression> {
        let s = s.trim();
        [Compression::None, Compression::Gzip]
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How failed exports are retried (the Go SDK's `retry.Config`; code only).
/// Defined once, in the retry policy.
pub use crate::retry::RetryConfig;

/// Where an effective setting came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// The built-in default.
    Default,
    /// Set in code on [`ConfigBuilder`].
    Code,
    /// This environment variable.
    Env(&'static str),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::Code => f.write_str("code"),
            Origin::Env(name) => f.write_str(name),
        }
    }
}

/// One value that could not be used, and what was used instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// Where the bad value came from.
    pub origin: Origin,
    /// The setting it was meant for (`endpoint`, `max_queue_size`, ...).
    pub setting: &'static str,
    /// The value as given, with secrets (header values, URL credentials) redacted.
    pub value: String,
    /// What is wrong with it.
    pub problem: String,
    /// What happens instead (`using max_queue_size = 2048 (default)`).
    pub action: String,
}

/// A string shown in double quotes with quotes, backslashes and control characters
/// escaped, as `{:?}` shows it (without pulling `Debug`'s Unicode tables into
/// the wasm module).
pub(crate) struct Quoted<'a>(pub(crate) &'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        f.write_char('"')?;
        for c in self.0.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c if c.is_control() => write!(f, "\\u{{{:x}}}", c as u32)?,
                c => f.write_char(c)?,
            }
        }
        f.write_char('"')
    }
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.origin {
            Origin::Env(var) => write!(
                f,
                "{var}={} is invalid: {}; {}",
                Quoted(&self.value),
                self.problem,
                self.action
            ),
            _ => write!(
                f,
                "{} set in code ({}) is invalid: {}; {}",
                self.setting,
                Quoted(&self.value),
                self.problem,
                self.action
            ),
        }
    }
}

// ---------------------------------------------------------------------------
// The effective configuration.

#[derive(Debug, Clone, PartialEq)]
struct Val<T> {
    value: T,
    origin: Origin,
}

impl<T> Val<T> {
    fn new(value: T, origin: Origin) -> Self {
        Val { value, origin }
    }
}

/// The effective exporter configuration, every setting resolved.
///
/// Built by [`ConfigBuilder`] (code settings over environment over defaults),
/// [`Config::from_env`] or [`Config::from_lookup`]. `Display` prints one
/// setting a line with its origin and header values redacted; `Debug` prints
/// the same, so a configuration never leaks a secret into a log.
#[derive(Clone, PartialEq)]
pub struct Config {
    sdk_disabled: Val<bool>,
    endpoint: Val<String>,
    protocol: Val<Protocol>,
    headers: Val<Vec<(String, String)>>,
    compression: Val<Compression>,
    timeout: Val<Duration>,
    certificate: Val<Option<String>>,
    client_certificate: Val<Option<String>>,
    client_key: Val<Option<String>>,
    insecure: Val<bool>,
    /// `service.name` first, then the other attributes in the order given.
    resource: Vec<(String, String)>,
    resource_origins: Vec<Origin>,
    sampler: Val<Sampler>,
    schedule_delay: Val<Duration>,
    export_timeout: Val<Duration>,
    max_queue_size: Val<usize>,
    max_export_batch_size: Val<usize>,
    max_batch_bytes: Val<usize>,
    attribute_count: Val<u32>,
    attribute_value_length: Val<Option<u32>>,
    event_count: Val<u32>,
    link_count: Val<u32>,
    attributes_per_event: Val<u32>,
    attributes_per_link: Val<u32>,
    retry: Val<RetryConfig>,
}

impl Default for Config {
    /// Every setting at its default; the environment is not read.
    fn default() -> Self {
        ConfigBuilder::new().build_from_lookup(|_| None).0
    }
}

impl Config {
    /// A builder for settings made in code.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::new()
    }

    /// The configuration from the process environment (no code settings), and
    /// the warnings for values that could not be used.
    pub fn from_env() -> (Config, Vec<ConfigWarning>) {
        ConfigBuilder::new().build()
    }

    /// The configuration from `lookup` (a variable name to its value, `None`
    /// when unset), and the warnings for values that could not be used.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> (Config, Vec<ConfigWarning>) {
        ConfigBuilder::new().build_from_lookup(lookup)
    }

    /// `OTEL_SDK_DISABLED`: when true the frontends install a no-op exporter.
    pub fn sdk_disabled(&self) -> bool {
        self.sdk_disabled.value
    }

    /// The full URL export requests go to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint.value
    }

    /// The transport protocol.
    pub fn protocol(&self) -> Protocol {
        self.protocol.value
    }

    /// Headers sent with every export request, names and decoded values
    /// (no two names equal ignoring case).
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers.value
    }

    /// The endpoint with any credentials and query string redacted, for logs.
    pub fn redacted_endpoint(&self) -> String {
        redact_url(self.endpoint())
    }

    /// The headers with their values replaced by `****`: `kf-api-key=****,x-team=****`
    /// (empty when there are none).
    pub fn redacted_headers(&self) -> String {
        let mut out = String::new();
        for (i, (name, _)) in self.headers.value.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(name);
            out.push('=');
            out.push_str(REDACTED);
        }
        out
    }

    /// Request compression.
    pub fn compression(&self) -> Compression {
        self.compression.value
    }

    /// Time allowed for one export request. A configured 0 ("indefinite") is
    /// [`INDEFINITE_TIMEOUT`].
    pub fn timeout(&self) -> Duration {
        self.timeout.value
    }

    /// Path of a PEM file of trusted certificates for the server's TLS certificate.
    pub fn certificate(&self) -> Option<&str> {
        self.certificate.value.as_deref()
    }

    /// Path of the PEM client certificate for mutual TLS (set only together with the key).
    pub fn client_certificate(&self) -> Option<&str> {
        self.client_certificate.value.as_deref()
    }

    /// Path of the PEM client private key for mutual TLS (set only together with the certificate).
    pub fn client_key(&self) -> Option<&str> {
        self.client_key.value.as_deref()
    }

    /// `OTEL_EXPORTER_OTLP_INSECURE`: for gRPC endpoints given without a scheme;
    /// an `http`/`https` endpoint's scheme decides otherwise.
    pub fn insecure(&self) -> bool {
        self.insecure.value
    }

    /// The `service.name` resource attribute.
    pub fn service_name(&self) -> &str {
        self.resource
            .first()
            .map(|(_, v)| v.as_str())
            .unwrap_or("unknown_service")
    }

    /// The resource attributes, `service.name` first, all values strings.
    pub fn resource_attributes(&self) -> &[(String, String)] {
        &self.resource
    }

    /// The head sampler.
    pub fn sampler(&self) -> Sampler {
        self.sampler.value
    }

    /// Delay between two scheduled exports.
    pub fn schedule_delay(&self) -> Duration {
        self.schedule_delay.value
    }

    /// Time allowed for one export, retries included. A configured 0 is [`INDEFINITE_TIMEOUT`].
    pub fn export_timeout(&self) -> Duration {
        self.export_timeout.value
    }

    /// Spans queued before new ones are dropped.
    pub fn max_queue_size(&self) -> usize {
        self.max_queue_size.value
    }

    /// Spans in one export request (never more than [`Config::max_queue_size`]).
    pub fn max_export_batch_size(&self) -> usize {
        self.max_export_batch_size.value
    }

    /// Bytes of one export request (`OTLPX_MAX_BATCH_BYTES`).
    pub fn max_batch_bytes(&self) -> usize {
        self.max_batch_bytes.value
    }

    /// The span limits for the encoder.
    pub fn span_limits(&self) -> SpanLimits {
        SpanLimits {
            attribute_count: self.attribute_count.value,
            attribute_value_length: self.attribute_value_length.value,
            event_count: self.event_count.value,
            link_count: self.link_count.value,
            attributes_per_event: self.attributes_per_event.value,
            attributes_per_link: self.attributes_per_link.value,
        }
    }

    /// The batcher's sizes and limits.
    pub fn batch_config(&self) -> BatchConfig {
        BatchConfig {
            max_queue_size: self.max_queue_size.value,
            max_export_batch_size: self.max_export_batch_size.value,
            max_batch_bytes: self.max_batch_bytes.value,
            limits: self.span_limits(),
        }
    }

    /// The retry policy settings.
    pub fn retry(&self) -> RetryConfig {
        self.retry.value
    }

    /// Every effective setting as `(name, value, origin)`, in a fixed order,
    /// with secrets redacted: what `Display` prints.
    pub fn settings(&self) -> Vec<(String, String, Origin)> {
        fn line(name: &str, value: String, origin: Origin) -> (String, String, Origin) {
            (name.to_string(), value, origin)
        }
        fn path(p: &Option<String>) -> String {
            p.clone().unwrap_or_else(|| "(none)".to_string())
        }
        let headers = if self.headers.value.is_empty() {
            "(none)".to_string()
        } else {
            self.redacted_headers()
        };
        let sampler = match self.sampler.value.ratio() {
            Some(r) => format!("{} (ratio {r})", self.sampler.value.env_name()),
            None => self.sampler.value.env_name().to_string(),
        };
        let retry = &self.retry.value;
        let retry_text = if retry.enabled {
            format!(
                "enabled, initial_interval {}, max_interval {}, max_elapsed_time {}",
                show_ms(&retry.initial_interval),
                show_ms(&retry.max_interval),
                show_ms(&retry.max_elapsed_time)
            )
        } else {
            "disabled".to_string()
        };
        let mut v = vec![
            line(
                "sdk_disabled",
                self.sdk_disabled.value.to_string(),
                self.sdk_disabled.origin,
            ),
            line("endpoint", redact_url(&self.endpoint.value), self.endpoint.origin),
            line("protocol", self.protocol.value.to_string(), self.protocol.origin),
            line("headers", headers, self.headers.origin),
            line(
                "compression",
                self.compression.value.to_string(),
                self.compression.origin,
            ),
            line("timeout", show_timeout(&self.timeout.value), self.timeout.origin),
            line("certificate", path(&self.certificate.value), self.certificate.origin),
            line(
                "client_certificate",
                path(&self.client_certificate.value),
                self.client_certificate.origin,
            ),
            line("client_key", path(&self.client_key.value), self.client_key.origin),
            line("insecure", self.insecure.value.to_string(), self.insecure.origin),
        ];
        for ((k, val), origin) in self.resource.iter().zip(&self.resource_origins) {
            let name = if k == SERVICE_NAME_KEY {
                k.clone()
            } else {
                format!("resource.{k}")
            };
            v.push((name, val.clone(), *origin));
        }
        v.extend([
            line("sampler", sampler, self.sampler.origin),
            line(
                "schedule_delay",
                show_ms(&self.schedule_delay.value),
                self.schedule_delay.origin,
            ),
            line(
                "export_timeout",
                show_timeout(&self.export_timeout.value),
                self.export_timeout.origin,
            ),
            line(
                "max_queue_size",
                self.max_queue_size.value.to_string(),
                self.max_queue_size.origin,
            ),
            line(
                "max_export_batch_size",
                self.max_export_batch_size.value.to_string(),
                self.max_export_batch_size.origin,
            ),
            line(
                "max_batch_bytes",
                self.max_batch_bytes.value.to_string(),
                self.max_batch_bytes.origin,
            ),
            line(
                "attribute_count_limit",
                self.attribute_count.value.to_string(),
                self.attribute_count.origin,
            ),
            line(
                "attribute_value_length_limit",
                show_opt_limit(&self.attribute_value_length.value),
                self.attribute_value_length.origin,
            ),
            line(
                "event_count_limit",
                self.event_count.value.to_string(),
                self.event_count.origin,
            ),
            line(
                "link_count_limit",
                self.link_count.value.to_string(),
                self.link_count.origin,
            ),
            line(
                "event_attribute_count_limit",
                self.attributes_per_event.value.to_string(),
                self.attributes_per_event.origin,
            ),
            line(
                "link_attribute_count_limit",
                self.attributes_per_link.value.to_string(),
                self.attributes_per_link.origin,
            ),
            line("retry", retry_text, self.retry.origin),
        ]);
        v
    }

    /// Where the setting `name` (as in [`Config::settings`]) came from.
    pub fn origin_of(&self, name: &str) -> Option<Origin> {
        self.settings()
            .into_iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, _, o)| o)
    }
}

impl fmt::Display for Config {
    /// One `name = value (origin)` line per setting; header values and URL
    /// credentials redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, value, origin) in self.settings() {
            writeln!(f, "{name} = {value} ({origin})")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (name, value, origin) in self.settings() {
            m.entry(&name, &format_args!("{value} ({origin})"));
        }
        m.finish()
    }
}

// ---------------------------------------------------------------------------
// The builder.

/// Settings made in code. Each one set here wins over the environment; the
/// rest come from the environment (or a lookup) and the defaults when one of
/// the `build*` methods runs. An invalid code value gives a warning and is
/// treated as unset.
#[derive(Clone, Default)]
pub struct ConfigBuilder {
    sdk_disabled: Option<bool>,
    endpoint: Option<String>,
    protocol: Option<Protocol>,
    headers: Option<Vec<(String, String)>>,
    compression: Option<Compression>,
    timeout: Option<Duration>,
    certificate: Option<String>,
    client_certificate: Option<String>,
    client_key: Option<String>,
    insecure: Option<bool>,
    service_name: Option<String>,
    resource_attributes: Vec<(String, String)>,
    sampler: Option<Sampler>,
    schedule_delay: Option<Duration>,
    export_timeout: Option<Duration>,
    max_queue_size: Option<usize>,
    max_export_batch_size: Option<usize>,
    max_batch_bytes: Option<usize>,
    attribute_count: Option<u32>,
    attribute_value_length: Option<Option<u32>>,
    event_count: Option<u32>,
    link_count: Option<u32>,
    attributes_per_event: Option<u32>,
    attributes_per_link: Option<u32>,
    retry: Option<RetryConfig>,
}

impl fmt::Debug for ConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Option<Vec<String>> = self
            .headers
            .as_ref()
            .map(|h| h.iter().map(|(n, _)| format!("{n}={REDACTED}")).collect());
        f.debug_struct("ConfigBuilder")
            .field("sdk_disabled", &self.sdk_disabled)
            .field("endpoint", &self.endpoint.as_deref().map(redact_url))
            .field("protocol", &self.protocol)
            .field("headers", &headers)
            .field("compression", &self.compression)
            .field("timeout", &self.timeout)
            .field("certificate", &self.certificate)
            .field("client_certificate", &self.client_certificate)
            .field("client_key", &self.client_key)
            .field("insecure", &self.insecure)
            .field("service_name", &self.service_name)
            .field("resource_attributes", &self.resource_attributes)
            .field("sampler", &self.sampler)
            .field("schedule_delay", &self.schedule_delay)
            .field("export_timeout", &self.export_timeout)
            .field("max_queue_size", &self.max_queue_size)
            .field("max_export_batch_size", &self.max_export_batch_size)
            .field("max_batch_bytes", &self.max_batch_bytes)
            .field("attribute_count", &self.attribute_count)
            .field("attribute_value_length", &self.attribute_value_length)
            .field("event_count", &self.event_count)
            .field("link_count", &self.link_count)
            .field("attributes_per_event", &self.attributes_per_event)
            .field("attributes_per_link", &self.attributes_per_link)
            .field("retry", &self.retry)
            .finish()
    }
}

impl ConfigBuilder {
    /// A builder with nothing set in code.
    pub fn new() -> Self {
        ConfigBuilder::default()
    }

    /// Disables the SDK (`OTEL_SDK_DISABLED`).
    pub fn sdk_disabled(mut self, disabled: bool) -> Self {
        self.sdk_disabled = Some(disabled);
        self
    }

    /// The full endpoint URL, used as given (like Go's `WithEndpointURL`; an
    /// empty path becomes `/v1/traces` for the HTTP protocols).
    pub fn endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// The transport protocol.
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// Adds one header (the value is used as given apart from surrounding white
    /// space: it is not percent-decoded). Once
    /// any header is set in code, the header variables are ignored (Go's `WithHeaders`).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers
            .get_or_insert_with(Vec::new)
            .push((name.into(), value.into()));
        self
    }

    /// Replaces the code headers with `headers` (an empty list means: send no
    /// headers, whatever the environment says).
    pub fn headers<K: Into<String>, V: Into<String>>(mut self, headers: impl IntoIterator<Item = (K, V)>) -> Self {
        self.headers = Some(headers.into_iter().map(|(k, v)| (k.into(), v.into())).collect());
        self
    }

    /// Request compression.
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = Some(compression);
        self
    }

    /// Time allowed for one export request (zero means indefinite).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Path of a PEM file of trusted certificates.
    pub fn certificate(mut self, path: impl Into<String>) -> Self {
        self.certificate = Some(path.into());
        self
    }

    /// Path of the PEM client certificate for mutual TLS.
    pub fn client_certificate(mut self, path: impl Into<String>) -> Self {
        self.client_certificate = Some(path.into());
        self
    }

    /// Path of the PEM client private key for mutual TLS.
    pub fn client_key(mut self, path: impl Into<String>) -> Self {
        self.client_key = Some(path.into());
        self
    }

    /// Plain-text gRPC for endpoints without a scheme.
    pub fn insecure(mut self, insecure: bool) -> Self {
        self.insecure = Some(insecure);
        self
    }

    /// The `service.name` resource attribute (wins over every other source).
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// Adds a resource attribute; it wins over the same key in `OTEL_RESOURCE_ATTRIBUTES`.
    pub fn resource_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.resource_attributes.push((key.into(), value.into()));
        self
    }

    /// Adds resource attributes; each wins over the same key in `OTEL_RESOURCE_ATTRIBUTES`.
    pub fn resource_attributes<K: Into<String>, V: Into<String>>(
        mut self,
        attributes: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.resource_attributes
            .extend(attributes.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// The head sampler.
    pub fn sampler(mut self, sampler: Sampler) -> Self {
        self.sampler = Some(sampler);
        self
    }

    /// Delay between two scheduled exports.
    pub fn schedule_delay(mut self, delay: Duration) -> Self {
        self.schedule_delay = Some(delay);
        self
    }

    /// Time allowed for one export, retries included (zero means indefinite).
    pub fn export_timeout(mut self, timeout: Duration) -> Self {
        self.export_timeout = Some(timeout);
        self
    }

    /// Spans queued before new ones are dropped (at least 1).
    pub fn max_queue_size(mut self, spans: usize) -> Self {
        self.max_queue_size = Some(spans);
        self
    }

    /// Spans in one export request (at least 1; clamped to the queue size).
    pub fn max_export_batch_size(mut self, spans: usize) -> Self {
        self.max_export_batch_size = Some(spans);
        self
    }

    /// Bytes of one export request (from [`MIN_BATCH_BYTES`]; clamped to the 64 MiB ceiling).
    pub fn max_batch_bytes(mut self, bytes: usize) -> Self {
        self.max_batch_bytes = Some(bytes);
        self
    }

    /// All six span limits at once.
    pub fn span_limits(mut self, limits: SpanLimits) -> Self {
        self.attribute_count = Some(limits.attribute_count);
        self.attribute_value_length = Some(limits.attribute_value_length);
        self.event_count = Some(limits.event_count);
        self.link_count = Some(limits.link_count);
        self.attributes_per_event = Some(limits.attributes_per_event);
        self.attributes_per_link = Some(limits.attributes_per_link);
        self
    }

    /// Attributes kept per span.
    pub fn attribute_count_limit(mut self, n: u32) -> Self {
        self.attribute_count = Some(n);
        self
    }

    /// Length limit of string attribute values (`None`: no limit).
    pub fn attribute_value_length_limit(mut self, n: Option<u32>) -> Self {
        self.attribute_value_length = Some(n);
        self
    }

    /// Events kept per span.
    pub fn event_count_limit(mut self, n: u32) -> Self {
        self.event_count = Some(n);
        self
    }

    /// Links kept per span.
    pub fn link_count_limit(mut self, n: u32) -> Self {
        self.link_count = Some(n);
        self
    }

    /// Attributes kept per event.
    pub fn event_attribute_count_limit(mut self, n: u32) -> Self {
        self.attributes_per_event = Some(n);
        self
    }

    /// Attributes kept per link.
    pub fn link_attribute_count_limit(mut self, n: u32) -> Self {
        self.attributes_per_link = Some(n);
        self
    }

    /// The retry settings.
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Resolves against the process environment.
    pub fn build(&self) -> (Config, Vec<ConfigWarning>) {
        self.build_from_lookup(process_env)
    }

    /// Resolves against `lookup` (a variable name to its value, `None` when unset).
    pub fn build_from_lookup(&self, lookup: impl Fn(&str) -> Option<String>) -> (Config, Vec<ConfigWarning>) {
        let mut warnings = Vec::new();
        let config = self.build_with(lookup, |w| warnings.push(w));
        (config, warnings)
    }

    /// Resolves against `lookup`, handing each warning to `on_warning` as it is found.
    pub fn build_with(&self, lookup: impl Fn(&str) -> Option<String>, on_warning: impl FnMut(ConfigWarning)) -> Config {
        let mut r = Resolver {
            lookup: &lookup,
            warn: Box::new(on_warning),
        };
        r.resolve(self)
    }
}

fn process_env(name: &str) -> Option<String> {
    std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
}

// ---------------------------------------------------------------------------
// Resolution.

struct Resolver<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    warn: Box<dyn FnMut(ConfigWarning) + 'a>,
}

/// A value that could not be used, before we know what replaces it.
struct Bad {
    origin: Origin,
    value: String,
    problem: String,
}

impl Bad {
    fn env(var: &'static str, value: &str, problem: impl Into<String>) -> Bad {
        Bad {
            origin: Origin::Env(var),
            value: value.to_string(),
            problem: problem.into(),
        }
    }
}

/// What a generic setting is called and where it is looked for.
struct Spec<'s, T> {
    setting: &'static str,
    vars: &'s [&'static str],
    default: T,
}

impl Resolver<'_> {
    /// The trimmed value of `var`, `None` when unset or empty.
    fn get(&self, var: &str) -> Option<String> {
        let v = (self.lookup)(var)?;
        let t = v.trim();
        if t.is_empty() {
            None
        } else {
            Some(t.to_string())
        }
    }

    fn emit(&mut self, setting: &'static str, bad: Vec<Bad>, action: &str) {
        for b in bad {
            (self.warn)(ConfigWarning {
                origin: b.origin,
                setting,
                value: b.value,
                problem: b.problem,
                action: action.to_string(),
            });
        }
    }

    fn emit_using<T>(&mut self, setting: &'static str, bad: Vec<Bad>, chosen: &Val<T>, show: &dyn Fn(&T) -> String) {
        if !bad.is_empty() {
            let action = format!("using {setting} = {} ({})", show(&chosen.value), chosen.origin);
            self.emit(setting, bad, &action);
        }
    }

    /// Code, then each variable, then the default; an invalid value is reported
    /// and skipped.
    fn pick<T>(
        &mut self,
        spec: Spec<'_, T>,
        code: Option<T>,
        parse: impl Fn(&str) -> Result<T, String>,
        validate: impl Fn(&T) -> Result<(), String>,
        show: impl Fn(&T) -> String,
    ) -> Val<T> {
        self.pick_dyn(spec, code, &parse, &validate, &show)
    }

    /// [`Resolver::pick`] with its functions behind `dyn`: one copy per
    /// value type instead of one per setting (the wasm module's size).
    #[inline(never)]
    fn pick_dyn<T>(
        &mut self,
        spec: Spec<'_, T>,
        code: Option<T>,
        parse: &dyn Fn(&str) -> Result<T, String>,
        validate: &dyn Fn(&T) -> Result<(), String>,
        show: &dyn Fn(&T) -> String,
    ) -> Val<T> {
        let mut bad = Vec::new();
        let mut chosen = None;
        if let Some(v) = code {
            match validate(&v) {
                Ok(()) => chosen = Some(Val::new(v, Origin::Code)),
                Err(problem) => bad.push(Bad {
                    origin: Origin::Code,
                    value: show(&v),
                    problem,
                }),
            }
        }
        if chosen.is_none() {
            for &var in spec.vars {
                let Some(raw) = self.get(var) else { continue };
                match parse(&raw).and_then(|v| validate(&v).map(|()| v)) {
                    Ok(v) => {
                        chosen = Some(Val::new(v, Origin::Env(var)));
                        break;
                    }
                    Err(problem) => bad.push(Bad::env(var, &raw, problem)),
                }
            }
        }
        let chosen = chosen.unwrap_or_else(|| Val::new(spec.default, Origin::Default));
        self.emit_using(spec.setting, bad, &chosen, show);
        chosen
    }

    /// A boolean: only case-insensitive `true` is true; any other non-empty
    /// value is false (with a warning unless it is `false`), and does not fall
    /// through to the next variable.
    fn pick_bool(&mut self, setting: &'static str, code: Option<bool>, vars: &[&'static str]) -> Val<bool> {
        if let Some(v) = code {
            return Val::new(v, Origin::Code);
        }
        for &var in vars {
            let Some(raw) = self.get(var) else { continue };
            if raw.eq_ignore_ascii_case("true") {
                return Val::new(true, Origin::Env(var));
            }
            if !raw.eq_ignore_ascii_case("false") {
                let bad = vec![Bad::env(var, &raw, "a boolean is \"true\" or \"false\"")];
                self.emit(setting, bad, &format!("using {setting} = false"));
            }
            return Val::new(false, Origin::Env(var));
        }
        Val::new(false, Origin::Default)
    }

    fn resolve(&mut self, b: &ConfigBuilder) -> Config {
        let sdk_disabled = self.pick_bool("sdk_disabled", b.sdk_disabled, &[SDK_DISABLED]);
        let protocol = self.pick(
            Spec {
                setting: "protocol",
                vars: &[TRACES_PROTOCOL, PROTOCOL],
                default: Protocol::HttpProtobuf,
            },
            b.protocol,
            |s| Protocol::parse(s).ok_or_else(|| "expected http/protobuf, http/json or grpc".to_string()),
            |_| Ok(()),
            |p| p.to_string(),
        );
        let endpoint = self.endpoint(b.endpoint.as_deref(), protocol.value);
        let headers = self.headers(b.headers.as_deref());
        let compression = self.pick(
            Spec {
                setting: "compression",
                vars: &[TRACES_COMPRESSION, COMPRESSION],
                default: Compression::None,
            },
            b.compression,
            |s| Compression::parse(s).ok_or_else(|| "expected gzip or none".to_string()),
            |_| Ok(()),
            |c| c.to_string(),
        );
        let timeout = self.pick(
            Spec {
                setting: "timeout",
                vars: &[TRACES_TIMEOUT, TIMEOUT],
                default: DEFAULT_TIMEOUT,
            },
            b.timeout.map(indefinite_if_zero),
            parse_timeout_ms,
            |_| Ok(()),
            show_timeout,
        );
        let path_spec = |setting, vars| Spec {
            setting,
            vars,
            default: None,
        };
        let certificate = self.pick(
            path_spec("certificate", &[TRACES_CERTIFICATE, CERTIFICATE]),
            b.certificate.clone().map(Some),
            |s| Ok(Some(s.to_string())),
            validate_path,
            show_path,
        );
        let mut client_certificate = self.pick(
            path_spec("client_certificate", &[TRACES_CLIENT_CERTIFICATE, CLIENT_CERTIFICATE]),
            b.client_certificate.clone().map(Some),
            |s| Ok(Some(s.to_string())),
            validate_path,
            show_path,
        );
        let mut client_key = self.pick(
            path_spec("client_key", &[TRACES_CLIENT_KEY, CLIENT_KEY]),
            b.client_key.clone().map(Some),
            |s| Ok(Some(s.to_string())),
            validate_path,
            show_path,
        );
        self.pair_client_files(&mut client_certificate, &mut client_key);
        let insecure = self.pick_bool("insecure", b.insecure, &[TRACES_INSECURE, INSECURE]);
        let (resource, resource_origins) = self.resource(b);
        let sampler = self.sampler(b.sampler);

        let schedule_delay = self.pick(
            Spec {
                setting: "schedule_delay",
                vars: &[BSP_SCHEDULE_DELAY],
                default: DEFAULT_SCHEDULE_DELAY,
            },
            b.schedule_delay,
            |s| parse_whole(s).map(Duration::from_millis),
            |_| Ok(()),
            show_ms,
        );
        let export_timeout = self.pick(
            Spec {
                setting: "export_timeout",
                vars: &[BSP_EXPORT_TIMEOUT],
                default: DEFAULT_EXPORT_TIMEOUT,
            },
            b.export_timeout.map(indefinite_if_zero),
            parse_timeout_ms,
            |_| Ok(()),
            show_timeout,
        );
        let max_queue_size = self.pick(
            Spec {
                setting: "max_queue_size",
                vars: &[BSP_MAX_QUEUE_SIZE],
                default: DEFAULT_MAX_QUEUE_SIZE,
            },
            b.max_queue_size,
            parse_usize,
            positive,
            usize::to_string,
        );
        let mut max_export_batch_size = self.pick(
            Spec {
                setting: "max_export_batch_size",
                vars: &[BSP_MAX_EXPORT_BATCH_SIZE],
                default: DEFAULT_MAX_EXPORT_BATCH_SIZE,
            },
            b.max_export_batch_size,
            parse_usize,
            positive,
            usize::to_string,
        );
        if max_export_batch_size.value > max_queue_size.value {
            // Specification: must be <= OTEL_BSP_MAX_QUEUE_SIZE; Go clamps it.
            let bad = vec![Bad {
                origin: max_export_batch_size.origin,
                value: max_export_batch_size.value.to_string(),
                problem: format!(
                    "larger than max_queue_size = {} ({})",
                    max_queue_size.value, max_queue_size.origin
                ),
            }];
            let action = format!(
                "using max_export_batch_size = {} (clamped to max_queue_size)",
                max_queue_size.value
            );
            self.emit("max_export_batch_size", bad, &action);
            max_export_batch_size.value = max_queue_size.value;
        }
        let mut max_batch_bytes = self.pick(
            Spec {
                setting: "max_batch_bytes",
                vars: &[MAX_BATCH_BYTES],
                default: DEFAULT_MAX_BATCH_BYTES,
            },
            b.max_batch_bytes,
            parse_usize,
            |&n| {
                if n < MIN_BATCH_BYTES {
                    Err(format!("smaller than the minimum of {MIN_BATCH_BYTES} bytes"))
                } else {
                    Ok(())
                }
            },
            usize::to_string,
        );
        if max_batch_bytes.value > MAX_BATCH_BYTES_CEILING {
            let bad = vec![Bad {
                origin: max_batch_bytes.origin,
                value: max_batch_bytes.value.to_string(),
                problem: format!("larger than the ceiling of {MAX_BATCH_BYTES_CEILING} bytes (64 MiB)"),
            }];
            let action = format!("using max_batch_bytes = {MAX_BATCH_BYTES_CEILING} (the ceiling)");
            self.emit("max_batch_bytes", bad, &action);
            max_batch_bytes.value = MAX_BATCH_BYTES_CEILING;
        }

        let d = SpanLimits::default();
        let mut limit = |setting, vars: &[&'static str], code: Option<u32>, default: u32| {
            self.pick(
                Spec { setting, vars, default },
                code,
                parse_u32,
                |_| Ok(()),
                u32::to_string,
            )
        };
        // Model-specific variable first, then the general one (specification);
        // the general count limit applies to span, event and link attributes.
        let attribute_count = limit(
            "attribute_count_limit",
            &[SPAN_ATTRIBUTE_COUNT_LIMIT, ATTRIBUTE_COUNT_LIMIT],
            b.attribute_count,
            d.attribute_count,
        );
        let event_count = limit(
            "event_count_limit",
            &[SPAN_EVENT_COUNT_LIMIT],
            b.event_count,
            d.event_count,
        );
        let link_count = limit("link_count_limit", &[SPAN_LINK_COUNT_LIMIT], b.link_count, d.link_count);
        let attributes_per_event = limit(
            "event_attribute_count_limit",
            &[EVENT_ATTRIBUTE_COUNT_LIMIT, ATTRIBUTE_COUNT_LIMIT],
            b.attributes_per_event,
            d.attributes_per_event,
        );
        let attributes_per_link = limit(
            "link_attribute_count_limit",
            &[LINK_ATTRIBUTE_COUNT_LIMIT, ATTRIBUTE_COUNT_LIMIT],
            b.attributes_per_link,
            d.attributes_per_link,
        );
        let attribute_value_length = self.pick(
            Spec {
                setting: "attribute_value_length_limit",
                vars: &[SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT, ATTRIBUTE_VALUE_LENGTH_LIMIT],
                default: d.attribute_value_length,
            },
            b.attribute_value_length,
            |s| parse_u32(s).map(Some),
            |_| Ok(()),
            show_opt_limit,
        );
        let retry = match b.retry {
            Some(r) => Val::new(r, Origin::Code),
            None => Val::new(RetryConfig::default(), Origin::Default),
        };

        Config {
            sdk_disabled,
            endpoint,
            protocol,
            headers,
            compression,
            timeout,
            certificate,
            client_certificate,
            client_key,
            insecure,
            resource,
            resource_origins,
            sampler,
            schedule_delay,
            export_timeout,
            max_queue_size,
            max_export_batch_size,
            max_batch_bytes,
            attribute_count,
            attribute_value_length,
            event_count,
            link_count,
            attributes_per_event,
            attributes_per_link,
            retry,
        }
    }

    fn endpoint(&mut self, code: Option<&str>, protocol: Protocol) -> Val<String> {
        let grpc = protocol == Protocol::Grpc;
        let mut bad = Vec::new();
        let mut chosen = None;
        if let Some(url) = code {
            match parse_http_url(url) {
                // Go's WithEndpointURL: an empty path becomes the default path.
                Ok(u) if u.path.is_empty() && !grpc => {
                    chosen = Some(Val::new(format!("{}{TRACES_PATH}{}", u.prefix, u.suffix), Origin::Code))
                }
                Ok(_) => chosen = Some(Val::new(url.to_string(), Origin::Code)),
                Err(problem) => bad.push(Bad {
                    origin: Origin::Code,
                    value: redact_url(url),
                    problem: problem.into(),
                }),
            }
        }
        if chosen.is_none() {
            if let Some(raw) = self.get(TRACES_ENDPOINT) {
                match parse_http_url(&raw) {
                    // Specification: used as is, but an empty path is `/`.
                    Ok(u) if u.path.is_empty() && !grpc => {
                        chosen = Some(Val::new(
                            format!("{}/{}", u.prefix, u.suffix),
                            Origin::Env(TRACES_ENDPOINT),
                        ))
                    }
                    Ok(_) => chosen = Some(Val::new(raw, Origin::Env(TRACES_ENDPOINT))),
                    Err(problem) => bad.push(Bad::env(TRACES_ENDPOINT, &redact_url(&raw), problem)),
                }
            }
        }
        if chosen.is_none() {
            if let Some(raw) = self.get(ENDPOINT) {
                match parse_http_url(&raw) {
                    Ok(_) if grpc => chosen = Some(Val::new(raw, Origin::Env(ENDPOINT))),
                    Ok(u) => {
                        let url = format!("{}{}{TRACES_PATH}{}", u.prefix, u.path.trim_end_matches('/'), u.suffix);
                        chosen = Some(Val::new(url, Origin::Env(ENDPOINT)))
                    }
                    Err(problem) => bad.push(Bad::env(ENDPOINT, &redact_url(&raw), problem)),
                }
            }
        }
        let chosen = chosen.unwrap_or_else(|| Val::new(protocol.default_endpoint().to_string(), Origin::Default));
        self.emit_using("endpoint", bad, &chosen, &|s: &String| redact_url(s));
        chosen
    }

    fn headers(&mut self, code: Option<&[(String, String)]>) -> Val<Vec<(String, String)>> {
        if let Some(list) = code {
            let mut out: Vec<(String, String)> = Vec::with_capacity(list.len());
            for (name, value) in list {
                let (name, value) = (name.trim(), value.trim());
                let problem = if !is_token(name) {
                    Some("not a valid HTTP header name")
                } else if has_forbidden_controls(value) {
                    Some("the value holds control characters (CR, LF, NUL...)")
                } else {
                    None
                };
                match problem {
                    Some(problem) => {
                        let shown = if is_token(name) {
                            format!("{name}={REDACTED}")
                        } else {
                            REDACTED.to_string()
                        };
                        let bad = vec![Bad {
                            origin: Origin::Code,
                            value: shown,
                            problem: problem.to_string(),
                        }];
                        self.emit("headers", bad, "skipping that header");
                    }
                    None => insert_header(&mut out, name, value),
                }
            }
            return Val::new(out, Origin::Code);
        }
        // Go: the signal-specific variable, when set, replaces the base one.
        for var in [TRACES_HEADERS, HEADERS] {
            let Some(raw) = self.get(var) else { continue };
            let (list, bad) = parse_headers(var, &raw);
            self.emit("headers", bad, "skipping that pair, the other pairs are used");
            return Val::new(list, Origin::Env(var));
        }
        Val::new(Vec::new(), Origin::Default)
    }

    /// Client certificate and key are used together or not at all.
    fn pair_client_files(&mut self, cert: &mut Val<Option<String>>, key: &mut Val<Option<String>>) {
        let (present, setting, missing) = match (&cert.value, &key.value) {
            (Some(_), None) => (cert, "client_certificate", "client key"),
            (None, Some(_)) => (key, "client_key", "client certificate"),
            _ => return,
        };
        let bad = vec![Bad {
            origin: present.origin,
            value: present.value.take().unwrap_or_default(),
            problem: format!("no {missing} is configured to go with it"),
        }];
        present.origin = Origin::Default;
        self.emit(
            setting,
            bad,
            "using no client certificate (mutual TLS needs both files)",
        );
    }

    fn resource(&mut self, b: &ConfigBuilder) -> (Vec<(String, String)>, Vec<Origin>) {
        let mut attrs: Vec<(String, String, Origin)> = Vec::new();
        fn put(attrs: &mut Vec<(String, String, Origin)>, k: &str, v: &str, origin: Origin) {
            match attrs.iter_mut().find(|(key, _, _)| key == k) {
                Some(slot) => {
                    slot.1 = v.to_string();
                    slot.2 = origin;
                }
                None => attrs.push((k.to_string(), v.to_string(), origin)),
            }
        }
        if let Some(raw) = self.get(RESOURCE_ATTRIBUTES) {
            let mut bad = Vec::new();
            for (i, pair) in raw.split(',').enumerate() {
                if pair.trim().is_empty() {
                    continue;
                }
                let Some((k, v)) = pair.split_once('=') else {
                    bad.push((
                        Bad::env(RESOURCE_ATTRIBUTES, &raw, format!("pair {} has no '='", i + 1)),
                        "skipping it",
                    ));
                    continue;
                };
                let key = k.trim();
                if key.is_empty() {
                    bad.push((
                        Bad::env(RESOURCE_ATTRIBUTES, &raw, format!("pair {} has an empty key", i + 1)),
                        "skipping it",
                    ));
                    continue;
                }
                let value = v.trim();
                match percent_decode(value) {
                    Ok(decoded) => put(&mut attrs, key, &decoded, Origin::Env(RESOURCE_ATTRIBUTES)),
                    Err(e) => {
                        // Go keeps the raw value when decoding fails.
                        bad.push((
                            Bad::env(RESOURCE_ATTRIBUTES, &raw, format!("the value of {} {e}", Quoted(key))),
                            "using the value undecoded",
                        ));
                        put(&mut attrs, key, value, Origin::Env(RESOURCE_ATTRIBUTES));
                    }
                }
            }
            for (one, action) in bad {
                self.emit("resource_attributes", vec![one], action);
            }
        }
        for (k, v) in &b.resource_attributes {
            let key = k.trim();
            if key.is_empty() {
                let bad = vec![Bad {
                    origin: Origin::Code,
                    value: format!("={v}"),
                    problem: "empty key".into(),
                }];
                self.emit("resource_attributes", bad, "skipping it");
                continue;
            }
            put(&mut attrs, key, v, Origin::Code);
        }

        // service.name: code service_name, code attribute, OTEL_SERVICE_NAME,
        // OTEL_RESOURCE_ATTRIBUTES, then unknown_service:<executable>.
        let pos = attrs.iter().position(|(k, _, _)| k == SERVICE_NAME_KEY);
        let from_attrs = pos.map(|i| attrs.remove(i)).map(|(_, v, o)| (v, o));
        let mut bad = Vec::new();
        let code_name = match b.service_name.as_deref().map(str::trim) {
            Some("") => {
                bad.push(Bad {
                    origin: Origin::Code,
                    value: String::new(),
                    problem: "empty service name".into(),
                });
                None
            }
            other => other.map(str::to_string),
        };
        let (name, origin) = match (code_name, from_attrs) {
            (Some(n), _) => (n, Origin::Code),
            (None, Some((v, Origin::Code))) => (v, Origin::Code),
            (None, attr) => match (self.get(SERVICE_NAME), attr) {
                (Some(n), _) => (n, Origin::Env(SERVICE_NAME)),
                (None, Some((v, o))) if !v.is_empty() => (v, o),
                _ => (default_service_name(), Origin::Default),
            },
        };
        let chosen = Val::new(name, origin);
        self.emit_using("service.name", bad, &chosen, &|s: &String| s.clone());

        let mut out = Vec::with_capacity(attrs.len() + 1);
        let mut origins = Vec::with_capacity(attrs.len() + 1);
        out.push((SERVICE_NAME_KEY.to_string(), chosen.value));
        origins.push(chosen.origin);
        for (k, v, o) in attrs {
            out.push((k, v));
            origins.push(o);
        }
        (out, origins)
    }

    fn sampler(&mut self, code: Option<Sampler>) -> Val<Sampler> {
        if let Some(s) = code {
            return Val::new(s, Origin::Code);
        }
        let Some(raw) = self.get(TRACES_SAMPLER) else {
            // Specification: OTEL_TRACES_SAMPLER_ARG is only used with OTEL_TRACES_SAMPLER.
            return Val::new(Sampler::default(), Origin::Default);
        };
        let name = raw.to_ascii_lowercase();
        let mut ratio = 1.0;
        if Sampler::name_takes_ratio(&name) {
            if let Some(arg) = self.get(TRACES_SAMPLER_ARG) {
                match Sampler::parse_ratio(&arg) {
                    Ok(r) => ratio = r,
                    Err(problem) => {
                        let bad = vec![Bad::env(TRACES_SAMPLER_ARG, &arg, problem)];
                        self.emit("sampler", bad, &format!("using {name} with ratio 1 (the default)"));
                    }
                }
            }
        }
        match Sampler::from_env_name(&name, ratio) {
            Some(s) => Val::new(s, Origin::Env(TRACES_SAMPLER)),
            None => {
                let chosen = Val::new(Sampler::default(), Origin::Default);
                let bad = vec![Bad::env(
                    TRACES_SAMPLER,
                    &raw,
                    "expected always_on, always_off, traceidratio, parentbased_always_on, \
                     parentbased_always_off or parentbased_traceidratio",
                )];
                self.emit_using("sampler", bad, &chosen, &|s: &Sampler| s.env_name().to_string());
                chosen
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Parsers and helpers.

/// A non-negative whole number, with a clear problem for negative and other values.
fn parse_whole(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let t = t.strip_prefix('+').unwrap_or(t);
    if let Some(rest) = t.strip_prefix('-') {
        if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must not be negative".into());
        }
    }
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not a whole number".into());
    }
    t.parse::<u64>().map_err(|_| "too large".into())
}

fn parse_u32(s: &str) -> Result<u32, String> {
    let v = parse_whole(s)?;
    u32::try_from(v).map_err(|_| format!("too large (at most {})", u32::MAX))
}

fn parse_usize(s: &str) -> Result<usize, String> {
    let v = parse_whole(s)?;
    usize::try_from(v).map_err(|_| "too large".to_string())
}

fn positive(n: &usize) -> Result<(), String> {
    if *n == 0 {
        Err("must be at least 1".into())
    } else {
        Ok(())
    }
}

fn indefinite_if_zero(d: Duration) -> Duration {
    if d.is_zero() {
        INDEFINITE_TIMEOUT
    } else {
        d
    }
}

/// A timeout in milliseconds; 0 means indefinite (specification).
fn parse_timeout_ms(s: &str) -> Result<Duration, String> {
    parse_whole(s).map(|ms| indefinite_if_zero(Duration::from_millis(ms)))
}

fn validate_path(p: &Option<String>) -> Result<(), String> {
    match p {
        Some(s) if s.trim().is_empty() => Err("empty path".into()),
        _ => Ok(()),
    }
}

fn show_path(p: &Option<String>) -> String {
    p.clone().unwrap_or_else(|| "(none)".to_string())
}

fn show_ms(d: &Duration) -> String {
    // u64, not `as_millis()`'s u128, whose formatting the wasm module does not carry.
    let ms = d
        .as_secs()
        .saturating_mul(1000)
        .saturating_add(u64::from(d.subsec_millis()));
    format!("{ms}ms")
}

fn show_timeout(d: &Duration) -> String {
    if *d >= INDEFINITE_TIMEOUT {
        "indefinite".to_string()
    } else {
        show_ms(d)
    }
}

fn show_opt_limit(v: &Option<u32>) -> String {
    match v {
        Some(n) => n.to_string(),
        None => "none".to_string(),
    }
}

fn default_service_name() -> String {
    // Go: "unknown_service:" + filepath.Base(os.Args[0]).
    let exe = std::env::args_os()
        .next()
        .and_then(|a| {
            std::path::Path::new(&a)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .or_else(|| {
            std::env::current_exe()
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        })
        .filter(|n| !n.is_empty());
    match exe {
        Some(name) => format!("unknown_service:{name}"),
        None => "unknown_service".to_string(),
    }
}

/// Decodes `%XX` escapes (`+` stays `+`, as Go's `url.PathUnescape`).
pub fn percent_decode(s: &str) -> Result<String, &'static str> {
    fn hex(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    if !s.contains('%') {
        return Ok(s.to_string());
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hi = bytes.get(i + 1).copied().and_then(hex);
            let lo = bytes.get(i + 2).copied().and_then(hex);
            match (hi, lo) {
                (Some(h), Some(l)) => out.push(h << 4 | l),
                _ => return Err("has a '%' not followed by two hex digits"),
            }
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "decodes to bytes that are not UTF-8")
}

/// An RFC 9110 token (Go's `isValidHeaderKey`).
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c))
}

/// Characters that must never reach an HTTP header value (header injection).
fn has_forbidden_controls(v: &str) -> bool {
    v.chars().any(|c| (c.is_control() && c != '\t') || c == '\u{7f}')
}

fn insert_header(list: &mut Vec<(String, String)>, name: &str, value: &str) {
    match list.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
        Some(slot) => slot.1 = value.to_string(),
        None => list.push((name.to_string(), value.to_string())),
    }
}

/// A header variable with every value replaced by `****`, and pairs that may
/// not be a `name=value` pair (so may be a secret) replaced whole.
fn redact_header_list(raw: &str) -> String {
    let mut out = String::new();
    for (i, pair) in raw.split(',').enumerate() {
        if i > 0 {
            out.push(',');
        }
        match pair.split_once('=') {
            Some((k, _)) if is_token(k.trim()) => {
                out.push_str(k.trim());
                out.push('=');
                out.push_str(REDACTED);
            }
            _ if pair.trim().is_empty() => {}
            _ => out.push_str(REDACTED),
        }
    }
    out
}

/// Parses `name=value,name=value` (Go's `stringToHeader`): names trimmed and
/// checked, values percent-decoded then trimmed, a bad pair reported and
/// skipped, a repeated name (ignoring case) keeps the last value.
fn parse_headers(var: &'static str, raw: &str) -> (Vec<(String, String)>, Vec<Bad>) {
    let mut list = Vec::new();
    let mut bad = Vec::new();
    let mut shown: Option<String> = None;
    let mut report = |bad: &mut Vec<Bad>, problem: String| {
        let value = shown.get_or_insert_with(|| redact_header_list(raw)).clone();
        bad.push(Bad {
            origin: Origin::Env(var),
            value,
            problem,
        });
    };
    for (i, pair) in raw.split(',').enumerate() {
        let n = i + 1;
        if pair.trim().is_empty() {
            continue;
        }
        let Some((k, v)) = pair.split_once('=') else {
            report(&mut bad, format!("pair {n} has no '=' between name and value"));
            continue;
        };
        let name = k.trim();
        if !is_token(name) {
            report(
                &mut bad,
                format!("pair {n} does not start with a valid HTTP header name"),
            );
            continue;
        }
        // Go: decode, then trim.
        let decoded = match percent_decode(v) {
            Ok(d) => d,
            Err(e) => {
                report(&mut bad, format!("the value of {name} (pair {n}) {e}"));
                continue;
            }
        };
        let value = decoded.trim();
        if has_forbidden_controls(value) {
            report(
                &mut bad,
                format!("the value of {name} (pair {n}) holds control characters (CR, LF, NUL...)"),
            );
            continue;
        }
        insert_header(&mut list, name, value);
    }
    (list, bad)
}

/// `scheme` and the rest of `scheme://rest`.
fn split_scheme(s: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = s.split_once(':')?;
    Some((scheme, rest.strip_prefix("//")?))
}

/// The pieces of an `http`/`https` URL: `scheme://authority`, the path, and
/// the rest (`?query#fragment`).
struct UrlParts<'a> {
    prefix: &'a str,
    path: &'a str,
    suffix: &'a str,
}

fn parse_http_url(s: &str) -> Result<UrlParts<'_>, &'static str> {
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("not a URL: it holds white space or control characters");
    }
    let Some((scheme, rest)) = split_scheme(s) else {
        return Err("not an http:// or https:// URL");
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err("the scheme must be http or https");
    }
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, after) = split(rest, auth_end);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        let Some(end) = v6.find(']') else {
            return Err("the IPv6 host has no closing ']'");
        };
        let (host, bracket) = split(v6, end);
        let tail = bracket.get(1..).unwrap_or(""); // after the ']' (one byte)
        let port = match tail.strip_prefix(':') {
            Some(p) => Some(p),
            None if tail.is_empty() => None,
            None => return Err("unexpected text after the IPv6 host"),
        };
        (host, port)
    } else {
        match host_port.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host_port, None),
        }
    };
    if host.is_empty() {
        return Err("the URL has no host");
    }
    if let Some(p) = port {
        let ok = !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && matches!(p.parse::<u16>(), Ok(n) if n > 0);
        if !ok {
            return Err("the port must be a number from 1 to 65535");
        }
    }
    let path_end = after.find(['?', '#']).unwrap_or(after.len());
    let (path, suffix) = split(after, path_end);
    Ok(UrlParts {
        prefix: split(s, s.len() - after.len()).0,
        path,
        suffix,
    })
}

/// `s` split at byte `at`, which callers take from `find` (a char
/// boundary); never panics (the whole of `s` first otherwise). Slicing
/// with `[..]` would pull panic formatting into the wasm module.
fn split(s: &str, at: usize) -> (&str, &str) {
    s.split_at_checked(at).unwrap_or((s, ""))
}

/// A URL with any credentials (`user:password@`) and query replaced by `****`.
fn redact_url(s: &str) -> String {
    let (head, rest) = match split_scheme(s) {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), s),
    };
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, after) = split(rest, auth_end);
    let authority = match authority.rsplit_once('@') {
        Some((_, host)) => format!("{REDACTED}@{host}"),
        None => authority.to_string(),
    };
    let path_end = after.find(['?', '#']).unwrap_or(after.len());
    let (path, tail) = split(after, path_end);
    let tail = if tail.starts_with('?') {
        format!("?{REDACTED}")
    } else {
        tail.to_string()
    };
    format!("{head}{authority}{path}{tail}")
}

// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sampler::RootSampler;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> (Config, Vec<ConfigWarning>) {
        build(ConfigBuilder::new(), pairs)
    }

    fn build(b: ConfigBuilder, pairs: &[(&str, &str)]) -> (Config, Vec<ConfigWarning>) {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        b.build_from_lookup(move |k| map.get(k).cloned())
    }

    fn one_warning(w: &[ConfigWarning]) -> &ConfigWarning {
        assert_eq!(w.len(), 1, "expected one warning, got {w:#?}");
        &w[0]
    }

    #[test]
    fn defaults() {
        let (c, w) = env(&[]);
        assert!(w.is_empty(), "{w:?}");
        assert!(!c.sdk_disabled());
        assert_eq!(c.endpoint(), "http://localhost:4318/v1/traces");
        assert_eq!(c.protocol(), Protocol::HttpProtobuf);
        assert!(c.headers().is_empty());
        assert_eq!(c.compression(), Compression::None);
        assert_eq!(c.timeout(), Duration::from_secs(10));
        assert_eq!(c.certificate(), None);
        assert_eq!(c.client_certificate(), None);
        assert_eq!(c.client_key(), None);
        assert!(!c.insecure());
        assert!(c.service_name().starts_with("unknown_service:"), "{}", c.service_name());
        assert_eq!(c.resource_attributes().len(), 1);
        assert_eq!(
            c.sampler(),
            Sampler::ParentBased {
                root: RootSampler::AlwaysOn
            }
        );
        assert_eq!(c.schedule_delay(), Duration::from_millis(5000));
        assert_eq!(c.export_timeout(), Duration::from_millis(30000));
        assert_eq!(c.max_queue_size(), 2048);
        assert_eq!(c.max_export_batch_size(), 512);
        assert_eq!(c.max_batch_bytes(), 4 << 20);
        assert_eq!(c.span_limits(), SpanLimits::default());
        assert_eq!(c.batch_config(), BatchConfig::default());
        assert_eq!(
            c.retry(),
            RetryConfig {
                enabled: true,
                initial_interval: Duration::from_secs(5),
                max_interval: Duration::from_secs(30),
                max_elapsed_time: Duration::from_secs(60)
            }
        );
        assert_eq!(c.origin_of("endpoint"), Some(Origin::Default));
        assert_eq!(Config::default(), c);
    }

    #[test]
    fn base_endpoint_gets_traces_path() {
        for (given, want) in [
            ("http://h:4318", "http://h:4318/v1/traces"),
            ("http://h:4318/", "http://h:4318/v1/traces"),
            ("http://h:4318//", "http://h:4318/v1/traces"),
            ("http://h/p", "http://h/p/v1/traces"),
            ("http://h/p/", "http://h/p/v1/traces"),
            ("https://h:443/a/b", "https://h:443/a/b/v1/traces"),
            ("http://[::1]:4318", "http://[::1]:4318/v1/traces"),
            ("HTTPS://h", "HTTPS://h/v1/traces"),
            ("  http://h:4318  ", "http://h:4318/v1/traces"),
        ] {
            let (c, w) = env(&[(ENDPOINT, given)]);
            assert!(w.is_empty(), "{given}: {w:?}");
            assert_eq!(c.endpoint(), want, "{given}");
            assert_eq!(c.origin_of("endpoint"), Some(Origin::Env(ENDPOINT)));
        }
    }

    #[test]
    fn traces_endpoint_used_as_given() {
        for (given, want) in [
            ("http://h:4318/custom", "http://h:4318/custom"),
            ("http://h:4318/custom/", "http://h:4318/custom/"),
            ("http://h:4318/v1/traces", "http://h:4318/v1/traces"),
            ("http://h:4318", "http://h:4318/"),
            ("https://h", "https://h/"),
        ] {
            let (c, w) = env(&[(TRACES_ENDPOINT, given), (ENDPOINT, "http://other:1")]);
            assert!(w.is_empty(), "{w:?}");
            assert_eq!(c.endpoint(), want);
            assert_eq!(c.origin_of("endpoint"), Some(Origin::Env(TRACES_ENDPOINT)));
        }
    }

    #[test]
    fn code_endpoint_wins_and_is_exact() {
        let b = ConfigBuilder::new().endpoint("https://collector.example:4318/ingest");
        let (c, w) = build(b, &[(TRACES_ENDPOINT, "http://a/x"), (ENDPOINT, "http://b")]);
        assert!(w.is_empty());
        assert_eq!(c.endpoint(), "https://collector.example:4318/ingest");
        assert_eq!(c.origin_of("endpoint"), Some(Origin::Code));
        // Go's WithEndpointURL: an empty path is the default path.
        let (c, _) = build(ConfigBuilder::new().endpoint("http://h:4318"), &[]);
        assert_eq!(c.endpoint(), "http://h:4318/v1/traces");
        let (c, _) = build(ConfigBuilder::new().endpoint("http://h:4318/"), &[]);
        assert_eq!(c.endpoint(), "http://h:4318/");
    }

    #[test]
    fn invalid_endpoints_warn_and_fall_back() {
        for bad in [
            "localhost:4318",
            "ftp://h/x",
            "http://",
            "http://:80",
            "http://h:0",
            "http://h:99999",
            "http://h:x",
            "http://h h",
        ] {
            let (c, w) = env(&[(ENDPOINT, bad)]);
            let w = one_warning(&w);
            assert_eq!(w.origin, Origin::Env(ENDPOINT), "{bad}");
            assert_eq!(w.value, bad.trim());
            assert!(w.action.contains(DEFAULT_HTTP_ENDPOINT), "{}", w.action);
            assert_eq!(c.endpoint(), DEFAULT_HTTP_ENDPOINT);
            let text = w.to_string();
            assert!(text.starts_with("OTEL_EXPORTER_OTLP_ENDPOINT="), "{text}");
        }
        // An invalid signal-specific endpoint falls through to the base one.
        let (c, w) = env(&[(TRACES_ENDPOINT, "nope"), (ENDPOINT, "http://b:1")]);
        assert_eq!(one_warning(&w).origin, Origin::Env(TRACES_ENDPOINT));
        assert!(
            w[0].action
                .contains("http://b:1/v1/traces (OTEL_EXPORTER_OTLP_ENDPOINT)"),
            "{}",
            w[0].action
        );
        assert_eq!(c.endpoint(), "http://b:1/v1/traces");
        // An invalid code endpoint falls through to the environment.
        let (c, w) = build(
            ConfigBuilder::new().endpoint("not a url"),
            &[(TRACES_ENDPOINT, "http://t/x")],
        );
        assert_eq!(one_warning(&w).origin, Origin::Code);
        assert_eq!(c.endpoint(), "http://t/x");
    }

    #[test]
    fn endpoint_credentials_never_shown() {
        let (c, w) = env(&[(ENDPOINT, "ftp://user:s3cret@h/x?key=s3cret")]);
        assert!(!w[0].to_string().contains("s3cret"), "{}", w[0]);
        assert_eq!(c.endpoint(), DEFAULT_HTTP_ENDPOINT);
        let (c, w) = env(&[(TRACES_ENDPOINT, "https://user:s3cret@h/x?api_key=s3cret")]);
        assert!(w.is_empty());
        assert_eq!(c.endpoint(), "https://user:s3cret@h/x?api_key=s3cret");
        let shown = c.to_string();
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("endpoint = https://****@h/x?****"), "{shown}");
    }

    #[test]
    fn grpc_endpoints() {
        let (c, w) = env(&[(PROTOCOL, "grpc")]);
        assert!(w.is_empty());
        assert_eq!(c.protocol(), Protocol::Grpc);
        assert_eq!(c.endpoint(), "http://localhost:4317");
        let (c, _) = env(&[(PROTOCOL, "grpc"), (ENDPOINT, "https://h:4317")]);
        assert_eq!(c.endpoint(), "https://h:4317");
        let (c, _) = env(&[(TRACES_PROTOCOL, "grpc"), (TRACES_ENDPOINT, "http://h:4317")]);
        assert_eq!(c.endpoint(), "http://h:4317");
        let (c, _) = build(
            ConfigBuilder::new().protocol(Protocol::Grpc).endpoint("http://h:4317"),
            &[],
        );
        assert_eq!(c.endpoint(), "http://h:4317");
    }

    #[test]
    fn protocol_precedence_and_values() {
        let (c, _) = env(&[(PROTOCOL, "http/json")]);
        assert_eq!(c.protocol(), Protocol::HttpJson);
        let (c, _) = env(&[(PROTOCOL, "http/json"), (TRACES_PROTOCOL, "HTTP/PROTOBUF")]);
        assert_eq!(c.protocol(), Protocol::HttpProtobuf);
        assert_eq!(c.origin_of("protocol"), Some(Origin::Env(TRACES_PROTOCOL)));
        let (c, _) = build(
            ConfigBuilder::new().protocol(Protocol::HttpJson),
            &[(TRACES_PROTOCOL, "grpc")],
        );
        assert_eq!(c.protocol(), Protocol::HttpJson);
        assert_eq!(c.endpoint(), DEFAULT_HTTP_ENDPOINT);
        let (c, w) = env(&[(PROTOCOL, "http")]);
        let w = one_warning(&w);
        assert_eq!(
            w.to_string(),
            "OTEL_EXPORTER_OTLP_PROTOCOL=\"http\" is invalid: expected http/protobuf, http/json or grpc; \
             using protocol = http/protobuf (default)"
        );
        assert_eq!(c.protocol(), Protocol::HttpProtobuf);
    }

    #[test]
    fn headers_parsing_and_decoding() {
        let (c, w) = env(&[(
            HEADERS,
            " kf-api-key = abc%3D%3D , x-list=a%2Cb,  Authorization=Bearer%20tok=en ",
        )]);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(
            c.headers(),
            &[
                ("kf-api-key".to_string(), "abc==".to_string()),
                ("x-list".to_string(), "a,b".to_string()),
                ("Authorization".to_string(), "Bearer tok=en".to_string()),
            ]
        );
        // `+` is not a space (path unescaping, as Go).
        let (c, _) = env(&[(HEADERS, "a=x+y")]);
        assert_eq!(c.headers(), &[("a".to_string(), "x+y".to_string())]);
        // Names are not decoded (Go): `%` is a token character.
        let (c, _) = env(&[(HEADERS, "a%2Db=1")]);
        assert_eq!(c.headers(), &[("a%2Db".to_string(), "1".to_string())]);
        // A percent-encoded '=' does not split a pair.
        let (c, w) = env(&[(HEADERS, "kf-api-key%3Dabc")]);
        assert!(c.headers().is_empty());
        assert!(one_warning(&w).problem.contains("no '='"));
        let (c, _) = env(&[(HEADERS, "x=kf-api-key%3Dabc")]);
        assert_eq!(c.headers(), &[("x".to_string(), "kf-api-key=abc".to_string())]);
        // Decoded then trimmed; empty values allowed; empty pairs ignored.
        let (c, w) = env(&[(HEADERS, "a=%20v%20,,b=,")]);
        assert!(w.is_empty());
        assert_eq!(
            c.headers(),
            &[("a".to_string(), "v".to_string()), ("b".to_string(), String::new())]
        );
        // White space decoded from escapes is trimmed too (Go), so it is no injection.
        let (c, w) = env(&[(HEADERS, "a=v%0D%0A")]);
        assert!(w.is_empty());
        assert_eq!(c.headers(), &[("a".to_string(), "v".to_string())]);
        // Repeated name: the last wins, ignoring case.
        let (c, _) = env(&[(HEADERS, "X-A=1,x-a=2")]);
        assert_eq!(c.headers(), &[("X-A".to_string(), "2".to_string())]);
    }

    #[test]
    fn malformed_header_pairs_are_reported_and_skipped_without_secrets() {
        let raw =
            "good=1,Authorization:Bearer s3cret=,nokey-s3cret, =s3cret,bad=%zz-s3cret,crlf=a%0D%0AX-Evil:s3cret,ok=2";
        let (c, w) = env(&[(TRACES_HEADERS, raw)]);
        assert_eq!(
            c.headers(),
            &[
                ("good".to_string(), "1".to_string()),
                ("ok".to_string(), "2".to_string())
            ]
        );
        assert_eq!(w.len(), 5, "{w:#?}");
        for warning in &w {
            let text = warning.to_string();
            assert!(!text.contains("s3cret"), "{text}");
            assert!(
                text.starts_with(
                    "OTEL_EXPORTER_OTLP_TRACES_HEADERS=\"good=****,****,****,****,bad=****,crlf=****,ok=****\""
                ),
                "{text}"
            );
            assert_eq!(warning.setting, "headers");
        }
        assert!(w[0].problem.contains("pair 2"));
        assert!(w[1].problem.contains("pair 3") && w[1].problem.contains("no '='"));
        assert!(w[2].problem.contains("pair 4"));
        assert!(w[3].problem.contains("bad") && w[3].problem.contains("hex"));
        assert!(w[4].problem.contains("control"));
    }

    #[test]
    fn signal_headers_replace_base_headers_like_go() {
        let (c, _) = env(&[(HEADERS, "a=1,b=2"), (TRACES_HEADERS, "b=3")]);
        assert_eq!(c.headers(), &[("b".to_string(), "3".to_string())]);
        assert_eq!(c.origin_of("headers"), Some(Origin::Env(TRACES_HEADERS)));
        let (c, _) = env(&[(HEADERS, "a=1"), (TRACES_HEADERS, "   ")]);
        assert_eq!(c.headers(), &[("a".to_string(), "1".to_string())]);
        // Code headers replace the environment's.
        let b = ConfigBuilder::new().header("c", "%41").header("d", " 4 ");
        let (c, w) = build(b, &[(HEADERS, "a=1"), (TRACES_HEADERS, "b=2")]);
        assert!(w.is_empty());
        assert_eq!(
            c.headers(),
            &[("c".to_string(), "%41".to_string()), ("d".to_string(), "4".to_string())]
        );
        let (c, _) = build(
            ConfigBuilder::new().headers(Vec::<(String, String)>::new()),
            &[(HEADERS, "a=1")],
        );
        assert!(c.headers().is_empty());
        assert_eq!(c.origin_of("headers"), Some(Origin::Code));
        let (c, w) = build(ConfigBuilder::new().header("bad name", "v").header("x", "a\r\nb"), &[]);
        assert!(c.headers().is_empty());
        assert_eq!(w.len(), 2);
        assert!(w.iter().all(|w| w.origin == Origin::Code));
    }

    #[test]
    fn redaction() {
        let (c, _) = env(&[(HEADERS, "kf-api-key=topsecret,x-team=alsosecret")]);
        assert_eq!(c.redacted_headers(), "kf-api-key=****,x-team=****");
        let text = c.to_string();
        assert!(
            text.contains("headers = kf-api-key=****,x-team=**** (OTEL_EXPORTER_OTLP_HEADERS)"),
            "{text}"
        );
        assert!(!text.contains("secret"), "{text}");
        let debug = format!("{c:?}");
        assert!(!debug.contains("secret"), "{debug}");
        let b = ConfigBuilder::new()
            .header("k", "topsecret")
            .endpoint("https://u:topsecret@h/");
        let debug = format!("{b:?}");
        assert!(!debug.contains("topsecret"), "{debug}");
        assert_eq!(Config::default().redacted_headers(), "");
    }

    #[test]
    fn display_lists_every_setting_with_origin() {
        let b = ConfigBuilder::new().max_queue_size(100).max_export_batch_size(50);
        let (c, _) = build(b, &[(COMPRESSION, "gzip"), (SERVICE_NAME, "checkout")]);
        let text = c.to_string();
        for line in [
            "sdk_disabled = false (default)",
            "endpoint = http://localhost:4318/v1/traces (default)",
            "protocol = http/protobuf (default)",
            "headers = (none) (default)",
            "compression = gzip (OTEL_EXPORTER_OTLP_COMPRESSION)",
            "timeout = 10000ms (default)",
            "certificate = (none) (default)",
            "insecure = false (default)",
            "service.name = checkout (OTEL_SERVICE_NAME)",
            "sampler = parentbased_always_on (default)",
            "schedule_delay = 5000ms (default)",
            "export_timeout = 30000ms (default)",
            "max_queue_size = 100 (code)",
            "max_export_batch_size = 50 (code)",
            "max_batch_bytes = 4194304 (default)",
            "attribute_count_limit = 128 (default)",
            "attribute_value_length_limit = none (default)",
            "event_count_limit = 128 (default)",
            "link_count_limit = 128 (default)",
            "event_attribute_count_limit = 128 (default)",
            "link_attribute_count_limit = 128 (default)",
            "retry = enabled, initial_interval 5000ms, max_interval 30000ms, max_elapsed_time 60000ms (default)",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
    }

    #[test]
    fn compression_timeout_tls_insecure() {
        let (c, w) = env(&[(COMPRESSION, "gzip"), (TRACES_COMPRESSION, "none")]);
        assert!(w.is_empty());
        assert_eq!(c.compression(), Compression::None);
        let (c, w) = env(&[(COMPRESSION, "zstd")]);
        assert_eq!(one_warning(&w).origin, Origin::Env(COMPRESSION));
        assert_eq!(c.compression(), Compression::None);
        let (c, _) = env(&[(COMPRESSION, "GZIP")]);
        assert_eq!(c.compression(), Compression::Gzip);

        let (c, _) = env(&[(TIMEOUT, "2500"), (TRACES_TIMEOUT, "1500")]);
        assert_eq!(c.timeout(), Duration::from_millis(1500));
        let (c, w) = env(&[(TRACES_TIMEOUT, "-5"), (TIMEOUT, "2500")]);
        assert_eq!(one_warning(&w).problem, "must not be negative");
        assert_eq!(c.timeout(), Duration::from_millis(2500));
        let (c, _) = env(&[(TIMEOUT, "0")]);
        assert_eq!(c.timeout(), INDEFINITE_TIMEOUT);
        assert!(c.to_string().contains("timeout = indefinite"));
        let (c, _) = build(ConfigBuilder::new().timeout(Duration::ZERO), &[]);
        assert_eq!(c.timeout(), INDEFINITE_TIMEOUT);

        let (c, w) = env(&[
            (CERTIFICATE, "/etc/ca.pem"),
            (TRACES_CLIENT_CERTIFICATE, "/etc/client.pem"),
            (CLIENT_KEY, "/etc/client.key"),
        ]);
        assert!(w.is_empty());
        assert_eq!(c.certificate(), Some("/etc/ca.pem"));
        assert_eq!(c.client_certificate(), Some("/etc/client.pem"));
        assert_eq!(c.client_key(), Some("/etc/client.key"));
        let (c, _) = env(&[(CERTIFICATE, "/a"), (TRACES_CERTIFICATE, "/b")]);
        assert_eq!(c.certificate(), Some("/b"));
        let (c, _) = build(ConfigBuilder::new().certificate("/code"), &[(TRACES_CERTIFICATE, "/b")]);
        assert_eq!(c.certificate(), Some("/code"));
        // A client certificate without a key (or the reverse) is dropped with a warning.
        let (c, w) = env(&[(CLIENT_CERTIFICATE, "/etc/client.pem")]);
        assert_eq!(one_warning(&w).setting, "client_certificate");
        assert_eq!(c.client_certificate(), None);
        let (c, w) = build(ConfigBuilder::new().client_key("/k"), &[]);
        assert_eq!(one_warning(&w).origin, Origin::Code);
        assert_eq!(c.client_key(), None);

        let (c, _) = env(&[(INSECURE, "TRUE")]);
        assert!(c.insecure());
        let (c, _) = env(&[(INSECURE, "true"), (TRACES_INSECURE, "false")]);
        assert!(!c.insecure());
        let (c, w) = env(&[(INSECURE, "true"), (TRACES_INSECURE, "yes")]);
        assert!(!c.insecure(), "an invalid boolean is false and does not fall through");
        assert_eq!(one_warning(&w).origin, Origin::Env(TRACES_INSECURE));
    }

    #[test]
    fn booleans_follow_the_specification() {
        for (v, want, warns) in [
            ("true", true, false),
            ("True", true, false),
            ("TRUE", true, false),
            ("false", false, false),
            ("FALSE", false, false),
            ("", false, false),
            ("1", false, true),
            ("yes", false, true),
            ("on", false, true),
        ] {
            let (c, w) = env(&[(SDK_DISABLED, v)]);
            assert_eq!(c.sdk_disabled(), want, "{v}");
            assert_eq!(!w.is_empty(), warns, "{v}: {w:?}");
            if warns {
                let text = one_warning(&w).to_string();
                assert!(
                    text.contains("OTEL_SDK_DISABLED") && text.contains(v) && text.contains("false"),
                    "{text}"
                );
            }
        }
        let (c, _) = build(ConfigBuilder::new().sdk_disabled(true), &[(SDK_DISABLED, "false")]);
        assert!(c.sdk_disabled());
    }

    #[test]
    fn resource_attributes_and_service_name() {
        let (c, w) = env(&[(
            RESOURCE_ATTRIBUTES,
            "service.name=from-attrs, deployment.environment.name = prod ,note=a%2Cb%3Dc",
        )]);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(c.service_name(), "from-attrs");
        assert_eq!(c.origin_of("service.name"), Some(Origin::Env(RESOURCE_ATTRIBUTES)));
        assert_eq!(
            c.resource_attributes(),
            &[
                ("service.name".to_string(), "from-attrs".to_string()),
                ("deployment.environment.name".to_string(), "prod".to_string()),
                ("note".to_string(), "a,b=c".to_string()),
            ]
        );
        // OTEL_SERVICE_NAME wins over OTEL_RESOURCE_ATTRIBUTES.
        let (c, _) = env(&[(RESOURCE_ATTRIBUTES, "service.name=a"), (SERVICE_NAME, "b")]);
        assert_eq!(c.service_name(), "b");
        assert_eq!(c.resource_attributes().len(), 1);
        // Code wins over both, and code attributes win per key.
        let b = ConfigBuilder::new()
            .service_name("c")
            .resource_attribute("k", "code")
            .resource_attribute("n", "1");
        let (c, _) = build(b, &[(RESOURCE_ATTRIBUTES, "k=env,m=env"), (SERVICE_NAME, "b")]);
        assert_eq!(c.service_name(), "c");
        assert_eq!(
            c.resource_attributes()[1..],
            [
                ("k".to_string(), "code".to_string()),
                ("m".to_string(), "env".to_string()),
                ("n".to_string(), "1".to_string())
            ]
        );
        assert!(c.to_string().contains("resource.k = code (code)"));
        assert!(c.to_string().contains("resource.m = env (OTEL_RESOURCE_ATTRIBUTES)"));
        let (c, _) = build(
            ConfigBuilder::new().resource_attribute("service.name", "attr"),
            &[(SERVICE_NAME, "b")],
        );
        assert_eq!(c.service_name(), "attr");
        // Malformed pairs: reported and skipped; bad escapes keep the raw value (Go).
        let (c, w) = env(&[(RESOURCE_ATTRIBUTES, "a=1,broken,=x,b=%zz")]);
        assert_eq!(w.len(), 3, "{w:#?}");
        assert!(w.iter().all(|w| w.origin == Origin::Env(RESOURCE_ATTRIBUTES)));
        assert_eq!(
            c.resource_attributes()[1..],
            [("a".to_string(), "1".to_string()), ("b".to_string(), "%zz".to_string())]
        );
        assert!(c.service_name().starts_with("unknown_service"));
    }

    #[test]
    fn sampler_from_env() {
        let (c, w) = env(&[(TRACES_SAMPLER, "traceidratio"), (TRACES_SAMPLER_ARG, "0.25")]);
        assert!(w.is_empty());
        assert_eq!(c.sampler(), Sampler::TraceIdRatio(0.25));
        let (c, _) = env(&[
            (TRACES_SAMPLER, "ParentBased_TraceIdRatio"),
            (TRACES_SAMPLER_ARG, " 0.5 "),
        ]);
        assert_eq!(
            c.sampler(),
            Sampler::ParentBased {
                root: RootSampler::TraceIdRatio(0.5)
            }
        );
        assert!(c
            .to_string()
            .contains("sampler = parentbased_traceidratio (ratio 0.5) (OTEL_TRACES_SAMPLER)"));
        let (c, _) = env(&[(TRACES_SAMPLER, "traceidratio")]);
        assert_eq!(c.sampler(), Sampler::TraceIdRatio(1.0));
        for (name, want) in [
            ("always_on", Sampler::AlwaysOn),
            ("always_off", Sampler::AlwaysOff),
            (
                "parentbased_always_on",
                Sampler::ParentBased {
                    root: RootSampler::AlwaysOn,
                },
            ),
            (
                "parentbased_always_off",
                Sampler::ParentBased {
                    root: RootSampler::AlwaysOff,
                },
            ),
        ] {
            let (c, w) = env(&[(TRACES_SAMPLER, name), (TRACES_SAMPLER_ARG, "0.1")]);
            assert!(w.is_empty());
            assert_eq!(c.sampler(), want);
        }
        for bad in ["1.5", "-0.1", "half", "NaN"] {
            let (c, w) = env(&[(TRACES_SAMPLER, "traceidratio"), (TRACES_SAMPLER_ARG, bad)]);
            let w = one_warning(&w);
            assert_eq!(w.origin, Origin::Env(TRACES_SAMPLER_ARG));
            assert_eq!(c.sampler(), Sampler::TraceIdRatio(1.0), "{bad}");
        }
        let (c, w) = env(&[(TRACES_SAMPLER, "jaeger_remote")]);
        assert_eq!(one_warning(&w).origin, Origin::Env(TRACES_SAMPLER));
        assert_eq!(c.sampler(), Sampler::default());
        // The argument alone does nothing.
        let (c, w) = env(&[(TRACES_SAMPLER_ARG, "0.1")]);
        assert!(w.is_empty());
        assert_eq!(c.sampler(), Sampler::default());
        let (c, _) = build(
            ConfigBuilder::new().sampler(Sampler::AlwaysOff),
            &[(TRACES_SAMPLER, "always_on")],
        );
        assert_eq!(c.sampler(), Sampler::AlwaysOff);
    }

    #[test]
    fn batch_settings() {
        let (c, w) = env(&[
            (BSP_SCHEDULE_DELAY, "250"),
            (BSP_EXPORT_TIMEOUT, "1000"),
            (BSP_MAX_QUEUE_SIZE, "4096"),
            (BSP_MAX_EXPORT_BATCH_SIZE, "1024"),
            (MAX_BATCH_BYTES, "1048576"),
        ]);
        assert!(w.is_empty());
        assert_eq!(c.schedule_delay(), Duration::from_millis(250));
        assert_eq!(c.export_timeout(), Duration::from_millis(1000));
        assert_eq!(c.max_queue_size(), 4096);
        assert_eq!(c.max_export_batch_size(), 1024);
        assert_eq!(c.max_batch_bytes(), 1 << 20);
        let (c, _) = env(&[(BSP_SCHEDULE_DELAY, "0"), (BSP_EXPORT_TIMEOUT, "0")]);
        assert_eq!(c.schedule_delay(), Duration::ZERO);
        assert_eq!(c.export_timeout(), INDEFINITE_TIMEOUT);

        for (var, bad) in [
            (BSP_MAX_QUEUE_SIZE, "0"),
            (BSP_MAX_QUEUE_SIZE, "-1"),
            (BSP_MAX_QUEUE_SIZE, "lots"),
            (BSP_MAX_QUEUE_SIZE, "1.5"),
            (BSP_MAX_QUEUE_SIZE, "99999999999999999999999"),
            (BSP_SCHEDULE_DELAY, "5s"),
            (BSP_EXPORT_TIMEOUT, "-30000"),
            (MAX_BATCH_BYTES, "100"),
        ] {
            let (c, w) = env(&[(var, bad)]);
            let w = one_warning(&w);
            assert_eq!(w.origin, Origin::Env(var));
            assert_eq!(w.value, bad);
            assert!(w.action.contains("(default)"), "{w}");
            assert_eq!(c.batch_config(), BatchConfig::default(), "{var}={bad}");
            assert_eq!(c.schedule_delay(), DEFAULT_SCHEDULE_DELAY);
            assert_eq!(c.export_timeout(), DEFAULT_EXPORT_TIMEOUT);
        }
        let (_, w) = env(&[(BSP_MAX_QUEUE_SIZE, "lots")]);
        assert_eq!(
            w[0].to_string(),
            "OTEL_BSP_MAX_QUEUE_SIZE=\"lots\" is invalid: not a whole number; using max_queue_size = 2048 (default)"
        );
    }

    #[test]
    fn batch_size_is_clamped_to_queue_size() {
        let (c, w) = env(&[(BSP_MAX_QUEUE_SIZE, "100"), (BSP_MAX_EXPORT_BATCH_SIZE, "512")]);
        let w = one_warning(&w);
        assert_eq!(w.origin, Origin::Env(BSP_MAX_EXPORT_BATCH_SIZE));
        assert!(w.to_string().contains("larger than max_queue_size = 100"), "{w}");
        assert_eq!(c.max_export_batch_size(), 100);
        assert_eq!(c.max_queue_size(), 100);
        let (c, w) = env(&[(BSP_MAX_QUEUE_SIZE, "100")]); // default 512 > 100
        assert_eq!(one_warning(&w).origin, Origin::Default);
        assert_eq!(c.max_export_batch_size(), 100);
        let (c, w) = build(ConfigBuilder::new().max_export_batch_size(10).max_queue_size(5), &[]);
        assert_eq!(one_warning(&w).origin, Origin::Code);
        assert_eq!(c.max_export_batch_size(), 5);
    }

    #[test]
    fn batch_bytes_ceiling() {
        let (c, w) = env(&[(MAX_BATCH_BYTES, "1000000000")]);
        assert!(one_warning(&w).problem.contains("ceiling"));
        assert_eq!(c.max_batch_bytes(), 64 << 20);
        let (c, w) = build(ConfigBuilder::new().max_batch_bytes(65 << 20), &[]);
        assert_eq!(one_warning(&w).origin, Origin::Code);
        assert_eq!(c.max_batch_bytes(), 64 << 20);
        let (c, _) = env(&[(MAX_BATCH_BYTES, &(64usize << 20).to_string())]);
        assert_eq!(c.max_batch_bytes(), 64 << 20);
    }

    #[test]
    fn span_limits_precedence() {
        let (c, w) = env(&[
            (ATTRIBUTE_COUNT_LIMIT, "10"),
            (ATTRIBUTE_VALUE_LENGTH_LIMIT, "100"),
            (SPAN_EVENT_COUNT_LIMIT, "3"),
            (SPAN_LINK_COUNT_LIMIT, "4"),
        ]);
        assert!(w.is_empty());
        assert_eq!(
            c.span_limits(),
            SpanLimits {
                attribute_count: 10,
                attribute_value_length: Some(100),
                event_count: 3,
                link_count: 4,
                attributes_per_event: 10,
                attributes_per_link: 10,
            }
        );
        let (c, _) = env(&[
            (ATTRIBUTE_COUNT_LIMIT, "10"),
            (SPAN_ATTRIBUTE_COUNT_LIMIT, "20"),
            (EVENT_ATTRIBUTE_COUNT_LIMIT, "5"),
            (LINK_ATTRIBUTE_COUNT_LIMIT, "6"),
            (ATTRIBUTE_VALUE_LENGTH_LIMIT, "100"),
            (SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT, "0"),
        ]);
        let l = c.span_limits();
        assert_eq!(
            (l.attribute_count, l.attributes_per_event, l.attributes_per_link),
            (20, 5, 6)
        );
        assert_eq!(l.attribute_value_length, Some(0));
        assert_eq!(
            c.origin_of("attribute_count_limit"),
            Some(Origin::Env(SPAN_ATTRIBUTE_COUNT_LIMIT))
        );
        // A bad specific value falls through to the general one.
        let (c, w) = env(&[(SPAN_ATTRIBUTE_COUNT_LIMIT, "-1"), (ATTRIBUTE_COUNT_LIMIT, "7")]);
        assert!(
            one_warning(&w).action.contains("7 (OTEL_ATTRIBUTE_COUNT_LIMIT)"),
            "{}",
            w[0]
        );
        assert_eq!(c.span_limits().attribute_count, 7);
        let (c, w) = env(&[(SPAN_LINK_COUNT_LIMIT, "4294967296")]);
        assert!(one_warning(&w).problem.contains("too large"));
        assert_eq!(c.span_limits().link_count, 128);
        // Code wins.
        let b = ConfigBuilder::new()
            .span_limits(SpanLimits::UNLIMITED)
            .event_count_limit(9);
        let (c, _) = build(
            b,
            &[(SPAN_ATTRIBUTE_COUNT_LIMIT, "1"), (ATTRIBUTE_VALUE_LENGTH_LIMIT, "5")],
        );
        assert_eq!(
            c.span_limits(),
            SpanLimits {
                event_count: 9,
                ..SpanLimits::UNLIMITED
            }
        );
        let (c, _) = build(ConfigBuilder::new().attribute_value_length_limit(Some(64)), &[]);
        assert_eq!(c.span_limits().attribute_value_length, Some(64));
    }

    #[test]
    fn retry_is_code_only() {
        let r = RetryConfig {
            enabled: false,
            ..RetryConfig::default()
        };
        let (c, _) = build(ConfigBuilder::new().retry(r), &[]);
        assert_eq!(c.retry(), r);
        assert!(c.to_string().contains("retry = disabled (code)"));
    }

    #[test]
    fn empty_values_are_unset() {
        let all = [
            ENDPOINT,
            TRACES_ENDPOINT,
            HEADERS,
            TRACES_HEADERS,
            PROTOCOL,
            COMPRESSION,
            TIMEOUT,
            INSECURE,
            SERVICE_NAME,
            RESOURCE_ATTRIBUTES,
            SDK_DISABLED,
            TRACES_SAMPLER,
            BSP_MAX_QUEUE_SIZE,
            SPAN_ATTRIBUTE_COUNT_LIMIT,
            MAX_BATCH_BYTES,
        ];
        let pairs: Vec<(&str, &str)> = all.iter().map(|v| (*v, "  ")).collect();
        let (c, w) = env(&pairs);
        assert!(w.is_empty(), "{w:?}");
        let (d, _) = env(&[]);
        assert_eq!(c, d);
    }

    #[test]
    fn hook_receives_each_warning_once() {
        let mut seen = Vec::new();
        let map: HashMap<&str, &str> = [(BSP_MAX_QUEUE_SIZE, "x"), (COMPRESSION, "br")].into_iter().collect();
        let c = ConfigBuilder::new().build_with(
            |k| map.get(k).map(|v| v.to_string()),
            |w| seen.push(w.origin.to_string()),
        );
        assert_eq!(c.max_queue_size(), 2048);
        seen.sort();
        assert_eq!(seen, ["OTEL_BSP_MAX_QUEUE_SIZE", "OTEL_EXPORTER_OTLP_COMPRESSION"]);
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%2Cb%3dc%25").as_deref(), Ok("a,b=c%"));
        assert_eq!(percent_decode("caf%C3%A9").as_deref(), Ok("café"));
        assert_eq!(percent_decode("plain+text").as_deref(), Ok("plain+text"));
        assert!(percent_decode("%").is_err());
        assert!(percent_decode("%4").is_err());
        assert!(percent_decode("%G1").is_err());
        assert!(percent_decode("%FF").is_err());
    }

    #[test]
    fn from_env_reads_the_process_environment() {
        // Only checks that it runs; the process environment is not ours to set.
        let (c, _) = Config::from_env();
        assert!(!c.endpoint().is_empty());
    }

    #[test]
    fn never_panics_on_odd_input() {
        let odd = [
            "=",
            ",",
            "%",
            "%%",
            "==,==",
            "\u{0}",
            "é=é",
            "a=%E9",
            "http://[::1",
            "http://[::1]x",
            "http://@",
            "://",
        ];
        for v in odd {
            let vars = [
                ENDPOINT,
                TRACES_ENDPOINT,
                HEADERS,
                RESOURCE_ATTRIBUTES,
                TRACES_SAMPLER,
                TIMEOUT,
                SERVICE_NAME,
            ];
            let pairs: Vec<(&str, &str)> = vars.iter().map(|k| (*k, v)).collect();
            let (c, _) = env(&pairs);
            let _ = c.to_string();
        }
    }
}
