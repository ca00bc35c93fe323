//! An agency's public key as operators receive it (a PEM certificate or public key) turned
//! into the JWK the registry keeps: RSA of 2048 bits or more, or P-256.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use passerelle::oidc::jose::PublicJwk;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;
use x509_parser::x509::SubjectPublicKeyInfo;

/// The DER content of the P-256 curve's OID (1.2.840.10045.3.1.7).
const P256_OID: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// Every key in `pem` (a file may hold several blocks), as JWKs; `kid` is taken from the
/// file name plus the block's position so keys stay distinguishable. `now_secs` refuses
/// expired certificates.
pub fn jwks_from_pem(pem: &str, kid: &str, now_secs: i64) -> Result<Vec<PublicJwk>, String> {
    let mut keys = Vec::new();
    let mut rest = pem.as_bytes();
    while let Some(start) = find(rest, b"-----BEGIN ") {
        rest = &rest[start..];
        let (after, block) = x509_parser::pem::parse_x509_pem(rest)
            .map_err(|_| "the PEM block could not be decoded".to_owned())?;
        rest = after;
        let kid = if keys.is_empty() {
            kid.to_owned()
        } else {
            format!("{kid}-{}", keys.len() + 1)
        };
        keys.push(match block.label.as_str() {
            "CERTIFICATE" => {
                let (_, cert) = X509Certificate::from_der(&block.contents)
                    .map_err(|_| "the certificate could not be parsed".to_owned())?;
                if cert.validity().not_after.timestamp() < now_secs {
                    return Err("the certificate has expired: ask the agency for a new one".into());
                }
                jwk(cert.public_key(), kid)?
            }
            "PUBLIC KEY" => {
                let (_, spki) = SubjectPublicKeyInfo::from_der(&block.contents)
                    .map_err(|_| "the public key could not be parsed".to_owned())?;
                jwk(&spki, kid)?
            }
            "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY" | "ENCRYPTED PRIVATE KEY" => {
                return Err(
                    "this is a private key: the agency keeps it; register its certificate or \
                     public key"
                        .into(),
                );
            }
            other => {
                return Err(format!(
                    "a {other} block is not a key: use a CERTIFICATE or PUBLIC KEY block"
                ));
            }
        });
    }
    if keys.is_empty() {
        return Err("no PEM block found (expected -----BEGIN CERTIFICATE----- or -----BEGIN PUBLIC KEY-----)".into());
    }
    Ok(keys)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn jwk(spki: &SubjectPublicKeyInfo<'_>, kid: String) -> Result<PublicJwk, String> {
    let parsed = spki
        .parsed()
        .map_err(|_| "the public key could not be parsed".to_owned())?;
    let key = match parsed {
        PublicKey::RSA(rsa) => PublicJwk {
            kty: "RSA".into(),
            kid: Some(kid),
            alg: Some("RS256".into()),
            use_: Some("sig".into()),
            n: Some(URL_SAFE_NO_PAD.encode(strip_zeros(rsa.modulus))),
            e: Some(URL_SAFE_NO_PAD.encode(strip_zeros(rsa.exponent))),
            crv: None,
            x: None,
            y: None,
        },
        PublicKey::EC(point) => {
            let curve = spki.algorithm.parameters.as_ref().map(|p| p.data);
            let data = point.data();
            if curve != Some(P256_OID) || data.len() != 65 || data[0] != 4 {
                return Err("only P-256 elliptic-curve keys are accepted".into());
            }
            PublicJwk {
                kty: "EC".into(),
                kid: Some(kid),
                alg: Some("ES256".into()),
                use_: Some("sig".into()),
                n: None,
                e: None,
                crv: Some("P-256".into()),
                x: Some(URL_SAFE_NO_PAD.encode(&data[1..33])),
                y: Some(URL_SAFE_NO_PAD.encode(&data[33..])),
            }
        }
        _ => return Err("only RSA and P-256 keys are accepted".into()),
    };
    if !key.is_valid() {
        return Err("RSA keys must have 2048 bits or more".into());
    }
    Ok(key)
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}
