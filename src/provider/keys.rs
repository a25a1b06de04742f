//! SSH keys: comparing them and checking the host keys a provider publishes.

use super::{PResult, ProviderError};

/// Published SSH host keys as `type base64`, each checked: the base64 decodes to a key blob of
/// the stated type and, when the provider lists SHA256 fingerprints too, its fingerprint is
/// one of them. A key that fails either check fails the whole answer.
pub fn checked_host_keys(keys: &[String], fingerprints: &[String]) -> PResult<Vec<String>> {
    use base64::Engine as _;
    use sha2::Digest;
    let mut out = Vec::new();
    for k in keys {
        let k = norm_key(k);
        let bad = || ProviderError::new(format!("the provider published a malformed SSH host key `{k}`"), None);
        let (kind, b64) = k.split_once(' ').ok_or_else(bad)?;
        let blob = base64::engine::general_purpose::STANDARD.decode(b64).map_err(|_| bad())?;
        let n = blob.get(..4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize).ok_or_else(bad)?;
        if blob.get(4..4usize.saturating_add(n)) != Some(kind.as_bytes()) {
            return Err(bad());
        }
        if !fingerprints.is_empty() {
            let fp = base64::engine::general_purpose::STANDARD_NO_PAD.encode(sha2::Sha256::digest(&blob));
            if !fingerprints.iter().any(|f| f.trim_start_matches("SHA256:") == fp) {
                return Err(ProviderError::new(
                    format!("the provider's SSH host key `{kind}` matches none of its published fingerprints"),
                    Some("do not trust this host key; check the provider's API URL".into()),
                ));
            }
        }
        out.push(k);
    }
    Ok(out)
}

/// `type algo base64` without the comment, for comparing keys.
pub fn norm_key(k: &str) -> String {
    k.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
}
