//! moto_server on a free loopback port for the AWS adapters' tests (through
//! `moto_atomic.py`, which makes its DynamoDB atomic per request), stopped when dropped
//! (also when a step fails or panics), by its own process handle.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto {
    child: Child,
    url: String,
}

impl Moto {
    pub fn start(venv: &Path) -> Result<Self, String> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port for moto: {e}"))?
            .port();
        // moto_server, with a lock that makes its DynamoDB as atomic as DynamoDB (see the
        // script's docstring).
        let launcher = Path::new(env!("CARGO_MANIFEST_DIR")).join("moto_atomic.py");
        let child = Command::new(venv.join("bin/python"))
            .arg(launcher)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("could not start moto_server: {e}"))?;
        let moto = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        moto.wait_ready(port)?;
        Ok(moto)
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Ready when `GET /moto-api/` answers 200.
    fn wait_ready(&self, port: u16) -> Result<(), String> {
        use std::io::{Read, Write};
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let req = format!(
                    "GET /moto-api/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
                );
                let mut head = [0u8; 12];
                if s.write_all(req.as_bytes()).is_ok()
                    && s.read_exact(&mut head).is_ok()
                    && head.ends_with(b"200")
                {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err("moto_server did not become ready within 30 s".into())
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
