//! The table's layout: the attribute names this adapter writes, and the table it expects
//! (created on demand for moto, the local stack and tests).

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TableStatus, TimeToLiveSpecification, TimeToLiveStatus,
};

use super::DynamoStore;
use super::errors::{build_error, sdk_error};
use crate::store::{GSI1_PK, GSI1_SK, GSI2_PK, GSI2_SK, Index, StoreError, StoreResult};

pub(super) const PK: &str = "pk";
pub(super) const SK: &str = "sk";
pub(super) const VERSION: &str = "v";
pub(super) const EXPIRES_AT: &str = "expires_at";

impl DynamoStore {
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
}
