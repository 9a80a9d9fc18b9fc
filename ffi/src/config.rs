//! `otlpx_config`: the exporter configuration builder of the C ABI, and the
//! two host callbacks (log, send).
//!
//! Owns: translating C setters into core's `ConfigBuilder` (code settings,
//! which win over the environment as in the Go SDK), the per-config
//! environment overrides, and the C callback types.
//! Must not: parse or default any setting itself (core's config does).

use std::collections::HashMap;
use std::os::raw::c_char;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use otlpx_core::config::{Compression, Config, ConfigBuilder, ConfigWarning, Protocol, RetryConfig};
use otlpx_core::log::{Level, Logger};
use otlpx_core::sampler::Sampler;

use crate::{ffi_boundary, otlpx_result, str_arg, tri, write_string};

/// Severity of a log message (`otlpx_log_callback`'s `level`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum otlpx_log_level {
    /// Something failed: spans were lost or the exporter cannot work.
    Error = 0,
    /// Something is wrong but otlpx carries on (a bad variable, a retry).
    Warn = 1,
    /// Notable events (exporter started, shut down).
    Info = 2,
    /// Details for debugging.
    Debug = 3,
}

/// Receives otlpx's log messages (configuration warnings, export errors).
/// `message` is UTF-8, not NUL-terminated, valid only during the call.
///
/// Runs on the thread that creates the exporter (configuration warnings) and
/// on the exporter's background thread (export errors), so it must be
/// thread-safe. It must not call back into the same exporter's
/// `force_flush`, `shutdown` or `free`.
pub type otlpx_log_callback = Option<
    unsafe extern "C" fn(userdata: *mut std::ffi::c_void, level: u32, message: *const c_char, message_len: usize),
>;

/// One HTTP header of an export request.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct otlpx_header {
    /// The header name, UTF-8.
    pub name: *const c_char,
    /// Bytes in `name`.
    pub name_len: usize,
    /// The header value, UTF-8.
    pub value: *const c_char,
    /// Bytes in `value`.
    pub value_len: usize,
}

/// An export request handed to an `otlpx_send_callback`. Everything is
/// borrowed for the duration of the callback.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct otlpx_export_request {
    /// The configured endpoint URL (e.g. `http://localhost:4318/v1/traces`).
    pub url: *const c_char,
    /// Bytes in `url`.
    pub url_len: usize,
    /// The configured headers (`OTEL_EXPORTER_OTLP_HEADERS` and code),
    /// not including Content-Type and Content-Encoding.
    pub headers: *const otlpx_header,
    /// Elements in `headers`.
    pub headers_len: usize,
    /// The request body: an encoded `ExportTraceServiceRequest`, gzipped when
    /// `content_encoding` is "gzip".
    pub body: *const u8,
    /// Bytes in `body`.
    pub body_len: usize,
    /// `application/x-protobuf` or `application/json`.
    pub content_type: *const c_char,
    /// Bytes in `content_type`.
    pub content_type_len: usize,
    /// "gzip", or NULL (length 0) when the body is not compressed.
    pub content_encoding: *const c_char,
    /// Bytes in `content_encoding`.
    pub content_encoding_len: usize,
    /// How long this one attempt may take, in milliseconds.
    pub timeout_ms: u64,
    /// Spans in the request.
    pub spans: usize,
}

/// What an `otlpx_send_callback` reports.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum otlpx_send_result {
    /// The receiver answered; the response holds its status (and optionally
    /// `Retry-After` and body). otlpx applies the OTLP/HTTP rules to it.
    Ok = 0,
    /// Could not connect (refused, DNS, TLS handshake). Retried.
    ConnectError = 1,
    /// The attempt timed out. Retried.
    Timeout = 2,
    /// Any other failure. Not retried; the batch is dropped as `export_failed`.
    Error = 3,
}

