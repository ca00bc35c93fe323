//! Typed configuration from environment variables, validated once at start: a bad value
//! stops start-up with one line naming the variable and what it accepts.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::proxies::TrustedProxies;

/// Every variable Passerelle reads, with what it accepts (shown in errors and docs).
pub const VARIABLES: &[(&str, &str)] = &[
    ("PASSERELLE_BACKEND", "`embedded` (default) or `aws`"),
    (
        "PASSERELLE_DATA_DIR",
        "a directory for the embedded adapters (default `.passerelle/` at the workspace root)",
    ),
    (
        "PASSERELLE_LISTEN",
        "a socket address such as `127.0.0.1:3000` (the default)",
    ),
    (
        "PASSERELLE_PUBLIC_URL",
        "the absolute http(s) URL people reach, without a trailing slash (default `http://localhost:<port>`)",
    ),
    (
        "PASSERELLE_LOG",
        "a tracing filter such as `info` (default) or `passerelle=debug,info`",
    ),
    (
        "PASSERELLE_LOG_FORMAT",
        "`text` or `json` (default: `json` in Lambda, `text` elsewhere)",
    ),
    (
        "PASSERELLE_SESSION_IDLE_SECS",
        "the idle timeout of sessions in seconds, 30 to 3600 (default 900, ACC-3; shorter only for tests of the warning)",
    ),
    (
        "PASSERELLE_TRUSTED_PROXIES",
        "comma-separated addresses or CIDR ranges of the proxies in front of the site whose `X-Forwarded-For` is believed, such as `10.0.0.0/8` (default none: the client is API Gateway's source address, or the socket's)",
    ),
    (
        "PASSERELLE_CDN",
        "`cloudfront` when a CloudFront distribution that sets its viewer headers is the only way to the site, so the approximate place in history and device lists comes from them (default none: no place is shown)",
    ),
    (
        "PASSERELLE_SMS_PER_HOUR",
        "a whole number from 1 to 1000000: the deployment's ceiling on texts and calls per hour (default 1000)",
    ),
    (
        "PASSERELLE_QUEUE_MAX_RECEIVES",
        "receives before a message moves to the dead-letter queue, 1 to 1000 (embedded; default 5)",
    ),
    (
        "PASSERELLE_TABLE",
        "the DynamoDB table name (aws, required)",
    ),
    (
        "PASSERELLE_ACCOUNT_KEY_TABLE",
        "the DynamoDB table of per-account keys, not PASSERELLE_TABLE and without point-in-time recovery: deleting an account deletes its key there (aws, required)",
    ),
    (
        "PASSERELLE_KMS_KEY_ID",
        "the KMS key id, ARN or alias that wraps data keys (aws, required)",
    ),
    (
        "PASSERELLE_KMS_MAC_KEY_ID",
        "the key id, ARN or alias of a KMS HMAC_256 key (usage GENERATE_VERIFY_MAC), not the envelope key: it makes the SSN and person fingerprints and the password pepper (aws, required)",
    ),
    (
        "PASSERELLE_NOTIFY_QUEUE_URL",
        "the SQS queue URL for outgoing mail and SMS (aws, required)",
    ),
    (
        "PASSERELLE_PROOFING_QUEUE_URL",
        "the SQS queue URL for identity-proofing jobs (aws, required)",
    ),
    (
        "PASSERELLE_PROOFING_MAX_RECEIVES",
        "the proofing queue's maxReceiveCount, 1 to 1000: the worker marks a job unavailable on its last attempt (aws; default 4, as template.yaml sets)",
    ),
    (
        "PASSERELLE_VENDOR_URL",
        "the http(s) base URL of the identity-proofing vendors' API, without a trailing slash (proofing-worker, required; the local stack starts its mock vendors when unset)",
    ),
    (
        "PASSERELLE_VENDOR_TIMEOUT_MS",
        "the timeout of one vendor call in milliseconds, 50 to 30000 (default 5000)",
    ),
    (
        "PASSERELLE_VENDOR_CALLBACK_SECRETS",
        "one or two comma-separated secrets of 32 to 256 characters that sign vendor callbacks, the newest first (proofing-callback, required; the local stack makes one when unset)",
    ),
    (
        "PASSERELLE_MAIL_FROM",
        "the verified SES sender address (aws, required)",
    ),
    (
        "PASSERELLE_SMS_SENDER_ID",
        "an SNS sender id, 1 to 11 letters or digits (aws, optional)",
    ),
    (
        "PASSERELLE_AWS_ENDPOINT_URL",
        "an http(s) URL that replaces every AWS endpoint, e.g. moto (aws, optional)",
    ),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub backend: Backend,
    pub listen: SocketAddr,
    /// Absolute, no trailing slash.
    pub public_url: String,
    pub log_filter: String,
    pub log_format: LogFormat,
    /// The sessions' idle timeout (ACC-3: 15 minutes).
    pub session_idle_secs: i64,
    /// RL: the deployment-wide ceiling on texts and calls per hour.
    pub sms_per_hour: u32,
    /// Proxies whose `X-Forwarded-For` names the client (none by default).
    pub trusted_proxies: TrustedProxies,
    /// The CDN in front, whose headers say where a request comes from (none by default).
    pub cdn: Cdn,
}

