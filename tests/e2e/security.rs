//! Security end to end, with the real kubectl of the oldest and newest supported versions
//! and curl: the API is HTTPS from the first start with the cluster CA in the data
//! directory, the admin kubeconfig is cluster-admin, users from a `--token-auth-file` get
//! what their RoleBindings grant and no more (403 in Kubernetes' words, for lists and
//! watches alike), nobody grants what they do not hold, anonymous callers reach only the
//! health and version endpoints, and bad credentials are a 401. `--insecure-http` is the
//! explicit way back to plain HTTP.

use crate::cluster::Server;
use crate::output;
use crate::versions::{VERSIONS, kubectl};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The users of the token file: `token,user,uid,groups`.
const TOKENS: &str = "\
alice-secret,alice,1001,devs
bob-secret,bob,1002
carol-secret,carol,1003
";

/// A kubeconfig for a token user of `server`, in namespace `team-a`.
fn user_kubeconfig(server: &Server, user: &str, token: &str) -> PathBuf {
    let path = server.dir().join(format!("{user}.kubeconfig"));
    let config = format!(
        "apiVersion: v1
kind: Config
clusters:
- name: skiff
  cluster:
    server: {url}
    certificate-authority: {ca}
users:
- name: {user}
  user:
    token: {token}
contexts:
- name: {user}
  context: {{cluster: skiff, user: {user}, namespace: team-a}}
current-context: {user}
",
        url = server.url(),
        ca = server.data().join("tls/ca.crt").display(),
    );
    std::fs::write(&path, config).expect("write kubeconfig");
    path
}

