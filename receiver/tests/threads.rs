//! Shutdown leaves no receiver thread behind (Linux: counts this process's threads). Its own test binary, so
//! no other test's threads come and go meanwhile.

mod common;

use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{agent_with_timeout, post, request};
use otlpx_receiver::{Behavior, Receiver, ReceiverConfig};
use prost::Message;

#[cfg(target_os = "linux")]
fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

#[cfg(target_os = "linux")]
#[test]
fn shutdown_joins_every_thread() {
    let before = thread_count();
    let rx = Receiver::start(ReceiverConfig::default()).unwrap();
    let a = agent_with_timeout(Duration::from_millis(300));
    assert_eq!(
        post(
            &a,
            &rx.traces_url(),
            "application/x-protobuf",
            &request(1).encode_to_vec()
        )
        .unwrap()
        .status,
        200
    );
    rx.set_behavior(Behavior::BlackHole, 1);
    assert!(post(
        &a,
        &rx.traces_url(),
        "application/x-protobuf",
        &request(1).encode_to_vec()
    )
    .is_err());
    let idle = TcpStream::connect(rx.addr()).unwrap();
    drop(a); // ureq's pooled connection
    assert!(thread_count() > before);

    let t = Instant::now();
    drop(rx);
    assert!(t.elapsed() < Duration::from_secs(1), "shutdown took {:?}", t.elapsed());
    let deadline = Instant::now() + Duration::from_secs(2);
    while thread_count() > before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(thread_count(), before, "threads left after shutdown");
    drop(idle);
}
