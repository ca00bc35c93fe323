//! The set of ports a function runs with, built once per process from the configuration:
//! embedded adapters by default, AWS adapters when `PASSERELLE_BACKEND=aws`.

use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::config::{Backend, Config};
use crate::envelope::{AccountKeys, CacheLimits, Envelope};
use crate::keys::KeyService;
use crate::notify::{Mailer, SmsSender};
use crate::queue::Queue;
use crate::random::{OsRandom, Random};
use crate::store::Store;

/// The queue for outgoing mail and SMS; its dead-letter queue takes what keeps failing.
pub const NOTIFY_QUEUE: &str = "notify";
pub const NOTIFY_DLQ: &str = "notify-dlq";
/// The queue of identity-proofing jobs (IDV-2) and its dead-letter queue.
pub const PROOFING_QUEUE: &str = "proofing";
pub const PROOFING_DLQ: &str = "proofing-dlq";

#[derive(Debug, Clone)]
pub struct Services {
    pub store: Arc<dyn Store>,
    pub keys: Arc<dyn KeyService>,
    pub envelope: Arc<Envelope>,
    pub notify_queue: Arc<dyn Queue>,
    /// Proofing jobs: the message names a job and carries its key (sealed by the envelope);
    /// the job item holds its input sealed under that key.
    pub proofing_queue: Arc<dyn Queue>,
    /// Receives before the proofing queue dead-letters a message: the worker's last
    /// attempt marks the job unavailable.
    pub proofing_max_receives: u32,
    pub mailer: Arc<dyn Mailer>,
    pub sms: Arc<dyn SmsSender>,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn Random>,
    /// What only the embedded backend has: the outbox to show, expired items to purge.
    #[cfg(feature = "embedded")]
    pub local: Option<Local>,
}

