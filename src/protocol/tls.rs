//! Client TLS: the options (`--cacert`, `-k`, `--cert/--key`) applied to an HTTP client, and TLS
//! failures told as what happened, with what to do about it.
//!
//! Verification is reqwest's: rustls with the platform verifier, so the system's trust store
//! (where a company installs its private CA; `SSL_CERT_FILE`/`SSL_CERT_DIR` replace it on Linux)
//! plus the `--cacert` certificates.

use std::path::Path;

use rustls::{AlertDescription, CertificateError};

use crate::error::Error;

/// The TLS settings of a client, read and parsed before any I/O.
#[derive(Debug, Clone, Default)]
pub struct TlsConfig {
    /// `--cacert`: trusted in addition to the system's roots.
    pub extra_roots: Vec<reqwest::Certificate>,
    /// `-k/--insecure`: no certificate or host-name verification.
    pub insecure: bool,
    /// `--cert/--key`: a client certificate for mutual TLS.
    pub identity: Option<reqwest::Identity>,
}

impl TlsConfig {
    /// Reads `--cacert` and `--cert/--key`; a file that cannot be read or holds no usable PEM is a
    /// usage error naming it.
    pub fn load(
        cacert: Option<&Path>,
        insecure: bool,
        cert: Option<(&Path, &Path)>,
    ) -> Result<Self, Error> {
        let extra_roots = match cacert {
            Some(path) => {
                let roots = reqwest::Certificate::from_pem_bundle(&read(path, "--cacert")?)
                    .map_err(|_| unusable(path, "--cacert", "its PEM does not parse"))?;
                if roots.is_empty() {
                    return Err(unusable(path, "--cacert", "it holds no PEM certificate"));
                }
                roots
            }
            None => Vec::new(),
        };
        let identity = match cert {
            Some((cert, key)) => {
                let mut pem = read(cert, "--cert")?;
                pem.push(b'\n');
                pem.extend(read(key, "--key")?);
                Some(reqwest::Identity::from_pem(&pem).map_err(|_| {
                    Error::usage(format!(
                        "--cert {} with --key {}: not a PEM certificate and private key",
                        cert.display(),
                        key.display()
                    ))
                    .with_hint("both files are PEM: the certificate (chain) and its private key")
                })?)
            }
            None => None,
        };
        Ok(Self {
            extra_roots,
            insecure,
            identity,
        })
    }

    /// Applies the settings to a client being built.
    pub fn apply(&self, mut builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        if !self.extra_roots.is_empty() {
            builder = builder.tls_certs_merge(self.extra_roots.iter().cloned());
        }
        if self.insecure {
            builder = builder
                .tls_danger_accept_invalid_certs(true)
                .tls_danger_accept_invalid_hostnames(true);
        }
        if let Some(identity) = &self.identity {
            builder = builder.identity(identity.clone());
        }
        builder
    }
}

/// The warning `-k` earns, once per command.
pub const INSECURE_WARNING: &str =
    "-k/--insecure: server certificates and host names are not verified";

fn read(path: &Path, flag: &str) -> Result<Vec<u8>, Error> {
    std::fs::read(path)
        .map_err(|e| Error::usage(format!("{flag}: cannot read {}: {e}", path.display())))
}

fn unusable(path: &Path, flag: &str, why: &str) -> Error {
    Error::usage(format!("{flag} {}: {why}", path.display()))
        .with_hint("give a file of PEM certificates (-----BEGIN CERTIFICATE-----)")
}

/// A TLS failure found in an error's source chain, told as what happened with a hint; `None`
/// when the chain holds no TLS error. `address` is `host:port`.
pub fn describe(error: &(dyn std::error::Error + 'static), address: &str) -> Option<Error> {
    let tls = rustls_error(error)?;
    let failed = |what: String| Error::network(format!("TLS with {address} failed: {what}"));
    Some(match tls {
        rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType) => {
            failed("the server answered in plain HTTP, not TLS".to_owned())
                .with_hint("try http:// instead of https://")
        }
        rustls::Error::InvalidCertificate(problem) => certificate(problem, &failed),
        rustls::Error::AlertReceived(
            AlertDescription::CertificateRequired
            | AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown,
        ) => client_certificate(&failed),
        other => failed(other.to_string())
            .with_hint("check the server's certificate, or use http:// for a plain-text server"),
    })
}

