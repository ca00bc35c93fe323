//! `agency add | update | list | show | remove | refresh-keys`: the agency registry
//! (OIDC-9) for operators. Registrations come from flags (keys as PEM files or a JWKS
//! URL) or from a JSON file; every one is checked before it is stored, and the message
//! for a refusal names what to fix.

use passerelle::oidc::agency::AalSetting;
use passerelle::oidc::jose::Alg;
use passerelle::oidc::jose::PublicJwk;
use passerelle::oidc::{Agencies, Agency};

use super::pem_key::jwks_from_pem;

pub const USAGE: &str = "\
agency add --client-id ID --name NAME --agency-id DEPT --redirect-uri URI [options]
agency add --file REGISTRATION.json
agency update CLIENT_ID [options]          (each option given replaces that field)
agency list | show CLIENT_ID | remove CLIENT_ID | refresh-keys CLIENT_ID
options: --ial 1|2  --aal default|aal2|phishing_resistant  --redirect-uri URI (repeat)
         --post-logout-uri URI (repeat)  --key FILE.pem (repeat: certificate or public key)
         --jwks-url URL  --scope SCOPE (repeat or comma-separated)  --pkce true|false
         --id-token-alg RS256|ES256  --push-url URL  --failure-to-proof-url URL";

/// What the command needs from outside: files, the JWKS URL, the time.
pub trait Io {
    fn read(&self, path: &str) -> Result<String, String>;
    fn fetch_jwks(
        &self,
        url: &str,
    ) -> impl std::future::Future<Output = Result<String, String>> + Send;
    fn now_secs(&self) -> i64;
}

