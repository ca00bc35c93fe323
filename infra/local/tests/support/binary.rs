//! The real `passerelle-local` binary as a child process, as `cargo run` starts it: its
//! own loopback port and data directory, its log in a file; and a person's requests that
//! report a dropped connection as an error instead of panicking, since the tests that use
//! this stop or kill the stack under them.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::Person;

/// One run of the binary over `data_dir`.
pub struct Binary {
    pub child: Child,
    pub base: String,
    pub log: PathBuf,
}

impl Binary {
    /// Starts the binary on `port` over `data_dir` (created if needed), logging at
    /// `log_level` to `log` (appended, so that two runs over one directory share one file).
    /// A restart uses the same port, as an operator's would: the links already mailed
    /// name it.
    pub fn start(port: u16, data_dir: &Path, log: &Path, log_level: &str) -> Self {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_passerelle-local"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("PASSERELLE_DATA_DIR", data_dir)
            .env("PASSERELLE_LISTEN", format!("127.0.0.1:{port}"))
            .env("PASSERELLE_LOG", log_level)
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        Self {
            child,
            base: format!("http://localhost:{port}"),
            log: log.to_owned(),
        }
    }

    /// Waits until the stack answers `/api/health` with 200 (its database open).
    pub async fn wait_until_up(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = reqwest::get(format!("{}/api/health", self.base)).await
                && r.status() == 200
            {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the stack exited at start ({status}):\n{}", self.log_tail());
            }
            assert!(Instant::now() < deadline, "the stack starts");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends SIGTERM to this child, by its own pid (never a group: a pid of 0 or below
    /// would reach other processes, so it is refused).
    pub fn terminate(&self) {
        let raw = i32::try_from(self.child.id()).expect("a pid fits in i32");
        assert!(raw > 0, "a child's own pid");
        let pid = rustix::process::Pid::from_raw(raw).expect("a positive pid");
        rustix::process::kill_process(pid, rustix::process::Signal::TERM)
            .expect("SIGTERM sent to the stack");
    }

    /// Waits up to `limit` for the child to exit; kills it (by its handle) if it does not.
    pub fn wait_for_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }

    pub fn log_text(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut text);
        }
        text
    }

    pub fn log_tail(&self) -> String {
        tail(&self.log_text())
    }

    pub fn person(&self) -> Person {
        person(&self.base)
    }
}

impl Drop for Binary {
    /// A failed assertion must not leave the stack running: it is stopped by its handle.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A loopback port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A person at `base` whose requests time out rather than hang.
pub fn person(base: &str) -> Person {
    Person {
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap(),
        base: base.to_owned(),
        cookies: Default::default(),
        csrf: String::new(),
    }
}

/// Sends `req` with the person's cookies; keeps the cookies and CSRF field it answers
/// with. A connection closed without an answer is an error, not a panic.
pub async fn try_send(person: &mut Person, req: reqwest::RequestBuilder) -> Result<u16, String> {
    let jar: Vec<String> = person
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let response = req
        .header(reqwest::header::COOKIE, jar.join("; "))
        .send()
        .await
        .map_err(|e| format!("no answer: {e}"))?;
    for v in response.headers().get_all(reqwest::header::SET_COOKIE) {
        let text = v.to_str().unwrap_or_default();
        if let Some((k, v)) = text.split(';').next().and_then(|kv| kv.split_once('=')) {
            person.cookies.insert(k.to_owned(), v.to_owned());
        }
    }
    let status = response.status().as_u16();
    let body = response.text().await.map_err(|e| format!("body: {e}"))?;
    if let Some(i) = body.find("name=\"csrf_token\" value=\"") {
        let rest = &body[i + 25..];
        if let Some(end) = rest.find('"') {
            person.csrf = rest[..end].to_owned();
        }
    }
    Ok(status)
}

/// POSTs `fields` and the person's CSRF field to `path`, from the stack's own origin.
pub async fn try_post(
    person: &mut Person,
    path: &str,
    fields: &[(&str, &str)],
) -> Result<u16, String> {
    let csrf = person.csrf.clone();
    let mut form = fields.to_vec();
    form.push(("csrf_token", &csrf));
    let req = person
        .http
        .post(person.url(path))
        .header("origin", &person.base)
        .form(&form);
    try_send(person, req).await
}

/// The email step of sign-up (the form, then the address and the rules accepted); the
/// status of the POST, 200 when the stack accepted it (and queued its mail).
pub async fn try_sign_up(person: &mut Person, email: &str) -> Result<u16, String> {
    let form = person.http.get(person.url("/sign-up"));
    try_send(person, form).await?;
    try_post(
        person,
        "/sign-up",
        &[("email", email), ("accept_rules", "yes")],
    )
    .await
}

/// The last 40 lines of a log.
pub fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}
