//! Least privilege: each function's IAM policy in `template.yaml` grants exactly the AWS
//! actions its package declares (`[package.metadata.passerelle] aws-actions` in
//! `functions/<name>/Cargo.toml`), each declared action is one the AWS adapters in
//! `shared/src` really call, and no policy grants a wildcard action or resource except the
//! exceptions listed here with the reason AWS forces them. Each grant of the envelope key
//! is further limited to the encryption contexts the function's code uses: their `purpose`
//! (`kms-decrypt-purposes`, `kms-generate-purposes`), each one a purpose the code in
//! `shared/src` really seals or opens with.
//!
//! What this cannot see: which code path of the shared library each function takes. Every
//! function is built with the `aws` feature, so every adapter is compiled into each; the
//! per-function declaration is where that knowledge lives (each Cargo.toml says why), and
//! this test keeps it and the template equal and keeps both within what the code calls.

use std::collections::{BTreeMap, BTreeSet};

use passerelle_template_check::{
    Function, Value, functions, one_or_many, read, references, resource_type, resources,
    rust_files, template, text, without_comments, without_tests,
};
use regex::Regex;

/// Allow statements whose `Resource` may be `*`: (function, action, why AWS requires it).
const RESOURCE_STAR: &[(&str, &str, &str)] = &[(
    "NotifyWorkerFunction",
    "sns:Publish",
    "SMS is published to a phone number, which has no ARN: IAM only accepts Resource '*' \
     for it. The same policy denies sns:Publish on every SNS ARN (topics, platform \
     endpoints), so what is left is direct SMS only.",
)];

/// Policies SAM attaches by itself, outside the template's `Policies`, by event type. They
/// are AWS managed policies with `Resource: '*'`; a function can only avoid them with a
/// role of its own (`Role`, which this test would then have to read). Listed so that a new
/// event type, which may bring another, is reviewed first.
const SAM_IMPLICIT: &[(&str, &str)] = &[
    (
        "*",
        "AWSLambdaBasicExecutionRole: logs:CreateLogGroup, logs:CreateLogStream, \
         logs:PutLogEvents for the function's logs",
    ),
    (
        "SQS",
        "AWSLambdaSQSQueueExecutionRole: sqs:ReceiveMessage, sqs:DeleteMessage, \
         sqs:GetQueueAttributes for the event source mapping, which polls on the \
         function's behalf",
    ),
    // HttpApi and Schedule events add resource-based invoke permissions on the function,
    // nothing on its role.
    (
        "HttpApi",
        "none on the role (a lambda:InvokeFunction permission)",
    ),
    (
        "Schedule",
        "none on the role (a lambda:InvokeFunction permission)",
    ),
];

/// Actions the adapters call that no deployed function needs: (action, why).
const NOT_DEPLOYED: &[(&str, &str)] = &[
    (
        "dynamodb:CreateTable",
        "schema.rs makes the table for moto and the local stack; in AWS CloudFormation does",
    ),
    (
        "dynamodb:DescribeTable",
        "the same: waits for the table made for moto",
    ),
    (
        "dynamodb:DescribeTimeToLive",
        "the same: TTL of the table made for moto",
    ),
    (
        "dynamodb:UpdateTimeToLive",
        "the same: TTL of the table made for moto",
    ),
    (
        "sqs:ReceiveMessage",
        "the local stack's in-process consumer; in AWS the event source mapping receives",
    ),
    (
        "sqs:DeleteMessage",
        "the same; in AWS the event source mapping deletes what the batch did not report failed",
    ),
    (
        "sqs:CreateQueue",
        "SqsQueue::create_with_dead_letter, for tests and local trials; in AWS CloudFormation \
         makes the queues",
    ),
    (
        "sqs:GetQueueAttributes",
        "the same (the dead-letter queue's ARN); in AWS the event source mapping's policy \
         has it",
    ),
    (
        "ses:CreateEmailIdentity",
        "verify_sender, for moto and development; in AWS the sender identity is set up \
         with its DKIM records before deploying",
    ),
];

/// The AWS SDK crates the adapters use, and the IAM service prefix of each.
const SDK_SERVICES: &[(&str, &str)] = &[
    ("aws_sdk_dynamodb", "dynamodb"),
    ("aws_sdk_kms", "kms"),
    ("aws_sdk_sqs", "sqs"),
    ("aws_sdk_sesv2", "ses"),
    ("aws_sdk_sns", "sns"),
];

/// Resource types that carry policy documents this test does not read: any of them in the
/// template fails the test until it is taught to check them.
const UNREAD_POLICY_TYPES: &[&str] = &[
    "AWS::IAM::Role",
    "AWS::IAM::Policy",
    "AWS::IAM::ManagedPolicy",
    "AWS::IAM::User",
    "AWS::IAM::Group",
    "AWS::SQS::QueuePolicy",
    "AWS::SNS::TopicPolicy",
    "AWS::S3::BucketPolicy",
    "AWS::SecretsManager::ResourcePolicy",
    "AWS::Lambda::Permission",
];

