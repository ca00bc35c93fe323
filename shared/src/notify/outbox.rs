//! The local outbox: mail and SMS kept in the embedded database instead of being sent,
//! listed newest first at `/dev/outbox`.

use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::params;

use super::{Channel, Email, Mailer, NotifyError, Sms, SmsSender, validate_email, validate_sms};
use crate::clock::Clock;
use crate::sqlite::Db;

#[derive(Debug, Clone)]
pub struct Outbox {
    db: Db,
    clock: Arc<dyn Clock>,
}

/// One kept message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OutboxEntry {
    pub id: i64,
    /// `email`, `sms` or `voice`.
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    pub created_ms: i64,
}

impl Outbox {
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Self {
        Self { db, clock }
    }

    /// The newest `limit` messages, optionally only those to `recipient`.
    pub async fn list(
        &self,
        recipient: Option<&str>,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>, NotifyError> {
        let recipient = recipient.map(str::to_owned);
        self.db
            .sql(move |conn| -> rusqlite::Result<Vec<OutboxEntry>> {
                let mut stmt = conn.prepare_cached(
                    "SELECT id, kind, recipient, subject, text_body, html_body, created_ms FROM outbox \
                     WHERE (?1 IS NULL OR recipient = ?1) ORDER BY id DESC LIMIT ?2",
                )?;
                stmt.query_map(params![recipient, limit], |r| {
                    Ok(OutboxEntry {
                        id: r.get(0)?,
                        kind: r.get(1)?,
                        recipient: r.get(2)?,
                        subject: r.get(3)?,
                        text: r.get(4)?,
                        html: r.get(5)?,
                        created_ms: r.get(6)?,
                    })
                })?
                .collect()
            })
            .await
            .map_err(|e| NotifyError::Unavailable(e.to_string()))
    }

    /// Keeps a letter of the local letter vendor (kind `letter`), for `/dev/outbox`.
    pub async fn keep_letter(&self, recipient: &str, text: &str) -> Result<(), NotifyError> {
        self.keep("letter", recipient, "Letter", text, None).await
    }

    async fn keep(
        &self,
        kind: &'static str,
        recipient: &str,
        subject: &str,
        text: &str,
        html: Option<&str>,
    ) -> Result<(), NotifyError> {
        let row = (
            kind,
            recipient.to_owned(),
            subject.to_owned(),
            text.to_owned(),
            html.map(str::to_owned),
            self.clock.now_ms(),
        );
        self.db
            .sql(move |conn| {
                conn.execute(
                    "INSERT INTO outbox (kind, recipient, subject, text_body, html_body, created_ms) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![row.0, row.1, row.2, row.3, row.4, row.5],
                )
            })
            .await
            .map_err(|e| NotifyError::Unavailable(e.to_string()))?;
        Ok(())
    }
}

#[async_trait]
impl Mailer for Outbox {
    fn adapter(&self) -> &'static str {
        "outbox"
    }

    async fn send(&self, email: &Email) -> Result<(), NotifyError> {
        validate_email(email)?;
        self.keep(
            "email",
            &email.to,
            &email.subject,
            &email.text,
            Some(&email.html),
        )
        .await
    }
}

#[async_trait]
impl SmsSender for Outbox {
    fn adapter(&self) -> &'static str {
        "outbox"
    }

    async fn send(&self, sms: &Sms) -> Result<(), NotifyError> {
        validate_sms(sms)?;
        let kind = match sms.channel {
            Channel::Text => "sms",
            Channel::Voice => "voice",
        };
        self.keep(kind, &sms.to, "", &sms.body, None).await
    }
}
