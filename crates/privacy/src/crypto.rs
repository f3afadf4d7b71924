//! Envelope encryption: every user's data is sealed under that user's own random
//! data key, and the data key is stored wrapped (encrypted) under a master key
//! from the environment. Erasing a user is destroying one wrapped key
//! (crypto-shredding), so the append-only event log never needs a rewrite, and a
//! master key can be rotated by rewrapping the small data keys, not the data.
//!
//! Why XChaCha20-Poly1305: its 24-byte nonce is safe to pick at random for any
//! number of messages under one key (AES-GCM's 12-byte nonce is not, past a few
//! billion), it is fast without AES hardware, and the RustCrypto crate is pure Rust.
//!
//! Ciphertexts are text, safe for a TEXT column and self-describing:
//! `enc:v1:<key id>:<base64url(nonce ‖ ciphertext)>` for a wrapped data key, where
//! the key id is the first 8 hex digits of the master key's SHA-256 (it names the
//! key without revealing it), and `enc:v1:dk:<…>` for data under a data key (the
//! caller knows whose key it is). The header is authenticated with the data, and
//! data ciphertexts also bind caller-given associated data (e.g. the event id), so
//! a ciphertext moved to another row does not open.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

const PREFIX: &str = "enc:v1:";
const DATA_MARKER: &str = "dk";
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("encryption key is not 32 bytes of base64")]
    BadKey,
    #[error("no encryption key with id {0}")]
    UnknownKeyId(String),
    #[error("ciphertext is malformed")]
    Corrupt,
    #[error("decryption failed: wrong key, wrong context or tampered ciphertext")]
    Decrypt,
}

/// Whether a stored value is one of our ciphertexts (rather than legacy plaintext).
pub fn is_encrypted(s: &str) -> bool {
    s.starts_with(PREFIX)
}

/// A 32-byte master key (`ENCRYPTION_KEY`), wiped from memory on drop.
pub struct MasterKey {
    id: String,
    bytes: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKey").field("id", &self.id).finish_non_exhaustive()
    }
}

impl MasterKey {
    /// Standard or URL-safe base64, padded or not, of exactly 32 bytes.
    pub fn from_base64(s: &str) -> Result<Self, CryptoError> {
        let s = s.trim();
        let decoded = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|e| e.decode(s).ok())
            .map(Zeroizing::new)
            .ok_or(CryptoError::BadKey)?;
        let bytes: [u8; 32] = decoded.as_slice().try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(Self::from_bytes(bytes))
    }

    /// A new random key (for `keygen`).
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self::from_bytes(bytes)
    }

    fn from_bytes(bytes: [u8; 32]) -> Self {
        let bytes = Zeroizing::new(bytes);
        let id = hex::encode(&Sha256::digest(bytes.as_slice())[..4]);
        Self { id, bytes }
    }

    /// The key in standard base64, as `ENCRYPTION_KEY` takes it.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(self.bytes.as_slice()))
    }

    /// The first 8 hex digits of the key's SHA-256.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// The master keys in use: the current one wraps, every one unwraps.
pub struct Keyring {
    current: MasterKey,
    previous: Vec<MasterKey>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let previous: Vec<&str> = self.previous.iter().map(MasterKey::id).collect();
        f.debug_struct("Keyring").field("current", &self.current.id).field("previous", &previous).finish()
    }
}

impl Keyring {
    pub fn new(current: MasterKey, previous: Vec<MasterKey>) -> Self {
        Self { current, previous }
    }

    /// `"KEY"` or `"NEW,OLD1,OLD2"`: base64 keys, the first is current.
    pub fn parse(s: &str) -> Result<Self, CryptoError> {
        let mut keys = s.split(',').map(MasterKey::from_base64);
        let current = keys.next().ok_or(CryptoError::BadKey)??;
        let previous = keys.collect::<Result<Vec<_>, _>>()?;
        Ok(Self { current, previous })
    }

