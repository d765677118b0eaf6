//! Exec credential plugins (aws, gke-gcloud-auth-plugin, kubelogin, …), run here instead of by
//! kube-rs.
//!
//! kube-rs runs the plugin with a blocking `Command::output()`: no time limit, the plugin
//! outlives a cancelled run, and a failure's message is `{cmd:?}` (its environment, which may
//! hold secrets) plus the whole stdout (where the token is). Here the plugin runs in its own
//! process group with a deadline (`--request-timeout`, 30 s by default), the group is killed
//! when the deadline passes or the run ends, and a failure says the command, the exit status and
//! the last lines of stderr with token-like values masked — never stdout.

use kube::config::{ExecConfig, ExecInteractiveMode};
use serde::Deserialize;
use std::io::IsTerminal;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// How long a plugin may take when `--request-timeout` is not given (or 0), as kubectl's own
/// exec authenticator has none but an unattended run must end.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A plugin prints a few KiB; more is cut, never buffered without bound.
const MAX_OUTPUT: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("the kubeconfig's credential plugin {command:?} could not be started: {reason}{hint}")]
    Start {
        command: String,
        reason: String,
        hint: String,
    },
    #[error("the kubeconfig's credential plugin {command:?} failed ({status}){stderr}")]
    Failed {
        command: String,
        status: String,
        /// `: ` and the plugin's last stderr lines, token-like values masked; or empty.
        stderr: String,
    },
    #[error(
        "the kubeconfig's credential plugin {command:?} did not finish within {after:?} (--request-timeout); it was stopped"
    )]
    Timeout { command: String, after: Duration },
    #[error(
        "the kubeconfig's credential plugin {command:?} printed no usable ExecCredential: {why}"
    )]
    Output { command: String, why: String },
    #[error("the kubeconfig's user has an exec section without a command")]
    NoCommand,
}

/// What a plugin gave: a bearer token and/or a client certificate (PEM), and until when.
pub struct ExecResult {
    pub token: Option<String>,
    pub client_certificate_pem: Option<String>,
    pub client_key_pem: Option<String>,
    /// `status.expirationTimestamp`: the plugin is run again when it nears (None: never).
    pub expires: Option<std::time::SystemTime>,
}

#[derive(Deserialize)]
struct ExecCredential {
    status: Option<Status>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    token: Option<String>,
    client_certificate_data: Option<String>,
    client_key_data: Option<String>,
    expiration_timestamp: Option<String>,
}

/// Runs the plugin once, bounded by `timeout`. Longer than most functions: spawning, the
/// deadline with the group kill, and reading both pipes belong together to stay correct.
pub async fn run(exec: &ExecConfig, timeout: Duration) -> Result<ExecResult, PluginError> {
    let command = exec.command.clone().ok_or(PluginError::NoCommand)?;
    let interactive = match exec.interactive_mode {
        Some(ExecInteractiveMode::Never) => false,
        Some(ExecInteractiveMode::Always) => true,
        _ => std::io::stdin().is_terminal(),
    };
    let mut cmd = tokio::process::Command::new(&command);
    cmd.args(exec.args.iter().flatten());
    for env in exec.env.iter().flatten() {
        if let (Some(n), Some(v)) = (env.get("name"), env.get("value")) {
            cmd.env(n, v);
        }
    }
    for n in exec.drop_env.iter().flatten() {
        cmd.env_remove(n);
    }
    let info = serde_json::json!({
        "apiVersion": exec.api_version,
        "kind": "ExecCredential",
        "spec": {
            "interactive": interactive,
            "cluster": if exec.provide_cluster_info { serde_json::to_value(&exec.cluster).ok() } else { None },
        },
    });
    cmd.env("KUBERNETES_EXEC_INFO", info.to_string());
    // An interactive plugin (a browser login, a device code) talks to the user directly.
    if interactive {
        cmd.stdin(Stdio::inherit()).stderr(Stdio::inherit());
    } else {
        cmd.stdin(Stdio::null()).stderr(Stdio::piped());
    }
    cmd.stdout(Stdio::piped());
    // Its own process group, so that a shell script's children go with it.
    cmd.process_group(0).kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| PluginError::Start {
        command: command.clone(),
        reason: super::io_reason(&e),
        hint: exec
            .install_hint
            .as_deref()
            .map(|h| format!(" ({})", mask(h.trim())))
            .unwrap_or_default(),
    })?;
    let group = Group::new(child.id());
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let work = async {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let read_out = async {
            if let Some(s) = stdout.as_mut() {
                let _ = s.take(MAX_OUTPUT).read_to_end(&mut out).await;
            }
        };
        let read_err = async {
            if let Some(s) = stderr.as_mut() {
                let _ = s.take(MAX_OUTPUT).read_to_end(&mut err).await;
            }
        };
        tokio::join!(read_out, read_err);
        let status = child.wait().await;
        (status, out, err)
    };
    let (status, out, err) = match tokio::time::timeout(timeout, work).await {
        Ok(done) => done,
        Err(_) => {
            drop(group);
            return Err(PluginError::Timeout {
                command,
                after: timeout,
            });
        }
    };
    drop(group);
    let status = status.map_err(|e| PluginError::Start {
        command: command.clone(),
        reason: super::io_reason(&e),
        hint: String::new(),
    })?;
    if !status.success() {
        return Err(PluginError::Failed {
            command,
            status: match status.code() {
                Some(c) => format!("exit status {c}"),
                None => "killed by a signal".into(),
            },
            stderr: tail(&err),
        });
    }
    parse(&out).map_err(|why| PluginError::Output { command, why })
}

