//! An update as DynamoDB can take it: one operation per attribute, merged the way the
//! port applies updates, and checked before any request goes out.

use std::collections::BTreeMap;

use crate::store::{Index, StoreError, StoreResult, Update, Value};

/// What an update does to each attribute, merged so that no attribute appears twice in
/// the update expression (DynamoDB refuses overlapping paths). Merging follows
/// [`Update::apply`]: every set, then every increment, then every removal.
pub(super) type Plan = BTreeMap<String, Op>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Op {
    Set(Value),
    Add(i64),
    Remove,
}

pub(super) fn plan(update: &Update) -> StoreResult<Plan> {
    let mut plan = Plan::new();
    for (name, value) in &update.set {
        plan.insert(name.clone(), Op::Set(value.clone()));
    }
    for (name, delta) in &update.add {
        let overflow = || StoreError::Invalid(format!("attribute {name} would overflow"));
        let next = match plan.get(name) {
            None | Some(Op::Remove) => Op::Add(*delta),
            Some(Op::Add(d)) => Op::Add(d.checked_add(*delta).ok_or_else(overflow)?),
            Some(Op::Set(Value::N(n))) => {
                Op::Set(Value::N(n.checked_add(*delta).ok_or_else(overflow)?))
            }
            Some(Op::Set(_)) => {
                return Err(StoreError::Invalid(format!(
                    "attribute {name} is not a number"
                )));
            }
        };
        plan.insert(name.clone(), next);
    }
    for name in &update.remove {
        plan.insert(name.clone(), Op::Remove);
    }
    // Stored items keep their index keys non-empty strings, as `validate_item` demands
    // of puts; DynamoDB would otherwise refuse the write with a less useful error.
    for index in [Index::Gsi1, Index::Gsi2] {
        let (p, s) = index.attrs();
        for name in [p, s] {
            match plan.get(name) {
                None | Some(Op::Remove) => {}
                Some(Op::Set(Value::S(v))) if !v.is_empty() => {}
                Some(_) => {
                    return Err(StoreError::Invalid(format!(
                        "{name} must be a non-empty string"
                    )));
                }
            }
        }
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{GSI1_PK, GSI2_SK, Key};

    #[test]
    fn an_update_plan_merges_like_apply() {
        let u = Update::new(Key::new("p", "s"))
            .set("n", 5)
            .add("n", 2)
            .add("c", 1)
            .add("c", 3)
            .set("gone", "x")
            .remove("gone");
        let plan = plan(&u).unwrap();
        assert_eq!(plan.get("n"), Some(&Op::Set(Value::N(7))));
        assert_eq!(plan.get("c"), Some(&Op::Add(4)));
        assert_eq!(plan.get("gone"), Some(&Op::Remove));
        let bad = Update::new(Key::new("p", "s")).set("n", "text").add("n", 1);
        assert!(matches!(plan_err(&bad), StoreError::Invalid(_)));
        let index = Update::new(Key::new("p", "s")).set(GSI1_PK, "");
        assert!(matches!(plan_err(&index), StoreError::Invalid(_)));
        let index = Update::new(Key::new("p", "s")).add(GSI2_SK, 1);
        assert!(matches!(plan_err(&index), StoreError::Invalid(_)));
    }

    fn plan_err(u: &Update) -> StoreError {
        plan(u).unwrap_err()
    }
}
