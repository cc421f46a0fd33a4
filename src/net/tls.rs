//! TLS client configuration shared by IMAP, the OAuth2 token endpoint and SMTP.

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// TLS from the first byte (port 993).
    #[default]
    Implicit,
    /// Plain connection upgraded with STARTTLS (port 143).
    Starttls,
    /// No TLS: only when the config says so; warned about unless the host is loopback.
    Plain,
}

/// A rustls client config trusting `ca_file` only, or the Mozilla roots when it is None.
pub fn client_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, String> {
    let roots = root_store(ca_file, "ca-file")?;
    // An explicit provider: a second one elsewhere in the tree cannot make this panic.
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The certificates in a PEM file, or the Mozilla roots when there is none; `key` names
/// the setting in errors.
pub fn root_store(file: Option<&Path>, key: &str) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    let Some(path) = file else {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        return Ok(roots);
    };
    use rustls_pki_types::pem::PemObject;
    let bad = |e: &dyn std::fmt::Display| format!("{key} {}: {e}", path.display());
    for cert in rustls_pki_types::CertificateDer::pem_file_iter(path).map_err(|e| bad(&e))? {
        roots.add(cert.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
    }
    Ok(roots)
}

/// A server certificate's SHA-256 fingerprint as `tls-pin-sha256` takes it: 64 hex
/// digits, colons and case ignored (`openssl x509 -noout -fingerprint -sha256` prints
/// it so).
pub fn parse_pin(text: &str) -> Result<[u8; 32], String> {
    let hex: String = text.chars().filter(|c| *c != ':').collect();
    let bad =
        || format!("tls-pin-sha256 {text:?}: want the 64 hex digits of a SHA-256 fingerprint");
    if hex.len() != 64 || !hex.is_ascii() {
        return Err(bad());
    }
    let mut pin = [0u8; 32];
    for (i, byte) in pin.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(pin)
}

/// The SHA-256 fingerprint of a certificate (DER).
pub fn fingerprint(der: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(der).into()
}

/// A fingerprint as colon-separated hex, as openssl prints it.
pub fn show_fingerprint(f: &[u8; 32]) -> String {
    f.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A rustls client config that trusts exactly one server certificate, by its SHA-256
/// fingerprint (a self-signed certificate that no CA vouches for). The handshake's
/// signatures are still checked, so the server must hold that certificate's key.
pub fn pinned_client_config(pin: [u8; 32]) -> Result<Arc<ClientConfig>, String> {
    checked_by(Some(pin))
}

/// A rustls client config that takes any server certificate: encryption without
/// knowing who answers, which is what PostgreSQL's `sslmode=require` asks for. The
/// handshake's signatures are still checked against the certificate shown.
pub fn unverified_client_config() -> Result<Arc<ClientConfig>, String> {
    checked_by(None)
}

fn checked_by(pin: Option<[u8; 32]>) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(Pinned {
        pin,
        provider: provider.clone(),
    });
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The verifier behind [`pinned_client_config`] (and, with no pin, behind
/// [`unverified_client_config`]).
#[derive(Debug)]
struct Pinned {
    pin: Option<[u8; 32]>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl rustls::client::danger::ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &rustls_pki_types::CertificateDer<'_>,
        _intermediates: &[rustls_pki_types::CertificateDer<'_>],
        _server_name: &rustls_pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls_pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        let Some(pin) = self.pin else {
            return Ok(rustls::client::danger::ServerCertVerified::assertion());
        };
        let seen = fingerprint(end_entity.as_ref());
        if seen == pin {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "server certificate SHA-256 {} is not the pinned {}",
                show_fingerprint(&seen),
                show_fingerprint(&pin)
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls_pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls_pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_read_as_openssl_prints_them_or_as_bare_hex() {
        let colons = "AB:cd:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD";
        let pin = parse_pin(colons).unwrap_or_default();
        assert_eq!(pin[..2], [0xAB, 0xCD]);
        assert_eq!(parse_pin(&colons.replace(':', "")).ok(), Some(pin));
        assert_eq!(show_fingerprint(&pin), colons.to_ascii_uppercase());
        assert!(parse_pin("AB:CD").is_err());
        assert!(parse_pin(&"zz".repeat(32)).is_err());
        assert!(parse_pin(&"é".repeat(32)).is_err());
    }
}
