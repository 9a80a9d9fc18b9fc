use otlpx_benches::StandardBatch;
#[test]
fn size() {
    let b = StandardBatch::new();
    let r = b.otlpx_request();
    println!("bytes {} per span {}", r.len(), r.len() as f64 / 512.0);
}
