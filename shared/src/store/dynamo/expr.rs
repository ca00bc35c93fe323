//! Condition and update expressions. Every attribute name and value goes through a
//! placeholder; the port's expectations become conditions that also treat an expired
//! item (still there until TTL deletes it) as absent.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::convert::{to_attr, type_code};
use super::plan::{Op, Plan};
use super::schema::{EXPIRES_AT, PK, VERSION};
use crate::store::{Check, Expect, Value};

/// Expression attribute names and values for one request: every name and value goes
/// through a placeholder, so no attribute name is ever mistaken for a reserved word and
/// no value is ever spliced into expression text.
#[derive(Debug, Default)]
pub(super) struct Expr {
    names: HashMap<String, String>,
    placeholders: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
    now: Option<String>,
}

impl Expr {
    pub(super) fn name(&mut self, name: &str) -> String {
        if let Some(p) = self.placeholders.get(name) {
            return p.clone();
        }
        let p = format!("#n{}", self.placeholders.len());
        self.placeholders.insert(name.to_owned(), p.clone());
        self.names.insert(p.clone(), name.to_owned());
        p
    }

    pub(super) fn value(&mut self, value: AttributeValue) -> String {
        let p = format!(":v{}", self.values.len());
        self.values.insert(p.clone(), value);
        p
    }

    fn now(&mut self, now: i64) -> String {
        if let Some(p) = &self.now {
            return p.clone();
        }
        let p = self.value(AttributeValue::N(now.to_string()));
        self.now = Some(p.clone());
        p
    }

