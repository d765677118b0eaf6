//! The exec route: etcdctl run inside the etcd pod, with the certificates the pod itself uses,
//! when no client credentials can be had on this side. No shell is involved (distroless etcd
//! images have none): the argv goes to the API server as is. etcdctl answers in JSON, which is
//! parsed into the same values the gRPC route produces, so the output looks the same.

use super::{Alarms, EndpointError, HashKv, Health, HealthError, MemberList, Status};
use crate::discover::ExecSpec;
use crate::duration;
use crate::route::{RouteError, Upgrade};
use k8s_openapi::api::core::v1::Pod;
use kube::api::AttachParams;
use serde::Deserialize;
use std::time::Duration;
use tokio::io::AsyncReadExt;

#[derive(Clone)]
pub struct Etcdctl {
    pub pods: kube::Api<Pod>,
    pub pod: String,
    pub spec: ExecSpec,
    /// The API connections warmed for the execs (see `apiserver::Warm`).
    pub warm: crate::apiserver::Warm,
    pub dial_timeout: Duration,
    pub command_timeout: Duration,
    pub notes: Vec<String>,
}

/// What one etcdctl run printed.
pub(super) struct Ran {
    pub(super) stdout: String,
    pub(super) stderr: String,
}

impl Etcdctl {
    /// Runs `etcdctl <args> -w json` in the pod, bounded by dial + command timeout.
    pub(super) async fn run(&self, args: &[&str]) -> Result<Ran, EndpointError> {
        let argv = argv(&self.spec, self.dial_timeout, self.command_timeout, args);
        let params = AttachParams::default()
            .container(self.spec.container.clone())
            .stdin(false)
            .stdout(true)
            .stderr(true);
        let bound = self.dial_timeout + self.command_timeout;
        let run = async {
            self.warm.ready().await;
            let mut proc = self
                .pods
                .exec(&self.pod, argv, &params)
                .await
                .map_err(|e| {
                    EndpointError::Route(RouteError::refused(
                        Upgrade::Exec,
                        &self.pods,
                        &self.pod,
                        &e,
                    ))
                })?;
            let (mut out, mut err) = (String::new(), String::new());
            let mut so = proc
                .stdout()
                .ok_or_else(|| EndpointError::Other("exec gave no stdout".into()))?;
            let mut se = proc
                .stderr()
                .ok_or_else(|| EndpointError::Other("exec gave no stderr".into()))?;
            let status = proc.take_status();
            let (a, b) = tokio::join!(so.read_to_string(&mut out), se.read_to_string(&mut err));
            a.and(b)
                .map_err(|e| EndpointError::Other(format!("exec in pod {}: {e}", self.pod)))?;
            let status = match status {
                Some(s) => s.await,
                None => None,
            };
            // A missing binary is the API server's own failure, not etcdctl's exit code.
            if let Some(s) = status
                && s.status.as_deref() == Some("Failure")
                && s.reason.as_deref() != Some("NonZeroExitCode")
            {
                return Err(EndpointError::Other(format!(
                    "exec in pod {} container {}: {}",
                    self.pod,
                    self.spec.container,
                    s.message.unwrap_or_default()
                )));
            }
            let _ = proc.join().await;
            Ok(Ran {
                stdout: out,
                stderr: err,
            })
        };
        match tokio::time::timeout(bound, run).await {
            Err(_) => Err(EndpointError::DeadlineExceeded),
            Ok(r) => r,
        }
    }

    /// The error etcdctl reported for the endpoint: the text inside `Failed to … (…)`, or its
    /// `Error: …` line.
    pub(super) fn failure(ran: &Ran) -> EndpointError {
        let line = ran
            .stderr
            .lines()
            .filter(|l| !l.starts_with('{'))
            .find_map(|l| {
                l.strip_prefix("Error: ").map(str::to_string).or_else(|| {
                    l.starts_with("Failed to ")
                        .then(|| {
                            l.split_once(" (")
                                .map(|(_, r)| r.trim_end_matches(')').to_string())
                        })
                        .flatten()
                })
            });
        match line.as_deref() {
            Some("context deadline exceeded") => EndpointError::DeadlineExceeded,
            Some(l) => EndpointError::Etcdctl(l.to_string()),
            None if ran.stderr.trim().is_empty() => {
                EndpointError::Other("etcdctl printed nothing".into())
            }
            None => EndpointError::Etcdctl(
                ran.stderr
                    .trim()
                    .lines()
                    .last()
                    .unwrap_or_default()
                    .to_string(),
            ),
        }
    }

    pub async fn status(&self) -> Result<Status, EndpointError> {
        #[derive(Deserialize)]
        struct EpStatus {
            #[serde(rename = "Status")]
            status: Status,
        }
        let ran = self.run(&["endpoint", "status"]).await?;
        let list: Vec<EpStatus> = parse(&ran)?;
        list.into_iter()
            .next()
            .map(|e| e.status)
            .ok_or_else(|| Self::failure(&ran))
    }

