//! Extractors whose rejections are [`ApiError`]s: a malformed body is a 400, a body
//! of the wrong shape a 422 naming the field, the wrong content type a 415, and an
//! oversized body a 413.

use crate::error::ApiError;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use bytes::Bytes;
use serde::de::DeserializeOwned;

/// Like `axum::Json`, with API errors and the failing field named.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::UnsupportedMediaType("expected Content-Type: application/json".into()));
        }
        let limit = crate::app::body_limit_hint(&req);
        let bytes = Bytes::from_request(req, state).await.map_err(|e| match e {
            BytesRejection::FailedToBufferBody(inner)
                if inner.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
            {
                ApiError::PayloadTooLarge { limit }
            }
            other => ApiError::BadRequest(other.body_text()),
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Parse a JSON document: syntax errors are 400, shape errors 422 with the field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Tracking the path costs every field; only a body that fails needs it.
    if let Ok(value) = serde_json::from_slice(bytes) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(v) => v,
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            return Err(match inner.classify() {
                serde_json::error::Category::Data => {
                    let message = strip_position(&inner.to_string());
                    let field =
                        if path == "." || path.is_empty() { missing_field(&message).unwrap_or_default() } else { path };
                    if field.is_empty() {
                        ApiError::validation("body", message)
                    } else {
                        ApiError::validation(field.clone(), format!("{field}: {message}"))
                    }
                }
                _ => ApiError::InvalidJson(strip_position(&inner.to_string())),
            });
        }
    };
    de.end().map_err(|e| ApiError::InvalidJson(strip_position(&e.to_string())))?;
    Ok(value)
}

fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_string())
}

/// Like `axum::extract::Query`, with API errors.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e: QueryRejection| ApiError::validation("query", e.body_text()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[expect(dead_code, reason = "fields exist to be deserialized")]
    struct Body {
        message: String,
        limit: Option<u32>,
    }

    #[test]
    fn errors_name_the_field() {
        match parse_json::<Body>(br#"{"limit": 3}"#).unwrap_err() {
            ApiError::Validation { field, .. } => assert_eq!(field, "message"),
            e => panic!("{e:?}"),
        }
        match parse_json::<Body>(br#"{"message": "x", "limit": "many"}"#).unwrap_err() {
            ApiError::Validation { field, message } => {
                assert_eq!(field, "limit");
                assert!(message.contains("invalid type"), "{message}");
            }
            e => panic!("{e:?}"),
        }
        assert!(matches!(parse_json::<Body>(b"{\"message\": ").unwrap_err(), ApiError::InvalidJson(_)));
        assert!(matches!(parse_json::<Body>(b"{\"message\": \"x\"} trailing").unwrap_err(), ApiError::InvalidJson(_)));
        assert!(parse_json::<Body>(br#"{"message": "x"}"#).is_ok());
    }
}
