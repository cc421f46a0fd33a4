//! TLS client configuration shared by IMAP, the OAuth2 token endpoint and SMTP.

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

/// A rustls client config trusting `ca_file` only, or the Mozilla roots when it is None.
pub fn client_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    match ca_file {
        Some(path) => {
            use rustls_pki_types::pem::PemObject;
            let certs = rustls_pki_types::CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("ca-file {}: {e}", path.display()))?;
            for cert in certs {
                roots
                    .add(cert.map_err(|e| format!("ca-file {}: {e}", path.display()))?)
                    .map_err(|e| format!("ca-file {}: {e}", path.display()))?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    // An explicit provider: a second one elsewhere in the tree cannot make this panic.
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(Arc::new(config))
}
