//! One write per request: a ureq connector that gathers a request's head and
//! body in the connection's output buffer and sends them together.
//!
//! ureq writes the request head and then the body, each with its own write
//! to the socket. On a network every extra write is an extra segment; on
//! loopback it is an extra delivery and an extra wake-up of the receiver,
//! both paid on the sending CPU (`benches/benches/export.rs` measured the
//! socket writes at about a tenth of the gzip exporter thread's time). Here a
//! small write (the head) is held back and put in front of the next one (the
//! body, moved up in the output buffer to make room), so both go out in one
//! write.
//!
//! Owns: that gathering, for every transport ureq builds (plain TCP, TLS,
//! through a proxy tunnel: it wraps whatever the default chain made).
//! Must not: change or reorder a byte, hold a byte past the moment ureq waits
//! for input, or hand a connection with held bytes back for reuse.
//!
//! Relies on ureq's `unversioned` transport API, which ureq exempts from
//! semver: `Cargo.lock` pins the version, and the loopback tests (every
//! request goes through here) catch a change in behaviour.

use ureq::unversioned::transport::{Buffers, ConnectionDetails, Connector, NextTimeout, Transport};
use ureq::Error;

/// Writes up to this long are held back to go out with the next one.
const HOLD: usize = 8 * 1024;

/// The last link of ureq's connector chain: wraps the transport built so far.
#[derive(Debug, Default)]
pub(crate) struct Coalesce;

impl<In: Transport> Connector<In> for Coalesce {
    type Out = Coalesced<In>;

    fn connect(&self, _: &ConnectionDetails, chained: Option<In>) -> Result<Option<Self::Out>, Error> {
        Ok(chained.map(|inner| Coalesced {
            inner,
            held: [0; HOLD],
            n: 0,
        }))
    }
}

/// A transport that sends a small write together with the next one.
pub(crate) struct Coalesced<T> {
    inner: T,
    /// `held[..n]`: written by ureq, not yet sent; goes before what comes next.
    held: [u8; HOLD],
    n: usize,
}

impl<T: std::fmt::Debug> std::fmt::Debug for Coalesced<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Coalesced")
            .field("inner", &self.inner)
            .field("held", &self.n)
            .finish()
    }
}

impl<T: Transport> Coalesced<T> {
    /// Sends the held bytes on their own (ureq is about to read).
    fn flush(&mut self, timeout: NextTimeout) -> Result<(), Error> {
        let n = self.n;
        if n == 0 {
            return Ok(());
        }
        // Cleared first: after a failed write the connection is not reused.
        self.n = 0;
        let out = self.inner.buffers().output();
        match out.get_mut(..n) {
            Some(dst) => dst.copy_from_slice(&self.held[..n]),
            None => {
                return Err(Error::Io(std::io::Error::other(
                    "output buffer smaller than a held write",
                )))
            }
        }
        self.inner.transmit_output(n, timeout)
    }
}

