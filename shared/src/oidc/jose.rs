//! Compact JWS with exactly two algorithms, RS256 and ES256 (aws-lc-rs), and their keys as
//! JWK. A token names its algorithm, but the verifier decides: the key a token is checked
//! against fixes the one algorithm it may use, so `alg: none` and HS256 signed with a
//! public key as the secret find nothing to match.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair,
    RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, RsaPublicKeyComponents,
    UnparsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// The signature algorithms Passerelle makes and accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Alg {
    RS256,
    ES256,
}

impl Alg {
    pub const ALL: [Alg; 2] = [Alg::RS256, Alg::ES256];

    pub fn as_str(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::ES256 => "ES256",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    fn kty(self) -> &'static str {
        match self {
            Alg::RS256 => "RSA",
            Alg::ES256 => "EC",
        }
    }
}

/// A public key as JSON Web Key (RFC 7517): RSA (`n`, `e`) or P-256 (`crv`, `x`, `y`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicJwk {
    pub kty: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
}

impl PublicJwk {
    /// The one algorithm this key verifies: its `alg` if given, else its type's.
    pub fn algorithm(&self) -> Option<Alg> {
        let by_type = match (self.kty.as_str(), self.crv.as_deref()) {
            ("RSA", _) => Alg::RS256,
            ("EC", Some("P-256")) => Alg::ES256,
            _ => return None,
        };
        match self.alg.as_deref() {
            None => Some(by_type),
            Some(a) if Alg::parse(a) == Some(by_type) => Some(by_type),
            Some(_) => None,
        }
    }

    /// Whether the key is complete and usable (RSA: at least 2048 bits).
    pub fn is_valid(&self) -> bool {
        match self.algorithm() {
            Some(Alg::RS256) => {
                let n = self.n.as_deref().and_then(b64);
                let e = self.e.as_deref().and_then(b64);
                matches!((n, e), (Some(n), Some(e)) if n.len() >= 256 && n[0] != 0 && !e.is_empty())
            }
            Some(Alg::ES256) => self.point().is_some(),
            None => false,
        }
    }

    fn point(&self) -> Option<Vec<u8>> {
        let x = b64(self.x.as_deref()?)?;
        let y = b64(self.y.as_deref()?)?;
        if x.len() != 32 || y.len() != 32 {
            return None;
        }
        let mut point = Vec::with_capacity(65);
        point.push(4);
        point.extend(x);
        point.extend(y);
        Some(point)
    }

    /// Whether `signature` over `message` is this key's, under `alg`.
    pub fn verifies(&self, alg: Alg, message: &[u8], signature: &[u8]) -> bool {
        if self.algorithm() != Some(alg) {
            return false;
        }
        match alg {
            Alg::RS256 => {
                let (Some(n), Some(e)) = (
                    self.n.as_deref().and_then(b64),
                    self.e.as_deref().and_then(b64),
                ) else {
                    return false;
                };
                RsaPublicKeyComponents { n, e }
                    .verify(&RSA_PKCS1_2048_8192_SHA256, message, signature)
                    .is_ok()
            }
            Alg::ES256 => self.point().is_some_and(|point| {
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, signature)
                    .is_ok()
            }),
        }
    }
}