    pub fn current_id(&self) -> &str {
        self.current.id()
    }

    /// The data key, encrypted under the current master key.
    pub fn wrap(&self, key: &DataKey) -> String {
        let header = format!("{PREFIX}{}", self.current.id);
        seal_with(&self.current.bytes, &header, key.bytes.as_slice(), header.as_bytes())
    }

    /// A wrapped data key, opened with whichever master key its id names.
    pub fn unwrap(&self, wrapped: &str) -> Result<DataKey, CryptoError> {
        let (id, raw) = split(wrapped)?;
        if id == DATA_MARKER {
            return Err(CryptoError::Corrupt);
        }
        let header = &wrapped[..PREFIX.len() + id.len()];
        let mut tried = false;
        for key in std::iter::once(&self.current).chain(&self.previous).filter(|k| k.id == id) {
            tried = true;
            if let Ok(plain) = open_with(&key.bytes, &raw, header.as_bytes()) {
                let bytes: [u8; 32] = plain.as_slice().try_into().map_err(|_| CryptoError::Corrupt)?;
                return Ok(DataKey { bytes: Zeroizing::new(bytes) });
            }
        }
        Err(if tried { CryptoError::Decrypt } else { CryptoError::UnknownKeyId(id.to_owned()) })
    }

    /// Whether a wrapped key is under an older master key (false for anything that
    /// is not a wrapped key).
    pub fn needs_rewrap(&self, wrapped: &str) -> bool {
        matches!(split(wrapped), Ok((id, _)) if id != DATA_MARKER && id != self.current.id)
    }

    /// The same data key, wrapped under the current master key.
    pub fn rewrap(&self, wrapped: &str) -> Result<String, CryptoError> {
        Ok(self.wrap(&self.unwrap(wrapped)?))
    }
}

/// A user's own 32-byte key, wiped from memory on drop. Stored only wrapped.
pub struct DataKey {
    bytes: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKey").finish_non_exhaustive()
    }
}

impl DataKey {
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(bytes.as_mut_slice());
        Self { bytes }
    }

    /// `plaintext` encrypted and bound to `aad` (say, the row's id): opening needs
    /// the same `aad`.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> String {
        let header = format!("{PREFIX}{DATA_MARKER}");
        seal_with(&self.bytes, &header, plaintext, &data_aad(aad))
    }

    pub fn open(&self, ciphertext: &str, aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let (id, raw) = split(ciphertext)?;
        if id != DATA_MARKER {
            return Err(CryptoError::Corrupt);
        }
        open_with(&self.bytes, &raw, &data_aad(aad)).map(|p| p.to_vec())
    }
}

/// The header, then the caller's associated data, kept apart by a NUL.
fn data_aad(aad: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(PREFIX.len() + DATA_MARKER.len() + 1 + aad.len());
    v.extend_from_slice(PREFIX.as_bytes());
    v.extend_from_slice(DATA_MARKER.as_bytes());
    v.push(0);
    v.extend_from_slice(aad);
    v
}

fn cipher(key: &[u8; 32]) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(key.into())
}

fn seal_with(key: &[u8; 32], header: &str, msg: &[u8], aad: &[u8]) -> String {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    // The only failure is a message over 256 GiB, which cannot be in memory here.
    let ct = cipher(key).encrypt(XNonce::from_slice(&nonce), Payload { msg, aad }).expect("message within AEAD limit");
    let mut raw = Vec::with_capacity(NONCE_LEN + ct.len());
    raw.extend_from_slice(&nonce);
    raw.extend_from_slice(&ct);
    format!("{header}:{}", URL_SAFE_NO_PAD.encode(raw))
}

fn open_with(key: &[u8; 32], raw: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let (nonce, ct) = raw.split_at(NONCE_LEN);
    cipher(key)
        .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad })
        .map(Zeroizing::new)
        .map_err(|_| CryptoError::Decrypt)
}