/// Runs one `agency …` command; `Ok` is what to print, `Err` what went wrong.
pub async fn run(args: &[String], agencies: &Agencies, io: &impl Io) -> Result<String, String> {
    let command = args.first().map(String::as_str);
    let rest = args.get(1..).unwrap_or_default();
    match command {
        Some("add") => {
            let agency = if let [flag, file] = rest
                && flag == "--file"
            {
                from_file(io, file)?
            } else {
                let mut agency = blank();
                apply(&mut agency, rest, io).await?;
                agency
            };
            agencies.add(&agency).await.map_err(|e| e.to_string())?;
            Ok(format!("agency {} registered", agency.client_id))
        }
        Some("update") => {
            let (id, options) = rest
                .split_first()
                .ok_or("name the agency: agency update CLIENT_ID …")?;
            let mut agency = found(agencies, id).await?;
            if let [flag, file] = options
                && flag == "--file"
            {
                agency = from_file(io, file)?;
                if &agency.client_id != id {
                    return Err(format!("{file} registers {}, not {id}", agency.client_id));
                }
            } else {
                if options.is_empty() {
                    return Err("nothing to update: give the options to change".into());
                }
                apply(&mut agency, options, io).await?;
            }
            agencies.update(&agency).await.map_err(|e| e.to_string())?;
            Ok(format!("agency {id} updated"))
        }
        Some("list") => {
            let all = agencies.list().await.map_err(|e| e.to_string())?;
            if all.is_empty() {
                return Ok("no agency registered".into());
            }
            Ok(all
                .iter()
                .map(|a| {
                    format!(
                        "{}\t{}\tagency {}\tIAL{}\t{} key(s){}",
                        a.client_id,
                        a.name,
                        a.agency_id,
                        a.ial,
                        a.keys.len(),
                        if a.pkce { "\tPKCE" } else { "" }
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"))
        }
        Some("show") => {
            let id = rest
                .first()
                .ok_or("name the agency: agency show CLIENT_ID")?;
            let agency = found(agencies, id).await?;
            serde_json::to_string_pretty(&agency).map_err(|e| e.to_string())
        }
        Some("remove") => {
            let id = rest
                .first()
                .ok_or("name the agency: agency remove CLIENT_ID")?;
            if agencies.remove(id).await.map_err(|e| e.to_string())? {
                Ok(format!("agency {id} removed"))
            } else {
                Err(format!("no agency {id}"))
            }
        }
        Some("refresh-keys") => {
            let id = rest
                .first()
                .ok_or("name the agency: agency refresh-keys CLIENT_ID")?;
            let mut agency = found(agencies, id).await?;
            let url = agency.jwks_uri.clone().ok_or_else(|| {
                format!("agency {id} has no JWKS URL: use `agency update {id} --key FILE.pem`")
            })?;
            agency.keys = read_jwks(io, &url).await?;
            agencies.update(&agency).await.map_err(|e| e.to_string())?;
            Ok(format!(
                "agency {id}: {} key(s) read from {url}",
                agency.keys.len()
            ))
        }
        _ => Err(format!("use one of:\n{USAGE}")),
    }
}

async fn found(agencies: &Agencies, id: &str) -> Result<Agency, String> {
    agencies
        .get(id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no agency {id}: `agency list` shows the registered ones"))
}

fn from_file(io: &impl Io, file: &str) -> Result<Agency, String> {
    let text = io.read(file)?;
    serde_json::from_str(&text).map_err(|e| format!("{file} is not an agency registration: {e}"))
}

fn blank() -> Agency {
    Agency {
        client_id: String::new(),
        name: String::new(),
        agency_id: String::new(),
        ial: 1,
        default_aal: AalSetting::Default,
        keys: Vec::new(),
        jwks_uri: None,
        redirect_uris: Vec::new(),
        post_logout_redirect_uris: Vec::new(),
        scopes: Vec::new(),
        pkce: false,
        id_token_alg: Alg::RS256,
        push_notification_url: None,
        failure_to_proof_url: None,
    }
}

/// Applies `--flag value` pairs; a list flag given once or more replaces the list.
async fn apply(agency: &mut Agency, options: &[String], io: &impl Io) -> Result<(), String> {
    let mut replaced: Vec<&str> = Vec::new();
    let mut keys_from_pem = None::<Vec<PublicJwk>>;
    let mut pairs = options.iter();
    while let Some(flag) = pairs.next() {
        let value = pairs
            .next()
            .ok_or_else(|| format!("{flag} needs a value"))?
            .as_str();
        let first = !replaced.contains(&flag.as_str());
        replaced.push(flag.as_str());
        let list = |list: &mut Vec<String>, value: &str| {
            if first {
                list.clear();
            }
            list.extend(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from),
            );
        };
        match flag.as_str() {
            "--client-id" => agency.client_id = value.into(),
            "--name" => agency.name = value.into(),
            "--agency-id" => agency.agency_id = value.into(),
            "--ial" => {
                agency.ial = match value {
                    "1" => 1,
                    "2" => 2,
                    _ => return Err("--ial is 1 (authentication) or 2 (verified identity)".into()),
                }
            }
            "--aal" => {
                agency.default_aal = match value {
                    "default" => AalSetting::Default,
                    "aal2" => AalSetting::Aal2,
                    "phishing_resistant" => AalSetting::PhishingResistant,
                    _ => return Err("--aal is default, aal2 or phishing_resistant".into()),
                }
            }
            "--redirect-uri" => list(&mut agency.redirect_uris, value),
            "--post-logout-uri" => list(&mut agency.post_logout_redirect_uris, value),
            "--scope" => list(&mut agency.scopes, value),
            "--key" => {
                let pem = io.read(value)?;
                let stem = std::path::Path::new(value)
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or("key");
                let mut found = jwks_from_pem(&pem, stem, io.now_secs())
                    .map_err(|e| format!("{value}: {e}"))?;
                keys_from_pem
                    .get_or_insert_with(Vec::new)
                    .append(&mut found);
            }
            "--jwks-url" => agency.jwks_uri = Some(value.into()),
            "--pkce" => {
                agency.pkce = match value {
                    "true" | "yes" => true,
                    "false" | "no" => false,
                    _ => return Err("--pkce is true or false".into()),
                }
            }
            "--id-token-alg" => {
                agency.id_token_alg = match value {
                    "RS256" => Alg::RS256,
                    "ES256" => Alg::ES256,
                    _ => return Err("--id-token-alg is RS256 or ES256".into()),
                }
            }
            "--push-url" => agency.push_notification_url = Some(value.into()),
            "--failure-to-proof-url" => agency.failure_to_proof_url = Some(value.into()),
            other => return Err(format!("unknown option {other}:\n{USAGE}")),
        }
    }
    if keys_from_pem.is_some() && replaced.contains(&"--jwks-url") {
        return Err("give --key files or --jwks-url, not both".into());
    }
    if let Some(keys) = keys_from_pem {
        agency.keys = keys;
        agency.jwks_uri = None;
    } else if replaced.contains(&"--jwks-url")
        && let Some(url) = agency.jwks_uri.clone()
    {
        agency.keys = read_jwks(io, &url).await?;
    }
    Ok(())
}

/// The signing keys an agency publishes at `url`; keys for other uses are skipped.
async fn read_jwks(io: &impl Io, url: &str) -> Result<Vec<PublicJwk>, String> {
    if !passerelle::oidc::agency::valid_redirect_uri(url) {
        return Err("--jwks-url must be an absolute https URL (http only on localhost)".into());
    }
    #[derive(serde::Deserialize)]
    struct Set {
        keys: Vec<serde_json::Value>,
    }
    let text = io.fetch_jwks(url).await?;
    let set: Set =
        serde_json::from_str(&text).map_err(|_| format!("{url} did not answer a JWKS document"))?;
    let keys: Vec<PublicJwk> = set
        .keys
        .into_iter()
        .filter_map(|k| serde_json::from_value::<PublicJwk>(k).ok())
        .filter(|k| k.use_.as_deref().is_none_or(|u| u == "sig") && k.is_valid())
        .collect();
    if keys.is_empty() {
        return Err(format!(
            "{url} publishes no RSA (2048+) or P-256 signing key"
        ));
    }
    Ok(keys)
}

/// Files from disk, the JWKS URL over HTTP, the system clock.
#[derive(Debug, Default)]
pub struct SystemIo {
    http: reqwest::Client,
}

impl Io for SystemIo {
    fn read(&self, path: &str) -> Result<String, String> {
        std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))
    }

    async fn fetch_jwks(&self, url: &str) -> Result<String, String> {
        let unreadable = |e: reqwest::Error| format!("{url} could not be read: {e}");
        let response = self
            .http
            .get(url)
            .timeout(std::time::Duration::from_secs(10))
            .send()
            .await
            .map_err(unreadable)?;
        if !response.status().is_success() {
            return Err(format!("{url} answered {}", response.status()));
        }
        response.text().await.map_err(unreadable)
    }

    fn now_secs(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    }
}
