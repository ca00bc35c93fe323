//! End-to-end tests live in tests/; this library is what they share.
//!
//! - [`agency`]: the demo agency's side of a journey (its buttons, consent, its claims
//!   page), identity verification with the mock vendors, and how form errors are announced;
//! - [`stack`]: the local stack in-process on an ephemeral port, addressed as
//!   `http://localhost:<port>`, with its outbox;
//! - [`browser`]: headless Chromium over the DevTools protocol (navigation, forms by label,
//!   buttons by text, keyboard, axe-core, screenshots, a virtual authenticator);
//! - [`journey`]: the steps several browser tests take (sign up with an authentication
//!   app, sign in, sign out), in any of the site's languages;
//! - [`messages`]: the site's Fluent messages, to find buttons by their text and catch a
//!   message id shown instead of its text;
//! - [`totp`]: RFC 6238 codes, computed independently of the product's own code;
//! - [`tools`]: where Chromium and axe-core are (installed by `cargo xtask test`).

pub mod agency;
pub mod browser;
pub mod journey;
pub mod messages;
pub mod stack;
pub mod tools;
pub mod totp;
