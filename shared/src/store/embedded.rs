//! The store on the embedded SQLite database. Conditions are evaluated in Rust inside an
//! IMMEDIATE transaction, so check-and-write is atomic across threads and processes.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::query::Position;
use super::*;
use crate::clock::Clock;
use crate::sqlite::Db;

#[derive(Debug, Clone)]
pub struct EmbeddedStore {
    db: Db,
    clock: Arc<dyn Clock>,
}

impl EmbeddedStore {
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Self {
        Self { db, clock }
    }

    /// The database this store lives in: the local stack scrubs its WAL ([`Db::scrub`]).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Physically removes expired items (they are already invisible). Returns how many.
    pub async fn purge_expired(&self) -> StoreResult<usize> {
        let now = self.clock.now_secs();
        self.run(move |conn| {
            conn.execute(
                "DELETE FROM items WHERE expires_at IS NOT NULL AND expires_at <= ?1",
                [now],
            )
            .map_err(sql)
        })
        .await
    }

    /// One write transaction: on the caller's thread when it needs no waiting, else on
    /// the blocking pool (see [`Db::write_now`]).
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let mut f = Some(f);
        let inline = self
            .db
            .write_now(|conn| (f.take().expect("called once"))(conn), sql);
        if let Some(done) = inline {
            return done;
        }
        let f = f.expect("not called when the write had to wait");
        self.run(move |conn| {
            let tx = begin(conn)?;
            let out = f(&tx)?;
            tx.commit().map_err(sql)?;
            Ok(out)
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        self.db
            .call(f)
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?
    }
}

fn sql(e: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn begin(conn: &mut Connection) -> StoreResult<Transaction<'_>> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql)
}

fn attrs_to_json(attrs: &BTreeMap<String, Value>) -> String {
    let map: serde_json::Map<String, serde_json::Value> = attrs
        .iter()
        .map(|(k, v)| {
            let json = match v {
                Value::S(s) => serde_json::json!({ "S": s }),
                Value::N(n) => serde_json::json!({ "N": n }),
                Value::B(b) => serde_json::json!({ "B": STANDARD.encode(b) }),
                Value::Bool(b) => serde_json::json!({ "BOOL": b }),
            };
            (k.clone(), json)
        })
        .collect();
    serde_json::Value::Object(map).to_string()
}

fn attrs_from_json(text: &str) -> StoreResult<BTreeMap<String, Value>> {
    let corrupt = || StoreError::Failed("corrupt item attributes".into());
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(text).map_err(|_| corrupt())?;
    map.into_iter()
        .map(|(k, v)| {
            let value = if let Some(s) = v.get("S").and_then(|s| s.as_str()) {
                Value::S(s.to_owned())
            } else if let Some(n) = v.get("N").and_then(serde_json::Value::as_i64) {
                Value::N(n)
            } else if let Some(b) = v.get("B").and_then(|s| s.as_str()) {
                Value::B(STANDARD.decode(b).map_err(|_| corrupt())?)
            } else if let Some(b) = v.get("BOOL").and_then(serde_json::Value::as_bool) {
                Value::Bool(b)
            } else {
                return Err(corrupt());
            };
            Ok((k, value))
        })
        .collect()
}

const COLUMNS: &str = "pk, sk, attrs, version, expires_at";

fn row_to_item(row: &rusqlite::Row<'_>) -> rusqlite::Result<(Key, String, i64, Option<i64>)> {
    Ok((
        Key::new(row.get::<_, String>(0)?, row.get::<_, String>(1)?),
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

fn build_item(raw: (Key, String, i64, Option<i64>)) -> StoreResult<Item> {
    let (key, attrs, version, expires_at) = raw;
    Ok(Item {
        key,
        attrs: attrs_from_json(&attrs)?,
        expires_at,
        version: u64::try_from(version).unwrap_or(0),
    })
}

/// The live item at `key`, if any.
fn load(conn: &Connection, key: &Key, now: i64) -> StoreResult<Option<Item>> {
    // Cached statements: parsing the SQL cost more CPU than running it.
    let raw = conn
        .prepare_cached(
            "SELECT pk, sk, attrs, version, expires_at FROM items WHERE pk = ?1 AND sk = ?2 \
             AND (expires_at IS NULL OR expires_at > ?3)",
        )
        .map_err(sql)?
        .query_row(params![key.pk, key.sk, now], row_to_item)
        .optional()
        .map_err(sql)?;
    raw.map(build_item).transpose()
}

fn store(conn: &Connection, item: &Item) -> StoreResult<()> {
    let s = |name: &str| item.str(name).map(str::to_owned);
    conn.prepare_cached(
        "INSERT OR REPLACE INTO items (pk, sk, attrs, version, expires_at, gsi1pk, gsi1sk, gsi2pk, gsi2sk) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .map_err(sql)?
    .execute(params![
            item.key.pk,
            item.key.sk,
            attrs_to_json(&item.attrs),
            i64::try_from(item.version).unwrap_or(i64::MAX),
            item.expires_at,
            s(GSI1_PK),
            s(GSI1_SK),
            s(GSI2_PK),
            s(GSI2_SK),
        ],
    )
    .map_err(sql)?;
    Ok(())
}

fn remove(conn: &Connection, key: &Key) -> StoreResult<()> {
    conn.prepare_cached("DELETE FROM items WHERE pk = ?1 AND sk = ?2")
        .map_err(sql)?
        .execute(params![key.pk, key.sk])
        .map_err(sql)?;
    Ok(())
}

fn put_version(expect: &Expect) -> u64 {
    match expect {
        Expect::Version(v) => v + 1,
        _ => 1,
    }
}

/// Applies one write whose expectation already held.
fn apply(conn: &Connection, write: &Write, live: Option<Item>) -> StoreResult<Option<Item>> {
    match write {
        Write::Put(item, expect) => {
            let mut item = item.clone();
            item.version = put_version(expect);
            store(conn, &item)?;
            Ok(Some(item))
        }
        Write::Update(update, _) => {
            let item = update.apply(live).map_err(StoreError::Invalid)?;
            validate_item(&item)?;
            store(conn, &item)?;
            Ok(Some(item))
        }
        Write::Delete(key, _) => {
            remove(conn, key)?;
            Ok(live)
        }
        Write::Check(..) => Ok(None),
    }
}

/// One conditional write, inside the caller's transaction.
fn single(conn: &Connection, write: Write, now: i64) -> StoreResult<Option<Item>> {
    let live = load(conn, write.key(), now)?;
    if !write.expect().holds(live.as_ref()) {
        return Err(StoreError::ConditionFailed);
    }
    apply(conn, &write, live)
}

#[async_trait]
impl Store for EmbeddedStore {
    fn adapter(&self) -> &'static str {
        "embedded-sqlite"
    }

    async fn get(&self, key: &Key) -> StoreResult<Option<Item>> {
        validate_key(key)?;
        let now = self.clock.now_secs();
        self.db.read(|conn| load(conn, key, now))
    }

    async fn put(&self, item: Item, expect: Expect) -> StoreResult<u64> {
        validate_item(&item)?;
        validate_expect(&expect)?;
        let now = self.clock.now_secs();
        let written = self
            .write(move |conn| single(conn, Write::Put(item, expect), now))
            .await?;
        Ok(written.map_or(1, |i| i.version))
    }

    async fn update(&self, update: Update, expect: Expect) -> StoreResult<Item> {
        validate_update(&update)?;
        validate_expect(&expect)?;
        let now = self.clock.now_secs();
        self.write(move |conn| single(conn, Write::Update(update, expect), now))
            .await?
            .ok_or_else(|| StoreError::Unavailable("update wrote nothing".into()))
    }

    async fn delete(&self, key: &Key, expect: Expect) -> StoreResult<Option<Item>> {
        validate_key(key)?;
        validate_expect(&expect)?;
        let (key, now) = (key.clone(), self.clock.now_secs());
        self.write(move |conn| single(conn, Write::Delete(key, expect), now))
            .await
    }

    async fn transact(&self, writes: Vec<Write>) -> StoreResult<()> {
        validate_transaction(&writes)?;
        let now = self.clock.now_secs();
        self.write(move |conn| {
            let mut lives = Vec::with_capacity(writes.len());
            let mut failed = Vec::new();
            for (i, w) in writes.iter().enumerate() {
                let live = load(conn, w.key(), now)?;
                if !w.expect().holds(live.as_ref()) {
                    failed.push(i);
                }
                lives.push(live);
            }
            if !failed.is_empty() {
                return Err(StoreError::TransactionCanceled { failed });
            }
            for (w, live) in writes.iter().zip(lives) {
                apply(conn, w, live)?;
            }
            Ok(())
        })
        .await
    }

    async fn query(&self, query: &Query) -> StoreResult<Page> {
        validate_query(query)?;
        let start = match &query.cursor {
            None => None,
            Some(c) => {
                let p = c
                    .position()
                    .filter(|p| p.partition(query.index) == Some(query.pk.as_str()))
                    .ok_or_else(|| {
                        StoreError::Invalid("the cursor belongs to another query".into())
                    })?;
                Some(p)
            }
        };
        // A read: on the caller's thread, through the read-only connection.
        let now = self.clock.now_secs();
        self.db
            .read(|conn| run_query(conn, query, start.as_ref(), now))
    }
}

fn run_query(
    conn: &Connection,
    q: &Query,
    start: Option<&Position>,
    now: i64,
) -> StoreResult<Page> {
    let (pcol, scol) = q.index.attrs();
    let (cmp, dir) = match q.order {
        Order::Ascending => (">", "ASC"),
        Order::Descending => ("<", "DESC"),
    };
    // The sort key, then the table key, orders an index's equal sort keys the same way
    // every time, so cursors never skip or repeat.
    let order_cols = match q.index {
        Index::Table => scol.to_owned(),
        _ => format!("{scol}, pk, sk"),
    };
    let mut sql_text = format!(
        "SELECT {COLUMNS} FROM items WHERE {pcol} = ?1 \
         AND (expires_at IS NULL OR expires_at > ?2) \
         AND {scol} >= ?3 AND substr({scol}, 1, ?4) = ?3"
    );
    let mut args: Vec<rusqlite::types::Value> = vec![
        q.pk.clone().into(),
        now.into(),
        q.sk_prefix.clone().into(),
        i64::try_from(q.sk_prefix.chars().count())
            .unwrap_or(0)
            .into(),
    ];
    if let Some(p) = start {
        match q.index {
            Index::Table => {
                sql_text.push_str(&format!(" AND {scol} {cmp} ?5"));
                args.push(p.sk.clone().into());
            }
            _ => {
                sql_text.push_str(&format!(" AND ({scol}, pk, sk) {cmp} (?5, ?6, ?7)"));
                args.push(p.isk.clone().unwrap_or_default().into());
                args.push(p.pk.clone().into());
                args.push(p.sk.clone().into());
            }
        }
    }
    let order_by = order_cols
        .split(", ")
        .map(|c| format!("{c} {dir}"))
        .collect::<Vec<_>>()
        .join(", ");
    // One more than asked tells whether another page exists.
    sql_text.push_str(&format!(" ORDER BY {order_by} LIMIT {}", q.limit + 1));
    let mut stmt = conn.prepare_cached(&sql_text).map_err(sql)?;
    let raws = stmt
        .query_map(rusqlite::params_from_iter(args), row_to_item)
        .map_err(sql)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sql)?;
    let mut items = raws
        .into_iter()
        .map(build_item)
        .collect::<StoreResult<Vec<_>>>()?;
    let next = if items.len() > q.limit as usize {
        items.truncate(q.limit as usize);
        items
            .last()
            .map(|last| Cursor::from_position(&Position::of(last, q.index)))
    } else {
        None
    };
    Ok(Page { items, next })
}
