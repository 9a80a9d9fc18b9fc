//! The log hook: how otlpx tells its host about bad configuration, failed
//! exports and rejected spans.
//!
//! Owns: the levels and the hook type. Must not: log on the hot path (a
//! span is never logged; failures are logged by the exporter thread).
//! Without a hook, warnings and errors go to standard error, as the
//! OpenTelemetry SDKs' default error handlers do.

use std::fmt;
use std::sync::Arc;

/// Severity of a log message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Level {
    /// Something failed: spans were lost or the exporter cannot work.
    Error = 0,
    /// Something is wrong but otlpx carries on (a bad variable, a retry).
    Warn = 1,
    /// Notable events (exporter started, shut down).
    Info = 2,
    /// Details for debugging.
    Debug = 3,
}

impl Level {
    /// Lower-case name.
    pub const fn name(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A host's log function. Called from the thread where the event happens
/// (the caller's thread for configuration, the exporter thread for exports).
pub type LogHook = Arc<dyn Fn(Level, &str) + Send + Sync>;

/// Where log messages go.
#[derive(Clone)]
pub struct Logger {
    hook: Option<LogHook>,
    max_level: Level,
}

impl Default for Logger {
    fn default() -> Self {
        Logger {
            hook: None,
            max_level: Level::Warn,
        }
    }
}

impl fmt::Debug for Logger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Logger")
            .field("hook", &self.hook.is_some())
            .field("max_level", &self.max_level)
            .finish()
    }
}

impl Logger {
    /// Messages up to `max_level` go to `hook`.
    pub fn new(hook: LogHook, max_level: Level) -> Self {
        Logger {
            hook: Some(hook),
            max_level,
        }
    }
    /// Drops every message.
    pub fn silent() -> Self {
        Logger::new(Arc::new(|_, _| {}), Level::Error)
    }
    /// True when a message at `level` would be delivered.
    pub fn enabled(&self, level: Level) -> bool {
        level <= self.max_level
    }
    /// Delivers `msg` at `level`.
    pub fn log(&self, level: Level, msg: &str) {
        if !self.enabled(level) {
            return;
        }
        match &self.hook {
            Some(h) => h(level, msg),
            // wasm hosts always set a hook (there is no stderr there).
            #[cfg(not(target_family = "wasm"))]
            None => eprintln!("otlpx {level}: {msg}"),
            #[cfg(target_family = "wasm")]
            None => {}
        }
    }
    /// An error.
    pub fn error(&self, msg: &str) {
        self.log(Level::Error, msg)
    }
    /// A warning.
    pub fn warn(&self, msg: &str) {
        self.log(Level::Warn, msg)
    }
    /// Information.
    pub fn info(&self, msg: &str) {
        self.log(Level::Info, msg)
    }
}