/// A CDN in front of the site that the deployment trusts for the viewer's place.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Cdn {
    /// Nothing trusted: no place is recorded.
    #[default]
    None,
    /// CloudFront, which sets `CloudFront-Viewer-City` / `-Country(-Name)` itself.
    CloudFront,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Embedded(EmbeddedConfig),
    Aws(AwsConfig),
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Embedded(_) => "embedded",
            Backend::Aws(_) => "aws",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddedConfig {
    pub data_dir: PathBuf,
    pub max_receives: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsConfig {
    pub table: String,
    /// The key table ([`crate::envelope::AccountKeys`]): never the main table.
    pub account_key_table: String,
    pub kms_key_id: String,
    /// The HMAC key of [`crate::keys::KeyService::mac`].
    pub kms_mac_key_id: String,
    pub notify_queue_url: String,
    pub proofing_queue_url: String,
    /// The proofing queue's `maxReceiveCount` (its redrive policy).
    pub proofing_max_receives: u32,
    pub mail_from: String,
    pub sms_sender_id: Option<String>,
    pub endpoint_url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// A configuration problem, displayed as one line naming the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}={value:?} is not valid: expected {expected}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub value: String,
    pub expected: &'static str,
}

/// The default data directory: `.passerelle/` at the workspace root.
pub fn default_data_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.passerelle"))
}

fn expected(variable: &'static str) -> &'static str {
    VARIABLES
        .iter()
        .find(|(name, _)| *name == variable)
        .map_or("a valid value", |(_, what)| what)
}

struct Env<'a>(&'a HashMap<String, String>);

impl Env<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn bad(&self, variable: &'static str) -> ConfigError {
        ConfigError {
            variable,
            value: self.get(variable).unwrap_or_default().to_owned(),
            expected: expected(variable),
        }
    }

    /// A whole number in `range`, or `default` when unset.
    fn number<T>(
        &self,
        variable: &'static str,
        default: T,
        range: std::ops::RangeInclusive<T>,
    ) -> Result<T, ConfigError>
    where
        T: std::str::FromStr + PartialOrd,
    {
        match self.get(variable) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or_else(|| self.bad(variable)),
        }
    }

    fn required(&self, variable: &'static str) -> Result<String, ConfigError> {
        self.get(variable)
            .map(str::to_owned)
            .ok_or_else(|| self.bad(variable))
    }
}

