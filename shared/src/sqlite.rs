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

/// A handle on the database file; cheap to clone. Reads run on the caller's thread, on
/// the write connection when it is free and else on a second, read-only connection, which
/// WAL never makes wait for a writer ([`Db::read`]); the store's writes run there too when
/// nothing holds the write lock ([`Db::write_now`]): a hop to the blocking pool cost more
/// than either. Anything that may wait on a lock runs on tokio's blocking pool.
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

/// How long a write waits for another process's write lock before failing.
const BUSY_WAIT: Duration = Duration::from_secs(10);

/// Prepared statements each connection keeps.
const STATEMENTS_CACHED: usize = 64;

/// WAL pages after which a commit checkpoints (SQLite's default is 1,000).
const WAL_CHECKPOINT_PAGES: u32 = 4000;

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
        conn.busy_timeout(BUSY_WAIT).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(err)?;
        // A checkpoint copies every page the WAL holds back into the database file and
        // syncs both; at SQLite's default of every 1,000 pages it ran every ~70 sign-ins
        // and took a fifth of the store's CPU (docs/performance.md). Four times fewer
        // checkpoints write the pages that change often once instead of four times, for a
        // WAL of up to 16 MiB.
        conn.pragma_update(None, "wal_autocheckpoint", WAL_CHECKPOINT_PAGES)
            .map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        // Room for every statement the store, queue and outbox prepare (rusqlite keeps 16).
        conn.set_prepared_statement_cache_capacity(STATEMENTS_CACHED);
        let reader = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(err)?;
        reader.busy_timeout(BUSY_WAIT).map_err(err)?;
        reader.set_prepared_statement_cache_capacity(STATEMENTS_CACHED);
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            reader: Arc::new(Mutex::new(reader)),
            path: Arc::new(path.to_owned()),
        })
    }

    /// Runs a short read on the calling thread: on the write connection when it is free,
    /// else on the read-only one (WAL: both see every committed write, and a reader never
    /// waits for a writer). The write connection first because its page cache survives its
    /// own commits, while any commit makes the other connection drop its cache and read
    /// every page again from the files: a few system calls per page, on every read that
    /// follows a write.
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> T) -> T {
        if let Ok(conn) = self.conn.try_lock() {
            return f(&conn);
        }
        let guard = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        f(&guard)
    }

    /// Runs `f` inside an IMMEDIATE transaction on the calling thread, when that needs no
    /// waiting: this process's write connection is free and SQLite's write lock is too
    /// (another process holding it answers busy at once instead of after `BUSY_WAIT`).
    /// Commits when `f` succeeds, rolls back otherwise (also on a panic). `None`: it would
    /// have had to wait, and `f` was not called; run the write on the blocking pool.
    ///
    /// A small write is tens of microseconds, less than the hop to the blocking pool and
    /// back; what can still take long inline is the occasional WAL checkpoint a commit runs.
    pub fn write_now<T, E>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, E>,
        sql_error: impl Fn(rusqlite::Error) -> E,
    ) -> Option<Result<T, E>> {
        let conn = self.conn.try_lock().ok()?;
        conn.busy_timeout(Duration::ZERO).ok()?;
        let begun = run_cached(&conn, "BEGIN IMMEDIATE");
        if let Err(e) = conn.busy_timeout(BUSY_WAIT) {
            if begun.is_ok() {
                let _ = run_cached(&conn, "ROLLBACK");
            }
            return Some(Err(sql_error(e)));
        }
        match begun {
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => {
                return None;
            }
            Err(e) => return Some(Err(sql_error(e))),
            Ok(()) => {}
        }
        let open = OpenTransaction(&conn);
        let out = f(&conn);
        Some(match out {
            Ok(value) => open.commit().map(|()| value).map_err(sql_error),
            // Dropping `open` rolls back.
            Err(e) => Err(e),
        })
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

/// Runs a statement without parameters or rows through the connection's statement cache
/// (`execute_batch` would parse it again on every transaction).
fn run_cached(conn: &Connection, sql: &str) -> Result<(), rusqlite::Error> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// A transaction begun by hand on a connection: rolled back when dropped uncommitted, so
/// an error or a panic in the middle never leaves it open.
struct OpenTransaction<'a>(&'a Connection);

impl OpenTransaction<'_> {
    fn commit(self) -> Result<(), rusqlite::Error> {
        let result = run_cached(self.0, "COMMIT");
        if result.is_ok() {
            std::mem::forget(self);
        }
        result
    }
}

impl Drop for OpenTransaction<'_> {
    fn drop(&mut self) {
        let _ = run_cached(self.0, "ROLLBACK");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(db: &Db) -> i64 {
        db.read(|c| {
            c.query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0))
                .unwrap()
        })
    }

    fn insert(conn: &Connection) -> Result<(), rusqlite::Error> {
        conn.execute(
            "INSERT INTO outbox (kind, recipient, subject, text_body, created_ms) \
             VALUES ('mail', 'a', 's', 't', 0)",
            [],
        )
        .map(|_| ())
    }

    #[test]
    fn a_write_runs_at_once_when_free_and_steps_aside_when_another_process_writes() {
        // Given a database and a second connection, as another process would hold,
        let dir = tempfile::tempdir().unwrap();
        let db = Db::in_dir(dir.path()).unwrap();
        let other = Connection::open(dir.path().join("passerelle.db")).unwrap();

        // when nothing else writes, the write runs and commits on the calling thread;
        assert!(matches!(db.write_now(insert, |e| e), Some(Ok(()))));
        assert_eq!(count(&db), 1);

        // when the other connection holds the write lock, the write is not attempted
        // (no wait, nothing written) and says so;
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let mut called = false;
        let answer = db.write_now(
            |c| {
                called = true;
                insert(c)
            },
            |e| e,
        );
        assert!(answer.is_none() && !called);
        other.execute_batch("ROLLBACK").unwrap();

        // and a write that fails half-way leaves nothing behind.
        let failed = db.write_now(
            |c| {
                insert(c)?;
                Err::<(), _>(rusqlite::Error::InvalidQuery)
            },
            |e| e,
        );
        assert!(matches!(failed, Some(Err(_))));
        assert_eq!(count(&db), 1);

        // A read while this process writes runs on the other connection and sees the last
        // commit, not the write in progress.
        let seen = db.write_now(
            |c| {
                insert(c)?;
                Ok::<_, rusqlite::Error>(count(&db))
            },
            |e| e,
        );
        assert!(matches!(seen, Some(Ok(1))), "{seen:?}");
        assert_eq!(count(&db), 2);
        assert!(matches!(db.write_now(insert, |e| e), Some(Ok(()))));
        assert_eq!(count(&db), 3);
    }
}