/// `enc:v1:<id>:<payload>` into the id and the decoded payload (at least a nonce and a tag).
fn split(s: &str) -> Result<(&str, Vec<u8>), CryptoError> {
    let rest = s.strip_prefix(PREFIX).ok_or(CryptoError::Corrupt)?;
    let (id, payload) = rest.split_once(':').ok_or(CryptoError::Corrupt)?;
    let valid_id = id == DATA_MARKER || (id.len() == 8 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
    if !valid_id {
        return Err(CryptoError::Corrupt);
    }
    let raw = URL_SAFE_NO_PAD.decode(payload).map_err(|_| CryptoError::Corrupt)?;
    if raw.len() < NONCE_LEN + TAG_LEN {
        return Err(CryptoError::Corrupt);
    }
    Ok((id, raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    fn key(b: u8) -> String {
        STANDARD.encode([b; 32])
    }

    #[test]
    fn key_parsing() {
        let k = MasterKey::from_base64(K1).unwrap();
        assert_eq!(k.id(), &hex::encode(Sha256::digest((0u8..32).collect::<Vec<_>>()))[..8]);
        assert_eq!(MasterKey::from_base64(" AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8 \n").unwrap().id(), k.id());
        assert_eq!(MasterKey::from_base64(&URL_SAFE_NO_PAD.encode([0xfb; 32])).unwrap().id().len(), 8);
        assert_eq!(MasterKey::from_base64(&STANDARD.encode([1u8; 31])).unwrap_err(), CryptoError::BadKey);
        assert_eq!(MasterKey::from_base64("not base64!").unwrap_err(), CryptoError::BadKey);
        assert_eq!(Keyring::parse("").unwrap_err(), CryptoError::BadKey);
        assert_eq!(Keyring::parse(&format!("{K1},")).unwrap_err(), CryptoError::BadKey);
        let ring = Keyring::parse(&format!("{}, {}", key(1), key(2))).unwrap();
        assert_eq!(ring.current_id(), MasterKey::from_base64(&key(1)).unwrap().id());
        assert_eq!(ring.previous.len(), 1);
        let again = MasterKey::from_base64(&MasterKey::from_base64(K1).unwrap().to_base64()).unwrap();
        assert_eq!(again.id(), k.id());
        assert_ne!(MasterKey::generate().id(), MasterKey::generate().id());
    }

    #[test]
    fn debug_never_prints_keys() {
        let ring = Keyring::parse(K1).unwrap();
        let dk = DataKey::generate();
        let text = format!("{ring:?} {:?} {dk:?}", MasterKey::from_base64(K1).unwrap());
        assert!(!text.contains("AAECAw"));
        assert!(!text.contains("0, 1, 2"));
        assert!(text.contains(ring.current_id()));
        for e in [CryptoError::BadKey, CryptoError::Corrupt, CryptoError::Decrypt] {
            assert!(!e.to_string().contains("AAECAw"));
        }
    }

    #[test]
    fn data_round_trip_and_format() {
        let dk = DataKey::generate();
        let plain = "MNP予約番号は1234567890です".as_bytes();
        let ct = dk.seal(plain, b"event-42");
        assert!(ct.starts_with("enc:v1:dk:"), "{ct}");
        assert!(is_encrypted(&ct));
        assert!(!is_encrypted("MNP予約番号"));
        assert!(!ct.contains("1234567890"));
        assert_eq!(dk.open(&ct, b"event-42").unwrap(), plain);
        assert_ne!(dk.seal(plain, b"event-42"), ct, "a fresh nonce every time");
        assert_eq!(dk.open(&dk.seal(b"", b""), b"").unwrap(), b"");
    }

    #[test]
    fn ciphertext_never_contains_the_plaintext() {
        let dk = DataKey::generate();
        let plain = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        let ct = dk.seal(plain.as_bytes(), b"");
        assert!(!ct.contains("aaaa"));
        let raw = URL_SAFE_NO_PAD.decode(&ct["enc:v1:dk:".len()..]).unwrap();
        assert!(!raw.windows(8).any(|w| w == b"aaaaaaaa"));
    }

    #[test]
    fn wrong_key_wrong_aad_and_tampering_fail() {
        let dk = DataKey::generate();
        let ct = dk.seal(b"secret", b"row-1");
        assert_eq!(DataKey::generate().open(&ct, b"row-1").unwrap_err(), CryptoError::Decrypt);
        assert_eq!(dk.open(&ct, b"row-2").unwrap_err(), CryptoError::Decrypt);
        let mut raw = URL_SAFE_NO_PAD.decode(&ct["enc:v1:dk:".len()..]).unwrap();
        for i in [0, NONCE_LEN, raw.len() - 1] {
            raw[i] ^= 1;
            let bad = format!("enc:v1:dk:{}", URL_SAFE_NO_PAD.encode(&raw));
            assert_eq!(dk.open(&bad, b"row-1").unwrap_err(), CryptoError::Decrypt);
            raw[i] ^= 1;
        }
        assert_eq!(dk.open(&ct[..ct.len() - 30], b"row-1").unwrap_err(), CryptoError::Corrupt);
        for bad in ["", "enc:v1:dk", "enc:v1:dk:!!!", "enc:v2:dk:AAAA", "plain text", "enc:v1:DK:AAAA"] {
            assert_eq!(dk.open(bad, b"row-1").unwrap_err(), CryptoError::Corrupt, "{bad}");
        }
    }

    #[test]
    fn wrap_and_unwrap() {
        let ring = Keyring::parse(K1).unwrap();
        let dk = DataKey::generate();
        let wrapped = ring.wrap(&dk);
        assert!(wrapped.starts_with(&format!("enc:v1:{}:", ring.current_id())));
        assert!(!ring.needs_rewrap(&wrapped));
        let back = ring.unwrap(&wrapped).unwrap();
        assert_eq!(back.open(&dk.seal(b"x", b"a"), b"a").unwrap(), b"x");
        // A data ciphertext is not a wrapped key, nor the other way round.
        assert_eq!(ring.unwrap(&dk.seal(b"x", b"")).unwrap_err(), CryptoError::Corrupt);
        assert_eq!(dk.open(&wrapped, b"").unwrap_err(), CryptoError::Corrupt);
        // Another key with a forged id in the header.
        let other = Keyring::parse(&key(9)).unwrap();
        let forged = wrapped.replacen(ring.current_id(), other.current_id(), 1);
        assert_eq!(other.unwrap(&forged).unwrap_err(), CryptoError::Decrypt);
        assert_eq!(other.unwrap(&wrapped).unwrap_err(), CryptoError::UnknownKeyId(ring.current_id().to_owned()));
    }

    #[test]
    fn rotation() {
        let old = Keyring::parse(&key(1)).unwrap();
        let dk = DataKey::generate();
        let ct = dk.seal("山田太郎".as_bytes(), b"user-1");
        let wrapped_old = old.wrap(&dk);

        let both = Keyring::parse(&format!("{},{}", key(2), key(1))).unwrap();
        assert!(both.needs_rewrap(&wrapped_old));
        let k = both.unwrap(&wrapped_old).unwrap();
        assert_eq!(k.open(&ct, b"user-1").unwrap(), "山田太郎".as_bytes());

        let wrapped_new = both.rewrap(&wrapped_old).unwrap();
        assert!(!both.needs_rewrap(&wrapped_new));
        assert!(!both.needs_rewrap("not a key"));

        let new_only = Keyring::parse(&key(2)).unwrap();
        assert!(matches!(new_only.unwrap(&wrapped_old), Err(CryptoError::UnknownKeyId(_))));
        let k = new_only.unwrap(&wrapped_new).unwrap();
        assert_eq!(k.open(&ct, b"user-1").unwrap(), "山田太郎".as_bytes());
    }
}
