//! Secrets from the kernel's CSPRNG.

/// `bytes` random bytes as lowercase hex.
pub fn hex_secret(bytes: usize) -> std::io::Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(std::io::Error::other)?;
    Ok(hex::encode(buf))
}
