//! Passerelle's library: domain logic, the ports it needs (store, keys, envelope, queue,
//! mail and SMS, clock, randomness), their embedded and AWS adapters, and the web layer.
#![forbid(unsafe_code)]

pub mod account;
pub mod aead;
pub mod clock;
pub mod config;
pub mod envelope;
pub mod fingerprint;
pub mod idv;
pub mod keys;
pub mod mfa;
pub mod notify;
pub mod proxies;
pub mod queue;
pub mod random;
pub mod ratelimit;
pub mod services;
pub mod session;
pub mod store;
pub mod telemetry;

#[cfg(feature = "api")]
pub mod api;
#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "conformance")]
pub mod conformance;
#[cfg(feature = "lambda")]
pub mod lambda;
#[cfg(feature = "oidc")]
pub mod oidc;
#[cfg(feature = "embedded")]
pub mod sqlite;
#[cfg(feature = "web")]
pub mod web;