/// Sends one export request and reports the outcome; otlpx decides about
/// retries, backoff and `Retry-After` from what the callback reports.
/// Returns an `otlpx_send_result`; with `OTLPX_SEND_RESULT_OK` it must have
/// set the response status with `otlpx_export_response_set_status`.
///
/// Runs on the exporter's background thread, one call at a time per
/// exporter. It may block up to `request->timeout_ms`. It must not call the
/// same exporter's `force_flush`, `shutdown` or `free`.
pub type otlpx_send_callback = Option<
    unsafe extern "C" fn(
        userdata: *mut std::ffi::c_void,
        request: *const otlpx_export_request,
        response: *mut otlpx_export_response,
    ) -> u32,
>;

/// The response an `otlpx_send_callback` fills in (opaque; use the
/// `otlpx_export_response_set_*` functions).
pub struct otlpx_export_response {
    pub(crate) status: u16,
    pub(crate) retry_after: Option<String>,
    pub(crate) body: Vec<u8>,
    pub(crate) error: Option<String>,
}

/// A userdata pointer the host promises is usable from the exporter thread.
#[derive(Clone, Copy)]
pub(crate) struct UserData(pub(crate) *mut std::ffi::c_void);
// SAFETY: the callback contracts above require the host's callbacks and their
// userdata to be usable from any thread.
unsafe impl Send for UserData {}
// SAFETY: as above.
unsafe impl Sync for UserData {}

#[derive(Clone)]
pub(crate) struct LogCallback {
    pub(crate) f: unsafe extern "C" fn(*mut std::ffi::c_void, u32, *const c_char, usize),
    pub(crate) userdata: UserData,
    pub(crate) max_level: Level,
}

impl LogCallback {
    fn call(&self, level: Level, msg: &str) {
        // SAFETY: the host's callback contract (thread-safe, userdata valid).
        unsafe { (self.f)(self.userdata.0, level as u32, msg.as_ptr().cast(), msg.len()) }
    }
}

#[derive(Clone)]
pub(crate) struct SendCallback {
    pub(crate) f:
        unsafe extern "C" fn(*mut std::ffi::c_void, *const otlpx_export_request, *mut otlpx_export_response) -> u32,
    pub(crate) userdata: UserData,
}

impl SendCallback {
    pub(crate) fn call(&self, request: &otlpx_export_request, response: &mut otlpx_export_response) -> u32 {
        // SAFETY: the host's callback contract; the request's pointers live until it returns.
        unsafe { (self.f)(self.userdata.0, request, response) }
    }
}

/// An exporter configuration under construction. Create with
/// `otlpx_config_new`, set what the code decides, pass to
/// `otlpx_exporter_new`, release with `otlpx_config_free`.
///
/// Settings made here win over the environment (`OTEL_*` variables), which
/// win over the defaults, as in the OpenTelemetry Go SDK. Not thread-safe:
/// use one config from one thread at a time (it may be used for several
/// exporters, one after the other).
#[derive(Clone)]
pub struct otlpx_config {
    pub(crate) builder: ConfigBuilder,
    pub(crate) env: HashMap<String, String>,
    pub(crate) process_env: bool,
    pub(crate) log: Option<LogCallback>,
    pub(crate) send: Option<SendCallback>,
    pub(crate) scope: Option<(String, String)>,
    pub(crate) sdk_language: String,
}

impl Default for otlpx_config {
    fn default() -> Self {
        otlpx_config {
            builder: ConfigBuilder::new(),
            env: HashMap::new(),
            process_env: true,
            log: None,
            send: None,
            scope: None,
            sdk_language: "c".into(),
        }
    }
}

impl otlpx_config {
    /// Resolves the configuration: code settings, then this config's
    /// environment overrides, then (unless ignored) the process environment.
    pub(crate) fn resolve(&self) -> (Config, Vec<ConfigWarning>) {
        self.builder.build_from_lookup(|name| {
            self.env.get(name).cloned().or_else(|| {
                if self.process_env {
                    std::env::var(name).ok()
                } else {
                    None
                }
            })
        })
    }

    /// The logger the callbacks describe (standard error without one).
    pub(crate) fn logger(&self, closed: Arc<AtomicBool>) -> Logger {
        match &self.log {
            None => Logger::default(),
            Some(cb) => {
                let max_level = cb.max_level;
                let cb = cb.clone();
                Logger::new(
                    Arc::new(move |level: Level, msg: &str| {
                        if closed.load(Ordering::Acquire) {
                            return;
                        }
                        cb.call(level, msg)
                    }),
                    max_level,
                )
            }
        }
    }
}

