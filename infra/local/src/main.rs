//! `cargo run`: the whole of Passerelle on one address, embedded adapters by default.
#![forbid(unsafe_code)]

use std::sync::Arc;

use passerelle::services::{exit_with, start};
use passerelle_local::shutdown::{
    DRAIN, StopSignals, WORKERS_STOP, asked, serve_until_drained, stop_workers,
};

#[tokio::main]
async fn main() {
    match std::env::args().nth(1).as_deref() {
        None | Some("serve") => serve().await,
        Some("rotate-root-key") => rotate_root_key(),
        Some("agency") => agency(std::env::args().skip(2).collect()).await,
        Some("signing-keys") => signing_keys(std::env::args().nth(2).as_deref()).await,
        Some(other) => exit_with(&format!(
            "unknown command {other:?}: use `serve` (the default), `rotate-root-key`, \
             `agency add|update|list|show|remove|refresh-keys …` or `signing-keys list | rotate`"
        )),
    }
}

/// Appends a new embedded root key; later seals use it, earlier ones stay readable.
fn rotate_root_key() {
    use passerelle::config::{Backend, Config};
    let config = Config::from_env().unwrap_or_else(|e| exit_with(&e));
    let Backend::Embedded(embedded) = &config.backend else {
        exit_with(&"PASSERELLE_BACKEND=aws: KMS rotates its keys itself (see docs/operations.md)");
    };
    std::fs::create_dir_all(&embedded.data_dir).unwrap_or_else(|e| {
        exit_with(&format!(
            "PASSERELLE_DATA_DIR={} cannot be created: {e}",
            embedded.data_dir.display()
        ))
    });
    let keys = passerelle::keys::local::LocalKeyService::open(
        &embedded.data_dir,
        Arc::new(passerelle::random::OsRandom),
    )
    .unwrap_or_else(|e| exit_with(&e));
    let id = keys.rotate().unwrap_or_else(|e| exit_with(&e));
    #[allow(clippy::print_stdout)]
    {
        println!("new root key {id}: it wraps every data key from now on");
    }
}

/// The OpenID provider over the configured backend (embedded, or AWS with
/// `PASSERELLE_BACKEND=aws`): the operator commands work on a deployment the same way.
async fn provider() -> passerelle::api::ApiState {
    let (config, services) = start().await;
    passerelle::api::ApiState::new(Arc::new(services), config.public_url)
}

/// `agency add|update|list|show|remove|refresh-keys` (OIDC-9): see
/// `passerelle_local::admin::agency::USAGE` and docs/operations.md.
async fn agency(args: Vec<String>) {
    let api = provider().await;
    let oidc = api.oidc().await.unwrap_or_else(|e| exit_with(&e));
    let io = passerelle_local::admin::agency::SystemIo::default();
    match passerelle_local::admin::agency::run(&args, &oidc.provider.agencies, &io).await {
        #[allow(clippy::print_stdout)]
        Ok(out) => println!("{out}"),
        Err(e) => exit_with(&e),
    }
}

/// `signing-keys list` shows the keyset; `signing-keys rotate` promotes the next keys
/// (see docs/operations.md: run it, then wait for agencies' JWKS caches).
async fn signing_keys(command: Option<&str>) {
    let api = provider().await;
    let oidc = api.oidc().await.unwrap_or_else(|e| exit_with(&e));
    let keys = &oidc.provider.keys;
    #[allow(clippy::print_stdout)]
    match command {
        Some("list") => {
            for e in keys.entries().await.unwrap_or_else(|e| exit_with(&e)) {
                println!("{} {} {:?}", e.kid, e.alg.as_str(), e.state);
            }
        }
        Some("rotate") => {
            let r = keys.rotate().await.unwrap_or_else(|e| exit_with(&e));
            println!(
                "now signing: {}; next (published): {}; dropped: {}",
                r.now_current.join(", "),
                r.new_next.join(", "),
                if r.dropped.is_empty() {
                    "none".into()
                } else {
                    r.dropped.join(", ")
                }
            );
        }
        _ => exit_with(&"use `signing-keys list` or `signing-keys rotate`"),
    }
}

async fn serve() {
    // Before anything is opened or written: from here a SIGTERM is a clean stop (acted on
    // once the stack is up), never a cut in the middle of a write.
    let signals = StopSignals::install()
        .unwrap_or_else(|e| exit_with(&format!("the stop signals cannot be caught: {e}")));
    let (config, services) = start().await;
    // The vendors' settings are read again where they are used: stop now on a bad one.
    passerelle::config::VendorConfig::from_env().unwrap_or_else(|e| exit_with(&e));
    let services = Arc::new(services);
    let listener = match tokio::net::TcpListener::bind(config.listen).await {
        Ok(l) => l,
        Err(e) => exit_with(&format!(
            "PASSERELLE_LISTEN={} cannot be bound: {e}; choose another address",
            config.listen
        )),
    };
    let workers = passerelle_local::start_workers(&config, &services);
    let app = passerelle_local::app_with_demo(&config, &services)
        .await
        .unwrap_or_else(|e| exit_with(&format!("the demo agency could not be registered: {e}")));
    #[allow(clippy::print_stdout)]
    {
        println!(
            "Passerelle is running at {}/ (listening on {}, {} adapters); the demo agency is at {}/demo/",
            config.public_url,
            config.listen,
            config.backend.name(),
            config.public_url
        );
    }
    // Ctrl-C or SIGTERM: no new connections, the requests under way finish (for at most
    // DRAIN), then the workers finish the messages they hold (for at most WORKERS_STOP).
    let stopping = signals.watch();
    // The socket's address is the client's for rate limits (web::client).
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(asked(stopping.clone()));
    let served = serve_until_drained(server.into_future(), stopping, DRAIN).await;
    stop_workers(workers, WORKERS_STOP).await;
    if let Err(e) = served {
        exit_with(&format!("the server stopped: {e}"));
    }
}
