//! The embedded database: one SQLite file in WAL mode holding the store, the queue and the
//! outbox, safe for several processes sharing one data directory (each write is an
//! IMMEDIATE transaction, so SQLite's file lock decides races between processes).
//!
//! Deleted data does not stay in the files: every connection runs with `secure_delete`, so
//! a page written after a deletion or an overwrite carries zeros where the old content
//! was, and [`Db::scrub`] (run by the local stack every [`SCRUB_EVERY`] while the WAL holds
//! anything, and at shutdown) copies those pages into the database file and truncates the
//! WAL, whose older frames still held the content as it was before.

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

/// How often the local stack scrubs the WAL while it holds frames ([`Db::scrub`]): the
/// longest a deleted value stays readable in the files while the stack runs. A timer,
/// because a truncating checkpoint after each deletion made a job's put and delete 70–140
/// times slower (two `fsync`s each), while one a second stayed within the bench's noise
/// (docs/performance.md, "Deleted data").
pub const SCRUB_EVERY: Duration = Duration::from_secs(1);

/// How long a scrub waits for readers of older snapshots (another process's long read)
/// before giving up until the next one: it holds the write connection meanwhile.
const SCRUB_WAIT: Duration = Duration::from_millis(200);

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
        // What a deletion or an overwrite frees is zeroed in the page SQLite writes next,
        // instead of left in place until the space is reused: the store's items, the queue's
        // messages and the outbox hold sealed values (job inputs, document images, mail)
        // that must not outlive their rows. The WAL's older frames are [`Db::scrub`]'s work.
        // Only the write connection: the read-only one frees nothing.
        conn.pragma_update(None, "secure_delete", "ON")
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

    /// Whether the WAL holds frames: writes since the last [`Db::scrub`] (from this
    /// process or another), whose older frames may hold deleted or overwritten content.
    /// A file-size check, so it costs the hot path nothing.
    pub fn scrub_pending(&self) -> bool {
        std::fs::metadata(self.wal_path()).is_ok_and(|m| m.len() > 0)
    }

    /// The WAL file beside the database.
    pub fn wal_path(&self) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push("-wal");
        PathBuf::from(name)
    }

    /// Leaves no deleted content in the files: a `TRUNCATE` checkpoint copies the latest
    /// version of every page the WAL holds (zeroed where content was freed, thanks to
    /// `secure_delete`) into the database file, syncs it, and truncates the WAL to zero
    /// bytes, so its older frames — the rows as they were before a deletion — are gone.
    /// `Ok(false)`: a reader of an older snapshot (another process) kept the WAL in use
    /// for longer than [`SCRUB_WAIT`]; nothing is lost, the next scrub tries again.
    pub async fn scrub(&self) -> Result<bool, DbError> {
        let path = Arc::clone(&self.path);
        self.call(move |conn| -> Result<bool, DbError> {
            let err = |e: rusqlite::Error| DbError {
                path: path.display().to_string(),
                detail: format!("scrubbing the WAL: {e}"),
            };
            conn.busy_timeout(SCRUB_WAIT).map_err(err)?;
            // (busy, frames in the WAL, frames checkpointed); busy = 1 when it could not
            // finish, and then the WAL was not truncated.
            let done = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                r.get::<_, i64>(0)
            });
            conn.busy_timeout(BUSY_WAIT).map_err(err)?;
            match done {
                Ok(busy) => Ok(busy == 0),
                Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => {
                    Ok(false)
                }
                Err(e) => Err(err(e)),
            }
        })
        .await?
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

    /// The deleted-data scenarios: values that stand for what the adapters delete, each
    /// distinctive enough that finding it in a file can only mean it was left there.
    mod deleted {
        use std::sync::Arc;
        use std::time::Duration;

        use base64::Engine;
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

        use super::Db;
        use crate::clock::{Clock, ManualClock};
        use crate::queue::Queue;
        use crate::queue::embedded::EmbeddedQueue;
        use crate::random::OsRandom;
        use crate::store::embedded::EmbeddedStore;
        use crate::store::{Expect, Item, Key, Store, Write};

        /// A job input: the PII a proofing job carries until it is done.
        const JOB_INPUT: &str = "given=Quintessa family=Marbleworth ssn=900-41-7736";
        /// Repeated through each chunk of a document image, as its pixels would be.
        const IMAGE_MARK: &str = "IMG-Xq7Zp-front-of-licence";
        /// A processed queue message: the job's input travels inside it.
        const MESSAGE: &str = "job=Vortigern-5512 phone=+15555550123";
        /// An item that expired and was swept.
        const EXPIRED: &str = "session-pii Ottoline Brackenbury 1961-04-09";
        /// A value overwritten by a later version of its item.
        const OVERWRITTEN: &str = "letter-code Belisande ZX81-QQ07";
        /// Still stored: the control the scan must find.
        const KEPT: &str = "kept Hyacinth Fairweather 4417";

        struct World {
            dir: tempfile::TempDir,
            db: Db,
            clock: Arc<ManualClock>,
            store: EmbeddedStore,
            queue: EmbeddedQueue,
        }

        fn world() -> World {
            let dir = tempfile::tempdir().unwrap();
            let db = Db::in_dir(dir.path()).unwrap();
            let clock = Arc::new(ManualClock::at_ms(1_800_000_000_000));
            let store = EmbeddedStore::new(db.clone(), clock.clone() as Arc<dyn Clock>);
            let queue = EmbeddedQueue::new(
                db.clone(),
                "proofing",
                None,
                clock.clone() as Arc<dyn Clock>,
                Arc::new(OsRandom),
            );
            World {
                dir,
                db,
                clock,
                store,
                queue,
            }
        }

        /// A document image of `kib` KiB: the mark over and over, as pixels fill a chunk
        /// (large enough for SQLite's overflow pages).
        fn image(kib: usize) -> Vec<u8> {
            IMAGE_MARK.bytes().cycle().take(kib * 1024).collect()
        }

        /// Writes every kind of value the adapters delete, then deletes them through the
        /// ports as the flows do: the job input with `delete`, the image chunks in one
        /// transaction, the message by its receipt once processed, the expired item by the
        /// sweep, the overwritten value by a put of its next version.
        async fn write_then_delete(w: &World) {
            let job = Key::new("PROOFING#job1", "INPUT");
            let kept = Key::new("USER#u1", "PROFILE");
            let overwritten = Key::new("USER#u1", "LETTER");
            let chunks: Vec<Key> = (0..3)
                .map(|i| Key::new("UPLOAD#f1", format!("CHUNK#{i}")))
                .collect();
            let now = w.clock.now_secs();
            let s = &w.store;
            s.put(
                Item::new(job.clone()).with("input", JOB_INPUT),
                Expect::Absent,
            )
            .await
            .unwrap();
            s.put(Item::new(kept).with("profile", KEPT), Expect::Absent)
                .await
                .unwrap();
            s.put(
                Item::new(overwritten.clone()).with("code", OVERWRITTEN),
                Expect::Absent,
            )
            .await
            .unwrap();
            for key in &chunks {
                s.put(
                    Item::new(key.clone()).with("bytes", image(40)),
                    Expect::Absent,
                )
                .await
                .unwrap();
            }
            s.put(
                Item::new(Key::new("SESSION#s1", "PII"))
                    .with("pii", EXPIRED)
                    .expiring_at(now + 60),
                Expect::Absent,
            )
            .await
            .unwrap();
            w.queue.send(MESSAGE, Duration::ZERO).await.unwrap();

            s.delete(&job, Expect::Present).await.unwrap();
            s.transact(
                chunks
                    .into_iter()
                    .map(|k| Write::Delete(k, Expect::Present))
                    .collect(),
            )
            .await
            .unwrap();
            let got = w
                .queue
                .receive(1, Duration::from_secs(30), Duration::ZERO)
                .await
                .unwrap();
            assert_eq!(got.len(), 1);
            w.queue.delete(&got[0].receipt).await.unwrap();
            w.clock.advance_ms(120_000);
            assert_eq!(s.purge_expired().await.unwrap(), 1);
            s.put(Item::new(overwritten).with("code", "used"), Expect::Present)
                .await
                .unwrap();
        }

        /// `value` as it may lie in the files: UTF-8, and inside standard or URL-safe base64
        /// text at each of the three alignments (the store keeps binary attributes as
        /// standard base64 in its JSON).
        fn forms(value: &[u8]) -> Vec<Vec<u8>> {
            let mut forms = vec![value.to_vec()];
            for start in 0..3 {
                let shifted = [&vec![0_u8; start][..], value].concat();
                for text in [STANDARD.encode(&shifted), URL_SAFE_NO_PAD.encode(&shifted)] {
                    // The characters that depend only on `value`, whatever surrounds it.
                    let skip = (start * 4).div_ceil(3) + 1;
                    let inner = text.trim_end_matches('=');
                    forms.push(inner.as_bytes()[skip..inner.len() - 2].to_vec());
                }
            }
            forms
        }

        /// Where, in every byte of the database file, its WAL and its shared-memory index,
        /// any form of `value` lies: `None` when nowhere.
        fn found_in_files(w: &World, value: &str) -> Option<String> {
            let mut files = 0;
            for name in ["passerelle.db", "passerelle.db-wal", "passerelle.db-shm"] {
                let Ok(bytes) = std::fs::read(w.dir.path().join(name)) else {
                    continue;
                };
                files += 1;
                for form in forms(value.as_bytes()) {
                    if bytes
                        .windows(form.len())
                        .any(|window| window == form.as_slice())
                    {
                        return Some(format!("{name}: {}", String::from_utf8_lossy(&form)));
                    }
                }
            }
            // The database file at least was read: an empty scan finds nothing.
            assert!(files >= 1);
            None
        }

        const DELETED: [&str; 5] = [JOB_INPUT, IMAGE_MARK, MESSAGE, EXPIRED, OVERWRITTEN];

        #[tokio::test]
        async fn given_deleted_sealed_data_when_the_wal_is_scrubbed_then_no_file_holds_it() {
            // Given job inputs, image chunks, a message, an expired and an overwritten
            // value written and then deleted through the ports,
            let w = world();
            write_then_delete(&w).await;
            assert!(w.db.scrub_pending());

            // when the WAL is scrubbed, as the local stack does every second and at
            // shutdown,
            assert!(w.db.scrub().await.unwrap());

            // then no byte of the database, its WAL or its index holds any of them in
            // UTF-8 or base64, while the item still stored is found where it is (the scan
            // sees the files' content);
            for value in DELETED {
                assert_eq!(found_in_files(&w, value), None, "{value}");
            }
            assert!(found_in_files(&w, KEPT).is_some());
            assert!(!w.db.scrub_pending());
            assert_eq!(
                std::fs::metadata(w.db.wal_path()).map(|m| m.len()).ok(),
                Some(0)
            );

            // and the store still answers from the scrubbed files.
            let kept = w.store.get(&Key::new("USER#u1", "PROFILE")).await.unwrap();
            assert_eq!(kept.unwrap().str("profile"), Some(KEPT));
        }

        #[tokio::test]
        async fn given_deleted_data_and_no_scrub_then_the_wal_still_holds_it() {
            // Given the same deletions, when nothing scrubs the WAL,
            let w = world();
            write_then_delete(&w).await;

            // then its older frames still hold what was deleted: the scan finds it, and the
            // scrub above is what removes it.
            for value in DELETED {
                let at = found_in_files(&w, value);
                assert!(
                    at.as_deref()
                        .is_some_and(|at| at.starts_with("passerelle.db-wal")),
                    "{value}: {at:?}"
                );
            }
        }

        #[tokio::test]
        async fn given_secure_delete_off_then_a_scrub_leaves_deleted_rows_in_the_database_file() {
            // Given a connection that frees without zeroing (SQLite's default),
            let w = world();
            w.db.sql(|c| c.pragma_update(None, "secure_delete", "OFF"))
                .await
                .unwrap();
            write_then_delete(&w).await;

            // when the WAL is scrubbed,
            assert!(w.db.scrub().await.unwrap());

            // then the deleted image is still in the database file, in the pages its chunks
            // freed: the checkpoint alone is not enough, `secure_delete` is what zeroes them.
            let at = found_in_files(&w, IMAGE_MARK);
            assert!(
                at.as_deref()
                    .is_some_and(|at| at.starts_with("passerelle.db:")),
                "{at:?}"
            );
        }
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
