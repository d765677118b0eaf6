//! The table etcdctl prints: olekukonko/tablewriter v0.0.5 with etcdctl's settings (header,
//! right-aligned rows, everything else default).
//!
//! Why not the `tabled` crate: etcdctl's wrapping is tablewriter's minimal-raggedness word wrap at
//! 30 columns, where a column whose cell needed wrapping stays 30 wide. Scripts and eyes compare
//! these tables byte for byte, and no general table crate reproduces that algorithm; this port is
//! small and is checked against the real etcdctl in the end-to-end tests.

use std::io::{self, Write};

/// tablewriter's `MAX_ROW_WIDTH`.
const MAX_WIDTH: usize = 30;
/// tablewriter's `defaultPenalty` for a line longer than the limit.
const PENALTY: usize = 100_000;

/// Writes `header` and `rows` as etcdctl's `-w table` does.
pub fn write(out: &mut impl Write, header: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    write_painted(out, header, rows, |_, _| None)
}

/// The same table, with some cells wrapped in an ANSI colour (`paint(row, column)`) after
/// layout, so the escape codes take no width.
pub fn write_painted(
    out: &mut impl Write,
    header: &[&str],
    rows: &[Vec<String>],
    paint: impl Fn(usize, usize) -> Option<&'static str>,
) -> io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| width(h)).collect();
    let cells: Vec<Vec<Vec<String>>> = rows
        .iter()
        .map(|row| {
            row.iter()
                .enumerate()
                .map(|(col, cell)| {
                    let (lines, w) = wrap_cell(&super::printable(cell));
                    if col < widths.len() && w > widths[col] {
                        widths[col] = w;
                    }
                    lines
                })
                .collect()
        })
        .collect();

    let border: String = widths.iter().fold(String::from("+"), |mut acc, w| {
        acc.push_str(&"-".repeat(w + 2));
        acc.push('+');
        acc
    });
    writeln!(out, "{border}")?;
    let mut line = String::from("|");
    for (h, w) in header.iter().zip(&widths) {
        let title = title(h);
        let gap = w.saturating_sub(width(&title));
        let left = gap / 2;
        line.push_str(&format!(
            " {}{title}{} |",
            " ".repeat(left),
            " ".repeat(gap - left)
        ));
    }
    writeln!(out, "{line}")?;
    writeln!(out, "{border}")?;
    for (r, row) in cells.iter().enumerate() {
        let height = row.iter().map(Vec::len).max().unwrap_or(0);
        for i in 0..height {
            let mut line = String::from("|");
            for (col, w) in widths.iter().enumerate() {
                let text = row
                    .get(col)
                    .and_then(|c| c.get(i))
                    .map_or("", String::as_str);
                // Padded by hand: `{:>w$}` panics for widths past u16::MAX (a 65,535-character
                // endpoint did).
                let padded = format!("{}{text}", " ".repeat(w.saturating_sub(width(text))));
                match paint(r, col) {
                    // The colour codes as writes of their own: `output::escaping` passes only those.
                    Some(colour) => {
                        write!(out, "{line} ")?;
                        out.write_all(colour.as_bytes())?;
                        write!(out, "{padded}")?;
                        out.write_all(b"\x1b[0m")?;
                        line = String::from(" |");
                    }
                    None => line.push_str(&format!(" {padded} |")),
                }
            }
            writeln!(out, "{line}")?;
        }
    }
    writeln!(out, "{border}")
}

/// Header text as tablewriter's `Title`: `_` becomes a space, then upper case.
fn title(h: &str) -> String {
    let t = h.replace('_', " ");
    let t = t.trim();
    if t.is_empty() && !h.is_empty() {
        return " ".to_string();
    }
    t.to_uppercase()
}

fn width(s: &str) -> usize {
    s.chars().count()
}

/// tablewriter's `parseDimension` with auto-wrap: each line of the cell is wrapped at
/// min(its width, 30); the column is then at least that limit wide, or wider for a long word.
fn wrap_cell(cell: &str) -> (Vec<String>, usize) {
    let raw: Vec<&str> = cell.split('\n').collect();
    let limit = raw
        .iter()
        .map(|l| width(l))
        .max()
        .unwrap_or(0)
        .min(MAX_WIDTH);
    let mut widest = limit;
    let mut lines = Vec::new();
    for (i, para) in raw.iter().enumerate() {
        if i > 0 {
            lines.push(" ".to_string());
        }
        for line in wrap_string(para, limit) {
            widest = widest.max(width(&line));
            lines.push(line);
        }
    }
    (lines, widest)
}

