//! Certificate fingerprints: the SHA-256 of a certificate's DER bytes, written as
//! `openssl x509 -fingerprint -sha256` does (`AB:CD:…`, 32 pairs), so an admin can compare
//! what the agent prints with what openssl says of the certificate file.

use sha2::{Digest, Sha256};
use std::fmt;

/// A SHA-256 certificate fingerprint.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of a DER-encoded certificate.
    pub fn of_der(der: &[u8]) -> Self {
        Fingerprint(Sha256::digest(der).into())
    }

    /// Reads `AB:CD:…`, `abcd…` or `sha256:…` (case, colons and spaces do not matter).
    pub fn parse(text: &str) -> Result<Self, String> {
        let trimmed = text.trim();
        let body = trimmed
            .strip_prefix("sha256:")
            .or_else(|| trimmed.strip_prefix("SHA256:"))
            .unwrap_or(trimmed);
        let hex: String = body
            .chars()
            .filter(|c| !matches!(c, ':' | ' ' | '-'))
            .collect();
        let bytes = hex::decode(&hex).map_err(|_| {
            format!("certificate fingerprint {text:?} is not hex (expected 32 bytes as AB:CD:…)")
        })?;
        let array: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
            format!(
                "certificate fingerprint {text:?} has {} bytes; a SHA-256 fingerprint has 32",
                b.len()
            )
        })?;
        Ok(Fingerprint(array))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{byte:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

impl serde::Serialize for Fingerprint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Fingerprint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Fingerprint::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_in_every_spelling() {
        let f = Fingerprint::of_der(b"certificate");
        let shown = f.to_string();
        assert_eq!(shown.len(), 32 * 3 - 1);
        assert_eq!(Fingerprint::parse(&shown).unwrap(), f);
        assert_eq!(Fingerprint::parse(&shown.to_lowercase()).unwrap(), f);
        let bare: String = shown.chars().filter(|c| *c != ':').collect();
        assert_eq!(Fingerprint::parse(&format!("sha256:{bare}")).unwrap(), f);
    }

    #[test]
    fn refuses_what_is_not_a_fingerprint() {
        assert!(Fingerprint::parse("").is_err());
        assert!(Fingerprint::parse("zz").is_err());
        assert!(
            Fingerprint::parse("AB:CD")
                .unwrap_err()
                .contains("has 2 bytes")
        );
    }
}
