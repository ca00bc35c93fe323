//! The store on one DynamoDB table: the port's expectations become condition expressions,
//! and expired items stay invisible until TTL gets round to deleting them (which can take
//! days, and never happens on moto).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{BuildError, DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, Delete, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, Projection, ProjectionType, Put, ReturnValue,
    ReturnValuesOnConditionCheckFailure, ScalarAttributeType, TableStatus, TimeToLiveSpecification,
    TimeToLiveStatus, TransactWriteItem,
};

use super::query::Position;
use super::*;
use crate::clock::Clock;

/// A DynamoDB item as the SDK holds it.
type Attrs = HashMap<String, AttributeValue>;

const PK: &str = "pk";
const SK: &str = "sk";
const VERSION: &str = "v";
const EXPIRES_AT: &str = "expires_at";

#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    clock: Arc<dyn Clock>,
}

impl DynamoStore {
    pub fn new(client: Client, table: &str, clock: Arc<dyn Clock>) -> Self {
        Self {
            client,
            table: table.to_owned(),
            clock,
        }
    }

    /// Creates the table this adapter expects (string `pk`/`sk`, on-demand billing, the
    /// `gsi1`/`gsi2` indexes projecting every attribute, TTL on `expires_at`). Does
    /// nothing to a table that already exists except enable TTL if it is off.
    pub async fn create_table(client: &Client, table: &str) -> StoreResult<()> {
        let string_attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(build_error)
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(build_error)
        };
        let index = |index: Index| -> StoreResult<GlobalSecondaryIndex> {
            let (p, s) = index.attrs();
            GlobalSecondaryIndex::builder()
                .index_name(index.name().unwrap_or_default())
                .key_schema(key(p, KeyType::Hash)?)
                .key_schema(key(s, KeyType::Range)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .map_err(build_error)
        };
        let mut request = client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key(PK, KeyType::Hash)?)
            .key_schema(key(SK, KeyType::Range)?)
            .global_secondary_indexes(index(Index::Gsi1)?)
            .global_secondary_indexes(index(Index::Gsi2)?);
        for name in [PK, SK, GSI1_PK, GSI1_SK, GSI2_PK, GSI2_SK] {
            request = request.attribute_definitions(string_attr(name)?);
        }
        match request.send().await {
            Ok(_) => {}
            Err(e) if e.code() == Some("ResourceInUseException") => {}
            Err(e) => return Err(sdk_error(e)),
        }

