//! Starting the local stack as an operator would: `cargo run` with environment variables.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn stack() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_passerelle-local"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn fails_with_one_line(var: &str, value: &str, data_dir: &std::path::Path) -> String {
    let out = stack()
        .env("PASSERELLE_DATA_DIR", data_dir)
        .env(var, value)
        .output()
        .expect("the binary runs");
    assert_eq!(out.status.code(), Some(2), "exit status for {var}={value}");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains(var), "names {var}: {stderr}");
    stderr
}

#[test]
fn a_bad_listen_address_stops_start_up_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let line = fails_with_one_line("PASSERELLE_LISTEN", "not-an-address", dir.path());
    assert!(
        line.contains("127.0.0.1:3000"),
        "says what it accepts: {line}"
    );
}

#[test]
fn an_unknown_backend_stops_start_up_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let line = fails_with_one_line("PASSERELLE_BACKEND", "mongodb", dir.path());
    assert!(line.contains("`embedded` (default) or `aws`"), "{line}");
}

#[test]
fn aws_without_its_table_stops_start_up_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = stack()
        .env("PASSERELLE_DATA_DIR", dir.path())
        .env("PASSERELLE_BACKEND", "aws")
        .env("PASSERELLE_NOTIFY_QUEUE_URL", "http://127.0.0.1:1/q")
        .env("PASSERELLE_MAIL_FROM", "no-reply@example.gov")
        .env("PASSERELLE_KMS_KEY_ID", "alias/x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PASSERELLE_TABLE"));
}

#[test]
fn it_prints_its_url_and_serves_english_and_french() {
    // Given a free port and an empty data directory
    let dir = tempfile::tempdir().unwrap();
    let port = support::binary::free_port();
    let mut child = stack()
        .env("PASSERELLE_DATA_DIR", dir.path())
        .env("PASSERELLE_LISTEN", format!("127.0.0.1:{port}"))
        .spawn()
        .unwrap();
    // When it starts, then its first line names the URL
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let outcome = std::panic::catch_unwind(|| {
        assert!(
            first.contains(&format!("http://localhost:{port}/")),
            "{first}"
        );
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let base = format!("http://127.0.0.1:{port}");
            let en = reqwest::get(format!("{base}/")).await.unwrap();
            assert_eq!(en.status(), 200);
            assert!(en.text().await.unwrap().contains("<html lang=\"en\""));
            let fr = reqwest::get(format!("{base}/fr/")).await.unwrap();
            assert!(fr.text().await.unwrap().contains("<html lang=\"fr\""));
            let outbox = reqwest::get(format!("{base}/dev/outbox")).await.unwrap();
            assert_eq!(outbox.status(), 200, "the local stack shows its outbox");
        });
        // And the root key was made private in the data directory
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("root-keys"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    });
    let _ = child.kill();
    let _ = child.wait();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn rotating_the_root_key_appends_a_new_current_key() {
    // Given a data directory whose first root key is made on first use
    let dir = tempfile::tempdir().unwrap();
    let rotate = || {
        let out = stack()
            .env("PASSERELLE_DATA_DIR", dir.path())
            .arg("rotate-root-key")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // When an operator rotates twice, then each rotation names the next key
    assert!(rotate().contains("new root key local-2"));
    assert!(rotate().contains("new root key local-3"));
    let file = std::fs::read_to_string(dir.path().join("root-keys")).unwrap();
    assert_eq!(
        file.lines().count(),
        3,
        "earlier keys stay to open what they sealed"
    );
}

#[cfg(unix)]
#[test]
fn sigterm_stops_the_stack_cleanly_and_leaves_its_wal_scrubbed() {
    use std::time::{Duration, Instant};
    // Given the stack running on a fresh data directory (its start registers the demo
    // agency: writes in the WAL),
    let dir = tempfile::tempdir().unwrap();
    let port = support::binary::free_port();
    let mut child = stack()
        .env("PASSERELLE_DATA_DIR", dir.path())
        .env("PASSERELLE_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary runs");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the stack starts");
        std::thread::sleep(Duration::from_millis(50));
    }

    // when it is sent SIGTERM (as `docker stop`, systemd or `kill` do),
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());

    // then it exits by itself with status 0 (not killed by the signal), after its workers
    // stopped and its last scrub left the WAL empty.
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the stack did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0), "{status:?}");
    let wal = std::fs::metadata(dir.path().join("passerelle.db-wal")).map(|m| m.len());
    assert_eq!(wal.unwrap_or(0), 0);
    assert!(dir.path().join("passerelle.db").exists());
}
