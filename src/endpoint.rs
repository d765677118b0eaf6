//! An etcd client endpoint as the user (or discovery) names it.

use std::fmt;

/// One etcd client URL. `display` is kept exactly as given, because etcdctl prints endpoints the
/// way they were typed (`127.0.0.1:2379` and `https://127.0.0.1:2379` are different rows).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub display: String,
    pub scheme: Scheme,
    pub host: String,
    pub port: u16,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Http,
    Https,
    /// `host:port` with no scheme: TLS when TLS flags are given, as etcdctl does.
    Unspecified,
}

impl Endpoint {
    /// Parses `https://host:port`, `http://host:port` or `host:port` (IPv6 as `[::1]:2379`).
    pub fn parse(s: &str) -> Result<Endpoint, String> {
        let bad = |why: &str| {
            format!(
                "malformed endpoint {:?}: {why} (expected https://HOST:PORT, e.g. https://10.0.0.1:2379)",
                crate::redact::url(s)
            )
        };
        let s_trim = s.trim();
        let (scheme, rest) = if let Some(r) = s_trim.strip_prefix("https://") {
            (Scheme::Https, r)
        } else if let Some(r) = s_trim.strip_prefix("http://") {
            (Scheme::Http, r)
        } else if s_trim.contains("://") {
            return Err(bad("only http:// and https:// are supported"));
        } else {
            (Scheme::Unspecified, s_trim)
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains('/') || rest.contains('?') || rest.contains('@') {
            return Err(bad("a client URL has no path, query or user"));
        }
        let (host, port) = if let Some(r) = rest.strip_prefix('[') {
            let (h, p) = r.split_once(']').ok_or_else(|| bad("unclosed '['"))?;
            let p = p.strip_prefix(':').ok_or_else(|| bad("missing port"))?;
            if h.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(bad("not an IPv6 address inside [ ]"));
            }
            (h, p)
        } else {
            rest.rsplit_once(':').ok_or_else(|| bad("missing port"))?
        };
        if host.is_empty() || host.contains(':') && !rest.starts_with('[') {
            return Err(bad("missing or invalid host"));
        }
        if !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_:".contains(c))
        {
            return Err(bad("invalid host"));
        }
        let port: u16 = port
            .parse()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| bad("the port must be a number from 1 to 65535"))?;
        Ok(Endpoint {
            display: s.to_string(),
            scheme,
            host: host.to_string(),
            port,
        })
    }

    /// `host:port`, with brackets for IPv6, as used to dial.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

/// Splits etcdctl's comma list (`--endpoints a,b`), skipping empty items as pflag does.
pub fn parse_list(list: &[String]) -> Result<Vec<Endpoint>, String> {
    list.iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(Endpoint::parse)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_etcdctl_accepts() {
        let e = Endpoint::parse("https://10.0.0.1:2379").unwrap();
        assert_eq!(
            (e.scheme, e.host.as_str(), e.port),
            (Scheme::Https, "10.0.0.1", 2379)
        );
        let e = Endpoint::parse("127.0.0.1:2379").unwrap();
        assert_eq!(e.scheme, Scheme::Unspecified);
        assert_eq!(e.display, "127.0.0.1:2379");
        let e = Endpoint::parse("http://[::1]:2379/").unwrap();
        assert_eq!(
            (e.host.as_str(), e.authority()),
            ("::1", "[::1]:2379".to_string())
        );
        let e = Endpoint::parse("https://etcd-0.etcd.svc:2379").unwrap();
        assert_eq!(e.host, "etcd-0.etcd.svc");
    }

    #[test]
    fn refuses_malformed_urls_with_a_hint() {
        for bad in [
            "https://10.0.0.1",
            "unix://x:1",
            "https://10.0.0.1:99999",
            "https://:2379",
            "https://10.0.0.1:2379/v3",
            "https://[::1:2379",
            "https://a b:2379",
            "::1:2379",
        ] {
            let err = Endpoint::parse(bad).unwrap_err();
            assert!(err.starts_with("malformed endpoint"), "{bad}: {err}");
            assert!(err.contains("https://HOST:PORT"), "{bad}: {err}");
        }
    }

    #[test]
    fn splits_comma_lists() {
        let eps = parse_list(&["a:1,b:2".into(), "c:3".into(), "".into()]).unwrap();
        let names: Vec<_> = eps.iter().map(|e| e.display.as_str()).collect();
        assert_eq!(names, ["a:1", "b:2", "c:3"]);
    }
}