fn is_http_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/') && !r.contains(char::is_whitespace))
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&std::env::vars().collect())
    }

    /// Reads the given variables (tests pass their own).
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let env = Env(vars);
        let listen: SocketAddr = match env.get("PASSERELLE_LISTEN") {
            None => SocketAddr::from(([127, 0, 0, 1], 3000)),
            Some(v) => v.parse().map_err(|_| env.bad("PASSERELLE_LISTEN"))?,
        };
        let public_url = match env.get("PASSERELLE_PUBLIC_URL") {
            None => format!("http://localhost:{}", listen.port()),
            Some(v) if is_http_url(v) && !v.ends_with('/') => v.to_owned(),
            Some(_) => return Err(env.bad("PASSERELLE_PUBLIC_URL")),
        };
        let in_lambda = env.get("AWS_LAMBDA_FUNCTION_NAME").is_some();
        let log_format = match env.get("PASSERELLE_LOG_FORMAT") {
            None if in_lambda => LogFormat::Json,
            None => LogFormat::Text,
            Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(_) => return Err(env.bad("PASSERELLE_LOG_FORMAT")),
        };
        let session_idle_secs = env.number("PASSERELLE_SESSION_IDLE_SECS", 900, 30..=3600)?;
        let trusted_proxies = match env.get("PASSERELLE_TRUSTED_PROXIES") {
            None => TrustedProxies::none(),
            Some(v) => {
                TrustedProxies::parse(v).ok_or_else(|| env.bad("PASSERELLE_TRUSTED_PROXIES"))?
            }
        };
        let cdn = match env.get("PASSERELLE_CDN") {
            None => Cdn::None,
            Some("cloudfront") => Cdn::CloudFront,
            Some(_) => return Err(env.bad("PASSERELLE_CDN")),
        };
        let sms_per_hour = env.number(
            "PASSERELLE_SMS_PER_HOUR",
            crate::ratelimit::DEFAULT_SMS_PER_HOUR,
            1..=1_000_000,
        )?;
        let log_filter = env.get("PASSERELLE_LOG").unwrap_or("info").to_owned();
        if tracing_subscriber::EnvFilter::try_new(&log_filter).is_err() {
            return Err(env.bad("PASSERELLE_LOG"));
        }
        let backend = match env.get("PASSERELLE_BACKEND") {
            None | Some("embedded") => {
                let max_receives = env.number("PASSERELLE_QUEUE_MAX_RECEIVES", 5, 1..=1000)?;
                Backend::Embedded(EmbeddedConfig {
                    data_dir: env
                        .get("PASSERELLE_DATA_DIR")
                        .map_or_else(default_data_dir, PathBuf::from),
                    max_receives,
                })
            }
            Some("aws") => {
                let endpoint_url = env.get("PASSERELLE_AWS_ENDPOINT_URL").map(str::to_owned);
                if endpoint_url.as_deref().is_some_and(|u| !is_http_url(u)) {
                    return Err(env.bad("PASSERELLE_AWS_ENDPOINT_URL"));
                }
                let notify_queue_url = env.required("PASSERELLE_NOTIFY_QUEUE_URL")?;
                if !is_http_url(&notify_queue_url) {
                    return Err(env.bad("PASSERELLE_NOTIFY_QUEUE_URL"));
                }
                let mail_from = env.required("PASSERELLE_MAIL_FROM")?;
                if !crate::notify::is_email(&mail_from) {
                    return Err(env.bad("PASSERELLE_MAIL_FROM"));
                }
                let sms_sender_id = env.get("PASSERELLE_SMS_SENDER_ID").map(str::to_owned);
                if sms_sender_id
                    .as_deref()
                    .is_some_and(|s| s.len() > 11 || !s.bytes().all(|b| b.is_ascii_alphanumeric()))
                {
                    return Err(env.bad("PASSERELLE_SMS_SENDER_ID"));
                }
                let table = env.required("PASSERELLE_TABLE")?;
                let account_key_table = env.required("PASSERELLE_ACCOUNT_KEY_TABLE")?;
                if account_key_table == table {
                    return Err(env.bad("PASSERELLE_ACCOUNT_KEY_TABLE"));
                }
                let kms_key_id = env.required("PASSERELLE_KMS_KEY_ID")?;
                let kms_mac_key_id = env.required("PASSERELLE_KMS_MAC_KEY_ID")?;
                if !is_kms_key_name(&kms_mac_key_id) || kms_mac_key_id == kms_key_id {
                    return Err(env.bad("PASSERELLE_KMS_MAC_KEY_ID"));
                }
                let proofing_queue_url = env.required("PASSERELLE_PROOFING_QUEUE_URL")?;
                if !is_http_url(&proofing_queue_url) {
                    return Err(env.bad("PASSERELLE_PROOFING_QUEUE_URL"));
                }
                let proofing_max_receives =
                    env.number("PASSERELLE_PROOFING_MAX_RECEIVES", 4, 1..=1000)?;
                Backend::Aws(AwsConfig {
                    table,
                    account_key_table,
                    kms_key_id,
                    kms_mac_key_id,
                    notify_queue_url,
                    proofing_queue_url,
                    proofing_max_receives,
                    mail_from,
                    sms_sender_id,
                    endpoint_url,
                })
            }
            Some(_) => return Err(env.bad("PASSERELLE_BACKEND")),
        };
        Ok(Self {
            session_idle_secs,
            trusted_proxies,
            cdn,
            sms_per_hour,
            backend,
            listen,
            public_url,
            log_filter,
            log_format,
        })
    }
}

