//! go-humanize's `Bytes`, the size format etcdctl prints (`20 kB`, `9.1 MB`).

/// Formats a byte count exactly as go-humanize `Bytes` does (SI units, base 1000).
pub fn bytes(size: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    if size < 10 {
        return format!("{size} B");
    }
    let s = size as f64;
    let e = (s.ln() / 1000f64.ln()).floor();
    let unit = UNITS[e as usize];
    let val = (s / 1000f64.powf(e) * 10.0 + 0.5).floor() / 10.0;
    if val < 10.0 {
        format!("{val:.1} {unit}")
    } else {
        format!("{val:.0} {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::bytes;

    #[test]
    fn matches_go_humanize() {
        for (n, want) in [
            (0, "0 B"),
            (9, "9 B"),
            (10, "10 B"),
            (999, "999 B"),
            (1000, "1.0 kB"),
            (20480, "20 kB"),
            (24576, "25 kB"),
            (999_950, "1000 kB"),
            (9_100_000, "9.1 MB"),
            (2_147_483_648, "2.1 GB"),
        ] {
            assert_eq!(bytes(n), want, "{n}");
        }
    }
}
