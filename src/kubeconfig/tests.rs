use super::*;
use crate::material::MAX_FILE_BYTES;

const GOOD: &str = "apiVersion: v1
kind: Config
current-context: a
clusters:
- name: a
  cluster:
    server: https://10.0.0.1:6443
    certificate-authority: ca.crt
contexts:
- name: a
  context: {cluster: a, user: a}
users:
- name: a
  user:
    token: PLANTED-TOKEN-0a1b2c3d4e5f
    client-key: keys/client.key
    exec:
      command: ./bin/plugin
";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn yaml_mistakes_give_file_line_and_column_only() {
    let d = tempfile::tempdir().unwrap();
    let broken = GOOD.replace("    token: PLANTED", "    token PLANTED");
    let p = write(d.path(), "config", &broken);
    let e = read_file(&p).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!(
            "cannot read kubeconfig {}: not valid YAML at line ",
            p.display()
        )),
        "{e}"
    );
    assert!(e.contains("column"), "{e}");
    assert!(!e.contains("PLANTED") && !e.contains("token"), "{e}");
    // A type mistake (a list where a map goes) is located too, and not quoted.
    let p = write(
        d.path(),
        "config2",
        "users: PLANTED-SECRET-x9y8z7w6v5u4t3\n",
    );
    let e = read_file(&p).unwrap_err().to_string();
    assert!(!e.contains("PLANTED"), "{e}");
}

#[test]
fn relative_paths_resolve_against_the_file_and_bare_commands_stay() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "config", GOOD);
    let k = read_file(&p).unwrap();
    let c = k.clusters[0].cluster.as_ref().unwrap();
    assert_eq!(
        c.certificate_authority.as_deref(),
        Some(d.path().join("ca.crt").to_str().unwrap())
    );
    let u = k.auth_infos[0].auth_info.as_ref().unwrap();
    assert_eq!(
        u.client_key.as_deref(),
        Some(d.path().join("keys/client.key").to_str().unwrap())
    );
    assert_eq!(
        u.exec.as_ref().unwrap().command.as_deref(),
        Some(d.path().join("./bin/plugin").to_str().unwrap())
    );
    let p = write(d.path(), "config2", &GOOD.replace("./bin/plugin", "aws"));
    let k = read_file(&p).unwrap();
    let u = k.auth_infos[0].auth_info.as_ref().unwrap();
    assert_eq!(u.exec.as_ref().unwrap().command.as_deref(), Some("aws"));
}

#[test]
fn missing_files_in_the_list_are_skipped_as_kubectl_does() {
    let d = tempfile::tempdir().unwrap();
    let a = write(d.path(), "a", GOOD);
    let b = write(
        d.path(),
        "b",
        &GOOD
            .replace("name: a", "name: b")
            .replace("current-context: a", "current-context: b"),
    );
    let missing = d.path().join("missing");
    let list = std::env::join_paths([&a, &missing, &b]).unwrap();
    let l = load_with(None, Some(list), None).unwrap();
    assert_eq!(l.files, vec![a.clone(), b.clone()]);
    assert_eq!(l.config.current_context.as_deref(), Some("a"));
    assert_eq!(l.config.clusters.len(), 2);
    assert_eq!(l.file_of(Kind::Cluster, "b"), b.display().to_string());
    assert!(
        l.locate(Kind::User, "a", "client-key-data")
            .starts_with(&format!("kubeconfig {}, user \"a\"", a.display()))
    );
    // Nothing at all: say which files were looked for.
    let list = std::env::join_paths([&missing]).unwrap();
    let e = load_with(None, Some(list), None).unwrap_err().to_string();
    assert!(
        e.contains("none of the files in KUBECONFIG exist") && e.contains("missing"),
        "{e}"
    );
    // An explicit --kubeconfig must exist.
    let e = load_with(Some(&missing), None, None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no such file or directory"), "{e}");
    // A broken file in the list is an error, not skipped.
    let broken = write(d.path(), "broken", "clusters: [");
    let list = std::env::join_paths([&a, &broken]).unwrap();
    assert!(load_with(None, Some(list), None).is_err());
    // The default file.
    let home = tempfile::tempdir().unwrap();
    let e = load_with(None, None, Some(home.path().into()))
        .unwrap_err()
        .to_string();
    assert!(e.contains(".kube/config does not exist"), "{e}");
}

#[test]
fn files_are_read_with_a_bound() {
    let e = read_file(Path::new("/dev/zero")).unwrap_err().to_string();
    assert!(e.contains("larger than 1 MiB"), "{e}");
    let d = tempfile::tempdir().unwrap();
    let big = write(d.path(), "big", &"#".repeat(MAX_FILE_BYTES as usize + 1));
    assert!(read_capped(&big).is_err());
    let ok = write(d.path(), "ok", &"#".repeat(MAX_FILE_BYTES as usize));
    assert_eq!(read_capped(&ok).unwrap().len(), MAX_FILE_BYTES as usize);
}

#[test]
fn byte_order_marks_are_understood() {
    let d = tempfile::tempdir().unwrap();
    let mut utf16 = vec![0xFF, 0xFE];
    for u in GOOD.encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    let p = d.path().join("utf16");
    std::fs::write(&p, utf16).unwrap();
    assert_eq!(read_file(&p).unwrap().clusters.len(), 1);
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend_from_slice(GOOD.as_bytes());
    let p = d.path().join("bom");
    std::fs::write(&p, bom).unwrap();
    assert_eq!(read_file(&p).unwrap().clusters.len(), 1);
}
