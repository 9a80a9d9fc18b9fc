//! The committed `include/otlpx.h` is what cbindgen (pinned) generates from
//! this crate, and it compiles as C11 and C++17, also when included twice.
//! `OTLPX_BLESS=1` rewrites the header instead of failing.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn generate() -> String {
    let crate_dir = env!("CARGO_MANIFEST_DIR");
    let config = cbindgen::Config::from_file(Path::new(crate_dir).join("cbindgen.toml")).expect("cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen generates the header");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("header is UTF-8")
}

#[test]
fn committed_header_is_current() {
    let path = root().join("include/otlpx.h");
    let fresh = generate();
    if std::env::var_os("OTLPX_BLESS").is_some() {
        std::fs::write(&path, &fresh).expect("write include/otlpx.h");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "include/otlpx.h is stale: regenerate it with `OTLPX_BLESS=1 cargo test -p otlpx-ffi --test header` \
         and commit it"
    );
}

fn compile(compiler: &str, std: &str, source: &str, ext: &str) {
    let dir = std::env::temp_dir().join(format!("otlpx-header-{}-{}", std::process::id(), std.replace('+', "p")));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("t.{ext}"));
    std::fs::write(&file, source).unwrap();
    let out = Command::new(compiler)
        .args([
            &format!("-std={std}"),
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-fsyntax-only",
            "-I",
        ])
        .arg(root().join("include"))
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("{compiler} not runnable: {e}"));
    assert!(
        out.status.success(),
        "{compiler} -std={std} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const SOURCE: &str = r#"
#include "otlpx.h"
#include "otlpx.h"
static int use(void) {
  otlpx_attribute a = otlpx_attr_str("http.request.method", "GET");
  otlpx_attribute b = otlpx_attr_int("http.response.status_code", 200);
  otlpx_span_context ctx;
  (void)ctx;
  return (int)(a.key_len + b.key_len) + (int)OTLPX_RESULT_OK + (int)OTLPX_TRACEPARENT_LEN;
}
int main(void) { return use() == 0; }
"#;

#[test]
fn header_compiles_as_c11_twice_included() {
    compile("cc", "c11", SOURCE, "c");
}

#[test]
fn header_compiles_as_cpp17_twice_included() {
    compile("c++", "c++17", SOURCE, "cpp");
}