/// A KMS key id (`1234abcd-…`, `mrk-…`), key ARN, alias name or alias ARN: one word of
/// letters, digits and `-_/:.`, no spaces. What KMS then says of it is its own check.
fn is_kms_key_name(s: &str) -> bool {
    let word = !s.is_empty()
        && s.len() <= 2048
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_/:.".contains(&b));
    let id = s.len() == 36 && s.bytes().filter(|&b| b == b'-').count() == 4;
    word && (id
        || s.starts_with("mrk-")
        || s.starts_with("alias/")
        || (s.starts_with("arn:aws") && s.contains(":kms:")))
}

/// The identity-proofing vendors: where the worker calls them, how long it waits, and the
/// secrets their callbacks are signed with. Read apart from [`Config`] because only the
/// proofing functions need it; each asks for what it requires with [`VendorConfig::url`]
/// and [`VendorConfig::callback_secrets`], which name the missing variable.
#[derive(Clone, PartialEq, Eq)]
pub struct VendorConfig {
    url: Option<String>,
    pub timeout_ms: u64,
    secrets: Vec<String>,
}

// The secrets are never shown.
impl std::fmt::Debug for VendorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VendorConfig")
            .field("url", &self.url)
            .field("timeout_ms", &self.timeout_ms)
            .field("secrets", &self.secrets.len())
            .finish()
    }
}

/// The shortest and longest callback secret accepted.
pub const CALLBACK_SECRET_LEN: std::ops::RangeInclusive<usize> = 32..=256;

