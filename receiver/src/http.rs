//! A minimal HTTP/1.1 server side over any `Read + Write` stream (plain TCP or rustls): reads one request at a
//! time (head via `httparse`, body by `Content-Length` or chunked, `Expect: 100-continue`), keeps leftover
//! bytes for the next request on a keep-alive connection, and writes responses. It must not interpret OTLP or
//! decide answers; that is the server's job.

use std::io::{self, Read, Write};

const MAX_HEAD: usize = 64 * 1024;
const MAX_HEADERS: usize = 100;
const MAX_LINE: usize = 8 * 1024;

pub(crate) struct HttpRequest {
    pub(crate) method: String,
    pub(crate) path: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub(crate) minor_version: u8,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl HttpRequest {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Whether the client wants the connection kept open after this request.
    pub(crate) fn keep_alive(&self) -> bool {
        let conn = self
            .header("connection")
            .map(|v| v.to_ascii_lowercase())
            .unwrap_or_default();
        let has = |t: &str| conn.split(',').any(|x| x.trim() == t);
        if self.minor_version >= 1 {
            !has("close")
        } else {
            has("keep-alive")
        }
    }
}

pub(crate) enum ReadOutcome {
    Request(HttpRequest),
    /// The peer closed (or the read failed/timed out) between requests or mid-request.
    Closed,
    /// The request is malformed or too large: answer this status with this message, then close.
    Bad(u16, String),
}

pub(crate) struct Response<'a> {
    pub(crate) status: u16,
    pub(crate) content_type: &'a str,
    pub(crate) extra_headers: Vec<(&'a str, String)>,
    pub(crate) body: &'a [u8],
    pub(crate) close: bool,
}

pub(crate) struct HttpConn<S> {
    stream: S,
    buf: Vec<u8>,
}

impl<S: Read + Write> HttpConn<S> {
    pub(crate) fn new(stream: S) -> Self {
        HttpConn {
            stream,
            buf: Vec::with_capacity(16 * 1024),
        }
    }

    pub(crate) fn stream(&self) -> &S {
        &self.stream
    }

    /// Read more bytes into `buf`; Ok(0) at EOF.
    fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    pub(crate) fn read_request(&mut self, max_body: usize) -> ReadOutcome {
        match self.read_request_inner(max_body) {
            Ok(outcome) => outcome,
            Err(_) => ReadOutcome::Closed,
        }
    }

    fn read_request_inner(&mut self, max_body: usize) -> io::Result<ReadOutcome> {
        // The head.
        let (head_len, mut req) = loop {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut parsed = httparse::Request::new(&mut headers);
            match parsed.parse(&self.buf) {
                Ok(httparse::Status::Complete(n)) => {
                    let req = HttpRequest {
                        method: parsed.method.unwrap_or("").to_string(),
                        path: parsed.path.unwrap_or("").to_string(),
                        minor_version: parsed.version.unwrap_or(1),
                        headers: parsed
                            .headers
                            .iter()
                            .map(|h| {
                                (
                                    h.name.to_ascii_lowercase(),
                                    String::from_utf8_lossy(h.value).into_owned(),
                                )
                            })
                            .collect(),
                        body: Vec::new(),
                    };
                    break (n, req);
                }
                Ok(httparse::Status::Partial) => {
                    if self.buf.len() > MAX_HEAD {
                        return Ok(ReadOutcome::Bad(431, "request head too large".into()));
                    }
                    if self.fill()? == 0 {
                        return Ok(ReadOutcome::Closed);
                    }
                }
                Err(httparse::Error::TooManyHeaders) => {
                    return Ok(ReadOutcome::Bad(431, "too many headers".into()));
                }
                Err(e) => return Ok(ReadOutcome::Bad(400, format!("malformed HTTP request: {e}"))),
            }
        };
        self.buf.drain(..head_len);

        let chunked = req
            .header("transfer-encoding")
            .map(|v| v.to_ascii_lowercase().split(',').any(|t| t.trim() == "chunked"))
            .unwrap_or(false);
        let length = match (chunked, req.header("content-length")) {
            (true, _) => None,
            (false, None) => Some(0),
            (false, Some(v)) => match v.trim().parse::<usize>() {
                Ok(n) => Some(n),
                Err(_) => return Ok(ReadOutcome::Bad(400, format!("bad Content-Length {v:?}"))),
            },
        };
        if let Some(n) = length {
            if n > max_body {
                return Ok(ReadOutcome::Bad(
                    413,
                    format!("body of {n} bytes is larger than {max_body}"),
                ));
            }
        }
        let expects_continue = req
            .header("expect")
            .map(|v| v.trim().eq_ignore_ascii_case("100-continue"))
            .unwrap_or(false);
        if expects_continue && req.minor_version >= 1 && length != Some(0) {
            self.stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
            self.stream.flush()?;
        }

        req.body = match length {
            Some(n) => match self.take_exact(n)? {
                Some(b) => b,
                None => return Ok(ReadOutcome::Closed),
            },
            None => match self.read_chunked(max_body)? {
                Ok(b) => b,
                Err(bad) => return Ok(bad),
            },
        };
        Ok(ReadOutcome::Request(req))
    }

