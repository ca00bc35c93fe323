//! The embedded database: one SQLite file in WAL mode holding the store, the queue and the
//! outbox, safe for several processes sharing one data directory (each write is an
//! IMMEDIATE transaction, so SQLite's file lock decides races between processes).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;

#[derive(Debug, thiserror::Error)]
#[error("embedded database {path}: {detail}")]
pub struct DbError {
    pub path: String,
    pub detail: String,
}

/// A handle on the database file; cheap to clone. Writes (and anything that may wait on
/// a lock) run on tokio's blocking pool; single-item reads run on the caller's thread
/// through a second, read-only connection, which WAL never makes wait for a writer: a
/// hop to the blocking pool cost more than the read itself.
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
    reader: Arc<Mutex<Connection>>,
    path: Arc<PathBuf>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("path", &self.path).finish()
    }
}

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS items (
    pk TEXT NOT NULL,
    sk TEXT NOT NULL,
    attrs TEXT NOT NULL,
    version INTEGER NOT NULL,
    expires_at INTEGER,
    gsi1pk TEXT, gsi1sk TEXT,
    gsi2pk TEXT, gsi2sk TEXT,
    PRIMARY KEY (pk, sk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_gsi1 ON items (gsi1pk, gsi1sk, pk, sk) WHERE gsi1pk IS NOT NULL;
CREATE INDEX IF NOT EXISTS items_gsi2 ON items (gsi2pk, gsi2sk, pk, sk) WHERE gsi2pk IS NOT NULL;
CREATE INDEX IF NOT EXISTS items_expiry ON items (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS queue_messages (
    id TEXT PRIMARY KEY,
    queue TEXT NOT NULL,
    body TEXT NOT NULL,
    sent_ms INTEGER NOT NULL,
    visible_ms INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    receipt TEXT
);
CREATE INDEX IF NOT EXISTS queue_visible ON queue_messages (queue, visible_ms);
CREATE UNIQUE INDEX IF NOT EXISTS queue_receipt ON queue_messages (receipt) WHERE receipt IS NOT NULL;

CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    text_body TEXT NOT NULL,
    html_body TEXT,
    created_ms INTEGER NOT NULL
);
"#;

impl Db {
    /// Opens (creating if needed) the database file and its schema.
    pub fn open(path: &Path) -> Result<Self, DbError> {
        let err = |e: rusqlite::Error| DbError {
            path: path.display().to_string(),
            detail: e.to_string(),
        };
        let conn = Connection::open(path).map_err(err)?;
        // Other processes may hold the write lock briefly; wait rather than fail.
        conn.busy_timeout(Duration::from_secs(10)).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        let reader = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(err)?;
        reader.busy_timeout(Duration::from_secs(10)).map_err(err)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            reader: Arc::new(Mutex::new(reader)),
            path: Arc::new(path.to_owned()),
        })
    }

    /// Runs a short read on the calling thread with the read-only connection (WAL: it sees
    /// every committed write and never waits for a writer).
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> T) -> T {
        let guard = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        f(&guard)
    }

    /// Opens `passerelle.db` inside the data directory.
    pub fn in_dir(dir: &Path) -> Result<Self, DbError> {
        Self::open(&dir.join("passerelle.db"))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` with the connection on the blocking pool. `f` maps SQLite's errors itself.
    pub async fn call<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> T + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| self.error(e.to_string()))
    }

    /// Runs a plain SQLite call on the blocking pool; its error becomes a [`DbError`].
    pub async fn sql<T, F>(&self, f: F) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, rusqlite::Error> + Send + 'static,
    {
        let path = Arc::clone(&self.path);
        self.call(f).await?.map_err(|e| DbError {
            path: path.display().to_string(),
            detail: e.to_string(),
        })
    }

    pub fn error(&self, detail: String) -> DbError {
        DbError {
            path: self.path.display().to_string(),
            detail,
        }
    }
}
