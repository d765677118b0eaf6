//! Kubernetes object names, checked before they go into an API URL: a namespace is a DNS-1123
//! label, a Secret, ConfigMap or Pod name a DNS-1123 subdomain. A name that is neither cannot
//! exist, and checking it here keeps `/`, `?`, `..` and the like out of request paths.

/// A namespace: at most 63 characters, lower-case letters, digits and `-`, starting and ending
/// with a letter or digit.
pub fn check_label(what: &str, s: &str) -> Result<(), String> {
    if s.len() <= 63 && is_label(s) {
        Ok(())
    } else {
        Err(format!(
            "{what} {:?} is not a valid Kubernetes name (lower-case letters, digits and '-', at most 63 characters)",
            shorten(s)
        ))
    }
}

/// An object name: at most 253 characters, DNS-1123 labels joined by `.`.
pub fn check_subdomain(what: &str, s: &str) -> Result<(), String> {
    if s.len() <= 253 && s.split('.').all(is_label) {
        Ok(())
    } else {
        Err(format!(
            "{what} {:?} is not a valid Kubernetes name (lower-case letters, digits, '-' and '.', at most 253 characters)",
            shorten(s)
        ))
    }
}

fn is_label(s: &str) -> bool {
    let b = s.as_bytes();
    let ok = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty()
        && b.len() <= 63
        && ok(&b[0])
        && ok(&b[b.len() - 1])
        && b.iter().all(|c| ok(c) || *c == b'-')
}

/// Long or odd input is quoted only in part.
fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(64).collect();
    if s.chars().count() > 64 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_kubernetes_names_only() {
        for good in ["kube-system", "openshift-etcd", "a", "0a"] {
            check_label("namespace", good).unwrap();
        }
        for good in ["etcd-client-cert", "etcd.example.com", "a.b-c"] {
            check_subdomain("secret", good).unwrap();
        }
        for bad in [
            "",
            "-a",
            "a-",
            "A",
            "a_b",
            "a/b",
            "..",
            "a?x=1",
            &"a".repeat(64),
        ] {
            assert!(check_label("namespace", bad).is_err(), "{bad}");
        }
        for bad in ["", ".a", "a..b", "a/b", "../x", "A", &"a".repeat(254)] {
            assert!(check_subdomain("secret", bad).is_err(), "{bad}");
        }
    }
}
