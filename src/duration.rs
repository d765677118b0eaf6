//! Go's `time.Duration` syntax: etcdctl users type `--dial-timeout=500ms`, and etcdctl prints
//! `took = 2.306074ms`. Both directions follow Go's `time` package to the byte.

use std::time::Duration;

/// Parses a Go duration string such as `2s`, `500ms`, `1m30s` or `1.5h`.
/// Negative durations are refused: no etcdctl timeout means anything below zero.
pub fn parse(s: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {s:?} (use Go syntax such as 500ms, 2s, 1m30s)");
    let mut rest = s.strip_prefix('+').unwrap_or(s);
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() || rest.starts_with('-') {
        return Err(bad());
    }
    let mut nanos: u128 = 0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let (num, tail) = rest.split_at(num_len);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let scale: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(bad()),
        };
        let (int, frac) = num.split_once('.').unwrap_or((num, ""));
        if (int.is_empty() && frac.is_empty()) || frac.contains('.') {
            return Err(bad());
        }
        let int: u128 = if int.is_empty() {
            0
        } else {
            int.parse().map_err(|_| bad())?
        };
        let mut part = int.checked_mul(scale).ok_or_else(bad)?;
        let mut div = 1u128;
        for d in frac.bytes().take(18) {
            div *= 10;
            part += u128::from(d - b'0') * scale / div;
        }
        nanos = nanos.checked_add(part).ok_or_else(bad)?;
        rest = tail;
    }
    u64::try_from(nanos)
        .map(Duration::from_nanos)
        .map_err(|_| bad())
}

/// [`parse`] for the plugin's own time limits (`--cluster-timeout`, `snapshot save --timeout`,
/// `defrag --timeout`, `--healthy-timeout`), where 0 is refused: it would end the work before it
/// starts, and a limit that means "none" would let a silent member hold the run for ever.
pub fn parse_limit(s: &str) -> Result<Duration, String> {
    match parse(s)? {
        d if d.is_zero() => Err(
            "0 would end it before it starts (and no limit is not offered): give a duration such as 30s"
                .into(),
        ),
        d => Ok(d),
    }
}

/// Formats like Go's `Duration.String()`: `0s`, `903.138µs`, `8.765833ms`, `5.000970291s`, `1m2.5s`.
pub fn format(d: Duration) -> String {
    let u = d.as_nanos();
    if u == 0 {
        return "0s".to_string();
    }
    if u < 1_000_000_000 {
        let (prec, unit) = match u {
            0..1_000 => (0, "ns"),
            1_000..1_000_000 => (3, "µs"),
            _ => (6, "ms"),
        };
        return format!("{}{unit}", fixed(u, prec));
    }
    let secs = u / 1_000_000_000;
    let frac = u % 1_000_000_000;
    let mut out = String::new();
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        out.push_str(&format!("{m}m"));
    }
    out.push_str(&fixed(s * 1_000_000_000 + frac, 9));
    out.push('s');
    out
}

/// `v / 10^prec` with the fraction's trailing zeros (and a bare point) dropped, as Go's fmtFrac.
fn fixed(v: u128, prec: u32) -> String {
    let scale = 10u128.pow(prec);
    let (int, frac) = (v / scale, v % scale);
    if frac == 0 {
        return int.to_string();
    }
    let digits = format!("{frac:0width$}", width = prec as usize);
    format!("{int}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_syntax() {
        let ms = Duration::from_millis;
        assert_eq!(parse("2s"), Ok(ms(2000)));
        assert_eq!(parse("500ms"), Ok(ms(500)));
        assert_eq!(parse("1m30s"), Ok(ms(90_000)));
        assert_eq!(parse("1.5h"), Ok(ms(5_400_000)));
        assert_eq!(parse(".5s"), Ok(ms(500)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        assert_eq!(parse("10us"), Ok(Duration::from_micros(10)));
        assert_eq!(parse("10µs"), Ok(Duration::from_micros(10)));
        assert_eq!(parse("3ns"), Ok(Duration::from_nanos(3)));
    }

    #[test]
    fn refuses_what_go_refuses() {
        for bad in [
            "",
            "2",
            "s",
            "2x",
            "-1s",
            "1..2s",
            ".s",
            "2 s",
            "99999999999999h",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(parse("2").unwrap_err().contains("Go syntax"));
    }

    #[test]
    fn formats_like_go() {
        let ns = Duration::from_nanos;
        assert_eq!(format(ns(0)), "0s");
        assert_eq!(format(ns(7)), "7ns");
        assert_eq!(format(ns(903_138)), "903.138µs");
        assert_eq!(format(ns(1_000)), "1µs");
        assert_eq!(format(ns(8_765_833)), "8.765833ms");
        assert_eq!(format(ns(2_306_074)), "2.306074ms");
        assert_eq!(format(ns(5_000_970_291)), "5.000970291s");
        assert_eq!(format(ns(2_000_000_000)), "2s");
        assert_eq!(format(ns(62_500_000_000)), "1m2.5s");
        assert_eq!(format(ns(3_600_000_000_000)), "1h0m0s");
    }
}
