//! The last guard between the cluster and the terminal: every byte the commands write to stdout
//! and stderr goes through [`Escaping`], which escapes control characters (`ESC`, `BEL`, C1
//! codes…) as `\u{1b}`. Names, labels, metric labels, errors and kubeconfig names come from
//! elsewhere and may carry sequences that retitle, recolour or clear the user's terminal; the
//! printers escape their cells too ([`super::printable`]), this catches every other line.
//!
//! The plugin's own sequences (colour marks, clearing the screen for `--watch`, a progress line
//! rewritten in place) are written as literal pieces of their own (`write!(out, "\x1b[31m")`), and
//! only a write that is exactly one of them passes as it is.

use std::io::{self, Write};

/// The sequences the plugin itself writes, each as a single write.
pub const OWN: &[&[u8]] = &[b"\x1b[31m", b"\x1b[0m", b"\x1b[H\x1b[2J", b"\r\x1b[2K"];

/// A writer that escapes control characters other than newline and tab.
pub struct Escaping<W: Write> {
    inner: W,
}

impl<W: Write> Escaping<W> {
    pub fn new(inner: W) -> Escaping<W> {
        Escaping { inner }
    }
}

/// Whether `b` starts or is a control character to escape: C0 but `\n` and `\t`, DEL, and the
/// lead byte of UTF-8's C1 range (U+0080..U+009F are `0xC2 0x80..0x9F`).
fn suspect(b: u8) -> bool {
    (b.is_ascii_control() && b != b'\n' && b != b'\t') || b == 0xc2
}

impl<W: Write> Write for Escaping<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !buf.iter().copied().any(suspect) || OWN.contains(&buf) {
            self.inner.write_all(buf)?;
            return Ok(buf.len());
        }
        let mut out = String::with_capacity(buf.len() + 8);
        for chunk in buf.utf8_chunks() {
            for c in chunk.valid().chars() {
                if c.is_control() && c != '\n' && c != '\t' {
                    out.extend(c.escape_default());
                } else {
                    out.push(c);
                }
            }
            for b in chunk.invalid() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        }
        self.inner.write_all(out.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn through(pieces: &[&[u8]]) -> Vec<u8> {
        let mut e = Escaping::new(Vec::new());
        for p in pieces {
            e.write_all(p).unwrap();
        }
        e.inner
    }

    #[test]
    fn foreign_control_characters_are_escaped_and_the_plugins_own_pass() {
        let got = through(&[
            b"context \x1b]0;owned\x07 x\xc2\x9by\n",
            b"\x1b[31m",
            b"\t\xff\x1bok",
        ]);
        assert_eq!(
            got,
            b"context \\u{1b}]0;owned\\u{7} x\\u{9b}y\n\x1b[31m\t\\xff\\u{1b}ok"
        );
        // An own sequence inside foreign text is foreign.
        let got = through(&[b"name\x1b[31m"]);
        assert_eq!(got, b"name\\u{1b}[31m");
        // Formatting writes literals as pieces of their own: a progress line keeps its rewrite.
        let mut e = Escaping::new(Vec::new());
        // (A variable: a literal argument would be folded into the format string.)
        let key = String::from("k\x1b[2J");
        write!(e, "\r\x1b[2K{key} keys").unwrap();
        assert_eq!(e.inner, b"\r\x1b[2Kk\\u{1b}[2J keys");
    }
}
