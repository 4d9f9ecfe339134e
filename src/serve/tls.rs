//! `serve --tls-cert --tls-key [--tls-client-ca]`: the rustls server configuration, read from PEM
//! files before the server starts.

use std::path::Path;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;

use crate::error::Error;

/// The server's certificate chain and key; with `client_ca`, clients must present a certificate
/// that CA signed (mutual TLS).
pub fn server_config(
    cert: &Path,
    key: &Path,
    client_ca: Option<&Path>,
) -> Result<Arc<rustls::ServerConfig>, Error> {
    let chain = certificates(cert, "--tls-cert")?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        Error::usage(format!(
            "--tls-key {}: no PEM private key ({e})",
            key.display()
        ))
    })?;
    let builder = rustls::ServerConfig::builder();
    let builder = match client_ca {
        Some(path) => {
            let mut roots = RootCertStore::empty();
            for ca in certificates(path, "--tls-client-ca")? {
                roots.add(ca).map_err(|e| {
                    Error::usage(format!("--tls-client-ca {}: {e}", path.display()))
                })?;
            }
            let verifier = WebPkiClientVerifier::builder(Arc::new(roots))
                .build()
                .map_err(|e| Error::usage(format!("--tls-client-ca {}: {e}", path.display())))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| {
        Error::usage(format!(
            "--tls-cert {} and its key do not make a usable certificate: {e}",
            cert.display()
        ))
    })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn certificates(path: &Path, flag: &str) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| Error::usage(format!("{flag} {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(Error::usage(format!(
            "{flag} {}: no PEM certificate in it",
            path.display()
        )));
    }
    Ok(certs)
}