    pub async fn health(&self) -> Result<(Health, Option<String>), EndpointError> {
        #[derive(Deserialize)]
        struct EpHealth {
            #[serde(default)]
            took: String,
            #[serde(default)]
            error: String,
        }
        let ran = self.run(&["endpoint", "health"]).await?;
        let list: Vec<EpHealth> = parse(&ran)?;
        let h = list.into_iter().next().ok_or_else(|| Self::failure(&ran))?;
        Ok((
            Health {
                took: duration::parse(&h.took).ok(),
                error: (!h.error.is_empty()).then_some(HealthError::Reported(h.error)),
            },
            None,
        ))
    }

    pub async fn member_list(&self) -> Result<MemberList, EndpointError> {
        let ran = self.run(&["member", "list"]).await?;
        parse(&ran).map_err(|_| Self::failure(&ran))
    }

    pub async fn alarms(&self) -> Result<Alarms, EndpointError> {
        let ran = self.run(&["alarm", "list"]).await?;
        parse(&ran).map_err(|_| Self::failure(&ran))
    }

    pub async fn hashkv(&self, revision: i64) -> Result<HashKv, EndpointError> {
        #[derive(Deserialize)]
        struct EpHashKv {
            #[serde(rename = "HashKV")]
            hash_kv: HashKv,
        }
        let rev = format!("--rev={revision}");
        let ran = self.run(&["endpoint", "hashkv", &rev]).await?;
        let list: Vec<EpHashKv> = parse(&ran)?;
        list.into_iter()
            .next()
            .map(|e| e.hash_kv)
            .ok_or_else(|| Self::failure(&ran))
    }

    pub async fn version(&self) -> Option<String> {
        self.status().await.ok().map(|s| s.version)
    }
}

/// etcdctl's argv in the pod: its global flags, then `args`. A global flag whose `ETCDCTL_*`
/// variable the container sets is left out: etcdctl refuses a flag that shadows a set variable
/// ("conflicting environment variable … is shadowed"), and the pod's own value is the one meant
/// for this member (OpenShift sets the member's endpoint and certificates). The bound on the
/// whole run stays ours either way.
fn argv(spec: &ExecSpec, dial: Duration, command: Duration, args: &[&str]) -> Vec<String> {
    let mut global = vec![
        format!("--endpoints={}", spec.endpoint),
        format!("--dial-timeout={}", duration::format(dial)),
        format!("--command-timeout={}", duration::format(command)),
    ];
    global.extend(spec.tls_flags.iter().cloned());
    // A set ETCDCTL_WRITE_OUT other than json would break parsing; no distribution sets it.
    global.push("--write-out=json".into());
    let shadows = |flag: &str| {
        let name = flag.trim_start_matches('-');
        let name = name.split_once('=').map_or(name, |(n, _)| n);
        let var = format!("ETCDCTL_{}", name.replace('-', "_").to_uppercase());
        spec.env.contains(&var)
    };
    let mut argv = vec!["etcdctl".to_string()];
    argv.extend(global.into_iter().filter(|f| !shadows(f)));
    argv.extend(args.iter().map(|s| s.to_string()));
    argv
}

fn parse<T: serde::de::DeserializeOwned>(ran: &Ran) -> Result<T, EndpointError> {
    let text = ran.stdout.trim();
    if text.is_empty() {
        return Err(Etcdctl::failure(ran));
    }
    serde_json::from_str(text)
        .map_err(|e| EndpointError::Other(format!("cannot read etcdctl's JSON from the pod: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(env: &[&str]) -> ExecSpec {
        ExecSpec {
            container: "etcd".into(),
            endpoint: "https://127.0.0.1:2379".into(),
            tls_flags: vec![
                "--cacert=/pki/ca.crt".into(),
                "--cert=/pki/c.crt".into(),
                "--key=/pki/c.key".into(),
            ],
            env: env.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn passes_every_global_flag_when_the_container_sets_no_variable() {
        let a = argv(
            &spec(&[]),
            Duration::from_secs(2),
            Duration::from_secs(5),
            &["endpoint", "hashkv", "--rev=3"],
        );
        assert_eq!(
            a,
            [
                "etcdctl",
                "--endpoints=https://127.0.0.1:2379",
                "--dial-timeout=2s",
                "--command-timeout=5s",
                "--cacert=/pki/ca.crt",
                "--cert=/pki/c.crt",
                "--key=/pki/c.key",
                "--write-out=json",
                "endpoint",
                "hashkv",
                "--rev=3",
            ]
        );
    }

    /// OpenShift's etcdctl container: ETCDCTL_API, _CACERT, _CERT, _ENDPOINTS, _KEY set.
    #[test]
    fn never_shadows_a_variable_the_container_sets() {
        let env = [
            "ETCDCTL_API",
            "ETCDCTL_CACERT",
            "ETCDCTL_CERT",
            "ETCDCTL_ENDPOINTS",
            "ETCDCTL_KEY",
            "ETCDCTL_DIAL_TIMEOUT",
        ];
        let a = argv(
            &spec(&env),
            Duration::from_secs(2),
            Duration::from_secs(5),
            &["endpoint", "status"],
        );
        assert_eq!(
            a,
            [
                "etcdctl",
                "--command-timeout=5s",
                "--write-out=json",
                "endpoint",
                "status"
            ]
        );
    }
}
