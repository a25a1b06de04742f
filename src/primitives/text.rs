//! `text::` — small string mechanisms scripts need to follow Kubernetes naming rules.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use rhai::{Array, Dynamic, Module};

use super::api::api_module;

pub use crate::text::{dns_label, is_dns_label, short_hash};

pub fn module() -> Module {
    api_module! {
        //! String helpers for Kubernetes naming rules.

        /// Make `s` a DNS-1123 label of at most `max` characters; a long name is cut and given a hash suffix so
        /// distinct inputs stay distinct.
        ///
        /// Example: `text::dns_label("My_Cluster", 63) // "my-cluster"`
        fn dns_label(s: &str, max: i64) -> String {
            Ok(dns_label(s, max.clamp(10, 253) as usize))
        }

        /// Whether `s` is a valid DNS-1123 label: at most 63 lowercase letters, digits or `-`, starting and ending with
        /// a letter or digit.
        ///
        /// Example: `text::is_dns_label("my-app") // true`
        fn is_dns_label(s: &str) -> bool {
            Ok(is_dns_label(s))
        }

        /// Join the items (as text) with `separator`.
        ///
        /// Example: `text::join(["a", "b"], ", ") // "a, b"`
        fn join(items: Array, separator: &str) -> String {
            Ok(items.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(separator))
        }

        /// Standard base64 of the UTF-8 text `s` (as in a Kubernetes Secret's `data`).
        ///
        /// Example: `text::base64_encode("hi") // "aGk="`
        fn base64_encode(s: &str) -> String {
            Ok(BASE64.encode(s))
        }

        /// Decode standard base64 to UTF-8 text; `()` when `s` is not base64 of text.
        ///
        /// Example: `text::base64_decode(secret.data["identity.pub"])`
        fn base64_decode(s: &str) -> Dynamic {
            let text = BASE64.decode(s.trim()).ok().and_then(|b| String::from_utf8(b).ok());
            Ok(text.map(Dynamic::from).unwrap_or(Dynamic::UNIT))
        }

        /// Hex SHA-256 of `s`.
        ///
        /// Example: `text::sha256("x")`
        fn sha256(s: &str) -> String {
            Ok(short_hash(s))
        }
    }
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
