//! Items between the port's shape and DynamoDB's: [`Value`]s to and from
//! `AttributeValue`s, whole items with their version and expiry, table keys, and the
//! start key that resumes a query after a cursor.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;

use super::schema::{EXPIRES_AT, PK, SK, VERSION};
use crate::store::query::Position;
use crate::store::{Index, Item, Key, StoreError, StoreResult, Value};

/// A DynamoDB item as the SDK holds it.
pub(super) type Attrs = HashMap<String, AttributeValue>;

/// DynamoDB's name for the type of a value, as `attribute_type` takes it: the type
/// [`to_attr`] writes the value as, so the two change together.
pub(super) fn type_code(value: &Value) -> &'static str {
    match value {
        Value::S(_) => "S",
        Value::N(_) => "N",
        Value::B(_) => "B",
        Value::Bool(_) => "BOOL",
    }
}

pub(super) fn to_attr(value: &Value) -> AttributeValue {
    match value {
        Value::S(s) => AttributeValue::S(s.clone()),
        Value::N(n) => AttributeValue::N(n.to_string()),
        Value::B(b) => AttributeValue::B(Blob::new(b.clone())),
        Value::Bool(b) => AttributeValue::Bool(*b),
    }
}

/// Names only the attribute, never its value: errors end up in logs.
fn corrupt(name: &str) -> StoreError {
    StoreError::Failed(format!(
        "attribute {name:?} of a stored item has a type or value this store never writes"
    ))
}

fn from_attr(name: &str, value: AttributeValue) -> StoreResult<Value> {
    match value {
        AttributeValue::S(s) => Ok(Value::S(s)),
        AttributeValue::N(n) => n.parse().map(Value::N).map_err(|_| corrupt(name)),
        AttributeValue::B(b) => Ok(Value::B(b.into_inner())),
        AttributeValue::Bool(b) => Ok(Value::Bool(b)),
        _ => Err(corrupt(name)),
    }
}

pub(super) fn key_attrs(key: &Key) -> Attrs {
    HashMap::from([
        (PK.to_owned(), AttributeValue::S(key.pk.clone())),
        (SK.to_owned(), AttributeValue::S(key.sk.clone())),
    ])
}

pub(super) fn item_attrs(item: &Item, version: u64) -> Attrs {
    let mut attrs = key_attrs(&item.key);
    attrs.insert(VERSION.to_owned(), AttributeValue::N(version.to_string()));
    if let Some(t) = item.expires_at {
        attrs.insert(EXPIRES_AT.to_owned(), AttributeValue::N(t.to_string()));
    }
    for (name, value) in &item.attrs {
        attrs.insert(name.clone(), to_attr(value));
    }
    attrs
}

pub(super) fn attrs_to_item(mut attrs: Attrs) -> StoreResult<Item> {
    let mut string = |name: &str| match attrs.remove(name) {
        Some(AttributeValue::S(s)) => Ok(s),
        _ => Err(corrupt(name)),
    };
    let key = Key::new(string(PK)?, string(SK)?);
    let mut number = |name: &str| -> StoreResult<Option<i64>> {
        attrs
            .remove(name)
            .map(|v| match from_attr(name, v)? {
                Value::N(n) => Ok(n),
                _ => Err(corrupt(name)),
            })
            .transpose()
    };
    let version = number(VERSION)?
        .map(|v| u64::try_from(v).map_err(|_| corrupt(VERSION)))
        .transpose()?
        .unwrap_or(0);
    let expires_at = number(EXPIRES_AT)?;
    let attrs = attrs
        .into_iter()
        .map(|(name, value)| from_attr(&name, value).map(|v| (name, v)))
        .collect::<StoreResult<BTreeMap<_, _>>>()?;
    Ok(Item {
        key,
        attrs,
        expires_at,
        version,
    })
}

/// DynamoDB's ExclusiveStartKey for a position: the table key, plus the index key on
/// an index.
pub(super) fn start_key(p: &Position, index: Index) -> StoreResult<Attrs> {
    let mut key = key_attrs(&Key::new(p.pk.clone(), p.sk.clone()));
    if index != Index::Table {
        let (ipk, isk) = p
            .ipk
            .clone()
            .zip(p.isk.clone())
            .ok_or_else(|| StoreError::Invalid("the cursor belongs to another query".into()))?;
        let (pname, sname) = index.attrs();
        key.insert(pname.to_owned(), AttributeValue::S(ipk));
        key.insert(sname.to_owned(), AttributeValue::S(isk));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_round_trip() {
        let item = Item::new(Key::new("p", "s"))
            .with("s", "text")
            .with("n", -4)
            .with("b", vec![0u8, 255])
            .with("t", true)
            .expiring_at(1234);
        let back = attrs_to_item(item_attrs(&item, 7)).unwrap();
        assert_eq!(back, Item { version: 7, ..item });
    }
}
