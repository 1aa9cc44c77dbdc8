//! In-process TLS (rustls 0.23, TLS 1.2 and 1.3) with certificate reload.
//!
//! The serving certificate sits in a [`CertStore`], which rustls asks for the
//! certificate on every handshake. Reloading swaps the store's content: new
//! connections get the new certificate, open connections keep the session
//! they negotiated, nothing is dropped and nothing is refused. The files are
//! checked every `tls.reload_interval` (by content, so a `cp` over the file
//! or a symlink swap by cert-manager both count) and on SIGHUP; a file that
//! does not parse, or a key that does not match the certificate, is refused
//! with a log line and the old certificate keeps serving.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::setting;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

/// `tls.*`: where the certificate comes from and how it is watched.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsSettings {
    /// PEM certificate chain, leaf first (`tls.cert`, `--tls-cert`).
    #[serde(with = "setting::value")]
    pub cert: Option<PathBuf>,
    /// PEM private key, PKCS#8, PKCS#1 or SEC1 (`tls.key`, `--tls-key`).
    #[serde(with = "setting::value")]
    pub key: Option<PathBuf>,
    /// Generate a certificate for localhost at start-up (`tls.self_signed`, `--tls-self-signed`).
    #[serde(with = "setting::value")]
    pub self_signed: bool,
    /// A second listener for HTTPS; when unset and TLS is on, `listen` serves HTTPS.
    #[serde(with = "setting::value")]
    pub listen: Option<SocketAddr>,
    /// How often the certificate files are checked for changes (`tls.reload_interval`).
    #[serde(with = "setting::positive_duration")]
    pub reload_interval: Duration,
    /// `/readyz` warns when the certificate expires within this many days.
    #[serde(with = "setting::value")]
    pub expiry_warning_days: u32,
}

impl Default for TlsSettings {
    fn default() -> Self {
        TlsSettings {
            cert: None,
            key: None,
            self_signed: false,
            listen: None,
            reload_interval: Duration::from_secs(10),
            expiry_warning_days: 14,
        }
    }
}

impl TlsSettings {
    /// Whether any TLS listener is configured.
    pub fn enabled(&self) -> bool {
        self.self_signed || self.cert.is_some() || self.key.is_some()
    }
}

/// What a request learns about its HTTPS connection (absent over plain HTTP):
/// in the request extensions of every request that came over TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    /// `TLSv1.3` or `TLSv1.2`.
    pub protocol: String,
    /// The IANA name, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher_suite: String,
    /// The server name the client asked for (SNI), if any.
    pub sni: Option<String>,
    /// The application protocol agreed with ALPN (`http/1.1`), if any.
    pub alpn: Option<String>,
}

impl TlsInfo {
    pub fn from_connection(conn: &rustls::ServerConnection) -> Self {
        let protocol = match conn.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".to_owned(),
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".to_owned(),
            Some(other) => format!("{other:?}"),
            None => "unknown".to_owned(),
        };
        let cipher_suite = conn
            .negotiated_cipher_suite()
            .and_then(|suite| suite.suite().as_str())
            .unwrap_or("unknown")
            .to_owned();
        TlsInfo {
            protocol,
            cipher_suite,
            sni: conn.server_name().map(str::to_owned),
            alpn: conn
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the certificate file holds no PEM certificate")]
    NoCertificate,
    #[error("the certificate file is not valid PEM: {0}")]
    BadCertificate(String),
    #[error("the key file holds no PEM private key (PKCS#8, PKCS#1 or SEC1): {0}")]
    BadKey(String),
    #[error("the key does not belong to the certificate, or cannot be used: {0}")]
    KeyMismatch(String),
    #[error("the certificate's validity cannot be read")]
    BadValidity,
    #[error("set both tls.cert and tls.key (or tls.self_signed)")]
    Incomplete,
    #[error("cannot generate a certificate: {0}")]
    Generate(String),
    #[error("cannot build the TLS configuration: {0}")]
    Config(String),
}

/// A certificate ready to serve, with what operators want to know about it.
#[derive(Debug)]
pub struct ServingCert {
    pub certified: Arc<CertifiedKey>,
    /// The leaf's notAfter, seconds since the Unix epoch.
    pub not_after: i64,
    /// SHA-256 of the leaf certificate (DER), colon-separated upper-case hex.
    pub fingerprint: String,
}

impl ServingCert {
    /// Whole days until the certificate expires (negative when expired).
    pub fn days_left(&self) -> i64 {
        (self.not_after - unix_now()).div_euclid(86_400)
    }
}

/// Installs the process-wide rustls crypto provider (aws-lc-rs) once. Other
/// crates that bring their own default (ring) then cannot make rustls panic.
pub fn install_crypto_provider() {
    if CryptoProvider::get_default().is_none() {
        // Fails only when another thread installed one first: fine either way.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    }
}

fn provider() -> Arc<CryptoProvider> {
    install_crypto_provider();
    CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
}

/// Parses a PEM chain (leaf first) and its private key, and checks they match.
pub fn load_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<ServingCert, TlsError> {
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::BadCertificate(e.to_string()))?;
    let Some(leaf) = chain.first() else {
        return Err(TlsError::NoCertificate);
    };
    let not_after = not_after(leaf).ok_or(TlsError::BadValidity)?;
    let fingerprint = fingerprint(leaf);
    let key =
        PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| TlsError::BadKey(e.to_string()))?;
    let certified = CertifiedKey::from_der(chain, key, &provider())
        .map_err(|e| TlsError::KeyMismatch(e.to_string()))?;
    Ok(ServingCert {
        certified: Arc::new(certified),
        not_after,
        fingerprint,
    })
}

