//! The `otlpx` command: show the effective configuration, send test spans, run a local receiver, or run a
//! demo end to end. This file only dispatches; each command lives in its own module.
//!
//! Must not: hold command logic, or panic on anything from the environment or the network.

mod args;
mod config_cmd;
mod demo;
mod export;
mod output;
mod receive;
mod send;
mod spans;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let exit = match &cli.command {
        Command::Config => config_cmd::run(),
        Command::Send(a) => send::run(a),
        Command::Receive(a) => receive::run(a),
        Command::Demo(a) => demo::run(a),
    };
    exit.into()
}
