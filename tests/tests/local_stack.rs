//! The local stack end to end: a message queued by a page reaches the in-process worker,
//! is delivered to the outbox, and shows on `/dev/outbox` with its link clickable.

use std::sync::Arc;
use std::time::{Duration, Instant};

use passerelle::config::Config;
use passerelle::notify::job::{Outgoing, enqueue};
use passerelle::services::Services;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_email_reaches_the_outbox_page() {
    // Given the local stack on a free port with its own data directory
    let dir = tempfile::tempdir().unwrap();
    let vars = [(
        "PASSERELLE_DATA_DIR".to_string(),
        dir.path().display().to_string(),
    )]
    .into();
    let config = Config::from_vars(&vars).unwrap();
    let services = Arc::new(Services::build(&config).await.unwrap());
    let workers = passerelle_local::start_workers(&config, &services);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = passerelle_local::app(&config, &services);
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });

    // When a page enqueues an email
    let link = "http://localhost:3000/confirm?token=abc123";
    let email = Outgoing::Email {
        to: "e2e@example.gov".into(),
        subject: "Confirm your email address".into(),
        text: format!("Open {link} within 24 hours."),
        html: format!("<p><a href=\"{link}\">Confirm</a></p>"),
    };
    enqueue(
        services.notify_queue.as_ref(),
        &services.envelope,
        services.random.as_ref(),
        &email,
    )
    .await
    .unwrap();

    // Then the worker delivers it and the outbox page lists it with the link clickable
    let deadline = Instant::now() + Duration::from_secs(15);
    let page = loop {
        let page = reqwest::get(format!("{base}/dev/outbox"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if page.contains("Confirm your email address") || Instant::now() > deadline {
            break page;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        page.contains("Confirm your email address"),
        "delivered within 15 s: {page}"
    );
    assert!(
        page.contains("href=\"http://localhost:3000/confirm?token=abc123\""),
        "{page}"
    );

    server.abort();
    workers.shutdown().await;
}
