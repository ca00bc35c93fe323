//! What the functions find in "AWS" when they start: a table, the keys and the queues, made
//! on moto_server, and the environment `template.yaml` gives every function.

use passerelle::aws::AwsClients;
use passerelle::queue::sqs::SqsQueue;
use passerelle::store::dynamo::DynamoStore;

/// The resources' names, as the functions' environment.
pub struct Resources {
    pub env: Vec<(String, String)>,
}

impl Resources {
    pub async fn create(moto: &str) -> Result<Self, String> {
        let clients = AwsClients::for_moto(moto).await;
        let table = "passerelle-cold-start";
        let key_table = "passerelle-cold-start-account-keys";
        for name in [table, key_table] {
            match DynamoStore::create_table(&clients.dynamodb, name).await {
                Ok(()) => {}
                // A second measurement against the same moto finds it made.
                Err(e) if e.to_string().contains("in use") || e.to_string().contains("exists") => {}
                Err(e) => return Err(format!("the table {name} on moto: {e}")),
            }
        }
        let key = clients
            .kms
            .create_key()
            .send()
            .await
            .map_err(|e| format!("a KMS key on moto: {e}"))?;
        let key_arn = key
            .key_metadata()
            .and_then(|m| m.arn())
            .ok_or("moto's key has no ARN")?
            .to_owned();
        let mac_key = clients
            .kms
            .create_key()
            .key_spec(aws_sdk_kms::types::KeySpec::Hmac256)
            .key_usage(aws_sdk_kms::types::KeyUsageType::GenerateVerifyMac)
            .send()
            .await
            .map_err(|e| format!("a KMS HMAC key on moto: {e}"))?;
        let mac_key_arn = mac_key
            .key_metadata()
            .and_then(|m| m.arn())
            .ok_or("moto's HMAC key has no ARN")?
            .to_owned();
        let queue = |name: &'static str| {
            let sqs = clients.sqs.clone();
            async move {
                SqsQueue::create_with_dead_letter(&sqs, name, 5)
                    .await
                    .map(|(q, _)| q.url().to_owned())
                    .map_err(|e| format!("queue {name} on moto: {e}"))
            }
        };
        let notify = queue("cold-start-notify").await?;
        let proofing = queue("cold-start-proofing").await?;
        let env = [
            // As `template.yaml`'s Globals set them.
            ("PASSERELLE_BACKEND", "aws".to_owned()),
            ("PASSERELLE_TABLE", table.to_owned()),
            ("PASSERELLE_ACCOUNT_KEY_TABLE", key_table.to_owned()),
            ("PASSERELLE_KMS_KEY_ID", key_arn),
            ("PASSERELLE_KMS_MAC_KEY_ID", mac_key_arn),
            ("PASSERELLE_NOTIFY_QUEUE_URL", notify),
            ("PASSERELLE_PROOFING_QUEUE_URL", proofing),
            (
                "PASSERELLE_MAIL_FROM",
                "no-reply@login.example.gov".to_owned(),
            ),
            (
                "PASSERELLE_PUBLIC_URL",
                "https://login.example.gov".to_owned(),
            ),
            ("PASSERELLE_LOG_FORMAT", "json".to_owned()),
            ("PASSERELLE_AWS_ENDPOINT_URL", moto.to_owned()),
            // What Lambda puts in every function's environment.
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_DEFAULT_REGION", "us-east-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("AWS_SESSION_TOKEN", "testing".to_owned()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                "/aws/lambda/cold-start".to_owned(),
            ),
            (
                "AWS_LAMBDA_LOG_STREAM_NAME",
                "2026/11/23/[$LATEST]cold".to_owned(),
            ),
            ("LAMBDA_TASK_ROOT", "/var/task".to_owned()),
            ("TZ", ":UTC".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        Ok(Self { env })
    }
}