fn config_mut<'a>(cfg: *mut otlpx_config) -> Result<&'a mut otlpx_config, otlpx_result> {
    // SAFETY: a non-null config pointer comes from otlpx_config_new (caller's contract).
    unsafe { cfg.as_mut() }.ok_or(otlpx_result::NullParameter)
}

/// Applies `f` to the builder.
fn with_builder(cfg: *mut otlpx_config, f: impl FnOnce(ConfigBuilder) -> ConfigBuilder) -> otlpx_result {
    let cfg = tri!(config_mut(cfg));
    let b = std::mem::take(&mut cfg.builder);
    cfg.builder = f(b);
    otlpx_result::Ok
}

/// Creates an empty configuration: everything from the environment and the
/// specification's defaults until set. Writes it to `*out`.
///
/// Thread safety: callable from any thread.
#[no_mangle]
pub unsafe extern "C" fn otlpx_config_new(out: *mut *mut otlpx_config) -> otlpx_result {
    ffi_boundary!({
        if out.is_null() {
            return otlpx_result::NullParameter;
        }
        let cfg = Box::into_raw(Box::new(otlpx_config::default()));
        // SAFETY: out checked non-null.
        unsafe { *out = cfg };
        otlpx_result::Ok
    })
}

/// Releases a configuration. NULL does nothing. Exporters built from it are
/// not affected.
///
/// Thread safety: not concurrently with other calls on the same config.
#[no_mangle]
pub unsafe extern "C" fn otlpx_config_free(cfg: *mut otlpx_config) {
    let _ = ffi_boundary!({
        if !cfg.is_null() {
            // SAFETY: a non-null pointer from otlpx_config_new, freed once (caller's contract).
            drop(unsafe { Box::from_raw(cfg) });
        }
        otlpx_result::Ok
    });
}

/// Sets an environment variable for this configuration only, as if the
/// process environment held `name=value` (it overrides the real one). Every
/// `OTEL_*` variable the exporter reads is accepted, with its usual meaning
/// and precedence (a code setting still wins).
///
/// Thread safety: not concurrently with other calls on the same config.
#[no_mangle]
pub unsafe extern "C" fn otlpx_config_set_env(
    cfg: *mut otlpx_config,
    name: *const c_char,
    name_len: usize,
    value: *const c_char,
    value_len: usize,
) -> otlpx_result {
    ffi_boundary!({
        let cfg = tri!(config_mut(cfg));
        let name = tri!(unsafe { str_arg(name, name_len) });
        let value = tri!(unsafe { str_arg(value, value_len) });
        if name.is_empty() {
            return otlpx_result::InvalidArgument;
        }
        cfg.env.insert(name.to_owned(), value.to_owned());
        otlpx_result::Ok
    })
}

/// With `ignore` non-zero, the process environment is not read: only code
/// settings and `otlpx_config_set_env` values count (tests, sandboxes).
///
/// Thread safety: not concurrently with other calls on the same config.
#[no_mangle]
pub unsafe extern "C" fn otlpx_config_ignore_process_env(cfg: *mut otlpx_config, ignore: u8) -> otlpx_result {
    ffi_boundary!({
        let cfg = tri!(config_mut(cfg));
        cfg.process_env = ignore == 0;
        otlpx_result::Ok
    })
}

/// Applies a string setting (cbindgen does not expand macros, so each
/// setter below is written out and calls this).
unsafe fn string_setting(
    cfg: *mut otlpx_config,
    value: *const c_char,
    value_len: usize,
    f: impl FnOnce(ConfigBuilder, String) -> ConfigBuilder,
) -> otlpx_result {
    ffi_boundary!({
        let v = tri!(unsafe { str_arg(value, value_len) }).to_owned();
        with_builder(cfg, |b| f(b, v))
    })
}

