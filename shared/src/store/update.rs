//! Partial updates: set, remove, atomic counter increments and expiry, upserting like
//! DynamoDB's UpdateItem.

use super::item::{Item, Key, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    pub key: Key,
    pub set: Vec<(String, Value)>,
    /// Atomic increments; a missing attribute counts from 0.
    pub add: Vec<(String, i64)>,
    pub remove: Vec<String>,
    /// `Some(Some(t))` sets the expiry, `Some(None)` clears it, `None` keeps it.
    pub expires_at: Option<Option<i64>>,
}

impl Update {
    pub fn new(key: Key) -> Self {
        Self {
            key,
            set: Vec::new(),
            add: Vec::new(),
            remove: Vec::new(),
            expires_at: None,
        }
    }

    pub fn set(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.set.push((name.to_owned(), value.into()));
        self
    }

    pub fn add(mut self, name: &str, delta: i64) -> Self {
        self.add.push((name.to_owned(), delta));
        self
    }

    pub fn remove(mut self, name: &str) -> Self {
        self.remove.push(name.to_owned());
        self
    }

    pub fn expire_at(mut self, unix_secs: i64) -> Self {
        self.expires_at = Some(Some(unix_secs));
        self
    }

    pub fn never_expire(mut self) -> Self {
        self.expires_at = Some(None);
        self
    }

    pub(crate) fn attr_names(&self) -> impl Iterator<Item = &str> {
        self.set
            .iter()
            .map(|(n, _)| n.as_str())
            .chain(self.add.iter().map(|(n, _)| n.as_str()))
            .chain(self.remove.iter().map(String::as_str))
    }

    /// Applies the update to the live item (or a fresh one), giving the new item.
    #[cfg_attr(not(feature = "embedded"), allow(dead_code))]
    /// An increment of an attribute that holds a non-number is an error.
    pub(crate) fn apply(&self, live: Option<Item>) -> Result<Item, String> {
        let mut item = match live {
            Some(mut item) => {
                item.version += 1;
                item
            }
            None => {
                let mut fresh = Item::new(self.key.clone());
                fresh.version = 1;
                fresh
            }
        };
        for (name, value) in &self.set {
            item.attrs.insert(name.clone(), value.clone());
        }
        for (name, delta) in &self.add {
            let current = match item.attrs.get(name) {
                None => 0,
                Some(Value::N(n)) => *n,
                Some(_) => return Err(format!("attribute {name} is not a number")),
            };
            let next = current
                .checked_add(*delta)
                .ok_or_else(|| format!("attribute {name} would overflow"))?;
            item.attrs.insert(name.clone(), Value::N(next));
        }
        for name in &self.remove {
            item.attrs.remove(name);
        }
        if let Some(exp) = self.expires_at {
            item.expires_at = exp;
        }
        Ok(item)
    }
}