/// SHA-256 of a DER certificate as `AB:CD:...`, the form browsers show.
pub fn fingerprint(cert_der: &[u8]) -> String {
    Sha256::digest(cert_der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A self-signed certificate and key (PEM) for `hosts` (names or addresses),
/// valid from yesterday for `days` days.
pub fn self_signed(hosts: &[String], days: u32) -> Result<(String, String), TlsError> {
    let generate = |e: rcgen::Error| TlsError::Generate(e.to_string());
    let mut params = rcgen::CertificateParams::new(hosts.to_vec()).map_err(generate)?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "echobase self-signed");
    let today = unix_now().div_euclid(86_400);
    let (y, m, d) = civil_from_days(today - 1);
    params.not_before = rcgen::date_time_ymd(y, m, d);
    let (y, m, d) = civil_from_days(today + i64::from(days));
    params.not_after = rcgen::date_time_ymd(y, m, d);
    let key = rcgen::KeyPair::generate().map_err(generate)?;
    let cert = params.self_signed(&key).map_err(generate)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// The hosts a development certificate covers.
pub fn default_hosts() -> Vec<String> {
    ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec()
}

/// Writes `cert.pem` and `key.pem` (mode 0600) into `dir`.
pub fn write_pair(
    dir: &Path,
    cert_pem: &str,
    key_pem: &str,
) -> Result<(PathBuf, PathBuf), TlsError> {
    let write_error = |path: &Path| {
        let path = path.to_owned();
        move |source| TlsError::Write { path, source }
    };
    std::fs::create_dir_all(dir).map_err(write_error(dir))?;
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    std::fs::write(&cert_path, cert_pem).map_err(write_error(&cert_path))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&key_path).map_err(write_error(&key_path))?;
    std::io::Write::write_all(&mut file, key_pem.as_bytes()).map_err(write_error(&key_path))?;
    Ok((cert_path, key_path))
}

/// The serving certificate, swappable while serving.
#[derive(Debug)]
pub struct CertStore {
    current: RwLock<Arc<ServingCert>>,
    /// The files to watch; `None` for a generated certificate.
    files: Option<(PathBuf, PathBuf)>,
    /// Hash of the file contents last looked at, loaded or refused, so a bad
    /// file is reported once rather than at every check.
    last_seen: Mutex<[u8; 32]>,
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current().certified.clone())
    }
}

/// How a reload went.
#[derive(Debug, PartialEq, Eq)]
pub enum Reload {
    /// The files did not change.
    Unchanged,
    /// A new certificate now serves.
    Loaded,
}

