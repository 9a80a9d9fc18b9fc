//! `otlpx config`: the effective configuration from the environment, read exactly as the exporter reads
//! it (`Config::from_env`), with every warning on standard error.
//!
//! Owns: that printout. Must not: print a secret (only the configuration's redacted `Display` is printed),
//! or fail on a bad variable (a warning is not an error).

use otlpx_core::config::Config;

use crate::export::log_warnings;
use crate::output::{out_block, stderr_logger, Exit};

/// Runs `otlpx config`.
pub fn run() -> Exit {
    let (config, warnings) = Config::from_env();
    log_warnings(&stderr_logger(), &warnings);
    out_block(&config.to_string());
    Exit::Success
}
