//! Items as the store sees them: a key, typed attributes, an optional expiry and a version.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Attribute names the store manages itself; user attributes may not use them.
pub const RESERVED: [&str; 4] = ["pk", "sk", "v", "expires_at"];

/// The secondary indexes' key attributes. An item appears in an index when it has
/// both of that index's attributes, as strings.
pub const GSI1_PK: &str = "gsi1pk";
pub const GSI1_SK: &str = "gsi1sk";
pub const GSI2_PK: &str = "gsi2pk";
pub const GSI2_SK: &str = "gsi2sk";

/// A primary key: partition and sort key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self {
            pk: pk.into(),
            sk: sk.into(),
        }
    }
}

/// An attribute value. The set is deliberately small: what DynamoDB and SQLite both
/// represent without loss.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Value {
    S(String),
    N(i64),
    B(Vec<u8>),
    Bool(bool),
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::S(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::N(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::B(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::S(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::S(s)
    }
}
impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::N(n)
    }
}
impl From<Vec<u8>> for Value {
    fn from(b: Vec<u8>) -> Self {
        Value::B(b)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

/// One stored item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub key: Key,
    pub attrs: BTreeMap<String, Value>,
    /// Unix seconds after which the item is treated as absent (DynamoDB TTL).
    pub expires_at: Option<i64>,
    /// Managed by the store: 1 on creation, +1 on each conditional put or update.
    /// Ignored when writing.
    pub version: u64,
}

impl Item {
    pub fn new(key: Key) -> Self {
        Self {
            key,
            attrs: BTreeMap::new(),
            expires_at: None,
            version: 0,
        }
    }

    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.attrs.insert(name.to_owned(), value.into());
        self
    }

    pub fn expiring_at(mut self, unix_secs: i64) -> Self {
        self.expires_at = Some(unix_secs);
        self
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.attrs.get(name)
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }

    pub fn num(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(Value::as_i64)
    }

    pub fn bytes(&self, name: &str) -> Option<&[u8]> {
        self.get(name).and_then(Value::as_bytes)
    }

    /// Whether the item is still live at `now_secs`. An item expiring exactly now is gone.
    pub fn is_live(&self, now_secs: i64) -> bool {
        self.expires_at.is_none_or(|t| t > now_secs)
    }
}

/// Attribute names are short identifiers so that every backend can store them as-is.
pub(crate) fn valid_attr_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !RESERVED.contains(&name)
}