impl CertStore {
    /// Loads the configured certificate (or generates one). The notices are
    /// for the start-up banner.
    pub fn from_settings(
        settings: &TlsSettings,
    ) -> Result<(Arc<CertStore>, Vec<String>), TlsError> {
        match (&settings.cert, &settings.key) {
            (Some(cert), Some(key)) => {
                let (cert_pem, key_pem) = read_pair(cert, key)?;
                let serving = load_pem(&cert_pem, &key_pem)?;
                let notice = format!(
                    "tls: serving {} (SHA-256 {}, expires in {} days)",
                    cert.display(),
                    serving.fingerprint,
                    serving.days_left()
                );
                let store = CertStore::new(serving, Some((cert.clone(), key.clone())));
                *store.lock_seen() = content_hash(&cert_pem, &key_pem);
                Ok((Arc::new(store), vec![notice]))
            }
            (None, None) if settings.self_signed => {
                let (cert_pem, key_pem) = self_signed(&default_hosts(), 365)?;
                let serving = load_pem(cert_pem.as_bytes(), key_pem.as_bytes())?;
                let notice = format!(
                    "tls: generated a self-signed certificate for localhost, 127.0.0.1 and ::1, \
                     SHA-256 fingerprint {} (for development only; clients must trust it explicitly)",
                    serving.fingerprint
                );
                Ok((Arc::new(CertStore::new(serving, None)), vec![notice]))
            }
            _ => Err(TlsError::Incomplete),
        }
    }

    fn new(serving: ServingCert, files: Option<(PathBuf, PathBuf)>) -> Self {
        record_expiry(&serving);
        CertStore {
            current: RwLock::new(Arc::new(serving)),
            files,
            last_seen: Mutex::new([0; 32]),
        }
    }

    /// The certificate new connections get.
    pub fn current(&self) -> Arc<ServingCert> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn lock_seen(&self) -> std::sync::MutexGuard<'_, [u8; 32]> {
        self.last_seen.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Re-reads the files; a changed, valid pair replaces the certificate.
    /// `force` reloads even when the content looks unchanged (SIGHUP).
    /// On error the old certificate keeps serving.
    pub fn reload(&self, force: bool) -> Result<Reload, TlsError> {
        let Some((cert, key)) = &self.files else {
            return Ok(Reload::Unchanged);
        };
        let (cert_pem, key_pem) = read_pair(cert, key)?;
        let hash = content_hash(&cert_pem, &key_pem);
        {
            let mut seen = self.lock_seen();
            if *seen == hash && !force {
                return Ok(Reload::Unchanged);
            }
            *seen = hash;
        }
        let serving = load_pem(&cert_pem, &key_pem)?;
        record_expiry(&serving);
        match self.current.write() {
            Ok(mut guard) => *guard = Arc::new(serving),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(serving),
        }
        Ok(Reload::Loaded)
    }

    /// [`reload`](Self::reload), logged and counted.
    pub fn reload_and_report(&self, force: bool) {
        match self.reload(force) {
            Ok(Reload::Unchanged) => {}
            Ok(Reload::Loaded) => {
                let serving = self.current();
                metrics::counter!("echobase_tls_reloads_total", "result" => "loaded").increment(1);
                tracing::info!(
                    fingerprint = %serving.fingerprint,
                    days_left = serving.days_left(),
                    "tls: new certificate loaded; new connections use it"
                );
            }
            Err(error) => {
                metrics::counter!("echobase_tls_reloads_total", "result" => "refused").increment(1);
                tracing::error!(
                    %error,
                    fingerprint = %self.current().fingerprint,
                    "tls: the new certificate files were refused; the old certificate keeps serving"
                );
            }
        }
    }

    /// Checks the files every `interval` and on SIGHUP, until `stop` resolves.
    pub async fn watch(
        self: Arc<Self>,
        interval: Duration,
        stop: tokio::sync::watch::Receiver<bool>,
    ) {
        if self.files.is_none() {
            return;
        }
        let mut stop = stop;
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        #[cfg(unix)]
        let mut hangup =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        loop {
            #[cfg(unix)]
            let sighup = async {
                match hangup.as_mut() {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            #[cfg(not(unix))]
            let sighup = std::future::pending::<()>();
            tokio::select! {
                _ = ticker.tick() => {
                    let store = self.clone();
                    // File reads and key parsing are blocking work.
                    let _ = tokio::task::spawn_blocking(move || store.reload_and_report(false)).await;
                }
                _ = sighup => {
                    tracing::info!("tls: SIGHUP received, reloading the certificate");
                    let store = self.clone();
                    let _ = tokio::task::spawn_blocking(move || store.reload_and_report(true)).await;
                }
                _ = stop.changed() => return,
            }
        }
    }
}

fn read_pair(cert: &Path, key: &Path) -> Result<(Vec<u8>, Vec<u8>), TlsError> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| TlsError::Read {
            path: path.to_owned(),
            source,
        })
    };
    Ok((read(cert)?, read(key)?))
}