#[cfg(feature = "embedded")]
#[derive(Debug, Clone)]
pub struct Local {
    pub outbox: crate::notify::outbox::Outbox,
    pub store: crate::store::embedded::EmbeddedStore,
    pub notify_dlq: crate::queue::embedded::EmbeddedQueue,
    pub proofing_dlq: crate::queue::embedded::EmbeddedQueue,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("PASSERELLE_DATA_DIR={path:?} cannot be used: {detail}")]
    DataDir { path: String, detail: String },
    #[cfg(feature = "embedded")]
    #[error(transparent)]
    Db(#[from] crate::sqlite::DbError),
    #[cfg(feature = "embedded")]
    #[error(transparent)]
    RootKey(#[from] crate::keys::local::RootKeyError),
    #[error("PASSERELLE_BACKEND={0} is not built into this binary")]
    NotBuiltIn(&'static str),
}

impl Services {
    /// The envelope every backend seals with: over `keys`, with the default data-key
    /// cache, each account's values also under its key in `account_keys`.
    pub fn envelope(
        keys: &Arc<dyn KeyService>,
        clock: &Arc<dyn Clock>,
        random: &Arc<dyn Random>,
        account_keys: Arc<AccountKeys>,
    ) -> Arc<Envelope> {
        Arc::new(
            Envelope::new(
                Arc::clone(keys),
                Arc::clone(clock),
                Arc::clone(random),
                CacheLimits::default(),
            )
            .with_account_keys(account_keys),
        )
    }

    pub async fn build(config: &Config) -> Result<Self, StartupError> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let random: Arc<dyn Random> = Arc::new(OsRandom);
        match &config.backend {
            Backend::Embedded(cfg) => {
                #[cfg(feature = "embedded")]
                {
                    Self::embedded(cfg, clock, random)
                }
                #[cfg(not(feature = "embedded"))]
                {
                    let _ = cfg;
                    Err(StartupError::NotBuiltIn("embedded"))
                }
            }
            Backend::Aws(cfg) => {
                #[cfg(feature = "aws")]
                {
                    Ok(Self::aws(cfg, clock, random).await)
                }
                #[cfg(not(feature = "aws"))]
                {
                    let _ = cfg;
                    Err(StartupError::NotBuiltIn("aws"))
                }
            }
        }
    }

    #[cfg(feature = "embedded")]
    pub fn embedded(
        cfg: &crate::config::EmbeddedConfig,
        clock: Arc<dyn Clock>,
        random: Arc<dyn Random>,
    ) -> Result<Self, StartupError> {
        use crate::keys::local::LocalKeyService;
        use crate::notify::outbox::Outbox;
        use crate::queue::embedded::{DeadLetter, EmbeddedQueue};
        use crate::sqlite::Db;
        use crate::store::embedded::EmbeddedStore;

        std::fs::create_dir_all(&cfg.data_dir).map_err(|e| StartupError::DataDir {
            path: cfg.data_dir.display().to_string(),
            detail: e.to_string(),
        })?;
        let db = Db::in_dir(&cfg.data_dir)?;
        // The key table is a file of its own: a copy of `passerelle.db` never holds it.
        let key_db = Db::open(&cfg.data_dir.join("account-keys.db"))?;
        let account_keys = Arc::new(
            AccountKeys::new(
                Arc::new(EmbeddedStore::new(key_db.clone(), Arc::clone(&clock))),
                Arc::clone(&clock),
                Arc::clone(&random),
            )
            .scrubbing(key_db),
        );
        let keys: Arc<dyn KeyService> =
            Arc::new(LocalKeyService::open(&cfg.data_dir, Arc::clone(&random))?);
        let store = EmbeddedStore::new(db.clone(), Arc::clone(&clock));
        let outbox = Outbox::new(db.clone(), Arc::clone(&clock));
        let notify_queue = EmbeddedQueue::new(
            db.clone(),
            NOTIFY_QUEUE,
            Some(DeadLetter {
                queue: NOTIFY_DLQ.into(),
                max_receives: cfg.max_receives,
            }),
            Arc::clone(&clock),
            Arc::clone(&random),
        );
        let notify_dlq = EmbeddedQueue::new(
            db.clone(),
            NOTIFY_DLQ,
            None,
            Arc::clone(&clock),
            Arc::clone(&random),
        );
        let proofing_queue = EmbeddedQueue::new(
            db.clone(),
            PROOFING_QUEUE,
            Some(DeadLetter {
                queue: PROOFING_DLQ.into(),
                max_receives: cfg.max_receives,
            }),
            Arc::clone(&clock),
            Arc::clone(&random),
        );
        let proofing_dlq = EmbeddedQueue::new(
            db,
            PROOFING_DLQ,
            None,
            Arc::clone(&clock),
            Arc::clone(&random),
        );
        Ok(Self {
            store: Arc::new(store.clone()),
            envelope: Self::envelope(&keys, &clock, &random, account_keys),
            keys,
            notify_queue: Arc::new(notify_queue),
            proofing_queue: Arc::new(proofing_queue),
            proofing_max_receives: cfg.max_receives,
            mailer: Arc::new(outbox.clone()),
            sms: Arc::new(outbox.clone()),
            clock,
            random,
            local: Some(Local {
                outbox,
                store,
                notify_dlq,
                proofing_dlq,
            }),
        })
    }

    #[cfg(feature = "aws")]
    pub async fn aws(
        cfg: &crate::config::AwsConfig,
        clock: Arc<dyn Clock>,
        random: Arc<dyn Random>,
    ) -> Self {
        use crate::aws::AwsClients;
        use crate::keys::kms::KmsKeyService;
        use crate::notify::ses::SesMailer;
        use crate::notify::sns::SnsSms;
        use crate::queue::sqs::SqsQueue;
        use crate::store::dynamo::DynamoStore;

        let clients = AwsClients::from_env(cfg.endpoint_url.as_deref()).await;
        let keys: Arc<dyn KeyService> = Arc::new(KmsKeyService::new(
            clients.kms.clone(),
            &cfg.kms_key_id,
            &cfg.kms_mac_key_id,
        ));
        Self {
            store: Arc::new(DynamoStore::new(
                clients.dynamodb.clone(),
                &cfg.table,
                Arc::clone(&clock),
            )),
            envelope: Self::envelope(
                &keys,
                &clock,
                &random,
                Arc::new(AccountKeys::new(
                    Arc::new(DynamoStore::new(
                        clients.dynamodb.clone(),
                        &cfg.account_key_table,
                        Arc::clone(&clock),
                    )),
                    Arc::clone(&clock),
                    Arc::clone(&random),
                )),
            ),
            keys,
            notify_queue: Arc::new(SqsQueue::new(clients.sqs.clone(), &cfg.notify_queue_url)),
            proofing_queue: Arc::new(SqsQueue::new(clients.sqs.clone(), &cfg.proofing_queue_url)),
            proofing_max_receives: cfg.proofing_max_receives,
            mailer: Arc::new(SesMailer::new(clients.ses.clone(), &cfg.mail_from)),
            sms: Arc::new(SnsSms::new(
                clients.sns.clone(),
                cfg.sms_sender_id.as_deref(),
            )),
            clock,
            random,
            #[cfg(feature = "embedded")]
            local: None,
        }
    }

    /// The handler that delivers queued mail and SMS.
    pub fn deliverer(&self) -> crate::notify::job::Deliverer {
        crate::notify::job::Deliverer {
            envelope: Arc::clone(&self.envelope),
            mailer: Arc::clone(&self.mailer),
            sms: Arc::clone(&self.sms),
        }
    }

    /// Identity-proofing jobs and their uploads, for the pages and the callback.
    pub fn proofing(&self) -> crate::idv::jobs::Jobs {
        crate::idv::jobs::Jobs::new(
            Arc::clone(&self.store),
            Arc::clone(&self.envelope),
            Arc::clone(&self.proofing_queue),
            Arc::clone(&self.clock),
            Arc::clone(&self.random),
        )
    }

    /// The handler that runs queued proofing jobs against `vendors`.
    pub fn proofing_worker(
        &self,
        vendors: crate::idv::vendors::Vendors,
    ) -> crate::idv::jobs::worker::ProofingWorker {
        crate::idv::jobs::worker::ProofingWorker {
            jobs: self.proofing(),
            vendors,
            max_receives: self.proofing_max_receives,
        }
    }

    /// Port → adapter, for `/api/health`.
    pub fn adapters(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("store", self.store.adapter()),
            ("keys", self.keys.adapter()),
            ("queue", self.notify_queue.adapter()),
            ("mail", self.mailer.adapter()),
            ("sms", self.sms.adapter()),
        ]
    }
}

/// A function's start: configuration, logging, adapters. Any problem ends the process with
/// one line on stderr naming what to fix (and exit code 2), before serving anything.
pub async fn start() -> (Config, Services) {
    let config = Config::from_env().unwrap_or_else(|e| exit_with(&e));
    crate::telemetry::init(&config);
    match Services::build(&config).await {
        Ok(services) => (config, services),
        Err(e) => exit_with(&e),
    }
}

/// Prints `passerelle: <error>` on one line and exits with status 2.
pub fn exit_with(error: &dyn std::fmt::Display) -> ! {
    let line = error.to_string().replace('\n', " ");
    eprintln!("passerelle: {line}");
    std::process::exit(2)
}