impl VendorConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&std::env::vars().collect())
    }

    /// Checks the values that are set; what is missing is reported when asked for.
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let env = Env(vars);
        let url = env.get("PASSERELLE_VENDOR_URL").map(str::to_owned);
        if url
            .as_deref()
            .is_some_and(|u| !is_http_url(u) || u.ends_with('/'))
        {
            return Err(env.bad("PASSERELLE_VENDOR_URL"));
        }
        let timeout_ms = env.number("PASSERELLE_VENDOR_TIMEOUT_MS", 5000, 50..=30_000)?;
        let secrets: Vec<String> = env
            .get("PASSERELLE_VENDOR_CALLBACK_SECRETS")
            .map(|v| v.split(',').map(|s| s.trim().to_owned()).collect())
            .unwrap_or_default();
        if secrets.len() > 2
            || secrets
                .iter()
                .any(|s| !CALLBACK_SECRET_LEN.contains(&s.len()) || s.contains(char::is_whitespace))
        {
            // The value is a secret: the error never repeats it.
            return Err(ConfigError {
                variable: "PASSERELLE_VENDOR_CALLBACK_SECRETS",
                value: "[redacted]".into(),
                expected: expected("PASSERELLE_VENDOR_CALLBACK_SECRETS"),
            });
        }
        Ok(Self {
            url,
            timeout_ms,
            secrets,
        })
    }

    /// The vendors' base URL, if set.
    pub fn url_if_set(&self) -> Option<&str> {
        self.url.as_deref()
    }

    /// The vendors' base URL, required by the proofing worker.
    pub fn url(&self) -> Result<&str, ConfigError> {
        self.url.as_deref().ok_or_else(|| ConfigError {
            variable: "PASSERELLE_VENDOR_URL",
            value: String::new(),
            expected: expected("PASSERELLE_VENDOR_URL"),
        })
    }

    /// The callback secrets (one, or two during a rotation), required by the callback.
    pub fn callback_secrets(&self) -> Result<&[String], ConfigError> {
        if self.secrets.is_empty() {
            return Err(ConfigError {
                variable: "PASSERELLE_VENDOR_CALLBACK_SECRETS",
                value: String::new(),
                expected: expected("PASSERELLE_VENDOR_CALLBACK_SECRETS"),
            });
        }
        Ok(&self.secrets)
    }

    /// A copy with these values, for the local stack and tests.
    pub fn with(url: Option<String>, timeout_ms: u64, secrets: Vec<String>) -> Self {
        Self {
            url,
            timeout_ms,
            secrets,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn nothing_set_means_embedded_on_port_3000() {
        let cfg = Config::from_vars(&vars(&[])).unwrap();
        assert_eq!(cfg.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(cfg.public_url, "http://localhost:3000");
        assert!(
            matches!(cfg.backend, Backend::Embedded(ref e) if e.data_dir.ends_with(".passerelle"))
        );
        assert_eq!(cfg.log_format, LogFormat::Text);
    }

    #[test]
    fn trusted_proxies_and_the_cdn_are_off_unless_set_and_bad_values_name_the_variable() {
        let cfg = Config::from_vars(&vars(&[])).unwrap();
        assert_eq!(cfg.trusted_proxies, TrustedProxies::none());
        assert_eq!(cfg.cdn, Cdn::None);
        let cfg = Config::from_vars(&vars(&[
            ("PASSERELLE_TRUSTED_PROXIES", "10.0.0.0/8, 2001:db8::/32"),
            ("PASSERELLE_CDN", "cloudfront"),
        ]))
        .unwrap();
        assert!(cfg.trusted_proxies.trusts("10.9.8.7".parse().unwrap()));
        assert_eq!(cfg.cdn, Cdn::CloudFront);
        for (var, bad) in [
            ("PASSERELLE_TRUSTED_PROXIES", "10.0.0.0/40"),
            ("PASSERELLE_TRUSTED_PROXIES", "my-proxy"),
            ("PASSERELLE_CDN", "akamai"),
        ] {
            let err = Config::from_vars(&vars(&[(var, bad)])).unwrap_err();
            assert_eq!(err.variable, var);
            assert!(err.to_string().starts_with(&format!("{var}=")), "{err}");
        }
    }

    #[test]
    fn a_bad_listen_address_names_the_variable() {
        let err = Config::from_vars(&vars(&[("PASSERELLE_LISTEN", "localhost:x")])).unwrap_err();
        assert_eq!(err.variable, "PASSERELLE_LISTEN");
        let line = err.to_string();
        assert!(
            line.starts_with("PASSERELLE_LISTEN=\"localhost:x\" is not valid"),
            "{line}"
        );
        assert!(!line.contains('\n'));
    }

    #[test]
    fn an_unknown_backend_names_the_variable() {
        let err = Config::from_vars(&vars(&[("PASSERELLE_BACKEND", "postgres")])).unwrap_err();
        assert_eq!(err.variable, "PASSERELLE_BACKEND");
        assert!(err.to_string().contains("`embedded` (default) or `aws`"));
    }

    #[test]
    fn aws_needs_its_resources_and_says_which_is_missing() {
        let err = Config::from_vars(&vars(&[
            ("PASSERELLE_BACKEND", "aws"),
            (
                "PASSERELLE_NOTIFY_QUEUE_URL",
                "http://127.0.0.1:5000/123/notify",
            ),
            ("PASSERELLE_MAIL_FROM", "no-reply@example.gov"),
            ("PASSERELLE_TABLE", "passerelle"),
            ("PASSERELLE_ACCOUNT_KEY_TABLE", "passerelle-account-keys"),
        ]))
        .unwrap_err();
        assert_eq!(err.variable, "PASSERELLE_KMS_KEY_ID");
    }

    #[test]
    fn a_complete_aws_configuration_is_accepted() {
        let cfg = Config::from_vars(&vars(&[
            ("PASSERELLE_BACKEND", "aws"),
            (
                "PASSERELLE_NOTIFY_QUEUE_URL",
                "http://127.0.0.1:5000/123/notify",
            ),
            ("PASSERELLE_MAIL_FROM", "no-reply@example.gov"),
            ("PASSERELLE_TABLE", "passerelle"),
            ("PASSERELLE_ACCOUNT_KEY_TABLE", "passerelle-account-keys"),
            ("PASSERELLE_KMS_KEY_ID", "alias/passerelle"),
            ("PASSERELLE_KMS_MAC_KEY_ID", "alias/passerelle-mac"),
            (
                "PASSERELLE_PROOFING_QUEUE_URL",
                "http://127.0.0.1:5000/123/proofing",
            ),
            ("AWS_LAMBDA_FUNCTION_NAME", "site"),
        ]))
        .unwrap();
        assert_eq!(cfg.backend.name(), "aws");
        let Backend::Aws(aws) = cfg.backend else {
            unreachable!()
        };
        assert_eq!(aws.proofing_max_receives, 4);
        assert_eq!(cfg.log_format, LogFormat::Json);
    }

    /// An AWS configuration but for the MAC key and the key table.
    fn aws_base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("PASSERELLE_BACKEND", "aws"),
            (
                "PASSERELLE_NOTIFY_QUEUE_URL",
                "http://127.0.0.1:5000/123/notify",
            ),
            ("PASSERELLE_MAIL_FROM", "no-reply@example.gov"),
            ("PASSERELLE_TABLE", "passerelle"),
            ("PASSERELLE_KMS_KEY_ID", "alias/passerelle"),
            (
                "PASSERELLE_PROOFING_QUEUE_URL",
                "http://127.0.0.1:5000/123/proofing",
            ),
        ]
    }

    #[test]
    fn aws_without_a_key_table_of_its_own_names_it() {
        let mut base = aws_base();
        base.push(("PASSERELLE_KMS_MAC_KEY_ID", "alias/passerelle-mac"));
        // Missing, or the main table (whose backups would then keep every account key)
        let err = Config::from_vars(&vars(&base)).unwrap_err();
        assert_eq!(err.variable, "PASSERELLE_ACCOUNT_KEY_TABLE");
        let mut same = base.to_vec();
        same.push(("PASSERELLE_ACCOUNT_KEY_TABLE", "passerelle"));
        let err = Config::from_vars(&vars(&same)).unwrap_err();
        assert_eq!(err.variable, "PASSERELLE_ACCOUNT_KEY_TABLE");
        assert!(err.to_string().contains("point-in-time"), "{err}");
    }

    #[test]
    fn aws_without_a_usable_mac_key_names_it() {
        let mut base = aws_base();
        base.push(("PASSERELLE_ACCOUNT_KEY_TABLE", "passerelle-account-keys"));
        // Missing
        let err = Config::from_vars(&vars(&base)).unwrap_err();
        assert_eq!(err.variable, "PASSERELLE_KMS_MAC_KEY_ID");
        assert!(err.to_string().contains("HMAC_256"), "{err}");
        // Not a key name, or the envelope key (which makes no MAC)
        for bad in ["", "my mac key", "passerelle-mac", "alias/passerelle"] {
            let mut with = base.to_vec();
            with.push(("PASSERELLE_KMS_MAC_KEY_ID", bad));
            let err = Config::from_vars(&vars(&with)).unwrap_err();
            assert_eq!(err.variable, "PASSERELLE_KMS_MAC_KEY_ID", "{bad:?}");
        }
        // Ids, ARNs and aliases are accepted
        for good in [
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "mrk-1234abcd12ab34cd56ef1234567890ab",
            "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "alias/passerelle-prod-mac",
        ] {
            let mut with = base.to_vec();
            with.push(("PASSERELLE_KMS_MAC_KEY_ID", good));
            let cfg = Config::from_vars(&vars(&with)).unwrap();
            let Backend::Aws(aws) = cfg.backend else {
                unreachable!()
            };
            assert_eq!(aws.kms_mac_key_id, good);
        }
    }

    #[test]
    fn aws_without_the_proofing_queue_names_it() {
        let err = Config::from_vars(&vars(&[
            ("PASSERELLE_BACKEND", "aws"),
            (
                "PASSERELLE_NOTIFY_QUEUE_URL",
                "http://127.0.0.1:5000/123/notify",
            ),
            ("PASSERELLE_MAIL_FROM", "no-reply@example.gov"),
            ("PASSERELLE_TABLE", "passerelle"),
            ("PASSERELLE_ACCOUNT_KEY_TABLE", "passerelle-account-keys"),
            ("PASSERELLE_KMS_KEY_ID", "alias/passerelle"),
            ("PASSERELLE_KMS_MAC_KEY_ID", "alias/passerelle-mac"),
        ]))
        .unwrap_err();
        assert_eq!(err.variable, "PASSERELLE_PROOFING_QUEUE_URL");
    }

    #[test]
    fn missing_vendor_settings_are_named_when_a_function_needs_them() {
        let cfg = VendorConfig::from_vars(&vars(&[])).unwrap();
        assert_eq!(cfg.url().unwrap_err().variable, "PASSERELLE_VENDOR_URL");
        let err = cfg.callback_secrets().unwrap_err();
        assert_eq!(err.variable, "PASSERELLE_VENDOR_CALLBACK_SECRETS");
        assert!(err.to_string().contains("at least 32") || err.to_string().contains("32 to 256"));
        assert_eq!(cfg.timeout_ms, 5000);
    }

    #[test]
    fn a_short_callback_secret_is_refused_without_being_repeated() {
        let err = VendorConfig::from_vars(&vars(&[(
            "PASSERELLE_VENDOR_CALLBACK_SECRETS",
            "short-secret",
        )]))
        .unwrap_err();
        assert_eq!(err.variable, "PASSERELLE_VENDOR_CALLBACK_SECRETS");
        assert!(!err.to_string().contains("short-secret"));
        let three = ["a".repeat(32), "b".repeat(32), "c".repeat(32)].join(",");
        assert!(
            VendorConfig::from_vars(&vars(&[("PASSERELLE_VENDOR_CALLBACK_SECRETS", &three)]))
                .is_err()
        );
    }

    #[test]
    fn two_callback_secrets_are_accepted_during_a_rotation() {
        let two = format!("{},{}", "n".repeat(32), "o".repeat(40));
        let cfg = VendorConfig::from_vars(&vars(&[
            ("PASSERELLE_VENDOR_CALLBACK_SECRETS", &two),
            ("PASSERELLE_VENDOR_URL", "https://vendors.example.gov"),
        ]))
        .unwrap();
        assert_eq!(cfg.callback_secrets().unwrap().len(), 2);
        assert_eq!(cfg.url().unwrap(), "https://vendors.example.gov");
        assert!(!format!("{cfg:?}").contains("nnnn"));
    }

    #[test]
    fn every_variable_read_is_documented() {
        let source = include_str!("config.rs");
        for (name, _) in VARIABLES {
            assert!(
                source.matches(name).count() >= 2,
                "{name} is listed but never read"
            );
        }
    }
}
