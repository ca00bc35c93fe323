//! The functions measured: each with the event its first invocation gets (from
//! `events/`) and the environment `template.yaml` adds to the common one.

pub struct Function {
    pub name: &'static str,
    /// Under `events/`.
    pub event: &'static str,
    /// `MemorySize` in `template.yaml` (Lambda tells the function in its environment).
    pub memory_mb: u32,
    pub extra_env: &'static [(&'static str, &'static str)],
    /// What the first invocation does, for the report.
    pub first_invocation: &'static str,
}

pub const FUNCTIONS: &[Function] = &[
    Function {
        name: "site",
        event: "site/get-health.json",
        memory_mb: 256,
        extra_env: &[],
        first_invocation: "`GET /api/health` (one DynamoDB read)",
    },
    Function {
        name: "oidc",
        event: "oidc/get-discovery.json",
        memory_mb: 256,
        extra_env: &[],
        first_invocation: "`GET /.well-known/openid-configuration`",
    },
    Function {
        name: "token",
        event: "token/post-token-unknown-client.json",
        memory_mb: 512,
        extra_env: &[],
        first_invocation: "`POST /token` for an unknown agency (one DynamoDB read, `invalid_client`)",
    },
    Function {
        name: "idv",
        event: "idv/get-verify.json",
        memory_mb: 512,
        extra_env: &[],
        first_invocation: "`GET /verify` without a session (to the sign-in page)",
    },
    Function {
        name: "notify-worker",
        event: "notify-worker/sqs-batch.json",
        memory_mb: 128,
        extra_env: &[],
        first_invocation: "an SQS batch of two jobs that do not open (partial batch failure)",
    },
    Function {
        name: "account-reset-job",
        event: "account-reset-job/scheduled.json",
        memory_mb: 128,
        extra_env: &[],
        first_invocation: "a scheduled run (index queries for due resets and letter reminders)",
    },
    Function {
        name: "proofing-worker",
        event: "proofing-worker/sqs-batch.json",
        memory_mb: 512,
        extra_env: &[
            ("PASSERELLE_VENDOR_URL", "https://vendors.example.gov"),
            ("PASSERELLE_PROOFING_MAX_RECEIVES", "4"),
        ],
        first_invocation: "an SQS batch naming jobs that do not exist (one read each)",
    },
    Function {
        name: "proofing-callback",
        event: "proofing-callback/post-document.json",
        memory_mb: 128,
        extra_env: &[(
            "PASSERELLE_VENDOR_CALLBACK_SECRETS",
            "events-fixture-secret-0123456789abcdef",
        )],
        first_invocation: "a signed vendor callback whose timestamp is too old (refused after the HMAC check)",
    },
];