        // TTL cannot be configured while the table is still being created.
        let mut active = false;
        for _ in 0..240 {
            let described = client
                .describe_table()
                .table_name(table)
                .send()
                .await
                .map_err(sdk_error)?;
            if described.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
                active = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        if !active {
            return Err(StoreError::Unavailable(format!(
                "table {table} did not become active"
            )));
        }

        let ttl = client
            .describe_time_to_live()
            .table_name(table)
            .send()
            .await
            .map_err(sdk_error)?;
        let described = ttl.time_to_live_description();
        let enabled = described.is_some_and(|d| {
            d.attribute_name() == Some(EXPIRES_AT)
                && matches!(
                    d.time_to_live_status(),
                    Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
                )
        });
        if !enabled {
            client
                .update_time_to_live()
                .table_name(table)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .enabled(true)
                        .attribute_name(EXPIRES_AT)
                        .build()
                        .map_err(build_error)?,
                )
                .send()
                .await
                .map_err(sdk_error)?;
        }
        Ok(())
    }

    /// Deletes an expired item that TTL has not removed yet, so that a write can start
    /// from nothing. Losing the race to another writer is fine: the caller retries.
    async fn purge_expired(&self, key: &Key, now: i64) -> StoreResult<()> {
        let mut e = Expr::default();
        let cond = e.expired(now);
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_attrs(key)))
            .condition_expression(cond)
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .send()
            .await;
        match result {
            Err(err) if err.code() != Some("ConditionalCheckFailedException") => {
                Err(sdk_error(err))
            }
            _ => Ok(()),
        }
    }

    fn transact_item(
        &self,
        write: &Write,
        plan: Option<&Plan>,
        now: i64,
    ) -> StoreResult<TransactWriteItem> {
        let mut e = Expr::default();
        let all_old = ReturnValuesOnConditionCheckFailure::AllOld;
        let item = match (write, plan) {
            (Write::Put(item, expect), _) => {
                let cond = e.condition(expect, now);
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item_attrs(item, put_version(expect))))
                    .set_condition_expression(cond)
                    .set_expression_attribute_names(e.names())
                    .set_expression_attribute_values(e.values())
                    .return_values_on_condition_check_failure(all_old)
                    .build()
                    .map_err(build_error)?;
                TransactWriteItem::builder().put(put).build()
            }
            (Write::Update(update, expect), Some(plan)) => {
                let expression = e.update(plan, update.expires_at);
                let cond = e.update_condition(expect, now);
                let update = aws_sdk_dynamodb::types::Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(key_attrs(&update.key)))
                    .update_expression(expression)
                    .condition_expression(cond)
                    .set_expression_attribute_names(e.names())
                    .set_expression_attribute_values(e.values())
                    .return_values_on_condition_check_failure(all_old)
                    .build()
                    .map_err(build_error)?;
                TransactWriteItem::builder().update(update).build()
            }
            (Write::Update(..), None) => {
                return Err(StoreError::Unavailable("an update lost its plan".into()));
            }
            (Write::Delete(key, expect), _) => {
                let cond = e.condition(expect, now);
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(key_attrs(key)))
                    .set_condition_expression(cond)
                    .set_expression_attribute_names(e.names())
                    .set_expression_attribute_values(e.values())
                    .return_values_on_condition_check_failure(all_old)
                    .build()
                    .map_err(build_error)?;
                TransactWriteItem::builder().delete(delete).build()
            }
            (Write::Check(key, expect), _) => {
                // A condition check must have a condition, even one that always holds.
                let cond = e.condition(expect, now).unwrap_or_else(|| e.always());
                let check = ConditionCheck::builder()
                    .table_name(&self.table)
                    .set_key(Some(key_attrs(key)))
                    .condition_expression(cond)
                    .set_expression_attribute_names(e.names())
                    .set_expression_attribute_values(e.values())
                    .return_values_on_condition_check_failure(all_old)
                    .build()
                    .map_err(build_error)?;
                TransactWriteItem::builder().condition_check(check).build()
            }
        };
        Ok(item)
    }
}