/// The full endpoint URL, used as given (like Go's `WithEndpointURL`;
/// an empty path becomes `/v1/traces`). Overrides
/// `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` and `OTEL_EXPORTER_OTLP_ENDPOINT`.
///
/// Thread safety: not concurrently with other calls on the same config.
#[no_mangle]
pub unsafe extern "C" fn otlpx_config_set_endpoint(
    cfg: *mut otlpx_config,
    value: *const c_char,
    value_len: usize,
) -> otlpx_result {
    unsafe { string_setting(cfg, value, value_len, |b, v| b.endpoint(v)) }
}

/// `service.name` (overrides `OTEL_SERVICE_NAME`).
///
/// Thread safety: not concurrently with other calls on the same config.
#[no_mangle]
pub unsafe extern "C" fn otlpx_config_set_service_name(
    cfg: *mut otlpx_config,
    value: *const c_char,
    value_len: usize,
) -> otlpx_result {
    unsafe { string_setting(cfg, value, value_len, |b, v| b.service_name(v)) }
}

/// A PEM file of CA certificates to trust instead of the system roots
/// (`OTEL_EXPORTER_OTLP_CERTIFICATE`).
///
/// Thread safety: not concurrently with other calls on the same config.
#[no_mangle]
pub unsafe extern "C" fn otlpx_config_set_certificate(
    cfg: *mut otlpx_config,
    value: *const c_char,
    value_len: usize,
) -> otlpx_result {
    unsafe { string_setting(cfg, value, value_len, |b, v| b.certificate(v)) }
}

/// A PEM client certificate for mTLS (`OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`).
///
/// Thread safety: not concurrently with other calls on the same config.
#[no_mangle]
pub unsafe extern "C" fn otlpx_config_set_client_certificate(
    cfg: *mut otlpx_config,
    value: *const c_char,
    value_len: usize,
) -> otlpx_result {
    unsafe { string_setting(cfg, value, value_len, |b, v| b.client_certificate(v)) }
}

/// The PEM private key of the client certificate (`OTEL_EXPORTER_OTLP_CLIENT_KEY`).
///
/// Thread safety: not concurrently with other calls on the same config.
#[no_mangle]
pub unsafe extern "C" fn otlpx_config_set_client_key(
    cfg: *mut otlpx_config,
    value: *const c_char,
    value_len: usize,
) -> otlpx_result {
    unsafe { string_setting(cfg, value, value_len, |b, v| b.client_key(v)) }
}

/// Adds a header sent with every export request (like Go's `WithHeaders`),
/// e.g. `kf-api-key`. As in the Go SDK, headers added in code replace
/// `OTEL_EXPORTER_OTLP_HEADERS` and `OTEL_EXPORTER_OTLP_TRACES_HEADERS` as a
/// whole (they are not merged per name).
///
/// Thread safety: not concurrently with other calls on the same config.
#[no_mangle]
pub unsafe extern "C" fn otlpx_config_add_header(
    cfg: *mut otlpx_config,
    name: *const c_char,
    name_len: usize,
    value: *const c_char,
    value_len: usize,
) -> otlpx_result {
    ffi_boundary!({
        let name = tri!(unsafe { str_arg(name, name_len) }).to_owned();
        let value = tri!(unsafe { str_arg(value, value_len) }).to_owned();
        if name.is_empty() {
            return otlpx_result::InvalidArgument;
        }
        with_builder(cfg, |b| b.header(name, value))
    })
}

/// Adds a resource attribute (string), e.g. `deployment.environment.name`.
/// Code attributes win over `OTEL_RESOURCE_ATTRIBUTES` for the same key.
///
/// Thread safety: not concurrently with other calls on the same config.
#[no_mangle]
pub unsafe extern "C" fn otlpx_config_add_resource_attribute(
    cfg: *mut otlpx_config,
    key: *const c_char,
    key_len: usize,
    value: *const c_char,
    value_len: usize,
) -> otlpx_result {
    ffi_boundary!({
        let key = tri!(unsafe { str_arg(key, key_len) }).to_owned();
        let value = tri!(unsafe { str_arg(value, value_len) }).to_owned();
        if key.is_empty() {
            return otlpx_result::InvalidArgument;
        }
        with_builder(cfg, |b| b.resource_attribute(key, value))
    })
}

