//! Answers for requests no route takes (unknown paths: `web::fallback`, which
//! serves the UI or the JSON 404).

use crate::error::ApiError;

/// 405 for a known path with the wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