/// tablewriter's `WrapString`: minimal raggedness over words split on single spaces.
fn wrap_string(s: &str, limit: usize) -> Vec<String> {
    let words: Vec<&str> = s.split(' ').collect();
    let limit = limit.max(words.iter().map(|w| width(w)).max().unwrap_or(0));
    wrap_words(&words, limit)
        .into_iter()
        .map(|line| line.join(" "))
        .collect()
}

/// tablewriter's `WrapWords` (dynamic programming over break points, squared slack as cost).
fn wrap_words<'a>(words: &[&'a str], limit: usize) -> Vec<Vec<&'a str>> {
    let n = words.len();
    // length(i, j): width of words i..=j joined by single spaces.
    let prefix: Vec<usize> = std::iter::once(0)
        .chain(words.iter().scan(0, |acc, w| {
            *acc += width(w);
            Some(*acc)
        }))
        .collect();
    let length = |i: usize, j: usize| prefix[j + 1] - prefix[i] + (j - i);
    let mut next_break = vec![0usize; n];
    let mut cost = vec![i64::from(i32::MAX); n];
    for i in (0..n).rev() {
        if length(i, n - 1) <= limit {
            cost[i] = 0;
            next_break[i] = n;
            continue;
        }
        for j in i + 1..n {
            let len = length(i, j - 1);
            let slack = limit as i64 - len as i64;
            let mut c = slack * slack + cost[j];
            if len > limit {
                c += PENALTY as i64;
            }
            if c < cost[i] {
                cost[i] = c;
                next_break[i] = j;
            }
        }
    }
    let mut lines = Vec::new();
    let mut i = 0;
    while i < n {
        lines.push(words[i..next_break[i]].to_vec());
        i = next_break[i];
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(header: &[&str], rows: &[&[&str]]) -> String {
        let rows: Vec<Vec<String>> = rows
            .iter()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect();
        let mut out = Vec::new();
        write(&mut out, header, &rows).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn centres_headers_and_right_aligns_cells() {
        let got = render(
            &["endpoint", "health", "took", "error"],
            &[&["127.0.0.9:2379", "true", "2.306074ms", ""]],
        );
        assert_eq!(
            got,
            "+----------------+--------+------------+-------+\n\
             |    ENDPOINT    | HEALTH |    TOOK    | ERROR |\n\
             +----------------+--------+------------+-------+\n\
             | 127.0.0.9:2379 |   true | 2.306074ms |       |\n\
             +----------------+--------+------------+-------+\n"
        );
    }

    #[test]
    fn empty_table_doubles_the_border() {
        assert_eq!(
            render(&["endpoint", "hash_revision"], &[]),
            "+----------+---------------+\n\
             | ENDPOINT | HASH REVISION |\n\
             +----------+---------------+\n\
             +----------+---------------+\n"
        );
    }

    #[test]
    fn wraps_long_cells_at_thirty_and_keeps_the_column_thirty_wide() {
        let got = render(
            &["errors"],
            &[&["etcdserver: mvcc: database space exceeded"]],
        );
        assert_eq!(
            got,
            "+--------------------------------+\n\
             |             ERRORS             |\n\
             +--------------------------------+\n\
             |     etcdserver: mvcc: database |\n\
             |                 space exceeded |\n\
             +--------------------------------+\n"
        );
    }

    #[test]
    fn a_long_word_widens_the_limit_and_short_cells_pad_extra_lines() {
        let url = "https://a-very-long-host-name.example.com:2379";
        let got = render(&["a", "b"], &[&[url, "x"]]);
        assert_eq!(
            got,
            format!(
                "+{}+---+\n| {}A{} | B |\n+{}+---+\n| {url} | x |\n+{}+---+\n",
                "-".repeat(48),
                " ".repeat(22),
                " ".repeat(23),
                "-".repeat(48),
                "-".repeat(48)
            )
        );
    }

    #[test]
    fn minimal_raggedness_beats_greedy() {
        // Greedy filling gives "aaa bb" / "cc" / "ddddd"; the last line costs nothing, so
        // tablewriter balances the first two instead.
        assert_eq!(
            wrap_string("aaa bb cc ddddd", 6),
            vec!["aaa", "bb cc", "ddddd"]
        );
    }
}