impl<T: Transport> Transport for Coalesced<T> {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), Error> {
        let h = self.n;
        let out = self.inner.buffers().output();
        if amount > out.len() {
            return Err(Error::Io(std::io::Error::other("write longer than the output buffer")));
        }
        if h == 0 {
            // (A buffer under 2 * HOLD never holds: the full-buffer case
            // below relies on a write longer than what is held.)
            if amount <= HOLD && out.len() >= 2 * HOLD {
                self.held[..amount].copy_from_slice(&out[..amount]);
                self.n = amount;
                return Ok(());
            }
            return self.inner.transmit_output(amount, timeout);
        }
        self.n = 0;
        if h + amount <= out.len() {
            // Held bytes, then this write, in one.
            out.copy_within(..amount, h);
            out[..h].copy_from_slice(&self.held[..h]);
            return self.inner.transmit_output(h + amount, timeout);
        }
        // The buffer is full: send the held bytes and all but the last `h`
        // bytes of this write, and hold those (amount > out.len() - h >= h).
        let mut tail = [0u8; HOLD];
        tail[..h].copy_from_slice(&out[amount - h..amount]);
        out.copy_within(..amount - h, h);
        out[..h].copy_from_slice(&self.held[..h]);
        self.held[..h].copy_from_slice(&tail[..h]);
        self.n = h;
        self.inner.transmit_output(amount, timeout)
    }

    fn maybe_await_input(&mut self, timeout: NextTimeout) -> Result<bool, Error> {
        self.flush(timeout)?;
        self.inner.maybe_await_input(timeout)
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, Error> {
        self.flush(timeout)?;
        self.inner.await_input(timeout)
    }

    fn is_open(&mut self) -> bool {
        self.n == 0 && self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ureq::unversioned::transport::LazyBuffers;
    use ureq::Timeout;

    use super::*;

    /// Records each write as it would reach the socket.
    #[derive(Debug)]
    struct Recorder {
        buffers: LazyBuffers,
        writes: Vec<Vec<u8>>,
    }

    impl Transport for Recorder {
        fn buffers(&mut self) -> &mut dyn Buffers {
            &mut self.buffers
        }
        fn transmit_output(&mut self, amount: usize, _: NextTimeout) -> Result<(), Error> {
            let out = self.buffers.output()[..amount].to_vec();
            self.writes.push(out);
            Ok(())
        }
        fn await_input(&mut self, _: NextTimeout) -> Result<bool, Error> {
            Ok(true)
        }
        fn is_open(&mut self) -> bool {
            true
        }
    }

    const T: NextTimeout = NextTimeout {
        after: ureq::unversioned::transport::time::Duration::Exact(Duration::from_secs(1)),
        reason: Timeout::Global,
        per_read: None,
        per_write: None,
    };

    fn wrap(out: usize) -> Coalesced<Recorder> {
        Coalesced {
            inner: Recorder {
                buffers: LazyBuffers::new(1024, out),
                writes: Vec::new(),
            },
            held: [0; HOLD],
            n: 0,
        }
    }

    /// Writes `data` as ureq does: into `buffers().output()`, then transmit.
    fn write(t: &mut Coalesced<Recorder>, data: &[u8]) {
        for piece in data.chunks(t.buffers().output().len()) {
            t.buffers().output()[..piece.len()].copy_from_slice(piece);
            t.transmit_output(piece.len(), T).unwrap();
        }
    }

    fn pattern(n: usize, seed: u8) -> Vec<u8> {
        (0..n).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
    }

    #[test]
    fn head_and_body_go_out_in_one_write() {
        let mut t = wrap(128 * 1024);
        let head = pattern(198, 1);
        let body = pattern(51_613, 2);
        write(&mut t, &head);
        assert!(t.inner.writes.is_empty(), "the head is held");
        assert!(!t.is_open(), "a connection holding bytes is not reused");
        write(&mut t, &body);
        t.await_input(T).unwrap();
        assert_eq!(t.inner.writes, vec![[head, body].concat()]);
        assert!(t.is_open());
    }

    #[test]
    fn a_lone_small_write_is_sent_before_reading() {
        let mut t = wrap(64 * 1024);
        let head = pattern(300, 3);
        write(&mut t, &head);
        t.maybe_await_input(T).unwrap();
        assert_eq!(t.inner.writes, vec![head]);
    }

    #[test]
    fn bodies_larger_than_the_buffer_arrive_whole_and_in_order() {
        for (out, head_len, body_len) in [
            (128 * 1024, 198, 254_077),
            (128 * 1024, 8 * 1024, 3 * 128 * 1024),
            (2 * HOLD, HOLD, 5 * HOLD + 7),
            (2 * HOLD - 1, 100, 40_000), // too small to hold: passes through
            (128 * 1024, 0, 1),
        ] {
            let mut t = wrap(out);
            let head = pattern(head_len, 4);
            let body = pattern(body_len, 5);
            write(&mut t, &head);
            write(&mut t, &body);
            t.await_input(T).unwrap();
            let sent = t.inner.writes.concat();
            assert_eq!(
                sent,
                [head, body].concat(),
                "out {out}, head {head_len}, body {body_len}"
            );
            assert!(t.inner.writes.iter().all(|w| w.len() <= out));
        }
    }
}
