//! The command line: subcommands, options, their defaults and help text (clap derive).
//!
//! Owns: parsing and validating arguments. Must not: read the `OTEL_*` environment (that is the
//! configuration's job, so that `otlpx` reads it exactly as the exporter does).

use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// otlpx: an OpenTelemetry trace exporter you can poke at.
///
/// Every command that exports reads the standard OTEL_* environment variables exactly as the exporter
/// library does (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS, OTEL_BSP_*, ...).
#[derive(Debug, Parser)]
#[command(name = "otlpx", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the effective configuration from the environment, with secrets redacted.
    ///
    /// Every setting is printed as `name = value (origin)`, where origin is the variable it came from,
    /// `code` or `default`. Header values are printed as ****. Invalid variables are reported on standard
    /// error as warnings (they are not errors: the default is used).
    Config,
    /// Send test spans (HTTP SERVER spans) to the configured endpoint and report what happened.
    ///
    /// Exits 0 when every span was exported, 1 when any span was dropped or rejected or shutdown timed
    /// out, and 2 when the configuration cannot work.
    Send(SendArgs),
    /// Run a local OTLP/HTTP trace receiver on 127.0.0.1 and print what arrives.
    Receive(ReceiveArgs),
    /// Send a few small, realistic traces and show what arrived.
    ///
    /// With no endpoint configured (neither OTEL_EXPORTER_OTLP_ENDPOINT nor
    /// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), starts an in-process receiver on a free loopback port, sends the
    /// spans there and prints every span that arrived, grouped by trace. With an endpoint configured, sends
    /// there and prints the exporter's stats. Exits 1 if any span was lost.
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// Number of spans to send (exactly this many are recorded).
    #[arg(long, value_name = "N")]
    pub spans: u64,
    /// Threads recording spans concurrently; the spans are split evenly between them.
    #[arg(long, value_name = "T", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: u16,
    /// Seconds shutdown may take to export what is queued [default: OTEL_BSP_EXPORT_TIMEOUT, 30].
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    pub timeout: Option<Duration>,
}

#[derive(Debug, Args)]
pub struct ReceiveArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, value_name = "P", default_value_t = 4318)]
    pub port: u16,
    /// Print one line per request instead of every span.
    #[arg(long)]
    pub quiet: bool,
    /// Exit after this many requests (default: run until Ctrl-C or SIGTERM).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_requests: Option<u64>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Number of spans to send, in traces of three (a request, its database call, its outbound call).
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub spans: usize,
}

/// Seconds as a decimal number (`2`, `0.5`), at most a day.
fn parse_seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("{s:?} is not a number of seconds"));
    }
    if secs > 86_400.0 {
        return Err(format!("{s} seconds is more than a day"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn seconds() {
        assert_eq!(parse_seconds("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_seconds("0.25"), Ok(Duration::from_millis(250)));
        assert!(parse_seconds("-1").is_err());
        assert!(parse_seconds("soon").is_err());
        assert!(parse_seconds("NaN").is_err());
        assert!(parse_seconds("1e9").is_err());
    }
}
