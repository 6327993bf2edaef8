//! Basic value types of the ledger: heights, blake3 hashes, ed25519 keys and signatures.

use borsh::{BorshDeserialize, BorshSerialize};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A block height. Height 0 is genesis; the first produced block is 1.
pub type Height = u64;

macro_rules! hex_bytes {
    ($(#[$meta:meta])* $ty:ident, $len:expr, $what:expr) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, BorshSerialize, BorshDeserialize)]
        pub struct $ty(pub [u8; $len]);

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($ty), self)
            }
        }
        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                let bytes = hex::decode(s.trim())
                    .map_err(|e| format!("`{s}` is not a hex {}: {e}", $what))?;
                let arr: [u8; $len] = bytes.try_into().map_err(|b: Vec<u8>| {
                    format!("`{s}` is not a {}: {} bytes instead of {}", $what, b.len(), $len)
                })?;
                Ok($ty(arr))
            }
        }
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_string())
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as Deserialize>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

hex_bytes!(
    /// A blake3 digest (blocks, transactions, state roots) or a SHA-256 fingerprint.
    Hash, 32, "32-byte hash"
);
hex_bytes!(
    /// An ed25519 public key.
    PublicKey, 32, "32-byte ed25519 public key"
);
hex_bytes!(
    /// An ed25519 signature.
    Signature, 64, "64-byte ed25519 signature"
);

impl Hash {
    pub const ZERO: Hash = Hash([0; 32]);

    /// blake3 of `data`.
    pub fn of(data: &[u8]) -> Hash {
        Hash(*blake3::hash(data).as_bytes())
    }
}

impl PublicKey {
    /// Verifies `signature` over `message` with `verify_strict` (no malleable signatures, no weak keys).
    pub fn verify(&self, message: &[u8], signature: &Signature) -> bool {
        let Ok(key) = VerifyingKey::from_bytes(&self.0) else {
            return false;
        };
        let sig = ed25519_dalek::Signature::from_bytes(&signature.0);
        key.verify_strict(message, &sig).is_ok()
    }
}

/// A secret signing key. Lives only in the CLI's keystore and the validator's key file.
pub struct Keypair(SigningKey);

impl Keypair {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Keypair {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).expect("the operating system's random source failed");
        Keypair(SigningKey::from_bytes(&seed))
    }

    pub fn from_signing_key(key: SigningKey) -> Keypair {
        Keypair(key)
    }

    pub fn signing_key(&self) -> &SigningKey {
        &self.0
    }

    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key().to_bytes())
    }

    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.0.sign(message).to_bytes())
    }
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keypair({})", self.public())
    }
}

/// Canonical encoding of anything signed or hashed: borsh (deterministic, length-prefixed, little-endian).
pub fn encode<T: BorshSerialize>(value: &T) -> Vec<u8> {
    borsh::to_vec(value).expect("borsh encoding into a Vec cannot fail")
}

/// Decodes a canonical encoding, refusing trailing bytes.
pub fn decode<T: BorshDeserialize>(bytes: &[u8]) -> std::io::Result<T> {
    borsh::from_slice(bytes)
}