fn client_certificate(failed: &dyn Fn(String) -> Error) -> Error {
    failed("the server requires a client certificate it accepts".to_owned()).with_hint(
        "pass --cert FILE --key FILE with a certificate signed by a CA the server trusts",
    )
}

fn certificate(problem: &CertificateError, failed: &dyn Fn(String) -> Error) -> Error {
    const KEEP_VERIFYING: &str = "or -k for a throwaway server";
    match problem {
        CertificateError::UnknownIssuer => {
            failed("the server's certificate is signed by an unknown issuer".to_owned())
                .with_hint(format!("pass --cacert FILE with the CA that signed it, {KEEP_VERIFYING}"))
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            failed("the server's certificate has expired".to_owned())
                .with_hint(format!("the server needs a renewed certificate ({KEEP_VERIFYING}); check this machine's clock too"))
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            failed("the server's certificate is not valid yet".to_owned())
                .with_hint(format!("check this machine's clock and the certificate's start date ({KEEP_VERIFYING})"))
        }
        CertificateError::NotValidForName => {
            failed("the server's certificate is for another host name".to_owned())
                .with_hint(format!("use a host name the certificate names, {KEEP_VERIFYING}"))
        }
        CertificateError::NotValidForNameContext { expected, presented } => failed(format!(
            "the server's certificate is not for {}: it names {}",
            server_name(expected),
            if presented.is_empty() {
                "no host at all".to_owned()
            } else {
                presented
                    .iter()
                    .map(|name| bare(name))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ))
        .with_hint(format!("use a host name the certificate names, {KEEP_VERIFYING}")),
        CertificateError::Revoked => failed("the server's certificate has been revoked".to_owned()),
        other => failed(format!("the server's certificate was refused ({other})"))
            .with_hint(format!("check the server's certificate, {KEEP_VERIFYING}")),
    }
}

/// rustls presents a name as `DnsName("a.example")` or `IpAddress(10.0.0.1)`; the name alone.
fn bare(presented: &str) -> &str {
    presented
        .split_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .map_or(presented, |inner| inner.trim_matches('"'))
}

fn server_name(name: &rustls::pki_types::ServerName<'_>) -> String {
    match name {
        rustls::pki_types::ServerName::DnsName(dns) => dns.as_ref().to_owned(),
        rustls::pki_types::ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
        _ => "this host".to_owned(),
    }
}

/// The first rustls error in the source chain. An `io::Error` hides the error it wraps from
/// `source()` (and the connector wraps rustls's `io::Error` in another), so each one is opened
/// by hand.
fn rustls_error<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        current = match error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => error.source(),
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn told(error: rustls::Error) -> String {
        let wrapped = std::io::Error::other(error);
        let error = describe(&wrapped, "127.0.0.1:1").unwrap();
        format!("{error} / {}", error.hint().unwrap_or_default())
    }

    #[test]
    fn each_certificate_problem_has_its_own_message() {
        assert!(
            told(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer
            ))
            .contains("--cacert FILE")
        );
        assert!(
            told(rustls::Error::InvalidCertificate(CertificateError::Expired)).contains("expired")
        );
        assert!(
            told(rustls::Error::InvalidCertificate(
                CertificateError::NotValidYet
            ))
            .contains("not valid yet")
        );
        assert!(
            told(rustls::Error::InvalidMessage(
                rustls::InvalidMessage::InvalidContentType
            ))
            .contains("try http://")
        );
        assert!(
            told(rustls::Error::AlertReceived(
                AlertDescription::CertificateRequired
            ))
            .contains("--cert FILE")
        );
    }

    #[test]
    fn presented_names_are_shown_bare() {
        assert_eq!(bare(r#"DnsName("a.example")"#), "a.example");
        assert_eq!(bare("IpAddress(10.0.0.1)"), "10.0.0.1");
        assert_eq!(bare("plain"), "plain");
    }

    #[test]
    fn an_error_without_tls_in_its_chain_is_not_described() {
        assert!(describe(&std::io::Error::other("refused"), "a:1").is_none());
    }
}
