//! Naming helpers shared by templates, checkpoints and the `text::` primitives.

/// `s` as a DNS-1123 label of at most `max` characters: lowercase alphanumerics and `-`,
/// starting and ending alphanumeric. Long names keep a hash suffix so they stay unique.
pub fn dns_label(s: &str, max: usize) -> String {
    let mut out = String::new();
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_string();
    if out.len() <= max {
        return out;
    }
    let suffix = &short_hash(s)[..8];
    // Too short for a hash suffix: truncate (the text is ASCII by now).
    if max <= suffix.len() + 1 {
        return out[..max].trim_end_matches('-').to_string();
    }
    let keep = max.saturating_sub(suffix.len() + 1);
    format!("{}-{}", out[..keep].trim_end_matches('-'), suffix)
}

/// Whether `s` is a valid DNS-1123 label (the rule for most Kubernetes names).
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

pub fn short_hash(s: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}
