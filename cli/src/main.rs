//! The `otlpx` command.
fn main() {
    println!("otlpx {}", env!("CARGO_PKG_VERSION"));
}
