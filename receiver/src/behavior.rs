//! Fault injection: what the receiver answers to the next export requests. Owns the [`Behavior`] enum and the
//! script (a queue of behaviors, each for N requests, then a default). It must not do I/O; the server asks it
//! for the next behavior and carries it out.

use std::collections::VecDeque;
use std::time::Duration;

/// How to answer one export (POST) request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behavior {
    /// Decode and answer 200 with an empty `ExportTraceServiceResponse` (or 400/415 if the body is bad).
    Ok,
    /// Answer with this status, an optional `Retry-After` header value (sent verbatim) and this body
    /// (sent as is, with the request's content type). The request is recorded but its spans are counted as
    /// accepted only if `code` is 2xx.
    Status {
        code: u16,
        retry_after: Option<String>,
        body: Vec<u8>,
    },
    /// Answer 200 with `partial_success { rejected_spans: rejected, error_message: message }`. The spans are
    /// counted as accepted (the receiver cannot know which ones the message means).
    PartialSuccess { rejected: i64, message: String },
    /// Wait this long (interrupted by shutdown), then answer as [`Behavior::Ok`]. The request is recorded when
    /// the answer is sent, not when it arrives.
    Delay(Duration),
    /// Read the request and never answer: the connection stays open until the client gives up or the
    /// receiver shuts down. Recorded with `response_status: None`; spans not counted.
    BlackHole,
    /// Read the request, then close the connection without answering (the client sees a reset/EOF).
    /// Recorded with `response_status: None`; spans not counted.
    Disconnect,
}

/// The script: `queue` is consumed front first, each entry for `remaining` requests; then `default` applies.
#[derive(Debug)]
pub(crate) struct Script {
    queue: VecDeque<(Behavior, usize)>,
    default: Behavior,
}

impl Default for Script {
    fn default() -> Self {
        Script {
            queue: VecDeque::new(),
            default: Behavior::Ok,
        }
    }
}

impl Script {
    /// The behavior for the next request, consuming one use of the front entry.
    pub(crate) fn next(&mut self) -> Behavior {
        while let Some((behavior, remaining)) = self.queue.front_mut() {
            if *remaining == 0 {
                self.queue.pop_front();
                continue;
            }
            *remaining -= 1;
            let b = behavior.clone();
            if *remaining == 0 {
                self.queue.pop_front();
            }
            return b;
        }
        self.default.clone()
    }

    pub(crate) fn push(&mut self, behavior: Behavior, times: usize) {
        if times > 0 {
            self.queue.push_back((behavior, times));
        }
    }

    pub(crate) fn replace(&mut self, behavior: Behavior, times: usize) {
        self.queue.clear();
        self.push(behavior, times);
    }

    pub(crate) fn set_default(&mut self, behavior: Behavior) {
        self.default = behavior;
    }

    pub(crate) fn reset(&mut self) {
        self.queue.clear();
        self.default = Behavior::Ok;
    }

    pub(crate) fn pending(&self) -> usize {
        self.queue.iter().map(|(_, n)| *n).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_runs_entries_in_order_then_default() {
        let mut s = Script::default();
        s.push(Behavior::BlackHole, 2);
        s.push(Behavior::Disconnect, 1);
        s.push(Behavior::Disconnect, 0);
        assert_eq!(s.pending(), 3);
        assert_eq!(s.next(), Behavior::BlackHole);
        assert_eq!(s.next(), Behavior::BlackHole);
        assert_eq!(s.next(), Behavior::Disconnect);
        assert_eq!(s.next(), Behavior::Ok);
        s.set_default(Behavior::Disconnect);
        assert_eq!(s.next(), Behavior::Disconnect);
        s.replace(Behavior::BlackHole, 1);
        assert_eq!(s.next(), Behavior::BlackHole);
        assert_eq!(s.next(), Behavior::Disconnect);
        s.reset();
        assert_eq!(s.next(), Behavior::Ok);
    }
}