/// The protocol: "http/protobuf" or "http/json" ("grpc" is accepted here and
/// refused with `OTLPX_RESULT_UNSUPPORTED` by `otlpx_exporter_new` until the
/// gRPC transport lands). Anything else: `OTLPX_RESULT_INVALID_ARGUMENT`.
///
/// Thread safety: not concurrently with other calls on the same config.
#[no_mangle]
pub unsafe extern "C" fn otlpx_config_set_protocol(
    cfg: *mut otlpx_config,
    protocol: *const c_char,
    protocol_len: usize,
) -> otlpx_result {
    ffi_boundary!({
        let p = tri!(unsafe { str_arg(protocol, protocol_len) });
        let Some(p) = Protocol::parse(p) else {
            return otlpx_result::InvalidArgument;
        };
        with_builder(cfg, |b| b.protocol(p))
    })
}

/// Compression: "gzip" or "none". Anything else: `OTLPX_RESULT_INVALID_ARGUMENT`.
///
/// Thread safety: not concurrently with other calls on the same config.
#[no_mangle]
pub unsafe extern "C" fn otlpx_config_set_compression(
    cfg: *mut otlpx_config,
    compression: *const c_char,
    compression_len: usize,
) -> otlpx_result {
    ffi_boundary!({
        let c = tri!(unsafe { str_arg(compression, compression_len) });
        let Some(c) = Compression::parse(c) else {
            return otlpx_result::InvalidArgument;
        };
        with_builder(cfg, |b| b.compression(c))
    })
}

/// The sampler, by its `OTEL_TRACES_SAMPLER` name (`always_on`,
/// `always_off`, `traceidratio`, `parentbased_always_on`,
/// `parentbased_always_off`, `parentbased_traceidratio`); `ratio` (0..1) is
/// used by the ratio samplers. Unknown name or bad ratio:
/// `OTLPX_RESULT_INVALID_ARGUMENT`.
///
/// Thread safety: not concurrently with other calls on the same config.
#[no_mangle]
pub unsafe extern "C" fn otlpx_config_set_sampler(
    cfg: *mut otlpx_config,
    name: *const c_char,
    name_len: usize,
    ratio: f64,
) -> otlpx_result {
    ffi_boundary!({
        let name = tri!(unsafe { str_arg(name, name_len) });
        if !(0.0..=1.0).contains(&ratio) {
            return otlpx_result::InvalidArgument;
        }
        let Some(s) = Sampler::from_env_name(name, ratio) else {
            return otlpx_result::InvalidArgument;
        };
        with_builder(cfg, |b| b.sampler(s))
    })
}

/// Which duration `otlpx_config_set_duration_ms` sets.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum otlpx_duration {
    /// Per-request timeout (`OTEL_EXPORTER_OTLP_TIMEOUT`, default 10000).
    Timeout = 0,
    /// Delay between scheduled exports (`OTEL_BSP_SCHEDULE_DELAY`, default 5000).
    ScheduleDelay = 1,
    /// Time for one batch's whole export, retries included
    /// (`OTEL_BSP_EXPORT_TIMEOUT`, default 30000).
    ExportTimeout = 2,
}

/// Sets a duration in milliseconds (see `otlpx_duration`).
///
/// Thread safety: not concurrently with other calls on the same config.
#[no_mangle]
pub unsafe extern "C" fn otlpx_config_set_duration_ms(cfg: *mut otlpx_config, which: u32, ms: u64) -> otlpx_result {
    ffi_boundary!({
        let d = Duration::from_millis(ms);
        match which {
            0 => with_builder(cfg, |b| b.timeout(d)),
            1 => with_builder(cfg, |b| b.schedule_delay(d)),
            2 => with_builder(cfg, |b| b.export_timeout(d)),
            _ => otlpx_result::InvalidArgument,
        }
    })
}