/// Kills the plugin's process group when dropped: at the deadline, at the end of the run, or
/// when the run is cancelled (Ctrl-C drops the future that owns it). While it lives, INT, TERM
/// and HUP, which would end this process without running any drop, kill the group first (see
/// [`on_signal`]).
struct Group(Option<u32>);

/// Process groups of plugins running now, for the signal handler (0: a free slot).
static GROUPS: [std::sync::atomic::AtomicI32; 8] =
    [const { std::sync::atomic::AtomicI32::new(0) }; 8];
/// The signals that end a run, and their actions before the first plugin started.
const ENDING: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];
static SAVED: std::sync::Mutex<Option<[libc::sigaction; 3]>> = std::sync::Mutex::new(None);

/// The handler while a plugin runs: kill every plugin group (kill(2) is async-signal-safe),
/// put back the action that was there before and raise the signal again, so the process ends
/// (or the earlier handler runs) as it would have without a plugin.
extern "C" fn on_signal(sig: libc::c_int) {
    for g in &GROUPS {
        let pid = g.load(std::sync::atomic::Ordering::SeqCst);
        if pid > 0 {
            // SAFETY: kill(2) is async-signal-safe; the group is one this process made.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
        }
    }
    // SAFETY: signal(2) and raise(3) are async-signal-safe. SIG_DFL is the action a plain
    // process has; if an earlier handler was installed, `Group::drop` restores it later.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

impl Group {
    fn new(pid: Option<u32>) -> Group {
        let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) else {
            return Group(None);
        };
        let slot = GROUPS.iter().find(|g| {
            g.compare_exchange(
                0,
                pid,
                std::sync::atomic::Ordering::SeqCst,
                std::sync::atomic::Ordering::SeqCst,
            )
            .is_ok()
        });
        if slot.is_some() {
            let mut saved = SAVED.lock().unwrap_or_else(|e| e.into_inner());
            if saved.is_none() {
                // SAFETY: sigaction(2) with a handler that only calls async-signal-safe
                // functions; the previous actions are kept to be restored.
                let mut old: [libc::sigaction; 3] = unsafe { std::mem::zeroed() };
                for (i, sig) in ENDING.into_iter().enumerate() {
                    unsafe {
                        let mut act: libc::sigaction = std::mem::zeroed();
                        act.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
                        libc::sigemptyset(&mut act.sa_mask);
                        libc::sigaction(sig, &act, &mut old[i]);
                    }
                }
                *saved = Some(old);
            }
        }
        Group(Some(pid as u32))
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(pid) = self.0.and_then(|p| i32::try_from(p).ok()) {
            // SAFETY: kill(2) with a negative pid signals the process group the plugin leads;
            // it has no memory effects. The group is ours: it was made at spawn.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
            let ordering = std::sync::atomic::Ordering::SeqCst;
            if let Some(g) = GROUPS.iter().find(|g| g.load(ordering) == pid) {
                g.store(0, ordering);
            }
            if GROUPS.iter().all(|g| g.load(ordering) == 0) {
                let mut saved = SAVED.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(old) = saved.take() {
                    for (i, sig) in ENDING.into_iter().enumerate() {
                        // SAFETY: puts back the action saved in `Group::new`.
                        unsafe { libc::sigaction(sig, &old[i], std::ptr::null_mut()) };
                    }
                }
            }
        }
    }
}

/// The ExecCredential's status; JSON or YAML (client-go decodes YAML too). Errors never quote
/// the output: it may hold a token.
fn parse(out: &[u8]) -> Result<ExecResult, String> {
    let cred: ExecCredential = serde_saphyr::from_slice(out).map_err(|e| match e.location() {
        Some(l) => format!("not valid JSON at line {}, column {}", l.line(), l.column()),
        None => "not valid JSON".into(),
    })?;
    let s = cred.status.ok_or_else(|| "it has no status".to_string())?;
    if s.token.is_none() && (s.client_certificate_data.is_none() || s.client_key_data.is_none()) {
        return Err(
            "its status has neither a token nor clientCertificateData and clientKeyData".into(),
        );
    }
    // RFC 3339, as client-go's metav1.Time; a value it cannot read fails there too.
    let expires = match s.expiration_timestamp.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(t) => Some(
            t.parse::<k8s_openapi::jiff::Timestamp>()
                .map(std::time::SystemTime::from)
                .map_err(|_| {
                    "its status.expirationTimestamp is not an RFC 3339 time (e.g. 2026-01-02T15:04:05Z)"
                        .to_string()
                })?,
        ),
    };
    Ok(ExecResult {
        token: s.token,
        client_certificate_pem: s.client_certificate_data,
        client_key_pem: s.client_key_data,
        expires,
    })
}

