//! The AWS SDK clients, built once per process from one loaded configuration and shared by
//! every AWS adapter.

use aws_config::{BehaviorVersion, Region};

/// One client per AWS service Passerelle talks to. Cloning is cheap: the SDK clients share
/// their connection pools and credential caches.
#[derive(Debug, Clone)]
pub struct AwsClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub kms: aws_sdk_kms::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub ses: aws_sdk_sesv2::Client,
    pub sns: aws_sdk_sns::Client,
}

impl AwsClients {
    /// Loads region and credentials the standard way (environment, profile, the Lambda
    /// role), once. `endpoint_url` points every client elsewhere, e.g. at moto.
    pub async fn from_env(endpoint_url: Option<&str>) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(url) = endpoint_url {
            loader = loader.endpoint_url(url);
        }
        Self::from_sdk_config(&loader.load().await)
    }

    /// Clients for a moto server: static dummy credentials and us-east-1, so tests never
    /// pick up a developer's real AWS identity.
    pub async fn for_moto(endpoint: &str) -> Self {
        let credentials =
            aws_sdk_dynamodb::config::Credentials::new("testing", "testing", None, None, "moto");
        let config = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(credentials)
            .load()
            .await;
        Self::from_sdk_config(&config)
    }

    fn from_sdk_config(config: &aws_config::SdkConfig) -> Self {
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            kms: aws_sdk_kms::Client::new(config),
            sqs: aws_sdk_sqs::Client::new(config),
            ses: aws_sdk_sesv2::Client::new(config),
            sns: aws_sdk_sns::Client::new(config),
        }
    }
}
