//! Conformance suites: one per port, written once against the traits, run by the tests of
//! every adapter set (embedded, and AWS on moto) so that both behave the same.

pub mod envelope;
pub mod faults;
pub mod keys;
pub mod notify;
pub mod queue;
pub mod store;

use std::sync::Arc;

use async_trait::async_trait;

use crate::clock::Clock;
use crate::keys::KeyService;
use crate::notify::{Mailer, SmsSender};
use crate::queue::Queue;
use crate::store::Store;

/// Makes fresh, isolated adapters of one kind for each case.
#[async_trait]
pub trait Harness: Send + Sync {
    /// A new, empty store reading time from `clock`.
    async fn store(&self, clock: Arc<dyn Clock>) -> Arc<dyn Store>;
    async fn keys(&self) -> Arc<dyn KeyService>;
    /// The key service of another deployment: root and MAC keys of its own.
    async fn other_keys(&self) -> Arc<dyn KeyService>;
    /// A new queue whose messages move to the returned dead-letter queue after
    /// `max_receives` receives.
    async fn queue_with_dead_letter(&self, max_receives: u32) -> (Arc<dyn Queue>, Arc<dyn Queue>);
    async fn mailer(&self) -> Arc<dyn Mailer>;
    async fn sms(&self) -> Arc<dyn SmsSender>;
    /// How many messages (mail or SMS) the adapter's sink holds for `recipient`.
    async fn delivered_to(&self, recipient: &str) -> usize;
}

/// A unique suffix so cases never see each other's data on a shared backend.
pub fn unique(prefix: &str) -> String {
    use crate::random::{OsRandom, RandomExt};
    let raw = OsRandom.array::<6>();
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}-{hex}")
}

/// Expands to one `#[tokio::test]` per case of every suite, in modules named after the
/// port, for the harness that `$harness` (an async expression) builds.
#[macro_export]
macro_rules! conformance_tests {
    ($harness:expr) => {
        $crate::conformance_tests!(@suite $harness, store: [
            round_trip_keeps_every_value_type,
            sixteen_racing_creates_have_one_winner,
            versions_guard_optimistic_writes,
            concurrent_increments_are_exact,
            conditional_updates_enforce_limits,
            a_consumed_item_is_consumed_once,
            a_failed_transaction_writes_nothing,
            invalid_requests_are_refused,
            expired_items_are_invisible,
            pages_cover_a_partition_in_order,
            secondary_index_queries_page_through_ties,
            a_cursor_only_continues_its_own_partition,
        ]);
        $crate::conformance_tests!(@suite $harness, keys: [
            data_keys_unwrap_with_their_context,
            another_context_is_rejected,
            a_tampered_wrapped_key_is_rejected,
            secrets_never_show_in_debug,
            macs_are_stable_keyed_and_separated,
        ]);
        $crate::conformance_tests!(@suite $harness, envelope: [
            sealed_values_open_for_their_record,
            flipping_any_byte_fails,
            moving_a_ciphertext_fails,
            changing_the_context_fails,
            the_cache_keeps_the_key_service_off_the_hot_path,
        ]);
        $crate::conformance_tests!(@suite $harness, queue: [
            a_deleted_message_is_delivered_once,
            many_messages_each_arrive,
            an_undeleted_message_comes_back,
            repeated_failures_land_in_the_dead_letter_queue,
            a_delayed_message_waits,
            invalid_requests_are_refused,
        ]);
        $crate::conformance_tests!(@suite $harness, notify: [
            an_email_is_delivered,
            a_bad_email_is_refused,
            a_text_message_is_delivered,
            a_bad_number_is_refused,
            a_refused_job_reaches_the_dead_letter_queue,
        ]);
    };
    (@suite $harness:expr, $port:ident: [$($case:ident),* $(,)?]) => {
        mod $port {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let harness = $harness;
                    $crate::conformance::$port::$case(&harness).await;
                }
            )*
        }
    };
}