fn b64(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// A private signing key. Its `Debug` shows the key id only.
pub struct SigningKey {
    pub kid: String,
    pub alg: Alg,
    pair: Pair,
}

enum Pair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// Why a key could not be made or read.
#[derive(Debug, thiserror::Error)]
#[error("signing key: {0}")]
pub struct KeyError(pub &'static str);

impl SigningKey {
    /// A fresh key (RSA 2048 or P-256) and its PKCS#8 encoding, to seal.
    pub fn generate(alg: Alg, kid: String) -> Result<(Self, Zeroizing<Vec<u8>>), KeyError> {
        let der = match alg {
            Alg::RS256 => {
                let pair = RsaKeyPair::generate(KeySize::Rsa2048)
                    .map_err(|_| KeyError("RSA generation failed"))?;
                let der = pair.as_der().map_err(|_| KeyError("RSA encoding failed"))?;
                Zeroizing::new(der.as_ref().to_vec())
            }
            Alg::ES256 => {
                let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                    .map_err(|_| KeyError("P-256 generation failed"))?;
                let der = pair
                    .to_pkcs8v1()
                    .map_err(|_| KeyError("P-256 encoding failed"))?;
                Zeroizing::new(der.as_ref().to_vec())
            }
        };
        let key = Self::from_pkcs8(alg, kid, &der)?;
        Ok((key, der))
    }

    pub fn from_pkcs8(alg: Alg, kid: String, der: &[u8]) -> Result<Self, KeyError> {
        let pair = match alg {
            Alg::RS256 => Pair::Rsa(
                RsaKeyPair::from_pkcs8(der).map_err(|_| KeyError("not an RSA PKCS#8 key"))?,
            ),
            Alg::ES256 => Pair::Ec(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(|_| KeyError("not a P-256 PKCS#8 key"))?,
            ),
        };
        Ok(Self { kid, alg, pair })
    }

    /// The public half, as published in the JWKS.
    pub fn public_jwk(&self) -> PublicJwk {
        let mut jwk = PublicJwk {
            kty: self.alg.kty().into(),
            kid: Some(self.kid.clone()),
            alg: Some(self.alg.as_str().into()),
            use_: Some("sig".into()),
            n: None,
            e: None,
            crv: None,
            x: None,
            y: None,
        };
        match &self.pair {
            Pair::Rsa(pair) => {
                let public = pair.public_key();
                jwk.n = Some(
                    URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
                );
                jwk.e = Some(
                    URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
                );
            }
            Pair::Ec(pair) => {
                let point = pair.public_key().as_ref();
                jwk.crv = Some("P-256".into());
                jwk.x = Some(URL_SAFE_NO_PAD.encode(&point[1..33]));
                jwk.y = Some(URL_SAFE_NO_PAD.encode(&point[33..65]));
            }
        }
        jwk
    }

    /// `header.payload.signature` for these claims, the header naming alg, kid and `typ`.
    pub fn sign(&self, typ: &str, claims: &serde_json::Value) -> Result<String, KeyError> {
        let header = serde_json::json!({"alg": self.alg.as_str(), "kid": self.kid, "typ": typ});
        let mut out = encode_json(&header);
        out.push('.');
        out.push_str(&encode_json(claims));
        let signature = self.raw_sign(out.as_bytes())?;
        out.push('.');
        out.push_str(&URL_SAFE_NO_PAD.encode(signature));
        Ok(out)
    }

    fn raw_sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let rng = SystemRandom::new();
        match &self.pair {
            Pair::Rsa(pair) => {
                let mut sig = vec![0; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .map_err(|_| KeyError("RSA signing failed"))?;
                Ok(sig)
            }
            Pair::Ec(pair) => pair
                .sign(&rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| KeyError("ECDSA signing failed")),
        }
    }
}

fn encode_json(value: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// A compact JWS split and decoded, not yet verified.
#[derive(Debug)]
pub struct Jws {
    pub header: serde_json::Map<String, serde_json::Value>,
    pub claims: serde_json::Map<String, serde_json::Value>,
    signing_input: String,
    signature: Vec<u8>,
}

/// Longest token accepted (a client assertion is well under 2 KiB).
const MAX_TOKEN_BYTES: usize = 8 * 1024;

impl Jws {
    /// Splits and decodes; `None` unless it is three base64url parts of JSON objects.
    pub fn parse(token: &str) -> Option<Self> {
        if token.len() > MAX_TOKEN_BYTES {
            return None;
        }
        let mut parts = token.split('.');
        let (h, c, s) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let header = serde_json::from_slice(&b64(h)?).ok()?;
        let claims = serde_json::from_slice(&b64(c)?).ok()?;
        Some(Self {
            header,
            claims,
            signing_input: format!("{h}.{c}"),
            signature: b64(s)?,
        })
    }

    /// The algorithm the header names, if it is one of ours.
    pub fn alg(&self) -> Option<Alg> {
        self.header.get("alg")?.as_str().and_then(Alg::parse)
    }

    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid")?.as_str()
    }

    /// Whether one of `keys` signed it, with the algorithm that key fixes. A `kid` in the
    /// header narrows the search to that key.
    pub fn verified_by(&self, keys: &[PublicJwk]) -> bool {
        let Some(alg) = self.alg() else {
            return false;
        };
        let kid = self.kid();
        keys.iter()
            .filter(|k| kid.is_none() || k.kid.as_deref() == kid)
            .any(|k| k.verifies(alg, self.signing_input.as_bytes(), &self.signature))
    }

    pub fn str_claim(&self, name: &str) -> Option<&str> {
        self.claims.get(name)?.as_str()
    }

    pub fn int_claim(&self, name: &str) -> Option<i64> {
        let v = self.claims.get(name)?;
        v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))
    }
}