/// [`parse`] for the fuzz tests: whether it accepted the output.
#[cfg(test)]
pub fn parse_for_fuzz(out: &[u8]) -> bool {
    parse(out).is_ok()
}

/// `: ` and the last few lines of stderr, masked; empty when there is nothing to show.
fn tail(err: &[u8]) -> String {
    let text = String::from_utf8_lossy(err);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let last = &lines[lines.len().saturating_sub(5)..];
    let joined: String = last.join(" / ");
    let joined: String = joined.chars().take(800).collect();
    if joined.is_empty() {
        String::new()
    } else {
        format!(": {}", mask(&joined))
    }
}

/// Masks what looks like a credential: the value after `token`, `password`, `secret`, `key`,
/// `bearer` or `authorization`; long runs of token characters (JWTs, base64, hex); and PEM
/// blocks. Over-masking an innocent word costs little; under-masking leaks a credential.
pub fn mask(text: &str) -> String {
    const KEYWORDS: [&str; 7] = [
        "token",
        "password",
        "passwd",
        "secret",
        "key",
        "bearer",
        "authorization",
    ];
    let mut out = String::with_capacity(text.len());
    let mut mask_next = false;
    for piece in split_keep(text) {
        let is_word = piece.chars().any(is_token_char);
        if !is_word {
            out.push_str(piece);
            continue;
        }
        let lower = piece.to_ascii_lowercase();
        let keyword = KEYWORDS.iter().any(|k| {
            lower
                .trim_matches(|c: char| !c.is_ascii_alphanumeric())
                .ends_with(k)
        });
        if mask_next || looks_like_token(piece) {
            out.push_str("***");
            mask_next = false;
        } else {
            out.push_str(piece);
            mask_next = keyword;
        }
    }
    out
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "+/_.-~".contains(c)
}

/// Splits into runs of token characters and runs of everything else, keeping both.
fn split_keep(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut in_token = None;
    for (i, c) in text.char_indices() {
        let t = is_token_char(c);
        if in_token != Some(t) {
            if i > start {
                parts.push(&text[start..i]);
            }
            start = i;
            in_token = Some(t);
        }
    }
    if start < text.len() {
        parts.push(&text[start..]);
    }
    parts
}

/// 20 or more token characters with both letters and digits, or 32 or more of any: JWTs,
/// base64 keys, hex digests, random tokens. Paths and ordinary words rarely qualify.
fn looks_like_token(w: &str) -> bool {
    let n = w.chars().count();
    let letters = w.chars().any(|c| c.is_ascii_alphabetic());
    let digits = w.chars().any(|c| c.is_ascii_digit());
    (n >= 20 && letters && digits && !w.contains('/')) || n >= 32 && !w.starts_with('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_token_like_values_and_keeps_the_words() {
        let jwt = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEyMyJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJl";
        let m = mask(&format!(
            "error: token {jwt} rejected; password=hunter2 key: abc"
        ));
        assert!(
            !m.contains("eyJ") && !m.contains("hunter2") && !m.contains("abc"),
            "{m}"
        );
        assert!(
            m.starts_with("error: token *** rejected; password=*** key: ***"),
            "{m}"
        );
        let plain = "could not reach the identity provider at /usr/bin/aws: exit 255";
        assert_eq!(mask(plain), plain);
        assert_eq!(
            mask("PLANTED-7c1e9a0b2d4f6h8j rest"),
            "*** rest",
            "random tokens with dashes"
        );
    }

    #[test]
    fn parses_json_and_yaml_credentials_without_quoting_them() {
        let r = parse(br#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"t0k"}}"#).unwrap();
        assert_eq!(r.token.as_deref(), Some("t0k"));
        let r = parse(b"kind: ExecCredential\nstatus:\n  token: abc\n").unwrap();
        assert_eq!(r.token.as_deref(), Some("abc"));
        assert!(r.expires.is_none());
        let r = parse(br#"{"status":{"token":"t","expirationTimestamp":"2026-12-07T04:00:00Z"}}"#)
            .unwrap();
        let at = r
            .expires
            .unwrap()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        assert_eq!(at.as_secs(), 1_796_616_000);
        let e = parse(br#"{"status":{"token":"t","expirationTimestamp":"SECRET-soon"}}"#)
            .err()
            .unwrap();
        assert!(
            e.contains("expirationTimestamp") && !e.contains("SECRET"),
            "{e}"
        );
        for bad in [
            &b"{\"status\": {\"token\": \"SECRET-TOKEN-123\", }"[..],
            b"{\"status\": {}}",
            b"{\"kind\": \"ExecCredential\"}",
            b"SECRET-TOKEN-123",
        ] {
            let e = parse(bad).err().unwrap();
            assert!(!e.contains("SECRET"), "{e}");
        }
    }
}