/// Which size or limit `otlpx_config_set_limit` sets.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum otlpx_limit {
    /// Spans the queue holds (`OTEL_BSP_MAX_QUEUE_SIZE`, default 2048).
    MaxQueueSize = 0,
    /// Spans per export request (`OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, default 512).
    MaxExportBatchSize = 1,
    /// Bytes per export request (`OTLPX_MAX_BATCH_BYTES`, default 4 MiB, at most 64 MiB).
    MaxBatchBytes = 2,
    /// Attributes per span (`OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`, default 128).
    AttributeCount = 3,
    /// Characters per string attribute value
    /// (`OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT`); a negative value means no limit (the default).
    AttributeValueLength = 4,
    /// Events per span (`OTEL_SPAN_EVENT_COUNT_LIMIT`, default 128).
    EventCount = 5,
    /// Links per span (`OTEL_SPAN_LINK_COUNT_LIMIT`, default 128).
    LinkCount = 6,
    /// Attributes per event (`OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT`, default 128).
    AttributesPerEvent = 7,
    /// Attributes per link (`OTEL_LINK_ATTRIBUTE_COUNT_LIMIT`, default 128).
    AttributesPerLink = 8,
}

/// Sets a size or span limit (see `otlpx_limit`). Values out of range for the
/// setting: `OTLPX_RESULT_INVALID_ARGUMENT`; values the exporter cannot use
/// (e.g. a batch larger than the queue) are reported through the log
/// callback when the exporter is built, and the default is used.
///
/// Thread safety: not concurrently with other calls on the same config.
#[no_mangle]
pub unsafe extern "C" fn otlpx_config_set_limit(cfg: *mut otlpx_config, which: u32, value: i64) -> otlpx_result {
    ffi_boundary!({
        if which == otlpx_limit::AttributeValueLength as u32 {
            let v = if value < 0 {
                None
            } else {
                Some(tri!(u32::try_from(value).map_err(|_| otlpx_result::InvalidArgument)))
            };
            return with_builder(cfg, |b| b.attribute_value_length_limit(v));
        }
        let Ok(n) = u32::try_from(value) else {
            return otlpx_result::InvalidArgument;
        };
        let size = n as usize;
        match which {
            0 => with_builder(cfg, |b| b.max_queue_size(size)),
            1 => with_builder(cfg, |b| b.max_export_batch_size(size)),
            2 => with_builder(cfg, |b| b.max_batch_bytes(size)),
            3 => with_builder(cfg, |b| b.attribute_count_limit(n)),
            5 => with_builder(cfg, |b| b.event_count_limit(n)),
            6 => with_builder(cfg, |b| b.link_count_limit(n)),
            7 => with_builder(cfg, |b| b.event_attribute_count_limit(n)),
            8 => with_builder(cfg, |b| b.link_attribute_count_limit(n)),
            _ => otlpx_result::InvalidArgument,
        }
    })
}

/// Retry settings for failed exports. Defaults are the Go SDK's: enabled,
/// 5000 ms initial interval, 30000 ms max interval, 60000 ms max elapsed
/// (0 = no limit but the export timeout).
///
/// Thread safety: not concurrently with other calls on the same config.
#[no_mangle]
pub unsafe extern "C" fn otlpx_config_set_retry(
    cfg: *mut otlpx_config,
    enabled: u8,
    initial_interval_ms: u64,
    max_interval_ms: u64,
    max_elapsed_ms: u64,
) -> otlpx_result {
    ffi_boundary!({
        let retry = RetryConfig {
            enabled: enabled != 0,
            initial_interval: Duration::from_millis(initial_interval_ms),
            max_interval: Duration::from_millis(max_interval_ms),
            max_elapsed_time: Duration::from_millis(max_elapsed_ms),
        };
        with_builder(cfg, |b| b.retry(retry))
    })
}

/// With `insecure` non-zero, plain HTTP is allowed for an endpoint without
/// a scheme (`OTEL_EXPORTER_OTLP_INSECURE`).
///
/// Thread safety: not concurrently with other calls on the same config.
#[no_mangle]
pub unsafe extern "C" fn otlpx_config_set_insecure(cfg: *mut otlpx_config, insecure: u8) -> otlpx_result {
    ffi_boundary!(with_builder(cfg, |b| b.insecure(insecure != 0)))
}

