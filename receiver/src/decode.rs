//! Body decoding and response encoding for OTLP/HTTP traces: content type and encoding, gunzip with a size
//! limit, protobuf and OTLP/JSON `ExportTraceServiceRequest`, and the success / partial-success / error bodies.
//! It must not touch sockets or the recorder.

use std::io::Read;

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;

use crate::record::WireFormat;

/// A failed decode: the HTTP status to answer and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodeError {
    pub(crate) status: u16,
    pub(crate) message: String,
}

impl DecodeError {
    fn new(status: u16, message: impl Into<String>) -> Self {
        DecodeError {
            status,
            message: message.into(),
        }
    }
}

/// `Content-Type` without parameters, lowercased (`application/json; charset=utf-8` → `application/json`).
pub(crate) fn media_type(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

pub(crate) fn wire_format(media_type: Option<&str>) -> Option<WireFormat> {
    match media_type {
        Some("application/x-protobuf") | Some("application/protobuf") => Some(WireFormat::Protobuf),
        Some("application/json") => Some(WireFormat::Json),
        _ => None,
    }
}

/// Undo `Content-Encoding` (none, `identity` or `gzip`), refusing output larger than `max`.
pub(crate) fn decompress(body: Vec<u8>, encoding: Option<&str>, max: usize) -> Result<Vec<u8>, DecodeError> {
    match encoding.map(str::trim) {
        None | Some("") | Some("identity") => Ok(body),
        Some("gzip") | Some("x-gzip") => {
            let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(max));
            let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
            flate2::read::MultiGzDecoder::new(&body[..])
                .take(limit)
                .read_to_end(&mut out)
                .map_err(|e| DecodeError::new(400, format!("bad gzip body: {e}")))?;
            if out.len() > max {
                return Err(DecodeError::new(
                    413,
                    format!("gunzipped body is larger than {max} bytes"),
                ));
            }
            Ok(out)
        }
        Some(other) => Err(DecodeError::new(415, format!("unsupported Content-Encoding {other:?}"))),
    }
}

pub(crate) fn decode_request(format: WireFormat, body: &[u8]) -> Result<ExportTraceServiceRequest, DecodeError> {
    match format {
        WireFormat::Protobuf => ExportTraceServiceRequest::decode(body)
            .map_err(|e| DecodeError::new(400, format!("bad protobuf ExportTraceServiceRequest: {e}"))),
        WireFormat::Json => {
            let bad =
                |e: serde_json::Error| DecodeError::new(400, format!("bad OTLP/JSON ExportTraceServiceRequest: {e}"));
            let mut value: serde_json::Value = serde_json::from_slice(body).map_err(bad)?;
            normalize_json(&mut value);
            serde_json::from_value(value).map_err(bad)
        }
    }
}

/// Fill the gaps of opentelemetry-proto's serde support against the proto3 JSON mapping: a `null` field means
/// the default (it refuses `null`), and an empty `arrayValue`/`kvlistValue` may omit `values` (it requires it).
fn normalize_json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            for (key, v) in map.iter_mut() {
                if key == "arrayValue" || key == "kvlistValue" {
                    if let serde_json::Value::Object(inner) = v {
                        inner
                            .entry("values")
                            .or_insert_with(|| serde_json::Value::Array(Vec::new()));
                    }
                }
                normalize_json(v);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(normalize_json),
        _ => {}
    }
}

/// The 200 body: an empty response, or one with `partial_success`.
pub(crate) fn success_body(format: WireFormat, partial: Option<(i64, &str)>) -> Vec<u8> {
    match format {
        WireFormat::Protobuf => ExportTraceServiceResponse {
            partial_success: partial.map(|(rejected, message)| ExportTracePartialSuccess {
                rejected_spans: rejected,
                error_message: message.to_string(),
            }),
        }
        .encode_to_vec(),
        WireFormat::Json => {
            let v = match partial {
                // int64 as a decimal string, per the proto3 JSON mapping that OTLP/JSON uses.
                Some((rejected, message)) => serde_json::json!({
                    "partialSuccess": { "rejectedSpans": rejected.to_string(), "errorMessage": message }
                }),
                None => serde_json::json!({}),
            };
            v.to_string().into_bytes()
        }
    }
}

/// `google.rpc.Status`, the body OTLP/HTTP prescribes for 4xx/5xx answers.
#[derive(Clone, PartialEq, Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// An error body for the receiver's own refusals (gRPC code 3, INVALID_ARGUMENT; 12, UNIMPLEMENTED for 405).
pub(crate) fn error_body(format: Option<WireFormat>, status: u16, message: &str) -> Vec<u8> {
    let code = if status == 405 { 12 } else { 3 };
    match format {
        Some(WireFormat::Protobuf) => RpcStatus {
            code,
            message: message.to_string(),
        }
        .encode_to_vec(),
        Some(WireFormat::Json) => serde_json::json!({ "code": code, "message": message })
            .to_string()
            .into_bytes(),
        None => message.as_bytes().to_vec(),
    }
}

pub(crate) fn content_type_of(format: Option<WireFormat>) -> &'static str {
    match format {
        Some(WireFormat::Protobuf) => "application/x-protobuf",
        Some(WireFormat::Json) => "application/json",
        None => "text/plain; charset=utf-8",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn media_types() {
        assert_eq!(media_type("Application/JSON; charset=utf-8"), "application/json");
        assert_eq!(wire_format(Some("application/x-protobuf")), Some(WireFormat::Protobuf));
        assert_eq!(wire_format(Some("text/plain")), None);
        assert_eq!(wire_format(None), None);
    }

    #[test]
    fn gzip_limits() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&[7u8; 1000]).unwrap();
        let gz = enc.finish().unwrap();
        assert_eq!(decompress(gz.clone(), Some("gzip"), 1000).unwrap().len(), 1000);
        assert_eq!(decompress(gz, Some("gzip"), 999).unwrap_err().status, 413);
        assert_eq!(decompress(b"nope".to_vec(), Some("gzip"), 10).unwrap_err().status, 400);
        assert_eq!(decompress(b"x".to_vec(), Some("br"), 10).unwrap_err().status, 415);
        assert_eq!(decompress(b"x".to_vec(), None, 10).unwrap(), b"x");
    }

    #[test]
    fn json_gaps_are_filled() {
        let json = br#"{"resourceSpans":[{"resource":null,"scopeSpans":[{"spans":[{"name":null,"attributes":[
            {"key":"a","value":{"arrayValue":{}}},{"key":"m","value":{"kvlistValue":{}}}]}]}]}]}"#;
        let req = decode_request(WireFormat::Json, json).unwrap();
        let span = &req.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(span.name, "");
        assert_eq!(span.attributes.len(), 2);
        assert!(decode_request(WireFormat::Json, b"[1]").is_err());
    }

    #[test]
    fn bodies() {
        let pb = success_body(WireFormat::Protobuf, Some((3, "too old")));
        let r = ExportTraceServiceResponse::decode(&pb[..]).unwrap();
        assert_eq!(r.partial_success.unwrap().rejected_spans, 3);
        assert!(success_body(WireFormat::Protobuf, None).is_empty());
        assert_eq!(success_body(WireFormat::Json, None), b"{}");
        let e = error_body(Some(WireFormat::Protobuf), 400, "bad");
        let s = RpcStatus::decode(&e[..]).unwrap();
        assert_eq!((s.code, s.message.as_str()), (3, "bad"));
    }
}