#[async_trait]
impl Store for DynamoStore {
    fn adapter(&self) -> &'static str {
        "aws-dynamodb"
    }

    async fn get(&self, key: &Key) -> StoreResult<Option<Item>> {
        validate_key(key)?;
        let now = self.clock.now_secs();
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_attrs(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        let item = out.item.map(attrs_to_item).transpose()?;
        Ok(item.filter(|i| i.is_live(now)))
    }

    async fn put(&self, item: Item, expect: Expect) -> StoreResult<u64> {
        validate_item(&item)?;
        validate_expect(&expect)?;
        let now = self.clock.now_secs();
        let version = put_version(&expect);
        let mut e = Expr::default();
        // A put replaces every attribute, so an expired item left behind needs no
        // clearing first: the conditions alone treat it as absent.
        let cond = e.condition(&expect, now);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item_attrs(&item, version)))
            .set_condition_expression(cond)
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(version)
    }

    async fn update(&self, update: Update, expect: Expect) -> StoreResult<Item> {
        validate_update(&update)?;
        validate_expect(&expect)?;
        let plan = plan(&update)?;
        // The second pass runs only after clearing an expired item the first pass met.
        for first_pass in [true, false] {
            let now = self.clock.now_secs();
            let mut e = Expr::default();
            let expression = e.update(&plan, update.expires_at);
            let cond = e.update_condition(&expect, now);
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key_attrs(&update.key)))
                .update_expression(expression)
                .condition_expression(cond)
                .set_expression_attribute_names(e.names())
                .set_expression_attribute_values(e.values())
                .return_values(ReturnValue::AllNew)
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .send()
                .await;
            let err = match result {
                Ok(out) => return attrs_to_item(out.attributes.unwrap_or_default()),
                Err(err) => err,
            };
            let old = match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                    failed.item.clone()
                }
                _ => return Err(sdk_error(err)),
            };
            match old.map(attrs_to_item).transpose()? {
                Some(old) if first_pass && blocked_by_expired(&old, &expect, now) => {
                    self.purge_expired(&old.key, now).await?;
                }
                _ => return Err(StoreError::ConditionFailed),
            }
        }
        Err(StoreError::ConditionFailed)
    }

    async fn delete(&self, key: &Key, expect: Expect) -> StoreResult<Option<Item>> {
        validate_key(key)?;
        validate_expect(&expect)?;
        let now = self.clock.now_secs();
        let mut e = Expr::default();
        let cond = e.condition(&expect, now);
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_attrs(key)))
            .set_condition_expression(cond)
            .set_expression_attribute_names(e.names())
            .set_expression_attribute_values(e.values())
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(sdk_error)?;
        let old = out.attributes.map(attrs_to_item).transpose()?;
        Ok(old.filter(|i| i.is_live(now)))
    }

    async fn transact(&self, writes: Vec<Write>) -> StoreResult<()> {
        validate_transaction(&writes)?;
        let plans = writes
            .iter()
            .map(|w| match w {
                Write::Update(u, _) => plan(u).map(Some),
                _ => Ok(None),
            })
            .collect::<StoreResult<Vec<_>>>()?;
        for first_pass in [true, false] {
            let now = self.clock.now_secs();
            let items = writes
                .iter()
                .zip(&plans)
                .map(|(w, p)| self.transact_item(w, p.as_ref(), now))
                .collect::<StoreResult<Vec<_>>>()?;
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items))
                .send()
                .await;
            let err = match result {
                Ok(_) => return Ok(()),
                Err(err) => err,
            };
            let reasons = match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(t)) => {
                    t.cancellation_reasons().to_vec()
                }
                _ => return Err(sdk_error(err)),
            };
            let mut failed = Vec::new();
            let mut stale = Vec::new();
            let mut other = None;
            for (i, reason) in reasons.into_iter().enumerate() {
                match reason.code() {
                    None | Some("None") => {}
                    Some("ConditionalCheckFailed") => {
                        let old = reason.item.map(attrs_to_item).transpose()?;
                        let write = writes.get(i);
                        match (old, write) {
                            (Some(old), Some(w @ Write::Update(..)))
                                if blocked_by_expired(&old, w.expect(), now) =>
                            {
                                stale.push((i, old.key));
                            }
                            _ => failed.push(i),
                        }
                    }
                    Some(code) => {
                        other.get_or_insert_with(|| code.to_owned());
                    }
                }
            }
            // The same order as the embedded adapter: expectations first, then the rest.
            if !failed.is_empty() {
                return Err(StoreError::TransactionCanceled { failed });
            }
            if let Some(code) = other {
                return Err(match code.as_str() {
                    "ValidationError" => {
                        StoreError::Invalid("a write of the transaction is not valid".into())
                    }
                    // A conflict with another transaction on the same item: like a
                    // throttle, it clears by itself and retrying later is safe.
                    "ThrottlingError"
                    | "ProvisionedThroughputExceeded"
                    | "RequestLimitExceeded"
                    | "TransactionConflict" => StoreError::Throttled,
                    _ => StoreError::Unavailable(format!("transaction cancelled: {code}")),
                });
            }
            if stale.is_empty() {
                return Err(StoreError::Unavailable(
                    "the transaction was cancelled without a reason".into(),
                ));
            }
            if !first_pass {
                return Err(StoreError::TransactionCanceled {
                    failed: stale.into_iter().map(|(i, _)| i).collect(),
                });
            }
            for (_, key) in &stale {
                self.purge_expired(key, now).await?;
            }
        }
        Err(StoreError::Unavailable(
            "the transaction kept meeting expired items".into(),
        ))
    }

    async fn query(&self, query: &Query) -> StoreResult<Page> {
        validate_query(query)?;
        let mut start = match &query.cursor {
            None => None,
            Some(c) => {
                let p = c
                    .position()
                    .filter(|p| p.partition(query.index) == Some(query.pk.as_str()))
                    .ok_or_else(|| {
                        StoreError::Invalid("the cursor belongs to another query".into())
                    })?;
                Some(start_key(&p, query.index)?)
            }
        };
        let now = self.clock.now_secs();
        let limit = query.limit as usize;
        // One more than asked tells whether another page exists, as the embedded adapter
        // does, so that `next` is set only when an item follows.
        let want = limit + 1;
        let (pname, sname) = query.index.attrs();
        let mut items: Vec<Item> = Vec::with_capacity(want);
        loop {
            let mut e = Expr::default();
            let p = e.name(pname);
            let pv = e.value(AttributeValue::S(query.pk.clone()));
            let mut key_condition = format!("{p} = {pv}");
            if !query.sk_prefix.is_empty() {
                let s = e.name(sname);
                let sv = e.value(AttributeValue::S(query.sk_prefix.clone()));
                key_condition.push_str(&format!(" AND begins_with({s}, {sv})"));
            }
            let filter = e.live_or_never_expires(now);
            // Limit counts items read before the filter drops expired ones, so a page
            // may come back short; the loop reads on until it has enough.
            let fetch = i32::try_from(want - items.len()).unwrap_or(i32::MAX);
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(query.index.name().map(str::to_owned))
                .key_condition_expression(key_condition)
                .filter_expression(filter)
                .set_expression_attribute_names(e.names())
                .set_expression_attribute_values(e.values())
                .scan_index_forward(query.order == Order::Ascending)
                .limit(fetch)
                .set_exclusive_start_key(start.take())
                // Secondary indexes refuse consistent reads.
                .set_consistent_read((query.index == Index::Table).then_some(true))
                .send()
                .await
                .map_err(sdk_error)?;
            for attrs in out.items.unwrap_or_default() {
                let item = attrs_to_item(attrs)?;
                if item.is_live(now) {
                    items.push(item);
                }
            }
            match out.last_evaluated_key {
                Some(last) if items.len() < want => start = Some(last),
                _ => break,
            }
        }
        // The cursor names the last item returned, not where DynamoDB stopped reading,
        // so the next page starts right after it: nothing skipped, nothing repeated.
        let next = if items.len() > limit {
            items.truncate(limit);
            items
                .last()
                .map(|last| Cursor::from_position(&Position::of(last, query.index)))
        } else {
            None
        };
        Ok(Page { items, next })
    }
}