fn content_hash(cert_pem: &[u8], key_pem: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update((cert_pem.len() as u64).to_be_bytes());
    hasher.update(cert_pem);
    hasher.update(key_pem);
    hasher.finalize().into()
}

fn record_expiry(serving: &ServingCert) {
    metrics::gauge!("echobase_tls_certificate_expiry_seconds").set(serving.not_after as f64);
}

/// The rustls server configuration: TLS 1.2 and 1.3, HTTP/1.1 by ALPN, the
/// certificate from `store`.
pub fn server_config(store: Arc<CertStore>) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(store);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The notAfter of a DER X.509 certificate, as Unix seconds.
///
/// Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL,
/// serialNumber, signature, issuer, validity SEQUENCE { notBefore, notAfter }, ... } ... }.
/// Walking five DER elements is all it takes, so no X.509 crate is pulled in.
pub fn not_after(cert_der: &[u8]) -> Option<i64> {
    let (tag, cert, _) = der_element(cert_der)?;
    if tag != 0x30 {
        return None;
    }
    let (tag, tbs, _) = der_element(cert)?;
    if tag != 0x30 {
        return None;
    }
    let (tag, _, mut rest) = der_element(tbs)?;
    if tag == 0xa0 {
        // An explicit version came first; skip the serial number too.
        rest = der_element(rest)?.2;
    }
    rest = der_element(rest)?.2; // signature algorithm
    rest = der_element(rest)?.2; // issuer
    let (tag, validity, _) = der_element(rest)?;
    if tag != 0x30 {
        return None;
    }
    let (_, _, after_not_before) = der_element(validity)?;
    let (tag, time, _) = der_element(after_not_before)?;
    parse_der_time(tag, time)
}

/// `(tag, content, rest)` of the first DER element of `input`.
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// UTCTime (`YYMMDDHHMMSSZ`, tag 0x17) or GeneralizedTime (`YYYYMMDDHHMMSSZ`, 0x18).
fn parse_der_time(tag: u8, text: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(text).ok()?;
    let digits = text.strip_suffix('Z')?;
    let (year, rest) = match tag {
        0x17 if digits.len() == 12 => {
            let yy: i64 = digits[..2].parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &digits[2..])
        }
        0x18 if digits.len() == 14 => (digits[..4].parse().ok()?, &digits[4..]),
        _ => return None,
    };
    let field = |i: usize| rest.get(i..i + 2)?.parse::<i64>().ok();
    let (month, day, hour, minute, second) =
        (field(0)?, field(2)?, field(4)?, field(6)?, field(8)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i32, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year as i32, month as u8, day as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_conversions_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2030, 1, 1), 21_915);
        assert_eq!(civil_from_days(21_915), (2030, 1, 1));
        for days in [-1, 0, 59, 365, 11_016, 20_000, 40_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(
                days_from_civil(i64::from(y), i64::from(m), i64::from(d)),
                days
            );
        }
    }

    #[test]
    fn generated_certificate_loads_and_reports_its_expiry() {
        let (cert, key) = self_signed(&default_hosts(), 30).unwrap();
        let serving = load_pem(cert.as_bytes(), key.as_bytes()).unwrap();
        assert!(
            (29..=30).contains(&serving.days_left()),
            "{}",
            serving.days_left()
        );
        assert_eq!(serving.fingerprint.len(), 32 * 3 - 1);
    }

    #[test]
    fn generalized_time_and_utc_time_parse() {
        assert_eq!(
            parse_der_time(0x17, b"300101000000Z"),
            Some(21_915 * 86_400)
        );
        assert_eq!(
            parse_der_time(0x18, b"20300101000010Z"),
            Some(21_915 * 86_400 + 10)
        );
        assert_eq!(parse_der_time(0x17, b"garbage"), None);
    }

    #[test]
    fn mismatched_key_and_garbage_are_refused() {
        let (cert, _) = self_signed(&default_hosts(), 30).unwrap();
        let (_, other_key) = self_signed(&default_hosts(), 30).unwrap();
        assert!(matches!(
            load_pem(cert.as_bytes(), other_key.as_bytes()),
            Err(TlsError::KeyMismatch(_))
        ));
        assert!(load_pem(b"not a certificate", other_key.as_bytes()).is_err());
    }
}
