//! The store on one DynamoDB table: the port's expectations become condition expressions,
//! and expired items stay invisible until TTL gets round to deleting them (which can take
//! days, and never happens on moto).
//!
//! This file holds the requests and their retries; the rest is split by job: [`schema`]
//! (attribute names, the table), [`expr`] (condition and update expressions), [`plan`]
//! (an update merged per attribute), [`convert`] (items to and from the SDK's shape) and
//! [`errors`] (SDK errors as the port's).

mod convert;
mod errors;
mod expr;
mod plan;
mod schema;

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, ReturnValue, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem,
};

use super::query::Position;
use super::*;
use crate::clock::Clock;
use convert::{attrs_to_item, item_attrs, key_attrs, start_key};
use errors::{build_error, cancellation_error, sdk_error};
use expr::Expr;
use plan::{Plan, plan};

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
                return Err(StoreError::Failed("an update lost its plan".into()));
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
                return Err(cancellation_error(&code));
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