/// stdout of a kubectl run that must succeed.
fn ok(server: &Server, version: &str, kubeconfig: &Path, args: &[&str]) -> String {
    let out = kubectl(server, version, kubeconfig, args);
    assert!(
        out.status.success(),
        "kubectl {version} {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// stderr of a kubectl run that must fail.
fn refused(server: &Server, version: &str, kubeconfig: &Path, args: &[&str]) -> String {
    let out = kubectl(server, version, kubeconfig, args);
    assert!(
        !out.status.success(),
        "kubectl {version} {} should have been refused: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `(HTTP code, body)` of a curl GET trusting the cluster CA, with extra curl arguments.
fn curl(server: &Server, path: &str, extra: &[&str]) -> (u16, String) {
    let ca = server.data().join("tls/ca.crt");
    let out = output(
        Command::new("curl")
            .args(["-s", "-w", "\n%{http_code}", "--cacert"])
            .arg(&ca)
            .args(extra)
            .arg(format!("{}{path}", server.url())),
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

#[test]
fn a_fresh_server_serves_https_and_its_admin_is_cluster_admin() {
    let mut server = Server::start();
    let kubeconfig = std::fs::read_to_string(server.kubeconfig()).expect("kubeconfig");
    assert!(
        server.url().starts_with("https://127.0.0.1:"),
        "{kubeconfig}"
    );
    for field in [
        "certificate-authority-data:",
        "client-certificate-data:",
        "client-key-data:",
    ] {
        assert!(kubeconfig.contains(field), "{field} not in the kubeconfig");
    }
    for key in ["tls/ca.key", "tls/apiserver.key", "kubeconfig"] {
        let mode = std::fs::metadata(server.data().join(key))
            .expect(key)
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{key}");
    }

    let admin = server.kubeconfig();
    for version in VERSIONS {
        let who = ok(&server, version, &admin, &["auth", "whoami"]);
        assert!(
            who.contains("skiff-admin") && who.contains("system:masters"),
            "{version}: {who}"
        );
        let can = ok(
            &server,
            version,
            &admin,
            &["auth", "can-i", "delete", "nodes"],
        );
        assert_eq!(can.trim(), "yes", "{version}");
    }

    // Anonymous callers reach health and version, nothing else.
    for path in ["/healthz", "/livez", "/readyz", "/version"] {
        assert_eq!(curl(&server, path, &[]).0, 200, "{path}");
    }
    let (code, body) = curl(&server, "/api/v1/namespaces", &[]);
    assert_eq!(code, 403, "{body}");
    assert!(
        body.contains(r#"namespaces is forbidden: User \"system:anonymous\" cannot list resource \"namespaces\" in API group \"\" at the cluster scope"#),
        "{body}"
    );
    let (code, body) = curl(&server, "/api", &[]);
    assert_eq!(code, 403, "{body}");
    assert!(
        body.contains(r#"forbidden: User \"system:anonymous\" cannot get path \"/api\""#),
        "{body}"
    );
    // Plain HTTP is not served on the port at all.
    let plain = server.url().replace("https://", "http://");
    let out = output(
        Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
            .arg(format!("{plain}/healthz")),
    );
    assert_ne!(String::from_utf8_lossy(&out.stdout), "200");

    // A certificate the cluster CA did not sign is a 401, whatever it claims.
    let other = skiff_pki::Authority::create("other-ca").expect("ca");
    let forged = other
        .issue(
            &skiff_pki::Usage::Client {
                user: "skiff-admin".into(),
                groups: vec!["system:masters".into()],
            },
            skiff_pki::authority::LEAF_VALIDITY,
        )
        .expect("issue");
    let (cert, key) = (
        server.dir().join("forged.crt"),
        server.dir().join("forged.key"),
    );
    std::fs::write(&cert, &forged.cert_pem).expect("cert");
    std::fs::write(&key, &forged.key_pem).expect("key");
    let cert_arg = cert.to_string_lossy().into_owned();
    let key_arg = key.to_string_lossy().into_owned();
    let (code, body) = curl(
        &server,
        "/api/v1/namespaces",
        &["--cert", &cert_arg, "--key", &key_arg],
    );
    assert_eq!(code, 401, "{body}");
    assert!(body.contains(r#""reason":"Unauthorized""#), "{body}");

    // A restart keeps the CA: a kubeconfig handed out before still works.
    let ca = std::fs::read(server.data().join("tls/ca.crt")).expect("ca");
    let kept = server.dir().join("kept.kubeconfig");
    std::fs::copy(server.kubeconfig(), &kept).expect("copy");
    server.restart();
    assert_eq!(
        std::fs::read(server.data().join("tls/ca.crt")).expect("ca"),
        ca
    );
    ok(&server, "1.33", &kept, &["get", "namespaces"]);
}

#[test]
fn users_get_what_their_bindings_grant_and_no_more() {
    let tokens = tempfile::NamedTempFile::new().expect("token file");
    std::fs::write(tokens.path(), TOKENS).expect("write tokens");
    let server = Server::start_with(&["--token-auth-file", &tokens.path().to_string_lossy()]);
    for namespace in ["team-a", "team-b"] {
        server.ok(&["create", "namespace", namespace]);
    }
    server.ok(&[
        "-n",
        "team-a",
        "create",
        "rolebinding",
        "alice-edit",
        "--clusterrole=edit",
        "--user=alice",
    ]);
    server.ok(&[
        "-n",
        "team-a",
        "create",
        "rolebinding",
        "bob-view",
        "--clusterrole=view",
        "--user=bob",
    ]);
    server.ok(&[
        "-n",
        "team-a",
        "create",
        "rolebinding",
        "carol-admin",
        "--clusterrole=admin",
        "--user=carol",
    ]);
    server.ok(&[
        "-n",
        "team-a",
        "create",
        "secret",
        "generic",
        "db",
        "--from-literal=pw=s3cret",
    ]);
    let alice = user_kubeconfig(&server, "alice", "alice-secret");
    let bob = user_kubeconfig(&server, "bob", "bob-secret");
    let carol = user_kubeconfig(&server, "carol", "carol-secret");

    for version in VERSIONS {
        let who = ok(&server, version, &alice, &["auth", "whoami"]);
        assert!(
            who.contains("alice") && who.contains("devs"),
            "{version}: {who}"
        );
        // edit in team-a: she deploys there…
        ok(
            &server,
            version,
            &alice,
            &[
                "create",
                "configmap",
                &format!("settings-{}", version.replace('.', "-")),
                "--from-literal=a=b",
            ],
        );
        ok(
            &server,
            version,
            &alice,
            &[
                "create",
                "deployment",
                &format!("web-{}", version.replace('.', "-")),
                "--image=skiff://modules/none.wasm",
            ],
        );
        assert_eq!(
            ok(
                &server,
                version,
                &alice,
                &["auth", "can-i", "create", "deployments"]
            )
            .trim(),
            "yes"
        );
        let rules = ok(&server, version, &alice, &["auth", "can-i", "--list"]);
        assert!(
            rules.contains("deployments.apps") && rules.contains("secrets"),
            "{version}: {rules}"
        );
        // …and nothing in team-b.
        let error = refused(&server, version, &alice, &["-n", "team-b", "get", "pods"]);
        assert!(
            error.contains(r#"pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "team-b""#),
            "{version}: {error}"
        );
        let no = kubectl(
            &server,
            version,
            &alice,
            &["-n", "team-b", "auth", "can-i", "create", "deployments"],
        );
        assert_eq!(
            String::from_utf8_lossy(&no.stdout).trim(),
            "no",
            "{version}"
        );
        refused(&server, version, &alice, &["get", "namespaces"]);

        // view in team-a: bob reads, but not Secrets, and writes nothing.
        ok(&server, version, &bob, &["get", "configmaps"]);
        let error = refused(&server, version, &bob, &["get", "secrets"]);
        assert!(
            error.contains(r#"secrets is forbidden: User "bob" cannot list resource "secrets" in API group "" in the namespace "team-a""#),
            "{version}: {error}"
        );
        let error = refused(&server, version, &bob, &["get", "secret", "db"]);
        assert!(
            error
                .contains(r#"secrets "db" is forbidden: User "bob" cannot get resource "secrets""#),
            "{version}: {error}"
        );
        refused(
            &server,
            version,
            &bob,
            &["create", "configmap", "nope", "--from-literal=a=b"],
        );

        // admin in team-a: carol hands out what she holds, never more.
        let name = format!("dave-edit-{}", version.replace('.', "-"));
        ok(
            &server,
            version,
            &carol,
            &[
                "create",
                "rolebinding",
                &name,
                "--clusterrole=edit",
                "--user=dave",
            ],
        );
        let error = refused(
            &server,
            version,
            &carol,
            &[
                "create",
                "rolebinding",
                "dave-root",
                "--clusterrole=cluster-admin",
                "--user=dave",
            ],
        );
        assert!(
            error.contains("is attempting to grant RBAC permissions not currently held"),
            "{version}: {error}"
        );
        let error = refused(
            &server,
            version,
            &carol,
            &["create", "role", "nodes", "--verb=list", "--resource=nodes"],
        );
        assert!(
            error.contains(r#"Resources:["nodes"]"#),
            "{version}: {error}"
        );
    }

    // Watches are authorized as lists are.
    let (code, body) = curl(
        &server,
        "/api/v1/namespaces/team-b/pods?watch=1",
        &["-H", "Authorization: Bearer alice-secret"],
    );
    assert_eq!(code, 403, "{body}");
    assert!(body.contains(r#"cannot watch resource \"pods\""#), "{body}");
    let (code, _) = curl(
        &server,
        "/api/v1/namespaces/team-a/pods?watch=1&timeoutSeconds=1",
        &["-H", "Authorization: Bearer alice-secret"],
    );
    assert_eq!(code, 200);

    // An unknown token is a 401, never anonymous.
    let stranger = user_kubeconfig(&server, "mallory", "guessed");
    let error = refused(&server, "1.33", &stranger, &["get", "pods"]);
    assert!(error.contains("Unauthorized"), "{error}");
    let (code, body) = curl(
        &server,
        "/healthz",
        &["-H", "Authorization: Bearer guessed"],
    );
    assert_eq!(code, 401, "{body}");
}

#[test]
fn insecure_http_is_plain_and_open_when_asked_for() {
    let server = Server::start_with(&["--insecure-http"]);
    assert!(server.url().starts_with("http://"), "{}", server.url());
    server.ok(&["get", "namespaces"]);
    let out = output(
        Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
            .arg(format!("{}/api/v1/namespaces", server.url())),
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200");
    assert!(!server.data().join("tls").exists());
}

#[test]
fn service_account_tokens_act_for_their_account_until_it_is_gone() {
    let server = Server::start();
    server.ok(&["create", "namespace", "team-a"]);
    // Every namespace gets its `default` ServiceAccount.
    crate::eventually("team-a's default ServiceAccount", || {
        server
            .kubectl(&["-n", "team-a", "get", "serviceaccount", "default"])
            .status
            .success()
            .then_some(())
    });
    server.ok(&["-n", "team-a", "create", "serviceaccount", "builder"]);
    server.ok(&[
        "-n",
        "team-a",
        "create",
        "rolebinding",
        "builder-view",
        "--clusterrole=view",
        "--serviceaccount=team-a:builder",
    ]);
    let admin = server.kubeconfig();
    let mut tokens = Vec::new();
    for version in VERSIONS {
        let token = ok(
            &server,
            version,
            &admin,
            &["-n", "team-a", "create", "token", "builder"],
        );
        let token = token.trim().to_string();
        let builder = user_kubeconfig(&server, &format!("builder-{version}"), &token);
        let who = ok(&server, version, &builder, &["auth", "whoami"]);
        for expected in [
            "system:serviceaccount:team-a:builder",
            "system:serviceaccounts:team-a",
        ] {
            assert!(who.contains(expected), "{version}: {expected} not in {who}");
        }
        ok(&server, version, &builder, &["get", "pods"]);
        let error = refused(&server, version, &builder, &["get", "secrets"]);
        assert!(
            error.contains(
                r#"User "system:serviceaccount:team-a:builder" cannot list resource "secrets""#
            ),
            "{version}: {error}"
        );
        let error = refused(
            &server,
            version,
            &admin,
            &[
                "-n",
                "team-a",
                "create",
                "token",
                "builder",
                "--duration=1m",
            ],
        );
        assert!(
            error.contains("may not specify a duration less than 10 minutes"),
            "{version}: {error}"
        );
        tokens.push(builder);
    }

    // A pod runs as `default` unless it names another account, which must exist.
    let pod = |name: &str, account: &str| {
        let account = if account.is_empty() {
            String::new()
        } else {
            format!("\n  serviceAccountName: {account}")
        };
        server.manifest(
            &format!("{name}.yaml"),
            &format!(
                "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: team-a}}\nspec:{account}\n  containers: [{{name: c, image: skiff://modules/none.wasm}}]\n"
            ),
        )
    };
    let plain = pod("plain", "");
    server.ok(&["create", "-f", &plain.to_string_lossy()]);
    let account = server.ok(&[
        "-n",
        "team-a",
        "get",
        "pod",
        "plain",
        "-o",
        "jsonpath={.spec.serviceAccountName}",
    ]);
    assert_eq!(account, "default");
    let ghost = pod("ghostly", "ghost");
    let error = server.fails(&["create", "-f", &ghost.to_string_lossy()]);
    assert!(
        error.contains(
            r#"error looking up service account team-a/ghost: serviceaccount "ghost" not found"#
        ),
        "{error}"
    );

    // Deleting the account revokes its tokens.
    server.ok(&["-n", "team-a", "delete", "serviceaccount", "builder"]);
    for builder in &tokens {
        let error = refused(&server, "1.33", builder, &["get", "pods"]);
        assert!(error.contains("Unauthorized"), "{error}");
    }
}

#[test]
fn without_anonymous_auth_a_request_without_credentials_is_a_401() {
    let server = Server::start_with(&["--anonymous-auth=false"]);
    let (code, body) = curl(&server, "/healthz", &[]);
    assert_eq!(code, 401, "{body}");
    server.ok(&["get", "namespaces"]);
}
