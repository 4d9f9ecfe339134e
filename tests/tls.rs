//! TLS end to end: `ofrep serve --tls-cert/--tls-key` on 127.0.0.1:0 with certificates made
//! here (a CA, a server certificate, an expired one, one for another name, a client one), and
//! `fetch`, `conform` and `watch` against it.
mod fixture;

use std::path::{Path, PathBuf};

use fixture::ReferenceServer;
use fixture::cli::{ofrep, run};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, date_time_ymd,
};

/// The certificates of one test, as PEM files in a temporary directory.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params
            .distinguished_name
            .push(DnType::CommonName, "ofrep test CA");
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();

        let leaf = |name: &str, sans: &[&str], purpose, expired: bool| {
            let key = KeyPair::generate().unwrap();
            let mut params =
                CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                    .unwrap();
            params.extended_key_usages = vec![purpose];
            if expired {
                params.not_before = date_time_ymd(2020, 1, 1);
                params.not_after = date_time_ymd(2021, 1, 1);
            }
            let cert = params.signed_by(&key, &ca).unwrap();
            std::fs::write(dir.path().join(format!("{name}.pem")), cert.pem()).unwrap();
            std::fs::write(dir.path().join(format!("{name}.key")), key.serialize_pem()).unwrap();
        };
        let server = ExtendedKeyUsagePurpose::ServerAuth;
        leaf("server", &["127.0.0.1", "localhost"], server.clone(), false);
        leaf("expired", &["127.0.0.1", "localhost"], server.clone(), true);
        leaf("wrong", &["flags.example.com"], server, false);
        leaf(
            "client",
            &["ofrep-client"],
            ExtendedKeyUsagePurpose::ClientAuth,
            false,
        );
        Self { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// `ofrep serve` over TLS with the `name` certificate, and `extra` arguments.
    fn serve(&self, name: &str, extra: &[&str]) -> ReferenceServer {
        let (cert, key) = (
            self.path(&format!("{name}.pem")),
            self.path(&format!("{name}.key")),
        );
        let mut args = vec!["--tls-cert", &cert, "--tls-key", &key];
        args.extend_from_slice(extra);
        let server = ReferenceServer::start(&args);
        assert!(
            server.url.starts_with("https://127.0.0.1:"),
            "{}",
            server.url
        );
        server
    }
}

fn exists(path: &str) -> PathBuf {
    assert!(Path::new(path).exists(), "{path}");
    PathBuf::from(path)
}

#[test]
fn fetch_without_cacert_names_the_unknown_issuer_and_the_fix() {
    let pki = Pki::new();
    let server = pki.serve("server", &[]);
    let out = run(ofrep().args(["fetch", &server.url]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("unknown issuer"), "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "hint: pass --cacert FILE with the CA that signed it, or -k for a throwaway server"
        ),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("is the server running"),
        "{}",
        out.stderr
    );
}

#[test]
fn fetch_with_cacert_trusts_the_private_ca() {
    let pki = Pki::new();
    let server = pki.serve("server", &[]);
    let ca = exists(&pki.path("ca.pem"));
    let out = run(ofrep()
        .args(["fetch", &server.url, "-o", "json", "--cacert"])
        .arg(&ca));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["status"], 200, "{}", out.stdout);
}

#[test]
fn ssl_cert_file_replaces_the_system_roots() {
    let pki = Pki::new();
    let server = pki.serve("server", &[]);
    let out = run(ofrep()
        .args(["fetch", &server.url])
        .env("SSL_CERT_FILE", pki.path("ca.pem")));
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn fetch_with_localhost_and_cacert_checks_the_host_name_too() {
    let pki = Pki::new();
    let server = pki.serve("server", &[]);
    let url = server.url.replace("127.0.0.1", "localhost");
    let out = run(ofrep().args(["fetch", &url, "--cacert", &pki.path("ca.pem")]));
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn insecure_skips_verification_and_warns_once() {
    let pki = Pki::new();
    let server = pki.serve("wrong", &[]);
    let out = run(ofrep().args(["fetch", &server.url, "-k"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr.matches("warning: -k/--insecure").count(),
        1,
        "{}",
        out.stderr
    );
}

/// `fetch --cacert` against a server with the `name` certificate: refused (exit 2), and the
/// error line says `message`.
fn refused_with(name: &str, message: &str) {
    let pki = Pki::new();
    let server = pki.serve(name, &[]);
    let out = run(ofrep().args(["fetch", &server.url, "--cacert", &pki.path("ca.pem")]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains(message), "{}", out.stderr);
}

#[test]
fn a_certificate_for_another_name_says_which_names_it_has() {
    refused_with(
        "wrong",
        "the server's certificate is not for 127.0.0.1: it names flags.example.com",
    );
}

#[test]
fn an_expired_certificate_says_it_has_expired() {
    refused_with("expired", "the server's certificate has expired");
}

#[test]
fn plain_http_on_an_https_url_says_to_try_http() {
    let server = ReferenceServer::start(&[]);
    let url = server.url.replace("http://", "https://");
    let out = run(ofrep().args(["fetch", &url]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("plain HTTP"), "{}", out.stderr);
    assert!(out.stderr.contains("try http://"), "{}", out.stderr);
}

#[test]
fn conform_over_https_passes_the_default_suite() {
    let pki = Pki::new();
    let server = pki.serve("server", &["--control", "--keepalive", "1s"]);
    let trigger = format!("{}/control/change", server.url);
    let out = run(ofrep().args([
        "conform",
        &server.url,
        "--cacert",
        &pki.path("ca.pem"),
        "--trigger-url",
        &trigger,
        "--strict",
    ]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
}

#[test]
fn watch_over_https_follows_a_change() {
    let pki = Pki::new();
    let server = pki.serve("server", &["--demo=1s"]);
    let out = run(ofrep().args([
        "watch",
        &server.url,
        "--cacert",
        &pki.path("ca.pem"),
        "-o",
        "json",
        "--max-changes",
        "1",
    ]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let types: Vec<String> = out
        .stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .map(|v| v["type"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(types.iter().any(|t| t == "change"), "{}", out.stdout);
    assert!(
        out.stdout.contains(r#""state":"connected""#),
        "the event stream connected over TLS: {}",
        out.stdout
    );
}

#[test]
fn mutual_tls_refuses_without_a_client_certificate_and_works_with_one() {
    let pki = Pki::new();
    let server = pki.serve("server", &["--tls-client-ca", &pki.path("ca.pem")]);
    let ca = pki.path("ca.pem");
    let without = run(ofrep().args(["fetch", &server.url, "--cacert", &ca]));
    assert_eq!(without.code, 2, "{}", without.stderr);
    assert!(
        without.stderr.contains("requires a client certificate"),
        "{}",
        without.stderr
    );
    assert!(
        without.stderr.contains("--cert FILE --key FILE"),
        "{}",
        without.stderr
    );

    let with = run(ofrep().args([
        "fetch",
        &server.url,
        "--cacert",
        &ca,
        "--cert",
        &pki.path("client.pem"),
        "--key",
        &pki.path("client.key"),
    ]));
    assert_eq!(with.code, 0, "{}", with.stderr);
}