/// `functions/<binary>/Cargo.toml`'s `[package.metadata.passerelle]` list `key`, or `None`
/// when it is absent.
fn metadata_list(binary: &str, key: &str) -> Option<Vec<String>> {
    let path = format!("functions/{binary}/Cargo.toml");
    let manifest: toml::Table =
        toml::from_str(&read(&path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let package = manifest.get("package").and_then(|p| p.as_table());
    let name = package.and_then(|p| p.get("name")).and_then(|n| n.as_str());
    assert_eq!(
        name,
        Some(binary),
        "{path}: the package is not named {binary}"
    );
    let list = package
        .and_then(|p| p.get("metadata"))
        .and_then(|m| m.get("passerelle"))
        .and_then(|p| p.get(key))?;
    let items = list
        .as_array()
        .unwrap_or_else(|| panic!("{path}: {key} is not a list"));
    Some(
        items
            .iter()
            .map(|a| {
                a.as_str()
                    .unwrap_or_else(|| panic!("{path}: {key} holds a non-string: {a:?}"))
                    .to_owned()
            })
            .collect(),
    )
}

/// `functions/<binary>/Cargo.toml`'s `[package.metadata.passerelle] aws-actions`.
fn declared(binary: &str) -> Vec<String> {
    metadata_list(binary, "aws-actions").unwrap_or_else(|| {
        panic!(
            "functions/{binary}/Cargo.toml: no [package.metadata.passerelle] aws-actions = \
             [...] (the AWS actions this function's code calls; [] for none)"
        )
    })
}

/// One statement of a function's inline policy.
#[derive(Debug)]
struct Statement {
    sid: String,
    allow: bool,
    actions: Vec<String>,
    resources: Vec<Value>,
    condition: Option<Value>,
}

/// A function's policy statements. Only inline statements are accepted: a managed policy
/// or a SAM policy template (`DynamoDBCrudPolicy` grants Scan and batch writes) cannot be
/// compared with a declaration.
fn statements(f: &Function, problems: &mut Vec<String>) -> Vec<Statement> {
    let id = &f.logical_id;
    if f.properties.get("Role").is_some() {
        problems.push(format!(
            "{id}: has its own Role, which this test does not read: teach it, or use Policies"
        ));
    }
    let mut out = Vec::new();
    for policy in one_or_many(f.properties.get("Policies")) {
        let Some(map) = policy.as_mapping() else {
            problems.push(format!(
                "{id}: policy {} is a managed policy: use an inline Statement",
                text(policy)
            ));
            continue;
        };
        let unknown: Vec<String> = map
            .keys()
            .filter_map(Value::as_str)
            .filter(|k| !matches!(*k, "Statement" | "Version"))
            .map(str::to_owned)
            .collect();
        if !unknown.is_empty() {
            problems.push(format!(
                "{id}: policy entries {unknown:?} are SAM policy templates or unknown: \
                 use an inline Statement"
            ));
        }
        for (n, s) in one_or_many(map.get("Statement")).into_iter().enumerate() {
            let sid = s
                .get("Sid")
                .and_then(Value::as_str)
                .map_or_else(|| format!("#{n}"), str::to_owned);
            let allow = match s.get("Effect").and_then(Value::as_str) {
                Some("Allow") => true,
                Some("Deny") => false,
                other => {
                    problems.push(format!("{id}/{sid}: Effect {other:?}"));
                    continue;
                }
            };
            if allow && (s.get("NotAction").is_some() || s.get("NotResource").is_some()) {
                problems.push(format!(
                    "{id}/{sid}: NotAction/NotResource in an Allow grants everything else"
                ));
            }
            let actions = one_or_many(s.get("Action"))
                .into_iter()
                .map(|a| match a.as_str() {
                    Some(a) => a.to_owned(),
                    None => {
                        problems.push(format!("{id}/{sid}: action {} is not a string", text(a)));
                        String::new()
                    }
                })
                .collect();
            out.push(Statement {
                sid,
                allow,
                actions,
                resources: one_or_many(s.get("Resource"))
                    .into_iter()
                    .cloned()
                    .collect(),
                condition: s.get("Condition").cloned(),
            });
        }
    }
    out
}

/// The IAM service a policy resource belongs to: the type of the template resource it
/// names, or the service field of an ARN written out.
fn resource_service(template: &Value, resource: &Value) -> Option<String> {
    let types: BTreeSet<String> = references(resource)
        .iter()
        .filter_map(|r| resource_type(template, r))
        .filter_map(|t| t.split("::").nth(1))
        .map(str::to_ascii_lowercase)
        .collect();
    if types.len() == 1 {
        return types.into_iter().next();
    }
    // A written-out ARN: a string, or the template string of a `!Sub`.
    let written = match resource {
        Value::String(s) => Some(s.as_str()),
        Value::Tagged(t) if t.tag.to_string().trim_start_matches('!') == "Sub" => match &t.value {
            Value::String(s) => Some(s.as_str()),
            Value::Sequence(items) => items.first().and_then(Value::as_str),
            _ => None,
        },
        _ => None,
    }?;
    // `${AWS::Partition}` and the like hold colons: take them out first.
    let variable = Regex::new(r"\$\{[^}]*\}").expect("a valid regex");
    let written = variable.replace_all(written, "x");
    let arn = Regex::new(r"^arn:[^:]*:([a-z0-9-]+):").expect("a valid regex");
    arn.captures(&written).map(|c| c[1].to_owned())
}

/// The actions each function's policy grants, checked for wildcards on the way.
fn granted(template: &Value) -> (BTreeMap<String, BTreeSet<String>>, Vec<String>) {
    let mut problems = Vec::new();
    let mut out = BTreeMap::new();
    for f in functions(template) {
        let id = f.logical_id.clone();
        let mut actions = BTreeSet::new();
        for s in statements(&f, &mut problems) {
            if !s.allow {
                // A Deny only takes away.
                continue;
            }
            for a in &s.actions {
                if a.contains('*') || a.contains('?') || !a.contains(':') {
                    problems.push(format!(
                        "{id}/{}: wildcard or malformed action {a:?}",
                        s.sid
                    ));
                }
                actions.insert(a.clone());
            }
            if s.resources.is_empty() {
                problems.push(format!("{id}/{}: no Resource", s.sid));
            }
            for r in &s.resources {
                let shown = text(r);
                if shown.contains('*') {
                    for a in &s.actions {
                        if !RESOURCE_STAR.iter().any(|(f, x, _)| *f == id && x == a) {
                            problems.push(format!(
                                "{id}/{}: {a} on the wildcard resource {shown:?}: name the \
                                 resource, or list the exception in RESOURCE_STAR with the \
                                 reason AWS requires it",
                                s.sid
                            ));
                        }
                    }
                    continue;
                }
                let service = resource_service(template, r);
                for a in &s.actions {
                    let wanted = a.split(':').next().unwrap_or_default();
                    if service.as_deref() != Some(wanted) {
                        problems.push(format!(
                            "{id}/{}: {a} on {shown}, which is not a {wanted} resource \
                             (found {service:?})",
                            s.sid
                        ));
                    }
                }
            }
        }
        out.insert(id, actions);
    }
    (out, problems)
}

/// The IAM actions the AWS adapters call: action → call sites (`file:line`).
fn called_by_code() -> (BTreeMap<String, Vec<String>>, Vec<String>) {
    let mut problems = Vec::new();
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    // A fluent SDK call: the client (a field or variable named after it), perhaps
    // borrowed or cloned, then the operation without arguments: `self.client.get_item()`.
    let call = Regex::new(
        r"\b(?:client|dynamodb|kms|sqs|ses|sns)\s*(?:\.\s*(?:borrow|clone|as_ref)\s*\(\s*\)\s*)?\.\s*([a-z][a-z0-9_]*)\s*\(\s*\)",
    )
    .expect("a valid regex");
    let sdk = Regex::new(r"\baws_sdk_[a-z0-9_]+").expect("a valid regex");
    for (file, source) in rust_files("shared/src") {
        let code = without_comments(without_tests(&source));
        let crates: BTreeSet<&str> = sdk.find_iter(&code).map(|m| m.as_str()).collect();
        if crates.is_empty() {
            continue;
        }
        for c in &crates {
            if !SDK_SERVICES.iter().any(|(k, _)| k == c) {
                problems.push(format!(
                    "{file}: uses {c}, which SDK_SERVICES does not map to an IAM service"
                ));
            }
        }
        let ops: Vec<(String, usize)> = call
            .captures_iter(&code)
            .filter(|c| !matches!(&c[1], "borrow" | "clone" | "as_ref" | "to_owned"))
            .map(|c| {
                let at = c.get(1).map_or(0, |m| m.start());
                (c[1].to_owned(), code[..at].lines().count())
            })
            .collect();
        if ops.is_empty() {
            if code.contains(".send()") {
                problems.push(format!(
                    "{file}: sends AWS requests this scan does not recognise (it reads \
                     `client.operation()`): extend it"
                ));
            }
            continue;
        }
        if crates.len() != 1 {
            problems.push(format!(
                "{file}: calls AWS operations and uses several SDK crates {crates:?}: the \
                 scan cannot tell which service each call is for"
            ));
            continue;
        }
        let krate = crates.iter().next().copied().unwrap_or_default();
        let service = SDK_SERVICES
            .iter()
            .find(|(k, _)| *k == krate)
            .map_or("?", |(_, s)| *s);
        for (op, line) in ops {
            let site = format!("{file}:{line}");
            for action in iam_actions(service, &op, &code) {
                out.entry(action).or_default().push(site.clone());
            }
        }
    }
    (out, problems)
}

/// The IAM actions an SDK operation needs: its name in PascalCase, but for these. DynamoDB
/// has no IAM action for transactions: each item of a TransactWriteItems is authorised as
/// the write it holds, so the actions are those of the item builders the file uses.
fn iam_actions(service: &str, op: &str, code: &str) -> Vec<String> {
    let pascal: String = op
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect();
    match (service, op) {
        ("dynamodb", "transact_write_items") => [
            ("Put::builder", "PutItem"),
            ("Update::builder", "UpdateItem"),
            ("Delete::builder", "DeleteItem"),
            ("ConditionCheck::builder", "ConditionCheckItem"),
        ]
        .iter()
        .filter(|(builder, _)| code.contains(builder))
        .map(|(_, a)| format!("dynamodb:{a}"))
        .collect(),
        ("dynamodb", "transact_get_items") => vec!["dynamodb:GetItem".into()],
        // IAM splits re-encryption into its two halves.
        ("kms", "re_encrypt") => vec!["kms:ReEncryptFrom".into(), "kms:ReEncryptTo".into()],
        _ => vec![format!("{service}:{pascal}")],
    }
}

#[test]
fn every_function_declares_the_actions_it_calls() {
    let t = template();
    let fs = functions(&t);
    let mut in_template: Vec<&str> = fs.iter().map(|f| f.binary.as_str()).collect();
    in_template.sort_unstable();
    let mut dirs: Vec<String> =
        std::fs::read_dir(passerelle_template_check::root().join("functions"))
            .expect("functions/")
            .filter_map(Result::ok)
            .filter(|e| e.path().join("Cargo.toml").is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
    dirs.sort();
    assert_eq!(
        in_template, dirs,
        "each functions/<name> is one template function (Metadata.BuildProperties.Binary)"
    );
    let action = Regex::new(r"^[a-z0-9-]+:[A-Za-z0-9]+$").expect("a valid regex");
    for f in &fs {
        let actions = declared(&f.binary);
        let unique: BTreeSet<&String> = actions.iter().collect();
        assert_eq!(
            unique.len(),
            actions.len(),
            "{}: aws-actions repeats an action",
            f.binary
        );
        for a in &actions {
            assert!(
                action.is_match(a),
                "{}: {a:?} is not one IAM action (service:Action, no wildcard)",
                f.binary
            );
        }
    }
}

#[test]
fn policies_grant_exactly_the_declared_actions_and_no_wildcards() {
    let t = template();
    let problems = policy_problems(&t);
    assert!(
        problems.is_empty(),
        "least privilege:\n  {}",
        problems.join("\n  ")
    );
}

fn policy_problems(t: &Value) -> Vec<String> {
    let (granted, mut problems) = granted(t);
    if let Some(g) = t.get("Globals").and_then(|g| g.get("Function")) {
        for k in ["Policies", "Role", "PermissionsBoundary"] {
            if g.get(k).is_some() {
                problems.push(format!("Globals.Function.{k}: grant per function instead"));
            }
        }
    }
    for f in functions(t) {
        let declared: BTreeSet<String> = declared(&f.binary).into_iter().collect();
        let granted = granted.get(&f.logical_id).cloned().unwrap_or_default();
        for a in granted.difference(&declared) {
            problems.push(format!(
                "{}: grants {a}, which functions/{}/Cargo.toml does not declare (remove the \
                 grant, or declare the action and say where the code calls it)",
                f.logical_id, f.binary
            ));
        }
        for a in declared.difference(&granted) {
            problems.push(format!(
                "{}: declares {a} in functions/{}/Cargo.toml, which its policy does not grant",
                f.logical_id, f.binary
            ));
        }
    }
    problems
}

#[test]
fn declared_actions_are_called_by_the_aws_adapters() {
    let t = template();
    let (called, mut problems) = called_by_code();
    assert!(
        called.contains_key("dynamodb:GetItem") && called.contains_key("kms:Decrypt"),
        "the scan of shared/src found no store or key calls: it is broken ({called:?})"
    );
    let mut declared_anywhere = BTreeSet::new();
    for f in functions(&t) {
        for a in declared(&f.binary) {
            if !called.contains_key(&a) {
                problems.push(format!(
                    "functions/{}: declares {a}, which no AWS adapter in shared/src calls",
                    f.binary
                ));
            }
            if NOT_DEPLOYED.iter().any(|(x, _)| *x == a) {
                problems.push(format!(
                    "functions/{}: declares {a}, which NOT_DEPLOYED says no function needs",
                    f.binary
                ));
            }
            declared_anywhere.insert(a);
        }
    }
    // An adapter call no function may make would fail with AccessDenied in AWS only.
    for (a, sites) in &called {
        if !declared_anywhere.contains(a) && !NOT_DEPLOYED.iter().any(|(x, _)| x == a) {
            problems.push(format!(
                "{a} is called ({}) but no function declares it: declare it where it is \
                 needed and grant it, or list it in NOT_DEPLOYED with the reason",
                sites.join(", ")
            ));
        }
    }
    for (a, _) in NOT_DEPLOYED {
        if !called.contains_key(*a) {
            problems.push(format!(
                "NOT_DEPLOYED lists {a}, which the code no longer calls"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "declared actions:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn event_types_bring_only_the_reviewed_implicit_policies() {
    let t = template();
    for f in functions(&t) {
        let Some(events) = f.properties.get("Events").and_then(Value::as_mapping) else {
            continue;
        };
        for (name, e) in events {
            let kind = e.get("Type").and_then(Value::as_str).unwrap_or_default();
            assert!(
                SAM_IMPLICIT.iter().any(|(k, _)| *k == kind),
                "{}/{}: event type {kind} may make SAM attach another managed policy: \
                 review it and list it in SAM_IMPLICIT",
                f.logical_id,
                text(name)
            );
        }
    }
}

/// Key policies name their own key as `*`. The one statement allowed to grant `kms:*` is
/// the account's default one: it gives the account (its root) the key's administration
/// and lets IAM policies grant use of it — without it the key can become unmanageable,
/// which is why AWS writes it into every default key policy. It gives nobody use of the
/// key by itself: the functions' use comes only from their IAM policies, checked above.
/// Any other statement must name its actions.
#[test]
fn key_policies_hold_only_the_account_statement_and_named_actions() {
    let t = template();
    let mut problems = Vec::new();
    let mut keys = 0;
    for (id, r) in resources(&t) {
        let id = text(id);
        let kind = r.get("Type").and_then(Value::as_str).unwrap_or_default();
        if UNREAD_POLICY_TYPES.contains(&kind) {
            problems.push(format!(
                "{id}: {kind} carries a policy this test does not read"
            ));
        }
        if kind != "AWS::KMS::Key" {
            continue;
        }
        keys += 1;
        let policy = r.get("Properties").and_then(|p| p.get("KeyPolicy"));
        for s in one_or_many(policy.and_then(|p| p.get("Statement"))) {
            let sid = s.get("Sid").map(text).unwrap_or_default();
            if s.get("Effect").and_then(Value::as_str) != Some("Allow") {
                continue;
            }
            let principal = s.get("Principal").map(text).unwrap_or_default();
            let account_root =
                principal == "{AWS: !Sub arn:${AWS::Partition}:iam::${AWS::AccountId}:root}";
            if account_root {
                continue;
            }
            for a in one_or_many(s.get("Action")) {
                if text(a).contains('*') {
                    problems.push(format!(
                        "{id}/{sid}: {} for {principal}: only the account root statement may \
                         grant kms:*",
                        text(a)
                    ));
                }
            }
            if s.get("Condition").is_none() && principal.contains('*') {
                problems.push(format!("{id}/{sid}: any principal, without a condition"));
            }
        }
    }
    assert!(
        keys > 0,
        "the template has no KMS key: is this the right template?"
    );
    assert!(
        problems.is_empty(),
        "key policies:\n  {}",
        problems.join("\n  ")
    );
}

/// The vendors' URL goes to the proofing worker and the callback secrets to the callback
/// function, and to no other (there is no secret store to grant: they are parameters).
#[test]
fn vendor_settings_reach_only_their_function() {
    let t = template();
    let global = t
        .get("Globals")
        .and_then(|g| g.get("Function"))
        .and_then(|f| f.get("Environment"))
        .and_then(|e| e.get("Variables"));
    for (var, owner) in [
        ("PASSERELLE_VENDOR_URL", "proofing-worker"),
        ("PASSERELLE_VENDOR_CALLBACK_SECRETS", "proofing-callback"),
    ] {
        assert!(
            global.and_then(|v| v.get(var)).is_none(),
            "{var} is set for every function in Globals"
        );
        let holders: Vec<String> = functions(&t)
            .into_iter()
            .filter(|f| {
                f.properties
                    .get("Environment")
                    .and_then(|e| e.get("Variables"))
                    .and_then(|v| v.get(var))
                    .is_some()
            })
            .map(|f| f.binary)
            .collect();
        assert_eq!(holders, vec![owner.to_owned()], "who gets {var}");
    }
}

/// The template's text with the first `from` after `resource`'s own line replaced by `to`,
/// parsed: an edited copy for the checks' self-tests.
fn edited(source: &str, resource: &str, from: &str, to: &str) -> Value {
    let start = source
        .find(&format!("\n  {resource}:\n"))
        .unwrap_or_else(|| panic!("the template has no resource {resource}"));
    let at = source[start..]
        .find(from)
        .map(|i| start + i)
        .unwrap_or_else(|| panic!("{resource} no longer holds {from:?}"));
    let text = format!("{}{to}{}", &source[..at], &source[at + from.len()..]);
    passerelle_template_check::parse_template(&text)
}

/// The checks above can fail: a wildcard, an undeclared grant and a missing grant in an
/// edited copy of the template are each caught.
#[test]
fn the_policy_check_catches_a_wildcard_and_an_undeclared_or_missing_grant() {
    let source = read("template.yaml");
    let edit = |from: &str, to: &str| edited(&source, "TokenFunction", from, to);
    let token_open = "            - Sid: EnvelopeKeyOpen\n              Effect: Allow\n              Action: kms:Decrypt\n";
    let cases = [
        (
            edit(token_open, &token_open.replace("kms:Decrypt", "'kms:*'")),
            "wildcard or malformed action \"kms:*\"",
        ),
        (
            edit(
                token_open,
                &token_open.replace("kms:Decrypt", "[kms:Decrypt, kms:Encrypt]"),
            ),
            "grants kms:Encrypt",
        ),
        (
            edit(
                token_open,
                &token_open.replace("kms:Decrypt", "kms:GenerateDataKey"),
            ),
            "declares kms:Decrypt",
        ),
        (
            edit(
                "            # Opens the signing keys and the fingerprint key",
                "            - Sid: Everything\n              Effect: Allow\n              Action: dynamodb:GetItem\n              Resource: '*'\n            # Opens the signing keys and the fingerprint key",
            ),
            "dynamodb:GetItem on the wildcard resource",
        ),
    ];
    for (t, expected) in cases {
        let problems = policy_problems(&t);
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "expected a problem containing {expected:?}, got {problems:#?}"
        );
    }
}

// ------------------------------------------------------------ encryption-context purposes

/// The envelope key's actions that carry an encryption context, and the list of each
/// function's `[package.metadata.passerelle]` naming the purposes it may use them for.
/// Every sealed value's context has a `purpose` (`shared/src/keys/mod.rs`), and KMS refuses
/// to unwrap a data key with another context than it was made with, so a grant limited to
/// some purposes cannot open what was sealed for the others.
const PURPOSE_LISTS: &[(&str, &str)] = &[
    ("kms:Decrypt", "kms-decrypt-purposes"),
    ("kms:GenerateDataKey", "kms-generate-purposes"),
];

/// The condition key of the context's `purpose`. With `StringEquals` and a list, the
/// request's (single) purpose must be one of the list; a request without one is refused.
const PURPOSE_KEY: &str = "kms:EncryptionContext:purpose";

/// Code under `shared/src` that is not the product: the adapters' conformance suites seal
/// test values under made-up purposes (`pii`, `other`), for the local and the AWS key
/// services alike.
const NOT_PRODUCT: &[&str] = &["shared/src/conformance/"];

/// A function's declared purposes, by action of [`PURPOSE_LISTS`].
type Purposes = BTreeMap<String, Vec<String>>;

/// `functions/<binary>/Cargo.toml`'s purpose lists.
fn declared_purposes(binary: &str) -> Purposes {
    PURPOSE_LISTS
        .iter()
        .map(|(action, key)| {
            let list = metadata_list(binary, key).unwrap_or_else(|| {
                panic!(
                    "functions/{binary}/Cargo.toml: no [package.metadata.passerelle] {key} = \
                     [...] (the encryption-context purposes its code uses {action} for, each \
                     with where; [] for none)"
                )
            });
            ((*action).to_owned(), list)
        })
        .collect()
}

/// The purposes a statement's condition allows, or what is wrong with it. The one form
/// accepted: `StringEquals: {'kms:EncryptionContext:purpose': [plain strings]}`, nothing
/// else in the condition (`ForAnyValue:`, `…IfExists`, `StringLike` and other keys would
/// each loosen or blur it).
fn condition_purposes(condition: Option<&Value>) -> Result<BTreeSet<String>, String> {
    let expected = format!("Condition: {{StringEquals: {{'{PURPOSE_KEY}': [purposes]}}}}");
    let Some(condition) = condition else {
        return Err(format!("no purpose condition (write {expected})"));
    };
    let operators = condition
        .as_mapping()
        .ok_or_else(|| format!("a condition that is not a mapping: {}", text(condition)))?;
    let shown = text(condition);
    if operators.len() != 1 {
        return Err(format!(
            "the condition {shown} holds more than StringEquals on the purpose ({expected})"
        ));
    }
    let keys = operators
        .get("StringEquals")
        .and_then(Value::as_mapping)
        .ok_or_else(|| format!("the condition {shown} is not {expected}"))?;
    if keys.len() != 1 {
        return Err(format!(
            "the condition {shown} tests more than the purpose ({expected})"
        ));
    }
    let values = keys
        .get(PURPOSE_KEY)
        .ok_or_else(|| format!("the condition {shown} does not test {PURPOSE_KEY}"))?;
    let mut out = BTreeSet::new();
    for v in one_or_many(Some(values)) {
        let purpose = v
            .as_str()
            .filter(|p| !p.is_empty() && !p.contains(['*', '?', '$']))
            .ok_or_else(|| {
                format!(
                    "purpose {} in the condition is not a plain string (no wildcard, \
                     variable or intrinsic function)",
                    text(v)
                )
            })?;
        if !out.insert(purpose.to_owned()) {
            return Err(format!("the condition repeats the purpose {purpose:?}"));
        }
    }
    if out.is_empty() {
        return Err("the condition lists no purpose".into());
    }
    Ok(out)
}

/// Each function's envelope-key grants against its declared purposes: every Allow of a
/// KMS action is one of [`PURPOSE_LISTS`] and carries the purpose condition, and the
/// purposes granted for each action are exactly those declared, which in turn go with
/// the declared actions.
fn purpose_problems(t: &Value, purposes_of: &dyn Fn(&str) -> Purposes) -> Vec<String> {
    let mut problems = Vec::new();
    for f in functions(t) {
        let id = &f.logical_id;
        let path = format!("functions/{}/Cargo.toml", f.binary);
        // The statements' other faults are the policy test's to report.
        let mut elsewhere = Vec::new();
        let mut granted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for s in statements(&f, &mut elsewhere) {
            if !s.allow {
                continue;
            }
            let kms: Vec<&String> = s.actions.iter().filter(|a| a.starts_with("kms:")).collect();
            // The MAC key's grants carry no encryption context: mac_key_problems reads them.
            if kms.is_empty() || kms.iter().all(|a| MAC_ACTIONS.contains(&a.as_str())) {
                continue;
            }
            for a in &kms {
                if !PURPOSE_LISTS.iter().any(|(x, _)| x == a) {
                    problems.push(format!(
                        "{id}/{}: grants {a}, which the purpose check does not know: list it in \
                         PURPOSE_LISTS with the metadata naming its purposes",
                        s.sid
                    ));
                }
            }
            for r in &s.resources {
                if !references(r).contains("EnvelopeKey") {
                    problems.push(format!(
                        "{id}/{}: a KMS grant on {}, not on EnvelopeKey (the one key whose \
                         uses this test knows)",
                        s.sid,
                        text(r)
                    ));
                }
            }
            match condition_purposes(s.condition.as_ref()) {
                Ok(purposes) => {
                    for a in kms {
                        granted
                            .entry(a.clone())
                            .or_default()
                            .extend(purposes.clone());
                    }
                }
                Err(e) => problems.push(format!(
                    "{id}/{}: {}: {e}",
                    s.sid,
                    kms.iter()
                        .map(|a| a.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
        }
        let actions: BTreeSet<String> = declared(&f.binary).into_iter().collect();
        for (action, list) in purposes_of(&f.binary) {
            let key = PURPOSE_LISTS
                .iter()
                .find(|(a, _)| *a == action)
                .map_or("?", |(_, k)| *k);
            let wanted: BTreeSet<String> = list.iter().cloned().collect();
            if wanted.len() != list.len() {
                problems.push(format!("{path}: {key} repeats a purpose"));
            }
            match (actions.contains(&action), wanted.is_empty()) {
                (true, true) => problems.push(format!(
                    "{path}: declares {action} but no purpose for it in {key}"
                )),
                (false, false) => problems.push(format!(
                    "{path}: lists {key} {list:?} but does not declare {action}"
                )),
                _ => {}
            }
            let have = granted.get(&action).cloned().unwrap_or_default();
            for p in have.difference(&wanted) {
                problems.push(format!(
                    "{id}: grants {action} for purpose {p:?}, which {path} does not list in \
                     {key} (remove it from the condition, or declare it with where the code \
                     uses it)"
                ));
            }
            // A missing grant of the action itself is the policy test's report.
            if granted.contains_key(&action) {
                for p in wanted.difference(&have) {
                    problems.push(format!(
                        "{id}: {path} lists purpose {p:?} in {key}, which its {action} \
                         condition does not allow"
                    ));
                }
            }
        }
    }
    problems
}

// ------------------------------------------------------------ the MAC key

/// The actions on the MAC key (`MacKey`, keys/kms.rs `mac`). `GenerateMac` carries no
/// encryption context (the MAC's purpose is inside its message), so its grants are
/// limited otherwise: to the MAC key alone, and to HMAC-SHA-256 by `kms:MacAlgorithm`.
const MAC_ACTIONS: &[&str] = &["kms:GenerateMac"];
const MAC_ALGORITHM_KEY: &str = "kms:MacAlgorithm";

/// Each function's grants of the MAC key: a statement granting a MAC action grants
/// nothing else, on `MacKey` only, under `StringEquals: {kms:MacAlgorithm: HMAC_SHA_256}`
/// and nothing more; and no other statement names `MacKey`.
fn mac_key_problems(t: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for f in functions(t) {
        let id = &f.logical_id;
        let mut elsewhere = Vec::new();
        for s in statements(&f, &mut elsewhere) {
            if !s.allow {
                continue;
            }
            let mac = s.actions.iter().any(|a| MAC_ACTIONS.contains(&a.as_str()));
            let on_mac_key = s.resources.iter().any(|r| references(r).contains("MacKey"));
            if !mac && !on_mac_key {
                continue;
            }
            for a in &s.actions {
                if !MAC_ACTIONS.contains(&a.as_str()) {
                    problems.push(format!(
                        "{id}/{}: grants {a} beside the MAC key's actions: give the MAC \
                         key a statement of its own",
                        s.sid
                    ));
                }
            }
            for r in &s.resources {
                let refs = references(r);
                if !refs.contains("MacKey") || refs.len() != 1 {
                    problems.push(format!(
                        "{id}/{}: a MAC grant on {}, not on MacKey alone",
                        s.sid,
                        text(r)
                    ));
                }
            }
            let algorithm = s.condition.as_ref().and_then(|c| {
                let ops = c.as_mapping().filter(|m| m.len() == 1)?;
                let keys = ops
                    .get("StringEquals")
                    .and_then(Value::as_mapping)
                    .filter(|m| m.len() == 1)?;
                keys.get(MAC_ALGORITHM_KEY).and_then(Value::as_str)
            });
            if algorithm != Some("HMAC_SHA_256") {
                problems.push(format!(
                    "{id}/{}: the MAC grant's condition is not exactly \
                     {{StringEquals: {{'{MAC_ALGORITHM_KEY}': HMAC_SHA_256}}}}",
                    s.sid
                ));
            }
        }
    }
    problems
}

#[test]
fn mac_key_grants_are_generate_mac_on_the_mac_key_with_hmac_sha_256_only() {
    let t = template();
    let problems = mac_key_problems(&t);
    assert!(problems.is_empty(), "MAC key:\n  {}", problems.join("\n  "));
    // The functions that make MACs are the three that declare it, and nothing else does
    let granted: Vec<String> = functions(&t)
        .into_iter()
        .filter(|f| declared(&f.binary).iter().any(|a| a == "kms:GenerateMac"))
        .map(|f| f.binary)
        .collect();
    assert_eq!(granted, ["site", "idv", "oidc"], "who may make MACs");
    // And the check can fail: another action, another key, no condition
    let source = read("template.yaml");
    let mac = "              Action: kms:GenerateMac\n              Resource: !GetAtt MacKey.Arn\n";
    for (to, expected) in [
        (
            mac.replace("kms:GenerateMac", "[kms:GenerateMac, kms:Decrypt]"),
            "grants kms:Decrypt beside",
        ),
        (
            mac.replace("MacKey.Arn", "EnvelopeKey.Arn"),
            "not on MacKey alone",
        ),
        (
            mac.replace("kms:GenerateMac", "kms:VerifyMac"),
            "grants kms:VerifyMac beside",
        ),
    ] {
        let t = edited(&source, "IdvFunction", mac, &to);
        let mut problems = mac_key_problems(&t);
        problems.extend(purpose_problems(&t, &declared_purposes));
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "expected a problem containing {expected:?}, got {problems:#?}"
        );
    }
    let condition = "                  'kms:MacAlgorithm': HMAC_SHA_256\n";
    let t = edited(
        &source,
        "IdvFunction",
        condition,
        "                  'kms:MacAlgorithm': HMAC_SHA_512\n",
    );
    assert!(
        mac_key_problems(&t)
            .iter()
            .any(|p| p.contains("condition is not exactly")),
        "a MAC grant for another algorithm is caught"
    );
}

/// The purposes the code seals and opens with: purpose → where (`file:line`). A context
/// is made by `EncryptionContext::new()` and its purpose is its first pair, a literal
/// (`.with("purpose", "email")`) or a parameter of the function that makes it, whose
/// callers in the same module pass literals (`context("totp", user_id)` in `mfa/`). Anything
/// else is a problem: the test could not tell which purposes exist.
fn purposes_in(files: &[(String, String)]) -> (BTreeMap<String, Vec<String>>, Vec<String>) {
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut problems = Vec::new();
    let new_context = Regex::new(r"EncryptionContext::new\(\)").expect("a valid regex");
    let purpose = Regex::new(r#"^\s*\.with\(\s*"purpose"\s*,\s*("([^"]*)"|[a-z_][a-z0-9_]*)\s*\)"#)
        .expect("a valid regex");
    let function =
        Regex::new(r"fn\s+([a-z_][a-z0-9_]*)\s*(?:<[^>]*>)?\s*\(([^)]*)\)").expect("a valid regex");
    let line_of = |code: &str, at: usize| code[..at].matches('\n').count() + 1;
    let code_of: Vec<(String, String)> = files
        .iter()
        .filter(|(file, _)| !NOT_PRODUCT.iter().any(|d| file.starts_with(d)))
        .map(|(file, source)| (file.clone(), without_comments(without_tests(source))))
        .collect();
    for (file, code) in &code_of {
        for m in new_context.find_iter(code) {
            let site = format!("{file}:{}", line_of(code, m.start()));
            let Some(c) = purpose.captures(&code[m.end()..]) else {
                problems.push(format!(
                    "{site}: an encryption context whose first pair is not its purpose \
                     (`.with(\"purpose\", <literal or parameter>)`): KMS conditions cannot \
                     limit it"
                ));
                continue;
            };
            if let Some(literal) = c.get(2) {
                found
                    .entry(literal.as_str().to_owned())
                    .or_default()
                    .push(site);
                continue;
            }
            // A parameter: the function it belongs to, and the literals its callers pass.
            let name = &c[1];
            let enclosing = function.captures_iter(&code[..m.start()]).last();
            let index = enclosing.as_ref().and_then(|f| {
                f[2].split(',')
                    .position(|p| p.trim().starts_with(&format!("{name}:")))
            });
            let (Some(f), Some(index)) = (enclosing, index) else {
                problems.push(format!(
                    "{site}: the purpose is `{name}`, not a literal nor a parameter of the \
                     function that makes the context"
                ));
                continue;
            };
            let maker = f[1].to_owned();
            let dir = file.rsplit_once('/').map_or("", |(d, _)| d);
            let call = Regex::new(&format!(r"\b{maker}\(([^()]*)\)")).expect("a valid regex");
            let mut callers = 0;
            for (other, other_code) in &code_of {
                if other.rsplit_once('/').map_or("", |(d, _)| d) != dir {
                    continue;
                }
                for call in call.captures_iter(other_code) {
                    let at = call.get(0).map_or(0, |g| g.start());
                    if other_code[..at].trim_end().ends_with("fn") {
                        continue;
                    }
                    let args: Vec<&str> = call[1].split(',').map(str::trim).collect();
                    let arg = args.get(index).copied().unwrap_or_default();
                    let call_site = format!("{other}:{}", line_of(other_code, at));
                    match arg.strip_prefix('"').and_then(|a| a.strip_suffix('"')) {
                        Some(p) => {
                            callers += 1;
                            found.entry(p.to_owned()).or_default().push(call_site);
                        }
                        None => problems.push(format!(
                            "{call_site}: {maker}(…) is given the purpose `{arg}`, not a \
                             literal: the test cannot tell which purposes exist"
                        )),
                    }
                }
            }
            if callers == 0 {
                problems.push(format!(
                    "{site}: {maker}'s purpose parameter is given no literal in {dir}/"
                ));
            }
        }
    }
    (found, problems)
}

/// Declared purposes that no code uses, and purposes the code uses that no function may
/// seal or open (that code would fail in AWS only, with AccessDenied).
fn declared_purpose_problems(
    declarations: &[(String, Purposes)],
    in_code: &BTreeMap<String, Vec<String>>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut by_action: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (binary, purposes) in declarations {
        for (action, list) in purposes {
            for p in list {
                if !in_code.contains_key(p) {
                    problems.push(format!(
                        "functions/{binary}/Cargo.toml: purpose {p:?} (for {action}) is used \
                         by no encryption context in shared/src"
                    ));
                }
                by_action.entry(action).or_default().insert(p);
            }
        }
    }
    for (p, sites) in in_code {
        for (action, key) in PURPOSE_LISTS {
            if !by_action
                .get(action)
                .is_some_and(|s| s.contains(p.as_str()))
            {
                problems.push(format!(
                    "purpose {p:?} ({}) is in no function's {key}: no function may {action} \
                     for it",
                    sites.join(", ")
                ));
            }
        }
    }
    problems
}

#[test]
fn envelope_key_grants_are_limited_to_the_declared_purposes() {
    let t = template();
    let problems = purpose_problems(&t, &declared_purposes);
    assert!(
        problems.is_empty(),
        "envelope key purposes:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn declared_purposes_are_the_ones_the_code_uses() {
    let t = template();
    let (in_code, mut problems) = purposes_in(&rust_files("shared/src"));
    // The scan must see both forms: literals and the second factors' parameter.
    for p in [
        "fingerprint-key",
        "idv-profile",
        "notify-job",
        "totp",
        "phone",
    ] {
        assert!(
            in_code.contains_key(p),
            "the scan of shared/src did not find the purpose {p:?}: it is broken ({in_code:?})"
        );
    }
    let declarations: Vec<(String, Purposes)> = functions(&t)
        .into_iter()
        .map(|f| {
            let purposes = declared_purposes(&f.binary);
            (f.binary, purposes)
        })
        .collect();
    problems.extend(declared_purpose_problems(&declarations, &in_code));
    assert!(
        problems.is_empty(),
        "declared purposes:\n  {}",
        problems.join("\n  ")
    );
}

/// The purpose checks can fail: on edited copies of the template, a grant without the
/// condition, with another operator, with a purpose not declared or without one declared;
/// a declared purpose no code uses; a context made without a purpose.
#[test]
fn the_purpose_check_catches_a_missing_condition_and_other_purposes() {
    let source = read("template.yaml");
    let token_condition = "              Condition:\n                StringEquals:\n                  'kms:EncryptionContext:purpose':\n                    - fingerprint-key\n";
    let edit = |from: &str, to: &str| edited(&source, "TokenFunction", from, to);
    let cases = [
        (
            edit("              Condition:\n", "              Ignored:\n"),
            "TokenFunction/EnvelopeKeyOpen: kms:Decrypt: no purpose condition",
        ),
        (
            edit(
                token_condition,
                &token_condition.replace("StringEquals", "StringLike"),
            ),
            "is not Condition: {StringEquals",
        ),
        (
            edit(
                token_condition,
                &token_condition.replace("StringEquals", "'ForAnyValue:StringEquals'"),
            ),
            "is not Condition: {StringEquals",
        ),
        (
            edit(
                "                    - fingerprint-key\n",
                "                    - fingerprint-key\n                    - idv-profile\n",
            ),
            "TokenFunction: grants kms:Decrypt for purpose \"idv-profile\", which \
             functions/token/Cargo.toml does not list",
        ),
        (
            edit("                    - email\n", ""),
            "lists purpose \"email\" in kms-decrypt-purposes, which its kms:Decrypt \
             condition does not allow",
        ),
        (
            edit(
                "                    - fingerprint-key\n",
                "                    - '*'\n",
            ),
            "is not a plain string",
        ),
        (
            edited(
                &source,
                "NotifyWorkerFunction",
                "              Condition:\n",
                "              Condition:\n                StringEquals:\n                  'kms:EncryptionContext:user': u-1\n              Ignored:\n",
            ),
            "NotifyWorkerFunction/EnvelopeKeyOpen: kms:Decrypt: the condition",
        ),
    ];
    for (t, expected) in cases {
        let problems = purpose_problems(&t, &declared_purposes);
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "expected a problem containing {expected:?}, got {problems:#?}"
        );
    }
    // The unedited template passes the same check.
    let clean = purpose_problems(&template(), &declared_purposes);
    assert!(clean.is_empty(), "{clean:#?}");

    // A purpose declared that only the conformance suites use (`pii`: identity data has
    // purposes of its own) is refused, and so is a purpose sealed that nobody may open.
    let (in_code, _) = purposes_in(&rust_files("shared/src"));
    let mut token = declared_purposes("token");
    token
        .entry("kms:Decrypt".into())
        .or_default()
        .push("pii".into());
    let problems = declared_purpose_problems(&[("token".into(), token)], &in_code);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("purpose \"pii\" (for kms:Decrypt) is used by no encryption")),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("purpose \"proofing-job\"")
                && p.contains("no function may kms:Decrypt")),
        "{problems:#?}"
    );

    // A context without a purpose, or with one the scan cannot read, is reported.
    let files = [(
        "shared/src/example/mod.rs".to_owned(),
        "fn a(u: &str) -> EncryptionContext {\n    EncryptionContext::new().with(\"user\", u)\n}\n\
         fn b(kind: &str) -> EncryptionContext {\n    EncryptionContext::new().with(\"purpose\", kind)\n}\n\
         fn c(purpose: &str) -> EncryptionContext {\n    EncryptionContext::new().with(\"purpose\", purpose)\n}\n\
         fn d(p: &str) { c(\"sms\"); c(p); }\n\
         fn e() -> EncryptionContext {\n    let k = \"x\";\n    EncryptionContext::new().with(\"purpose\", k)\n}\n"
            .to_owned(),
    )];
    let (found, problems) = purposes_in(&files);
    assert_eq!(found.keys().collect::<Vec<_>>(), ["sms"], "{problems:#?}");
    for expected in [
        "mod.rs:2: an encryption context whose first pair is not its purpose",
        "mod.rs:5: b's purpose parameter is given no literal",
        "mod.rs:13: the purpose is `k`, not a literal nor a parameter",
        "c(…) is given the purpose `p`",
    ] {
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "expected a problem containing {expected:?}, got {problems:#?}"
        );
    }
}