    /// Exactly `n` bytes (from the leftover buffer, then the stream); None if the peer closed first.
    fn take_exact(&mut self, n: usize) -> io::Result<Option<Vec<u8>>> {
        while self.buf.len() < n {
            if self.fill()? == 0 {
                return Ok(None);
            }
        }
        let rest = self.buf.split_off(n);
        Ok(Some(std::mem::replace(&mut self.buf, rest)))
    }

    /// One CRLF-terminated line without the CRLF; None if the peer closed first.
    fn read_line(&mut self) -> io::Result<Option<Result<String, ReadOutcome>>> {
        loop {
            if let Some(pos) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..pos]).into_owned();
                self.buf.drain(..pos + 2);
                return Ok(Some(Ok(line)));
            }
            if self.buf.len() > MAX_LINE {
                return Ok(Some(Err(ReadOutcome::Bad(400, "chunk line too long".into()))));
            }
            if self.fill()? == 0 {
                return Ok(None);
            }
        }
    }

    fn read_chunked(&mut self, max_body: usize) -> io::Result<Result<Vec<u8>, ReadOutcome>> {
        let mut body = Vec::new();
        loop {
            let line = match self.read_line()? {
                None => return Ok(Err(ReadOutcome::Closed)),
                Some(Err(bad)) => return Ok(Err(bad)),
                Some(Ok(l)) => l,
            };
            let size_text = line.split(';').next().unwrap_or("").trim();
            let size = match usize::from_str_radix(size_text, 16) {
                Ok(s) => s,
                Err(_) => return Ok(Err(ReadOutcome::Bad(400, format!("bad chunk size {size_text:?}")))),
            };
            if size == 0 {
                // Trailers, up to the empty line.
                loop {
                    match self.read_line()? {
                        None => return Ok(Err(ReadOutcome::Closed)),
                        Some(Err(bad)) => return Ok(Err(bad)),
                        Some(Ok(l)) if l.is_empty() => return Ok(Ok(body)),
                        Some(Ok(_)) => {}
                    }
                }
            }
            if body.len().saturating_add(size) > max_body {
                return Ok(Err(ReadOutcome::Bad(
                    413,
                    format!("chunked body is larger than {max_body} bytes"),
                )));
            }
            match self.take_exact(size.saturating_add(2))? {
                None => return Ok(Err(ReadOutcome::Closed)),
                Some(chunk) => {
                    if !chunk.ends_with(b"\r\n") {
                        return Ok(Err(ReadOutcome::Bad(400, "chunk not followed by CRLF".into())));
                    }
                    body.extend_from_slice(&chunk[..size]);
                }
            }
        }
    }

    pub(crate) fn write_response(&mut self, resp: &Response<'_>) -> io::Result<()> {
        let mut out = Vec::with_capacity(160 + resp.body.len());
        out.extend_from_slice(format!("HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status)).as_bytes());
        out.extend_from_slice(format!("Content-Type: {}\r\n", resp.content_type).as_bytes());
        out.extend_from_slice(format!("Content-Length: {}\r\n", resp.body.len()).as_bytes());
        for (name, value) in &resp.extra_headers {
            // Header values come from the test's script; strip CR/LF so nothing can split the response.
            let value: String = value.chars().filter(|c| *c != '\r' && *c != '\n').collect();
            out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        if resp.close {
            out.extend_from_slice(b"Connection: close\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(resp.body);
        self.stream.write_all(&out)?;
        self.stream.flush()
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A stream that reads from a script and collects writes.
    struct Fake {
        input: Cursor<Vec<u8>>,
        output: Vec<u8>,
    }

    impl Read for Fake {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            // Return at most 7 bytes at a time to exercise partial reads.
            let n = buf.len().min(7);
            self.input.read(&mut buf[..n])
        }
    }

    impl Write for Fake {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.output.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn conn(input: &[u8]) -> HttpConn<Fake> {
        HttpConn::new(Fake {
            input: Cursor::new(input.to_vec()),
            output: Vec::new(),
        })
    }

    #[test]
    fn pipelined_content_length_and_chunked() {
        let mut c = conn(
            b"POST /a HTTP/1.1\r\nContent-Length: 3\r\nX-Y: z\r\n\r\nabc\
              POST /b?q=1 HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
              2;ext=1\r\nhe\r\n3\r\nllo\r\n0\r\nTrailer: x\r\n\r\n",
        );
        let ReadOutcome::Request(r) = c.read_request(100) else {
            panic!("first")
        };
        assert_eq!(
            (r.method.as_str(), r.path.as_str(), &r.body[..]),
            ("POST", "/a", &b"abc"[..])
        );
        assert_eq!(r.header("x-y"), Some("z"));
        assert!(r.keep_alive());
        let ReadOutcome::Request(r) = c.read_request(100) else {
            panic!("second")
        };
        assert_eq!((r.path.as_str(), &r.body[..]), ("/b?q=1", &b"hello"[..]));
        assert!(!r.keep_alive());
        assert!(matches!(c.read_request(100), ReadOutcome::Closed));
    }

    #[test]
    fn limits_and_errors() {
        let mut c = conn(b"POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n");
        assert!(matches!(c.read_request(10), ReadOutcome::Bad(413, _)));
        let mut c = conn(b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n");
        assert!(matches!(c.read_request(10), ReadOutcome::Bad(400, _)));
        let mut c = conn(b"\x01\x02 nonsense\r\n\r\n");
        assert!(matches!(c.read_request(10), ReadOutcome::Bad(400, _)));
        let mut c = conn(b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab");
        assert!(matches!(c.read_request(10), ReadOutcome::Closed));
        let mut c = conn(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
        assert!(matches!(c.read_request(10), ReadOutcome::Bad(400, _)));
        let mut c = conn(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n");
        assert!(matches!(c.read_request(10), ReadOutcome::Bad(413, _)));
    }

    #[test]
    fn expect_continue_and_http10() {
        let mut c = conn(b"POST / HTTP/1.0\r\nContent-Length: 1\r\n\r\nx");
        let ReadOutcome::Request(r) = c.read_request(10) else {
            panic!()
        };
        assert!(!r.keep_alive());
        let mut c = conn(b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx");
        let ReadOutcome::Request(r) = c.read_request(10) else {
            panic!()
        };
        assert_eq!(r.body, b"x");
        assert_eq!(c.stream.output, b"HTTP/1.1 100 Continue\r\n\r\n");
        c.write_response(&Response {
            status: 503,
            content_type: "text/plain",
            extra_headers: vec![("Retry-After", "5\r\nX: y".into())],
            body: b"no",
            close: true,
        })
        .unwrap();
        let text = String::from_utf8(c.stream.output).unwrap();
        assert!(text.contains("HTTP/1.1 503 Service Unavailable\r\n"));
        assert!(text.contains("Retry-After: 5X: y\r\n"));
        assert!(text.ends_with("Connection: close\r\n\r\nno"));
    }
}
