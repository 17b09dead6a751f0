//! Self-signed TLS for the HTTPS listener: a throwaway local CA (written as PEM so
//! clients can trust it: REQUESTS_CA_BUNDLE, NODE_EXTRA_CA_CERTS) and a server
//! certificate for 127.0.0.1 / localhost signed by it.

use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub struct Tls {
    pub config: Arc<rustls::ServerConfig>,
    pub ca_pem_path: PathBuf,
}

pub fn generate(dir: &Path) -> anyhow::Result<Tls> {
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "sfemu local CA");
    ca_params.distinguished_name.push(DnType::OrganizationName, "sfemu");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca_cert = ca_params.self_signed(&ca_key)?;

    let leaf_key = KeyPair::generate()?;
    let mut lp = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()])?;
    lp.distinguished_name.push(DnType::CommonName, "localhost");
    lp.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    lp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf = lp.signed_by(&leaf_key, &ca_cert, &ca_key)?;

    std::fs::create_dir_all(dir)?;
    let ca_pem_path = dir.join("sfemu-ca.pem");
    std::fs::write(&ca_pem_path, ca_cert.pem())?;
    std::fs::write(dir.join("sfemu-server.pem"), format!("{}{}", leaf.pem(), ca_cert.pem()))?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(leaf.der().to_vec()), CertificateDer::from(ca_cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Tls { config: Arc::new(cfg), ca_pem_path })
}