/// Verifies a detached signature with a raw JWK set: used by tests and the demo agency.
pub fn verify(token: &str, keys: &[PublicJwk]) -> Option<Jws> {
    Jws::parse(token).filter(|jws| jws.verified_by(keys))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(alg: Alg) -> SigningKey {
        SigningKey::generate(alg, format!("k-{}", alg.as_str()))
            .unwrap()
            .0
    }

    #[test]
    fn both_algorithms_sign_and_verify() {
        for alg in Alg::ALL {
            let k = key(alg);
            let jwk = k.public_jwk();
            assert!(jwk.is_valid(), "{alg:?}");
            let token = k.sign("JWT", &serde_json::json!({"sub": "a"})).unwrap();
            let jws = verify(&token, std::slice::from_ref(&jwk)).expect("verifies");
            assert_eq!(jws.str_claim("sub"), Some("a"));
            assert_eq!(jws.kid(), Some(jwk.kid.as_deref().unwrap()));
            let pkcs8 = SigningKey::generate(alg, "x".into()).unwrap().1;
            assert!(SigningKey::from_pkcs8(alg, "x".into(), &pkcs8).is_ok());
        }
    }

    #[test]
    fn tampering_alg_none_and_hs256_are_refused() {
        let k = key(Alg::RS256);
        let jwk = k.public_jwk();
        let token = k.sign("JWT", &serde_json::json!({"sub": "a"})).unwrap();
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(r#"{"sub":"b"}"#);
        parts[1] = &forged;
        assert!(verify(&parts.join("."), std::slice::from_ref(&jwk)).is_none());
        let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#);
        let body = URL_SAFE_NO_PAD.encode(r#"{"sub":"a"}"#);
        assert!(
            verify(
                &format!("{none_header}.{body}."),
                std::slice::from_ref(&jwk)
            )
            .is_none()
        );
        let hs = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256"}"#);
        assert!(verify(&format!("{hs}.{body}.c2ln"), std::slice::from_ref(&jwk)).is_none());
        // An ES256 token never matches an RSA key, and the reverse.
        let ec = key(Alg::ES256);
        let ec_token = ec.sign("JWT", &serde_json::json!({})).unwrap();
        assert!(verify(&ec_token, std::slice::from_ref(&jwk)).is_none());
    }

    #[test]
    fn short_rsa_keys_and_mismatched_algs_are_not_valid() {
        let mut jwk = key(Alg::RS256).public_jwk();
        jwk.alg = Some("ES256".into());
        assert!(!jwk.is_valid());
        jwk.alg = None;
        jwk.n = Some(URL_SAFE_NO_PAD.encode([1u8; 128]));
        assert!(!jwk.is_valid());
    }
}
