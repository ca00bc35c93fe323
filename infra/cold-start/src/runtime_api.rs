//! A minimal Lambda Runtime API (the `2018-06-01` interface a bootstrap polls): it hands
//! out one event per run and notes when the function first asks for work and when it
//! answers. Plain HTTP/1.1 over std's sockets, so what it measures is the function, not a
//! framework.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Instant;

const PREFIX: &str = "/2018-06-01/runtime";

/// What the function did, and when.
#[derive(Debug)]
pub enum Seen {
    /// Its first `GET …/invocation/next`: initialisation is over.
    Next(Instant),
    /// Its answer to the event.
    Response { at: Instant, body: String },
    /// It reported an error, during initialisation or for the event.
    Error { body: String },
}

struct Run {
    /// Which run this is: a connection accepted during an earlier run belongs to a
    /// process already stopped, and must not take this run's event.
    generation: u64,
    event: String,
    request_id: String,
    handed_out: bool,
    report: Sender<Seen>,
}

/// The emulator: one listener for every run; [`RuntimeApi::arm`] sets the next run's event.
pub struct RuntimeApi {
    addr: SocketAddr,
    run: Arc<Mutex<Option<Run>>>,
}

impl RuntimeApi {
    pub fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let run: Arc<Mutex<Option<Run>>> = Arc::new(Mutex::new(None));
        let shared = Arc::clone(&run);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let run = Arc::clone(&shared);
                std::thread::spawn(move || serve(stream, &run));
            }
        });
        Ok(Self { addr, run })
    }

    /// `host:port`, for `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Makes `event` the next run's only invocation; returns where its events arrive.
    pub fn arm(&self, event: &str, request_id: &str) -> Receiver<Seen> {
        let (report, seen) = channel();
        let mut run = self.run.lock().unwrap_or_else(|e| e.into_inner());
        let generation = run.as_ref().map_or(0, |r| r.generation + 1);
        *run = Some(Run {
            generation,
            event: event.to_owned(),
            request_id: request_id.to_owned(),
            handed_out: false,
            report,
        });
        seen
    }
}

struct Request {
    method: String,
    path: String,
    body: String,
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn respond(stream: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &str) -> bool {
    let mut out = format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\n", body.len());
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    stream.write_all(out.as_bytes()).is_ok()
}

/// One connection, kept alive as the runtime client keeps it.
fn serve(stream: TcpStream, run: &Mutex<Option<Run>>) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let accepted_in = run
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .map(|r| r.generation);
    let mut reader = BufReader::new(stream);
    while let Some(req) = read_request(&mut reader) {
        let now = Instant::now();
        let mut guard = run.lock().unwrap_or_else(|e| e.into_inner());
        let Some(current) = guard.as_mut().filter(|r| Some(r.generation) == accepted_in) else {
            return;
        };
        let ok = match (req.method.as_str(), req.path.strip_prefix(PREFIX)) {
            ("GET", Some("/invocation/next")) => {
                if current.handed_out {
                    // One event per run: the second poll waits until the run ends (the
                    // process is stopped), as an idle Lambda sandbox would.
                    return;
                }
                current.handed_out = true;
                let _ = current.report.send(Seen::Next(now));
                let deadline = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() + 30_000)
                    .unwrap_or_default();
                let headers = [
                    ("lambda-runtime-aws-request-id", current.request_id.clone()),
                    ("lambda-runtime-deadline-ms", deadline.to_string()),
                    (
                        "lambda-runtime-invoked-function-arn",
                        "arn:aws:lambda:us-east-1:123456789012:function:cold-start".to_owned(),
                    ),
                    (
                        "lambda-runtime-trace-id",
                        "Root=1-6af8260a-9f8e7d6c5b4a39281706f5e4;Sampled=0".to_owned(),
                    ),
                    ("content-type", "application/json".to_owned()),
                ];
                respond(&mut writer, "200 OK", &headers, &current.event)
            }
            ("POST", Some(path)) if path.ends_with("/response") => {
                let _ = current.report.send(Seen::Response {
                    at: now,
                    body: req.body,
                });
                respond(&mut writer, "202 Accepted", &[], "")
            }
            ("POST", Some(path)) if path.ends_with("/error") => {
                let _ = current.report.send(Seen::Error { body: req.body });
                respond(&mut writer, "202 Accepted", &[], "")
            }
            _ => respond(&mut writer, "404 Not Found", &[], ""),
        };
        drop(guard);
        if !ok {
            return;
        }
    }
}