/// The version a put writes: the next one when the caller named the current one.
fn put_version(expect: &Expect) -> u64 {
    match expect {
        Expect::Version(v) => v.saturating_add(1),
        _ => 1,
    }
}

/// Whether a failed conditional update failed only because an expired item was still
/// there: its expectation holds when that item counts as absent.
fn blocked_by_expired(old: &Item, expect: &Expect, now: i64) -> bool {
    !old.is_live(now) && expect.holds(None)
}

/// What an update does to each attribute, merged so that no attribute appears twice in
/// the update expression (DynamoDB refuses overlapping paths). Merging follows
/// [`Update::apply`]: every set, then every increment, then every removal.
type Plan = BTreeMap<String, Op>;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    Set(Value),
    Add(i64),
    Remove,
}

fn plan(update: &Update) -> StoreResult<Plan> {
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

/// Expression attribute names and values for one request: every name and value goes
/// through a placeholder, so no attribute name is ever mistaken for a reserved word and
/// no value is ever spliced into expression text.
#[derive(Debug, Default)]
struct Expr {
    names: HashMap<String, String>,
    placeholders: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
    now: Option<String>,
}

impl Expr {
    fn name(&mut self, name: &str) -> String {
        if let Some(p) = self.placeholders.get(name) {
            return p.clone();
        }
        let p = format!("#n{}", self.placeholders.len());
        self.placeholders.insert(name.to_owned(), p.clone());
        self.names.insert(p.clone(), name.to_owned());
        p
    }

    fn value(&mut self, value: AttributeValue) -> String {
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
    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    fn values(&self) -> Option<HashMap<String, AttributeValue>> {
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
    fn expired(&mut self, now: i64) -> String {
        let (exp, now) = (self.name(EXPIRES_AT), self.now(now));
        format!("{exp} <= {now}")
    }

    /// The query filter: items that are live (the key condition guarantees they exist).
    fn live_or_never_expires(&mut self, now: i64) -> String {
        let (exp, now) = (self.name(EXPIRES_AT), self.now(now));
        format!("attribute_not_exists({exp}) OR {exp} > {now}")
    }

    fn always(&mut self) -> String {
        let pk = self.name(PK);
        format!("attribute_exists({pk}) OR attribute_not_exists({pk})")
    }

    fn never(&mut self) -> String {
        let pk = self.name(PK);
        format!("attribute_exists({pk}) AND attribute_not_exists({pk})")
    }

    /// The condition expression for an expectation; `None` when there is nothing to check.
    fn condition(&mut self, expect: &Expect, now: i64) -> Option<String> {
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
    fn update_condition(&mut self, expect: &Expect, now: i64) -> String {
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
    fn update(&mut self, plan: &Plan, expires_at: Option<Option<i64>>) -> String {
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

/// DynamoDB's name for the type of a value, as `attribute_type` takes it.
fn type_code(value: &Value) -> &'static str {
    match value {
        Value::S(_) => "S",
        Value::N(_) => "N",
        Value::B(_) => "B",
        Value::Bool(_) => "BOOL",
    }
}

fn to_attr(value: &Value) -> AttributeValue {
    match value {
        Value::S(s) => AttributeValue::S(s.clone()),
        Value::N(n) => AttributeValue::N(n.to_string()),
        Value::B(b) => AttributeValue::B(Blob::new(b.clone())),
        Value::Bool(b) => AttributeValue::Bool(*b),
    }
}

/// Names only the attribute, never its value: errors end up in logs.
fn corrupt(name: &str) -> StoreError {
    StoreError::Unavailable(format!(
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

fn key_attrs(key: &Key) -> Attrs {
    HashMap::from([
        (PK.to_owned(), AttributeValue::S(key.pk.clone())),
        (SK.to_owned(), AttributeValue::S(key.sk.clone())),
    ])
}

fn item_attrs(item: &Item, version: u64) -> Attrs {
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

fn attrs_to_item(mut attrs: Attrs) -> StoreResult<Item> {
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
fn start_key(p: &Position, index: Index) -> StoreResult<Attrs> {
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

fn build_error(e: BuildError) -> StoreError {
    StoreError::Unavailable(format!("building a DynamoDB request: {e}"))
}

/// Maps an SDK error. Service messages name attributes and operators, never values (the
/// values travel as placeholders), so they are safe to keep for logs.
fn sdk_error<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e.code() {
        Some("ConditionalCheckFailedException") => StoreError::ConditionFailed,
        Some(
            "ProvisionedThroughputExceededException"
            | "ThrottlingException"
            | "RequestLimitExceeded",
        ) => StoreError::Throttled,
        // The request itself is wrong: an increment of a non-number, an item too large.
        Some("ValidationException") => StoreError::Invalid(format!(
            "DynamoDB refused the request: {}",
            e.message().unwrap_or("no detail")
        )),
        Some(code) => {
            StoreError::Unavailable(format!("{code}: {}", e.message().unwrap_or("no detail")))
        }
        None => StoreError::Unavailable(DisplayErrorContext(&e).to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
