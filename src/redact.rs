//! URLs as they may be shown: credentials inside them (`user:password@`, query values such as
//! `?access_token=…`) masked, as Go's `url.URL.Redacted` masks the password (here the user name
//! too: a bare `TOKEN@host` is as secret). A leaf module: every stage may use it.

/// What a masked part reads as.
pub const MASK: &str = "xxxxx";

/// `s` with any user information and every query value replaced by [`MASK`], and any fragment
/// dropped. Text that is not a URL comes back as it is (minus what looks like user information
/// before an `@` in its authority).
pub fn url(s: &str) -> String {
    let (scheme, rest) = match s.find("://") {
        Some(i) => (&s[..i + 3], &s[i + 3..]),
        None => ("", s),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rfind('@') {
        Some(at) => format!("{MASK}@{}", &authority[at + 1..]),
        None => authority.to_string(),
    };
    let tail = tail.split('#').next().unwrap_or("");
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let masked: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) => format!("{k}={MASK}"),
                    None if kv.is_empty() => String::new(),
                    None => MASK.to_string(),
                })
                .collect();
            format!("{path}?{}", masked.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn masks_user_information_and_query_values() {
        for (given, shown) in [
            ("https://10.0.0.1:6443", "https://10.0.0.1:6443"),
            ("https://a:b@h:6443/x", "https://xxxxx@h:6443/x"),
            ("https://tok@h", "https://xxxxx@h"),
            (
                "https://h/p?access_token=s&x",
                "https://h/p?access_token=xxxxx&xxxxx",
            ),
            ("https://h/p#frag", "https://h/p"),
            ("u:p@h:2379", "xxxxx@h:2379"),
            ("h:2379", "h:2379"),
            ("https://a@b@h/", "https://xxxxx@h/"),
        ] {
            assert_eq!(url(given), shown, "{given}");
        }
    }

    proptest! {
        /// Whatever the user information and query hold, none of it is shown.
        #[test]
        fn credentials_in_urls_never_survive(
            user in "[A-Za-z0-9._~%!$'()*+,;=-]{1,20}",
            password in "[A-Za-z0-9._~%!$'()*+,;=:@-]{8,30}",
            token in "[A-Za-z0-9._~%-]{8,30}",
            host in "[a-z0-9.-]{1,20}",
            scheme in "(https?://)?",
        ) {
            prop_assume!(!host.contains(&password) && !host.contains(&token));
            let planted = format!("{scheme}{user}:{password}@{host}:6443/api?token={token}");
            let shown = url(&planted);
            prop_assert!(!shown.contains(&password), "{shown}");
            prop_assert!(!shown.contains(&token), "{shown}");
            prop_assert!(shown.contains(&host), "{shown}");
        }
    }
}