    /// DynamoDB refuses empty maps, so absent rather than empty.
    pub(super) fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    pub(super) fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }

    /// The item exists and has not expired.
    fn live(&mut self, now: i64) -> String {
        let (pk, exp, now) = (self.name(PK), self.name(EXPIRES_AT), self.now(now));
        format!("attribute_exists({pk}) AND (attribute_not_exists({exp}) OR {exp} > {now})")
    }

    /// No item, or only an expired one.
    fn absent(&mut self, now: i64) -> String {
        let (pk, exp, now) = (self.name(PK), self.name(EXPIRES_AT), self.now(now));
        format!("attribute_not_exists({pk}) OR {exp} <= {now}")
    }

    /// No item, or a live one: anything but an expired leftover.
    fn not_expired(&mut self, now: i64) -> String {
        let (pk, exp, now) = (self.name(PK), self.name(EXPIRES_AT), self.now(now));
        format!("attribute_not_exists({pk}) OR attribute_not_exists({exp}) OR {exp} > {now}")
    }

    /// An item exists and has expired.
    pub(super) fn expired(&mut self, now: i64) -> String {
        let (exp, now) = (self.name(EXPIRES_AT), self.now(now));
        format!("{exp} <= {now}")
    }

    /// The query filter: items that are live (the key condition guarantees they exist).
    pub(super) fn live_or_never_expires(&mut self, now: i64) -> String {
        let (exp, now) = (self.name(EXPIRES_AT), self.now(now));
        format!("attribute_not_exists({exp}) OR {exp} > {now}")
    }

    pub(super) fn always(&mut self) -> String {
        let pk = self.name(PK);
        format!("attribute_exists({pk}) OR attribute_not_exists({pk})")
    }

    fn never(&mut self) -> String {
        let pk = self.name(PK);
        format!("attribute_exists({pk}) AND attribute_not_exists({pk})")
    }

    /// The condition expression for an expectation; `None` when there is nothing to check.
    pub(super) fn condition(&mut self, expect: &Expect, now: i64) -> Option<String> {
        match expect {
            Expect::Any => None,
            Expect::Absent => Some(self.absent(now)),
            Expect::Present => Some(self.live(now)),
            Expect::Version(version) => {
                let live = self.live(now);
                let (v, n) = (
                    self.name(VERSION),
                    self.value(AttributeValue::N(version.to_string())),
                );
                Some(combine("AND", vec![live, format!("{v} = {n}")]))
            }
            Expect::All(checks) => {
                let mut parts = vec![self.live(now)];
                parts.extend(checks.iter().map(|c| self.check(c)));
                Some(combine("AND", parts))
            }
            Expect::AbsentOr(checks) if checks.is_empty() => None,
            Expect::AbsentOr(checks) => {
                let absent = self.absent(now);
                let checks: Vec<String> = checks.iter().map(|c| self.check(c)).collect();
                Some(combine("OR", vec![absent, combine("AND", checks)]))
            }
        }
    }

    /// An update's condition: its expectation, and never on top of an expired item,
    /// whose old attributes the update would otherwise keep.
    pub(super) fn update_condition(&mut self, expect: &Expect, now: i64) -> String {
        let guard = self.not_expired(now);
        match self.condition(expect, now) {
            Some(cond) => combine("AND", vec![cond, guard]),
            None => guard,
        }
    }

    fn check(&mut self, check: &Check) -> String {
        match check {
            Check::Exists(a) => format!("attribute_exists({})", self.name(a)),
            Check::Missing(a) => format!("attribute_not_exists({})", self.name(a)),
            Check::Eq(a, v) => self.compare(a, "=", v),
            // `<>` is also true when the attribute is missing, as the port wants.
            Check::Ne(a, v) => self.compare(a, "<>", v),
            // Booleans have no order in DynamoDB; mirror the embedded adapter, for which
            // two different booleans compare as "less" whichever way round.
            Check::Lt(a, v @ Value::Bool(_)) => {
                let ty = self.bool_type(a);
                let differs = self.compare(a, "<>", v);
                combine("AND", vec![ty, differs])
            }
            Check::Le(a, Value::Bool(_)) => self.bool_type(a),
            Check::Gt(_, Value::Bool(_)) => self.never(),
            Check::Ge(a, v @ Value::Bool(_)) => self.compare(a, "=", v),
            Check::Lt(a, v) => self.order(a, "<", v),
            Check::Le(a, v) => self.order(a, "<=", v),
            Check::Gt(a, v) => self.order(a, ">", v),
            Check::Ge(a, v) => self.order(a, ">=", v),
        }
    }

    /// An ordered comparison, false across types. DynamoDB already evaluates a
    /// cross-type comparison as false; the explicit type test says so in the expression
    /// (and moto answers such a comparison with a 500 instead).
    fn order(&mut self, attr: &str, op: &str, value: &Value) -> String {
        let ty = self.has_type(attr, type_code(value));
        let cmp = self.compare(attr, op, value);
        combine("AND", vec![ty, cmp])
    }

    fn compare(&mut self, attr: &str, op: &str, value: &Value) -> String {
        let (a, v) = (self.name(attr), self.value(to_attr(value)));
        format!("{a} {op} {v}")
    }

    fn bool_type(&mut self, attr: &str) -> String {
        self.has_type(attr, "BOOL")
    }

    fn has_type(&mut self, attr: &str, code: &str) -> String {
        let (a, t) = (self.name(attr), self.value(AttributeValue::S(code.into())));
        format!("attribute_type({a}, {t})")
    }

    /// The update expression: the version always goes up by one (a new item gets 1).
    pub(super) fn update(&mut self, plan: &Plan, expires_at: Option<Option<i64>>) -> String {
        let (mut set, mut remove) = (Vec::new(), Vec::new());
        let v = self.name(VERSION);
        let one = self.value(AttributeValue::N("1".into()));
        let mut add = vec![format!("{v} {one}")];
        for (name, op) in plan {
            let p = self.name(name);
            match op {
                Op::Set(value) => {
                    let value = self.value(to_attr(value));
                    set.push(format!("{p} = {value}"));
                }
                Op::Add(delta) => {
                    let delta = self.value(AttributeValue::N(delta.to_string()));
                    add.push(format!("{p} {delta}"));
                }
                Op::Remove => remove.push(p),
            }
        }
        match expires_at {
            Some(Some(t)) => {
                let (exp, t) = (
                    self.name(EXPIRES_AT),
                    self.value(AttributeValue::N(t.to_string())),
                );
                set.push(format!("{exp} = {t}"));
            }
            Some(None) => remove.push(self.name(EXPIRES_AT)),
            None => {}
        }
        let mut expression = format!("ADD {}", add.join(", "));
        if !set.is_empty() {
            expression.push_str(&format!(" SET {}", set.join(", ")));
        }
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        expression
    }
}

/// Joins expressions with `AND` or `OR`, each in parentheses so precedence never
/// matters. Expressions are built bare and wrapped only here, once: DynamoDB refuses
/// doubled parentheses as "redundant", so a lone part is returned as it is.
fn combine(op: &str, parts: Vec<String>) -> String {
    if parts.len() == 1 {
        return parts.into_iter().collect();
    }
    parts
        .iter()
        .map(|p| format!("({p})"))
        .collect::<Vec<_>>()
        .join(&format!(" {op} "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_use_placeholders_only() {
        let mut e = Expr::default();
        let cond = e
            .condition(
                &Expect::All(vec![Check::eq("status", "a b"), Check::ne("count", 3)]),
                100,
            )
            .unwrap();
        assert!(!cond.contains("status") && !cond.contains("a b"), "{cond}");
        assert!(e.names().unwrap().values().any(|n| n == "status"));
        assert_eq!(e.condition(&Expect::Any, 100), None);
        assert_eq!(e.condition(&Expect::AbsentOr(vec![]), 100), None);
    }
}
