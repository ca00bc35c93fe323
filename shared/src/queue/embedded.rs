//! The durable local queue, in the embedded database. Each receive claims messages in an
//! IMMEDIATE transaction, so two consumers (even in two processes) never get the same
//! delivery.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::params;

use super::{Message, Queue, QueueError, validate_receive, validate_send};
use crate::clock::Clock;
use crate::random::{Random, RandomExt};
use crate::sqlite::Db;

/// Where messages go after too many receives.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub queue: String,
    /// Receives allowed before the move (SQS's maxReceiveCount).
    pub max_receives: u32,
}

#[derive(Debug, Clone)]
pub struct EmbeddedQueue {
    db: Db,
    name: String,
    dead_letter: Option<DeadLetter>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
}

/// How often an empty long poll looks again.
const POLL: Duration = Duration::from_millis(50);

impl EmbeddedQueue {
    pub fn new(
        db: Db,
        name: &str,
        dead_letter: Option<DeadLetter>,
        clock: Arc<dyn Clock>,
        random: Arc<dyn Random>,
    ) -> Self {
        Self {
            db,
            name: name.to_owned(),
            dead_letter,
            clock,
            random,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many messages the queue holds, visible or not.
    pub async fn depth(&self) -> Result<u64, QueueError> {
        let name = self.name.clone();
        self.db
            .sql(move |conn| {
                conn.query_row(
                    "SELECT COUNT(*) FROM queue_messages WHERE queue = ?1",
                    [name],
                    |r| r.get::<_, i64>(0),
                )
            })
            .await
            .map(|n| u64::try_from(n).unwrap_or(0))
            .map_err(|e| QueueError::Unavailable(e.to_string()))
    }

    async fn claim(&self, max: u32, visibility: Duration) -> Result<Vec<Message>, QueueError> {
        let name = self.name.clone();
        let dead_letter = self.dead_letter.clone();
        let now = self.clock.now_ms();
        let hidden_until = now + i64::try_from(visibility.as_millis()).unwrap_or(i64::MAX / 2);
        let receipts: Vec<String> = (0..max).map(|_| self.random.token(24)).collect();
        self.db
            .sql(move |conn| -> rusqlite::Result<Vec<Message>> {
                let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let mut out = Vec::new();
                {
                    let mut pick = tx.prepare_cached(
                        "SELECT id, body, receive_count FROM queue_messages \
                         WHERE queue = ?1 AND visible_ms <= ?2 ORDER BY visible_ms, sent_ms LIMIT ?3",
                    )?;
                    let candidates = pick
                        .query_map(params![name, now, i64::from(max) * 2], |r| {
                            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, u32>(2)?))
                        })?
                        .collect::<Result<Vec<_>, _>>()?;
                    let mut receipts = receipts.into_iter();
                    for (id, body, count) in candidates {
                        if let Some(dl) = dead_letter.as_ref().filter(|dl| count >= dl.max_receives) {
                            tx.execute(
                                "UPDATE queue_messages SET queue = ?1, receive_count = 0, \
                                 receipt = NULL, visible_ms = ?2 WHERE id = ?3",
                                params![dl.queue, now, id],
                            )?;
                            continue;
                        }
                        if out.len() as u32 >= max {
                            break;
                        }
                        let Some(receipt) = receipts.next() else { break };
                        tx.execute(
                            "UPDATE queue_messages SET receive_count = receive_count + 1, \
                             visible_ms = ?1, receipt = ?2 WHERE id = ?3",
                            params![hidden_until, receipt, id],
                        )?;
                        out.push(Message {
                            id,
                            receipt,
                            body,
                            receive_count: count + 1,
                        });
                    }
                }
                tx.commit()?;
                Ok(out)
            })
            .await
            .map_err(|e| QueueError::Unavailable(e.to_string()))
    }
}

#[async_trait]
impl Queue for EmbeddedQueue {
    fn adapter(&self) -> &'static str {
        "embedded-sqlite"
    }

    async fn send(&self, body: &str, delay: Duration) -> Result<String, QueueError> {
        validate_send(body, delay)?;
        let id = self.random.token(16);
        let now = self.clock.now_ms();
        let visible = now + i64::try_from(delay.as_millis()).unwrap_or(0);
        let (name, body, msg_id) = (self.name.clone(), body.to_owned(), id.clone());
        self.db
            .sql(move |conn| {
                conn.execute(
                    "INSERT INTO queue_messages (id, queue, body, sent_ms, visible_ms) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![msg_id, name, body, now, visible],
                )
            })
            .await
            .map_err(|e| QueueError::Unavailable(e.to_string()))?;
        Ok(id)
    }

    async fn receive(
        &self,
        max: u32,
        visibility: Duration,
        wait: Duration,
    ) -> Result<Vec<Message>, QueueError> {
        validate_receive(max, wait)?;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let got = self.claim(max, visibility).await?;
            if !got.is_empty() || tokio::time::Instant::now() + POLL > deadline {
                return Ok(got);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn delete(&self, receipt: &str) -> Result<(), QueueError> {
        let receipt = receipt.to_owned();
        self.db
            .sql(move |conn| {
                conn.execute("DELETE FROM queue_messages WHERE receipt = ?1", [receipt])
            })
            .await
            .map_err(|e| QueueError::Unavailable(e.to_string()))?;
        Ok(())
    }
}
