//! Concurrent requests while the in-process queue consumers run, against the real binary
//! with its real log subscriber: every request gets an answer and nothing panics.
//!
//! The shape is the one that once dropped connections: a consumer entered its message span
//! across an await, so requests served meanwhile on that worker thread inherited a span
//! that later closed, and tracing-subscriber's registry panicked cloning it. At this load
//! that happened about once in 3,000 requests; `shared/tests/consumer_spans.rs` reproduces
//! it every time, and this test keeps the whole stack honest under the same mix.

mod support;

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use support::Person;
use support::binary::{person, tail, try_sign_up};

/// Bounded both ways: this many requests per client, or this long, whichever comes first.
const REQUESTS_PER_CLIENT: usize = 150;
const MAX_RUN: Duration = Duration::from_secs(20);

#[test]
fn concurrent_sign_ups_and_page_reads_all_get_answers_and_nothing_panics() {
    // Given the local stack as `cargo run` starts it, logging at info (every request and
    // every delivered mail opens a span)
    let dir = tempfile::tempdir().unwrap();
    let port = support::binary::free_port();
    let log = std::fs::File::create(dir.path().join("stack.log")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_passerelle-local"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PASSERELLE_DATA_DIR", dir.path().join("data"))
        .env("PASSERELLE_LISTEN", format!("127.0.0.1:{port}"))
        .env("PASSERELLE_LOG", "info")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let base = format!("http://localhost:{port}");
    let outcome = std::panic::catch_unwind(|| {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            wait_until_up(&base).await;
            // When two people sign up over and over (each sign-up queues a mail the
            // in-process consumer delivers) while two others read the sign-in page
            let answered = Arc::new(AtomicUsize::new(0));
            let started = Instant::now();
            let mut clients = Vec::new();
            for c in 0..4 {
                let base = base.clone();
                let answered = Arc::clone(&answered);
                clients.push(tokio::spawn(async move {
                    let mut person = person(&base);
                    let mut failures = Vec::new();
                    for n in 0..REQUESTS_PER_CLIENT {
                        if started.elapsed() > MAX_RUN {
                            break;
                        }
                        let result = if c < 2 {
                            sign_up(&mut person, &format!("load-{c}-{n}@example.gov")).await
                        } else {
                            read(&person, "/sign-in").await
                        };
                        match result {
                            Ok(()) => {
                                answered.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => failures.push(e),
                        }
                    }
                    failures
                }));
            }
            let mut failures = Vec::new();
            for client in clients {
                failures.extend(client.await.unwrap());
            }
            // Then every request got an answer
            assert!(failures.is_empty(), "unanswered requests: {failures:?}");
            assert!(answered.load(Ordering::Relaxed) > 100, "the load ran");
        });
    });
    let _ = child.kill();
    let _ = child.wait();
    // And the log holds no panic
    let mut text = String::new();
    std::fs::File::open(dir.path().join("stack.log"))
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    if let Err(panic) = outcome {
        eprintln!("{}", tail(&text));
        std::panic::resume_unwind(panic);
    }
    assert!(
        !text.contains("panicked"),
        "a panic in the stack's log:\n{}",
        tail(&text)
    );
    assert!(text.contains("delivered"), "the consumer delivered mail");
}

async fn wait_until_up(base: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::get(format!("{base}/")).await.is_err() {
        assert!(Instant::now() < deadline, "the stack starts");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn read(person: &Person, path: &str) -> Result<(), String> {
    let response = person
        .http
        .get(person.url(path))
        .send()
        .await
        .map_err(|e| format!("GET {path}: {e}"))?;
    let status = response.status();
    response
        .bytes()
        .await
        .map_err(|e| format!("GET {path} body: {e}"))?;
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("GET {path}: {status}"))
    }
}

/// Person::send expects an answer; a dropped connection must be a failure, not a panic
/// of this client, so the sign-up goes through `try_sign_up`.
async fn sign_up(person: &mut Person, email: &str) -> Result<(), String> {
    match try_sign_up(person, email).await? {
        200 => Ok(()),
        status => Err(format!("POST /sign-up: {status}")),
    }
}