/// With `disabled` non-zero the exporter exports nothing and counts every
/// span as dropped (`disabled`), like `OTEL_SDK_DISABLED=true`.
///
/// Thread safety: not concurrently with other calls on the same config.
#[no_mangle]
pub unsafe extern "C" fn otlpx_config_set_sdk_disabled(cfg: *mut otlpx_config, disabled: u8) -> otlpx_result {
    ffi_boundary!(with_builder(cfg, |b| b.sdk_disabled(disabled != 0)))
}

/// The default instrumentation scope's name and version (default "otlpx"
/// and the otlpx version); see `otlpx_exporter_default_scope`.
///
/// Thread safety: not concurrently with other calls on the same config.
#[no_mangle]
pub unsafe extern "C" fn otlpx_config_set_default_scope(
    cfg: *mut otlpx_config,
    name: *const c_char,
    name_len: usize,
    version: *const c_char,
    version_len: usize,
) -> otlpx_result {
    ffi_boundary!({
        let cfg = tri!(config_mut(cfg));
        let name = tri!(unsafe { str_arg(name, name_len) }).to_owned();
        let version = tri!(unsafe { str_arg(version, version_len) }).to_owned();
        cfg.scope = Some((name, version));
        otlpx_result::Ok
    })
}

/// The `telemetry.sdk.language` resource attribute (default "c"; the Go
/// package sets "go").
///
/// Thread safety: not concurrently with other calls on the same config.
#[no_mangle]
pub unsafe extern "C" fn otlpx_config_set_sdk_language(
    cfg: *mut otlpx_config,
    language: *const c_char,
    language_len: usize,
) -> otlpx_result {
    ffi_boundary!({
        let cfg = tri!(config_mut(cfg));
        let language = tri!(unsafe { str_arg(language, language_len) });
        if language.is_empty() {
            return otlpx_result::InvalidArgument;
        }
        cfg.sdk_language = language.to_owned();
        otlpx_result::Ok
    })
}

/// Sends log messages up to `max_level` (an `otlpx_log_level`) to
/// `callback` instead of standard error. A NULL callback restores standard
/// error. See `otlpx_log_callback` for the threads it runs on.
///
/// Thread safety: not concurrently with other calls on the same config.
#[no_mangle]
pub unsafe extern "C" fn otlpx_config_set_log_callback(
    cfg: *mut otlpx_config,
    callback: otlpx_log_callback,
    userdata: *mut std::ffi::c_void,
    max_level: u32,
) -> otlpx_result {
    ffi_boundary!({
        let cfg = tri!(config_mut(cfg));
        let max_level = match max_level {
            0 => Level::Error,
            1 => Level::Warn,
            2 => Level::Info,
            3 => Level::Debug,
            _ => return otlpx_result::InvalidArgument,
        };
        cfg.log = callback.map(|f| LogCallback {
            f,
            userdata: UserData(userdata),
            max_level,
        });
        otlpx_result::Ok
    })
}

/// Hands every export request to `callback` instead of otlpx's own HTTP
/// client, so the host sends the bytes itself (its own HTTP stack, a proxy,
/// a test). otlpx still batches, encodes, compresses, retries and counts.
/// A NULL callback restores the built-in HTTP transport.
///
/// Thread safety: not concurrently with other calls on the same config.
#[no_mangle]
pub unsafe extern "C" fn otlpx_config_set_send_callback(
    cfg: *mut otlpx_config,
    callback: otlpx_send_callback,
    userdata: *mut std::ffi::c_void,
) -> otlpx_result {
    ffi_boundary!({
        let cfg = tri!(config_mut(cfg));
        cfg.send = callback.map(|f| SendCallback {
            f,
            userdata: UserData(userdata),
        });
        otlpx_result::Ok
    })
}

