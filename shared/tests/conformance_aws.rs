//! Every port's conformance suite against the AWS adapters (DynamoDB, KMS, SQS, SES v2,
//! SNS) on moto_server. `cargo xtask test` starts moto and sets PASSERELLE_TEST_MOTO_URL;
//! each case makes its own table, key and queues.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_kms::types::{KeySpec, KeyUsageType};
use passerelle::aws::AwsClients;
use passerelle::clock::Clock;
use passerelle::conformance::{Harness, unique};
use passerelle::keys::KeyService;
use passerelle::keys::kms::KmsKeyService;
use passerelle::notify::ses::SesMailer;
use passerelle::notify::sns::SnsSms;
use passerelle::notify::{Mailer, SmsSender};
use passerelle::queue::Queue;
use passerelle::queue::sqs::SqsQueue;
use passerelle::store::Store;
use passerelle::store::dynamo::DynamoStore;

const SENDER: &str = "no-reply@passerelle.example.gov";

struct Moto {
    url: String,
    clients: AwsClients,
    /// Tables this case made, deleted when it ends so moto's state (and the size of
    /// `/moto-api/data.json`, which the mail checks read) stays small.
    tables: std::sync::Mutex<Vec<String>>,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let tables = std::mem::take(&mut *self.tables.lock().unwrap_or_else(|e| e.into_inner()));
        let client = self.clients.dynamodb.clone();
        tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(async {
                for table in tables {
                    let _ = client.delete_table().table_name(table).send().await;
                }
            })
        });
    }
}

async fn moto() -> Moto {
    let url = std::env::var("PASSERELLE_TEST_MOTO_URL").unwrap_or_else(|_| {
        panic!(
            "the AWS conformance suite needs moto_server: run `cargo xtask test`, \
             or start moto and set PASSERELLE_TEST_MOTO_URL"
        )
    });
    let clients = AwsClients::for_moto(&url).await;
    Moto {
        url,
        clients,
        tables: std::sync::Mutex::new(Vec::new()),
    }
}

#[async_trait]
impl Harness for Moto {
    async fn store(&self, clock: Arc<dyn Clock>) -> Arc<dyn Store> {
        let table = unique("passerelle");
        DynamoStore::create_table(&self.clients.dynamodb, &table)
            .await
            .expect("moto creates the table");
        self.tables.lock().unwrap().push(table.clone());
        Arc::new(DynamoStore::new(
            self.clients.dynamodb.clone(),
            &table,
            clock,
        ))
    }

    async fn keys(&self) -> Arc<dyn KeyService> {
        let key = self
            .clients
            .kms
            .create_key()
            .description("conformance")
            .send()
            .await
            .expect("moto creates a key");
        let id = key
            .key_metadata()
            .map(|m| m.key_id().to_owned())
            .expect("a key id");
        let mac_key = self
            .clients
            .kms
            .create_key()
            .description("conformance MACs")
            .key_spec(KeySpec::Hmac256)
            .key_usage(KeyUsageType::GenerateVerifyMac)
            .send()
            .await
            .expect("moto creates an HMAC key");
        let mac_id = mac_key
            .key_metadata()
            .map(|m| m.key_id().to_owned())
            .expect("a key id");
        Arc::new(KmsKeyService::new(self.clients.kms.clone(), &id, &mac_id))
    }

    async fn other_keys(&self) -> Arc<dyn KeyService> {
        // Each call makes new keys: another deployment's.
        self.keys().await
    }

    async fn queue_with_dead_letter(&self, max_receives: u32) -> (Arc<dyn Queue>, Arc<dyn Queue>) {
        let (main, dlq) =
            SqsQueue::create_with_dead_letter(&self.clients.sqs, &unique("q"), max_receives)
                .await
                .expect("moto creates the queues");
        (Arc::new(main), Arc::new(dlq))
    }

    async fn mailer(&self) -> Arc<dyn Mailer> {
        SesMailer::verify_sender(&self.clients.ses, SENDER)
            .await
            .expect("moto verifies the sender");
        Arc::new(SesMailer::new(self.clients.ses.clone(), SENDER))
    }

    async fn sms(&self) -> Arc<dyn SmsSender> {
        Arc::new(SnsSms::new(self.clients.sns.clone(), Some("Passerelle")))
    }

    async fn delivered_to(&self, recipient: &str) -> usize {
        // moto records what SES and SNS "sent"; recipients are unique per case.
        let data = reqwest::get(format!("{}/moto-api/data.json", self.url))
            .await
            .expect("moto answers")
            .text()
            .await
            .expect("moto's data");
        data.matches(recipient).count().min(1)
    }
}

passerelle::conformance_tests!(super::moto().await);
