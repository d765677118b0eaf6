//! Which etcdctl's output layout to reproduce. A plain value shared by the layers: the etcd
//! layer uses it to decide etcdctl's health alarm check, the printers to pick a layout.

use std::str::FromStr;

/// Which etcdctl's output to reproduce. 3.4 and 3.5 print the same for these commands except
/// where noted (health's stream, the alarm check, `--hex` JSON); 3.6 adds status columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Compat {
    V34,
    V35,
    V36,
}

impl FromStr for Compat {
    type Err = String;
    fn from_str(s: &str) -> Result<Compat, String> {
        match s {
            "3.4" => Ok(Compat::V34),
            "3.5" => Ok(Compat::V35),
            "3.6" => Ok(Compat::V36),
            other => Err(format!(
                "unknown etcdctl version {other:?} (use 3.4, 3.5 or 3.6)"
            )),
        }
    }
}

impl Compat {
    /// The layout for a server version such as `3.5.10`; unknown or newer versions get 3.6's.
    pub fn for_server(version: &str) -> Option<Compat> {
        let mut parts = version.split('.');
        let major: u32 = parts.next()?.parse().ok()?;
        let minor: u32 = parts.next()?.parse().ok()?;
        Some(match (major, minor) {
            (3, 0..=4) => Compat::V34,
            (3, 5) => Compat::V35,
            _ => Compat::V36,
        })
    }

    /// The layout for a set of members: the lowest version among those that answered, as a
    /// cluster's etcdctl is usually the oldest member's. None when nobody answered.
    pub fn lowest<'a>(versions: impl IntoIterator<Item = &'a str>) -> Option<Compat> {
        versions.into_iter().filter_map(Compat::for_server).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_lowest_member_version() {
        assert_eq!(
            Compat::lowest(["3.5.10", "3.4.23", "3.6.0"]),
            Some(Compat::V34)
        );
        assert_eq!(Compat::lowest(["3.6.1", "3.5.9"]), Some(Compat::V35));
        assert_eq!(Compat::lowest(["3.7.0"]), Some(Compat::V36));
        assert_eq!(Compat::lowest(["", "garbage"]), None);
    }
}
