//! `cargo run`: the whole of Passerelle on one address, embedded adapters by default.
#![forbid(unsafe_code)]

use std::sync::Arc;

use passerelle::services::{exit_with, start};

#[tokio::main]
async fn main() {
    match std::env::args().nth(1).as_deref() {
        None | Some("serve") => serve().await,
        Some("rotate-root-key") => rotate_root_key(),
        Some(other) => exit_with(&format!(
            "unknown command {other:?}: use `serve` (the default) or `rotate-root-key`"
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

async fn serve() {
    let (config, services) = start().await;
    let services = Arc::new(services);
    let listener = match tokio::net::TcpListener::bind(config.listen).await {
        Ok(l) => l,
        Err(e) => exit_with(&format!(
            "PASSERELLE_LISTEN={} cannot be bound: {e}; choose another address",
            config.listen
        )),
    };
    let workers = passerelle_local::start_workers(&config, &services);
    let app = passerelle_local::app(&config, &services);
    #[allow(clippy::print_stdout)]
    {
        println!(
            "Passerelle is running at {}/ (listening on {}, {} adapters)",
            config.public_url,
            config.listen,
            config.backend.name()
        );
    }
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    workers.shutdown().await;
    if let Err(e) = served {
        exit_with(&format!("the server stopped: {e}"));
    }
}
