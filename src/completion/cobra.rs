//! cobra's `__complete` answer, which kubectl (≥ 1.26) reads from `kubectl_complete-<plugin>`:
//! one candidate per line, `candidate<TAB>description` when there is one, and a last line
//! `:<directive>`.

/// cobra's ShellCompDirective bits used here (the others: Error 1, NoSpace 2, FilterFileExt 8,
/// FilterDirs 16, KeepOrder 32). Default lets the shell complete file names.
pub const DEFAULT: u32 = 0;
pub const NO_FILE_COMP: u32 = 4;

#[derive(Debug, Default, PartialEq)]
pub struct Answer {
    pub candidates: Vec<(String, String)>,
    pub directive: u32,
}

impl Answer {
    pub fn new(directive: u32) -> Answer {
        Answer {
            candidates: Vec::new(),
            directive,
        }
    }

    pub fn push(&mut self, candidate: impl Into<String>, description: impl Into<String>) {
        self.candidates.push((candidate.into(), description.into()));
    }

    /// Keeps the candidates that start with what is typed (cobra leaves filtering to the
    /// program), once each.
    pub fn filtered(mut self, typed: &str) -> Answer {
        let mut seen = std::collections::BTreeSet::new();
        self.candidates
            .retain(|(c, _)| c.starts_with(typed) && seen.insert(c.clone()));
        self
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for (c, d) in &self.candidates {
            // A tab or newline inside would break the line protocol.
            let clean = |s: &str| s.replace(['\t', '\n', '\r'], " ");
            out.push_str(&clean(c));
            if !d.is_empty() {
                out.push('\t');
                out.push_str(&clean(d));
            }
            out.push('\n');
        }
        out.push_str(&format!(":{}\n", self.directive));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_then_the_directive() {
        let mut a = Answer::new(NO_FILE_COMP);
        a.push("status", "Status of every member");
        a.push("doctor", "");
        a.push("status", "again");
        assert_eq!(
            a.filtered("").render(),
            "status\tStatus of every member\ndoctor\n:4\n"
        );
        let mut a = Answer::new(DEFAULT);
        a.push("x\ty", "a\nb");
        assert_eq!(a.render(), "x y\ta b\n:0\n");
    }
}
