//! How the command talks to its user: standard output for results, standard error for warnings and
//! errors (`otlpx warning: ...`, `otlpx error: ...`), the exit statuses, and the logger handed to the
//! exporter.
//!
//! Owns: formats and exit codes. Must not: panic when a pipe closes (`otlpx receive | head`): every write
//! here ignores its error instead of panicking as `println!` would.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use otlpx_core::log::{Level, Logger};

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything worked (exit status 0).
    Success,
    /// Spans were lost, a deadline passed, or the receiver could not start (exit status 1).
    Failure,
    /// Bad usage or a configuration that cannot work (exit status 2, as for a usage error).
    Usage,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(match e {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Usage => 2,
        })
    }
}

/// Writes a line to standard output, ignoring a closed pipe.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// Writes `otlpx error: ...` to standard error.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::output::stderr_line(otlpx_core::log::Level::Error, &format!($($arg)*))
    };
}

pub(crate) use {errln, outln};

/// The word a level is printed with.
fn level_word(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warn => "warning",
        Level::Info => "info",
        Level::Debug => "debug",
    }
}

/// Writes `otlpx LEVEL: msg` to standard error.
pub fn stderr_line(level: Level, msg: &str) {
    let _ = writeln!(std::io::stderr().lock(), "otlpx {}: {msg}", level_word(level));
}

/// The exporter's logger: warnings and errors to standard error as `otlpx warning: ...`.
pub fn stderr_logger() -> Logger {
    Logger::new(Arc::new(stderr_line), Level::Warn)
}

/// Writes a block of text (several lines) to standard output at once, so that lines printed from other
/// threads do not interleave with it.
pub fn out_block(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// `text` with every line indented by `indent`.
pub fn indent(text: &str, indent: &str) -> String {
    let mut s = String::with_capacity(text.len() + 16);
    for line in text.lines() {
        s.push_str(indent);
        s.push_str(line);
        s.push('\n');
    }
    s
}