/// Writes the effective configuration (code, this config's environment
/// overrides, the process environment, defaults), one `name = value
/// (origin)` line per setting, secrets redacted (`kf-api-key=****`).
/// Configuration warnings go to the log callback. On OK and on
/// `OTLPX_RESULT_BUFFER_TOO_SMALL`, `*out_len` receives the full length; a
/// NUL is appended when `buf_len` leaves room.
///
/// Thread safety: not concurrently with other calls on the same config.
#[no_mangle]
pub unsafe extern "C" fn otlpx_config_to_string(
    cfg: *const otlpx_config,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> otlpx_result {
    ffi_boundary!({
        // SAFETY: a non-null config pointer comes from otlpx_config_new.
        let Some(cfg) = (unsafe { cfg.as_ref() }) else {
            return otlpx_result::NullParameter;
        };
        let (config, warnings) = cfg.resolve();
        let logger = cfg.logger(Arc::new(AtomicBool::new(false)));
        for w in &warnings {
            logger.warn(&w.to_string());
        }
        unsafe { write_string(&config.to_string(), buf, buf_len, out_len) }
    })
}

/// Sets the status code of the response (HTTP status, e.g. 200, 503).
///
/// Thread safety: only inside the send callback that received `response`.
#[no_mangle]
pub unsafe extern "C" fn otlpx_export_response_set_status(
    response: *mut otlpx_export_response,
    status: u16,
) -> otlpx_result {
    ffi_boundary!({
        // SAFETY: the pointer handed to the send callback.
        let Some(r) = (unsafe { response.as_mut() }) else {
            return otlpx_result::NullParameter;
        };
        if !(100..=999).contains(&status) {
            return otlpx_result::InvalidArgument;
        }
        r.status = status;
        otlpx_result::Ok
    })
}

/// Sets the response's `Retry-After` header value as received (seconds or
/// an HTTP-date; otlpx parses it).
///
/// Thread safety: only inside the send callback that received `response`.
#[no_mangle]
pub unsafe extern "C" fn otlpx_export_response_set_retry_after(
    response: *mut otlpx_export_response,
    value: *const c_char,
    value_len: usize,
) -> otlpx_result {
    ffi_boundary!({
        // SAFETY: the pointer handed to the send callback.
        let Some(r) = (unsafe { response.as_mut() }) else {
            return otlpx_result::NullParameter;
        };
        let v = tri!(unsafe { str_arg(value, value_len) });
        r.retry_after = Some(v.to_owned());
        otlpx_result::Ok
    })
}

/// Largest response body otlpx keeps (the rest is ignored).
const MAX_RESPONSE_BODY: usize = 64 << 10;

/// Sets the response body (an `ExportTraceServiceResponse` for a 2xx, a
/// `google.rpc.Status` for an error), copied; at most 64 KiB are kept.
///
/// Thread safety: only inside the send callback that received `response`.
#[no_mangle]
pub unsafe extern "C" fn otlpx_export_response_set_body(
    response: *mut otlpx_export_response,
    body: *const u8,
    body_len: usize,
) -> otlpx_result {
    ffi_boundary!({
        // SAFETY: the pointer handed to the send callback.
        let Some(r) = (unsafe { response.as_mut() }) else {
            return otlpx_result::NullParameter;
        };
        let b = tri!(unsafe { crate::bytes_arg(body, body_len) });
        r.body.clear();
        r.body.extend_from_slice(&b[..b.len().min(MAX_RESPONSE_BODY)]);
        otlpx_result::Ok
    })
}

/// Sets an error message describing a failed attempt (with a non-OK
/// `otlpx_send_result`), for the log and the stats' last error.
///
/// Thread safety: only inside the send callback that received `response`.
#[no_mangle]
pub unsafe extern "C" fn otlpx_export_response_set_error(
    response: *mut otlpx_export_response,
    message: *const c_char,
    message_len: usize,
) -> otlpx_result {
    ffi_boundary!({
        // SAFETY: the pointer handed to the send callback.
        let Some(r) = (unsafe { response.as_mut() }) else {
            return otlpx_result::NullParameter;
        };
        let m = tri!(unsafe { str_arg(message, message_len) });
        r.error = Some(m.chars().take(1024).collect());
        otlpx_result::Ok
    })
}
