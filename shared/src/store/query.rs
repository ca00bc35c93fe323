//! Reading one partition in sort-key order, a page at a time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::item::{GSI1_PK, GSI1_SK, GSI2_PK, GSI2_SK, Item};

/// Which key a query reads: the table's own or a secondary index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    Table,
    Gsi1,
    Gsi2,
}

impl Index {
    /// The (partition, sort) attribute names of this index.
    pub fn attrs(self) -> (&'static str, &'static str) {
        match self {
            Index::Table => ("pk", "sk"),
            Index::Gsi1 => (GSI1_PK, GSI1_SK),
            Index::Gsi2 => (GSI2_PK, GSI2_SK),
        }
    }

    /// The DynamoDB index name (`None` for the table).
    pub fn name(self) -> Option<&'static str> {
        match self {
            Index::Table => None,
            Index::Gsi1 => Some("gsi1"),
            Index::Gsi2 => Some("gsi2"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Ascending,
    Descending,
}

/// One partition, the sort keys that start with `sk_prefix`, in order, `limit` at most.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub index: Index,
    pub pk: String,
    pub sk_prefix: String,
    pub order: Order,
    /// 1..=1000.
    pub limit: u32,
    pub cursor: Option<Cursor>,
}

impl Query {
    pub fn partition(pk: impl Into<String>) -> Self {
        Self {
            index: Index::Table,
            pk: pk.into(),
            sk_prefix: String::new(),
            order: Order::Ascending,
            limit: 100,
            cursor: None,
        }
    }

    pub fn on(mut self, index: Index) -> Self {
        self.index = index;
        self
    }

    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.sk_prefix = prefix.into();
        self
    }

    pub fn descending(mut self) -> Self {
        self.order = Order::Descending;
        self
    }

    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }

    pub fn after(mut self, cursor: Option<Cursor>) -> Self {
        self.cursor = cursor;
        self
    }
}

/// A page of results. `next` is set when more items may follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub items: Vec<Item>,
    pub next: Option<Cursor>,
}

/// Where the next page starts: opaque to callers (safe to put in a URL), meaningful
/// only to the store that made it and only for the same partition.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor(String);

/// The last key a page returned. For index queries it also carries the index keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Position {
    pub pk: String,
    pub sk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isk: Option<String>,
}

impl Cursor {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Accepts a cursor received from outside (for example a query string).
    pub fn parse(text: &str) -> Option<Self> {
        Self(text.to_owned())
            .position()
            .map(|_| Self(text.to_owned()))
    }

    pub(crate) fn from_position(p: &Position) -> Self {
        let json = serde_json::to_vec(p).unwrap_or_default();
        Self(URL_SAFE_NO_PAD.encode(json))
    }

    pub(crate) fn position(&self) -> Option<Position> {
        let bytes = URL_SAFE_NO_PAD.decode(&self.0).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

impl Position {
    /// The partition this position belongs to, on the index it was made for.
    pub(crate) fn partition(&self, index: Index) -> Option<&str> {
        match index {
            Index::Table => Some(&self.pk),
            _ => self.ipk.as_deref(),
        }
    }

    pub(crate) fn of(item: &Item, index: Index) -> Self {
        let (ipk, isk) = match index {
            Index::Table => (None, None),
            _ => {
                let (p, s) = index.attrs();
                (
                    item.str(p).map(str::to_owned),
                    item.str(s).map(str::to_owned),
                )
            }
        };
        Self {
            pk: item.key.pk.clone(),
            sk: item.key.sk.clone(),
            ipk,
            isk,
        }
    }
}
