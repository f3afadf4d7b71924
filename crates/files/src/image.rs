//! Images for vision models, as OpenAI-style `data:` URLs.

use base64::Engine;

use crate::error::{FileError, Result};
use crate::kind::FileKind;
use crate::sniff::sniff;
use crate::storage::FileStore;

/// The largest image sent to a model (OpenAI's own limit per image is 20 MB).
pub const MAX_IMAGE_BYTES: u64 = 20 << 20;

/// `data:<mime>;base64,<bytes>` for an image, as the OpenAI chat API takes it in `image_url`.
///
/// Refuses non-image kinds, images over [`MAX_IMAGE_BYTES`], and bytes that are not the kind
/// they are said to be (a stored kind is trusted only as far as the magic number agrees).
pub fn data_url(kind: FileKind, bytes: &[u8]) -> Result<String> {
    if !kind.is_image() {
        return Err(FileError::NotAnImage { kind: kind.code() });
    }
    if bytes.len() as u64 > MAX_IMAGE_BYTES {
        return Err(FileError::TooLarge { limit: MAX_IMAGE_BYTES });
    }
    let named = format!("image.{}", kind.code());
    if sniff(bytes, &named)? != kind {
        return Err(FileError::ExtensionMismatch { extension: kind.code().to_owned(), detected: "other".to_owned() });
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    Ok(format!("data:{};base64,{encoded}", kind.mime()))
}

/// [`data_url`] for a stored image, refusing one over the cap before reading it.
pub async fn data_url_from_store(store: &FileStore, key: &str, kind: FileKind) -> Result<String> {
    if !kind.is_image() {
        return Err(FileError::NotAnImage { kind: kind.code() });
    }
    data_url(kind, &store.read_all(key, MAX_IMAGE_BYTES).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn png_becomes_a_data_url() {
        assert_eq!(data_url(FileKind::Png, PNG).unwrap(), "data:image/png;base64,iVBORw0KGgoAAAANSUhEUg==");
    }

    #[test]
    fn refuses_non_images_oversize_and_lies() {
        assert_eq!(data_url(FileKind::Pdf, b"%PDF-1.4").unwrap_err().code(), "not_an_image");
        let big = [PNG, &vec![0; MAX_IMAGE_BYTES as usize]].concat();
        assert_eq!(data_url(FileKind::Png, &big).unwrap_err().code(), "too_large");
        assert_eq!(data_url(FileKind::Jpeg, PNG).unwrap_err().code(), "extension_mismatch");
    }
}
