//! `text::` — small string mechanisms scripts need to follow Kubernetes naming rules.

use rhai::Module;

use super::api::ApiModule;

pub use crate::text::{dns_label, is_dns_label, short_hash};

pub fn module() -> Module {
    let mut m = ApiModule::new("String helpers for Kubernetes naming rules.");
    m.func(
        "dns_label",
        &["s: &str", "max: i64", "String"],
        "Make `s` a DNS-1123 label of at most `max` characters; a long name is cut and given a hash suffix so distinct inputs stay distinct.\n\nExample: `text::dns_label(\"My_Cluster\", 63) // \"my-cluster\"`",
        |s: &str, max: i64| dns_label(s, max.clamp(10, 253) as usize),
    );
    m.func(
        "is_dns_label",
        &["s: &str", "bool"],
        "Whether `s` is a valid DNS-1123 label: at most 63 lowercase letters, digits or `-`, starting and ending with a letter or digit.\n\nExample: `text::is_dns_label(\"my-app\") // true`",
        is_dns_label,
    );
    m.func(
        "join",
        &["items: Array", "separator: &str", "String"],
        "Join the items (as text) with `separator`.\n\nExample: `text::join([\"a\", \"b\"], \", \") // \"a, b\"`",
        |items: rhai::Array, sep: &str| items.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(sep),
    );
    m.func(
        "base64_encode",
        &["s: &str", "String"],
        "Standard base64 of the UTF-8 text `s` (as in a Kubernetes Secret's `data`).\n\nExample: `text::base64_encode(\"hi\") // \"aGk=\"`",
        |s: &str| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(s)
        },
    );
    m.func(
        "base64_decode",
        &["s: &str", "Dynamic"],
        "Decode standard base64 to UTF-8 text; `()` when `s` is not base64 of text.\n\nExample: `text::base64_decode(secret.data[\"identity.pub\"])`",
        |s: &str| -> rhai::Dynamic {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .decode(s.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .map(rhai::Dynamic::from)
                .unwrap_or(rhai::Dynamic::UNIT)
        },
    );
    m.func("sha256", &["s: &str", "String"], "Hex SHA-256 of `s`.\n\nExample: `text::sha256(\"x\")`", short_hash);
    m.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(dns_label("My_Cluster.local", 63), "my-cluster-local");
        let long = "a".repeat(100);
        let l = dns_label(&long, 63);
        assert!(l.len() <= 63 && is_dns_label(&l), "{l}");
        assert_ne!(dns_label(&format!("{long}x"), 63), l);
        assert!(!is_dns_label("-a") && !is_dns_label("A") && is_dns_label("a-1"));
    }
}
