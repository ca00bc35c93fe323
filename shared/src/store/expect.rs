//! Conditions on the current state of an item, checked atomically with a write.

use super::item::{Item, Value};

/// What a write expects of the item it touches. Expired items count as absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// No condition.
    Any,
    /// The item must not exist (or must have expired).
    Absent,
    /// The item must exist and be live.
    Present,
    /// The item must exist with exactly this version.
    Version(u64),
    /// The item must exist and every check hold.
    All(Vec<Check>),
    /// The item must be absent, or exist with every check holding.
    AbsentOr(Vec<Check>),
}

/// One test on an attribute of a live item. Comparisons between different value
/// types are false.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    Eq(String, Value),
    Ne(String, Value),
    Lt(String, Value),
    Le(String, Value),
    Gt(String, Value),
    Ge(String, Value),
    Exists(String),
    Missing(String),
}

impl Check {
    pub fn eq(name: &str, v: impl Into<Value>) -> Self {
        Check::Eq(name.into(), v.into())
    }
    pub fn ne(name: &str, v: impl Into<Value>) -> Self {
        Check::Ne(name.into(), v.into())
    }
    pub fn lt(name: &str, v: impl Into<Value>) -> Self {
        Check::Lt(name.into(), v.into())
    }
    pub fn le(name: &str, v: impl Into<Value>) -> Self {
        Check::Le(name.into(), v.into())
    }
    pub fn gt(name: &str, v: impl Into<Value>) -> Self {
        Check::Gt(name.into(), v.into())
    }
    pub fn ge(name: &str, v: impl Into<Value>) -> Self {
        Check::Ge(name.into(), v.into())
    }

    pub fn attr(&self) -> &str {
        match self {
            Check::Eq(a, _)
            | Check::Ne(a, _)
            | Check::Lt(a, _)
            | Check::Le(a, _)
            | Check::Gt(a, _)
            | Check::Ge(a, _)
            | Check::Exists(a)
            | Check::Missing(a) => a,
        }
    }

    fn holds(&self, item: &Item) -> bool {
        use std::cmp::Ordering::*;
        let cmp = |name: &str, v: &Value| -> Option<std::cmp::Ordering> {
            match (item.get(name)?, v) {
                (Value::S(a), Value::S(b)) => Some(a.cmp(b)),
                (Value::N(a), Value::N(b)) => Some(a.cmp(b)),
                (Value::B(a), Value::B(b)) => Some(a.cmp(b)),
                (Value::Bool(a), Value::Bool(b)) if a == b => Some(Equal),
                (Value::Bool(_), Value::Bool(_)) => Some(Less),
                _ => None,
            }
        };
        match self {
            Check::Eq(a, v) => cmp(a, v) == Some(Equal),
            // DynamoDB's `<>` is true when the attribute is missing.
            Check::Ne(a, v) => item.get(a) != Some(v),
            Check::Lt(a, v) => cmp(a, v) == Some(Less),
            Check::Le(a, v) => matches!(cmp(a, v), Some(Less | Equal)),
            Check::Gt(a, v) => cmp(a, v) == Some(Greater),
            Check::Ge(a, v) => matches!(cmp(a, v), Some(Greater | Equal)),
            Check::Exists(a) => item.get(a).is_some(),
            Check::Missing(a) => item.get(a).is_none(),
        }
    }
}

impl Expect {
    /// Evaluates the expectation against the live item, if any (the embedded adapter's
    /// semantics; the DynamoDB adapter translates the same rules into expressions).
    pub fn holds(&self, live: Option<&Item>) -> bool {
        match (self, live) {
            (Expect::Any, _) => true,
            (Expect::Absent, current) => current.is_none(),
            (Expect::Present, current) => current.is_some(),
            (Expect::Version(v), Some(item)) => item.version == *v,
            (Expect::All(checks), Some(item)) => checks.iter().all(|c| c.holds(item)),
            (Expect::AbsentOr(_), None) => true,
            (Expect::AbsentOr(checks), Some(item)) => checks.iter().all(|c| c.holds(item)),
            (Expect::Version(_) | Expect::All(_), None) => false,
        }
    }

    pub(crate) fn checks(&self) -> &[Check] {
        match self {
            Expect::All(c) | Expect::AbsentOr(c) => c,
            _ => &[],
        }
    }
}
