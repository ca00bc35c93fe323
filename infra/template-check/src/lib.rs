//! What the template checks share: `template.yaml` read as YAML (CloudFormation's short
//! tags — `!Ref`, `!GetAtt`, `!Sub` — come through as tagged values), its functions, their
//! HTTP routes and policy statements, and the workspace's files.
//!
//! The checks themselves are the tests: `tests/least_privilege.rs` and
//! `tests/route_drift.rs` (see "What the template tests guarantee" in
//! `docs/deployment.md`).
#![forbid(unsafe_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use regex::Regex;
pub use serde_norway::{Mapping, Value};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// A workspace file's text; panics (the test's failure) naming the file.
pub fn read(relative: &str) -> String {
    let path = root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `template.yaml`, parsed.
pub fn template() -> Value {
    parse_template(&read("template.yaml"))
}

/// A template's text, parsed (the tests' mutation checks parse edited copies).
pub fn parse_template(text: &str) -> Value {
    serde_norway::from_str(text).unwrap_or_else(|e| panic!("template.yaml does not parse: {e}"))
}

/// The template's `Resources`.
pub fn resources(template: &Value) -> &Mapping {
    template
        .get("Resources")
        .and_then(Value::as_mapping)
        .expect("the template has Resources")
}

/// A resource's `Type`.
pub fn resource_type<'t>(template: &'t Value, logical_id: &str) -> Option<&'t str> {
    resources(template)
        .get(logical_id)
        .and_then(|r| r.get("Type"))
        .and_then(Value::as_str)
}

/// One `AWS::Serverless::Function`.
#[derive(Debug, Clone)]
pub struct Function {
    pub logical_id: String,
    /// `Metadata.BuildProperties.Binary`: the Cargo package under `functions/`.
    pub binary: String,
    pub properties: Value,
}

/// Every function of the template, in template order.
pub fn functions(template: &Value) -> Vec<Function> {
    resources(template)
        .iter()
        .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some("AWS::Serverless::Function"))
        .map(|(id, r)| {
            let logical_id = id.as_str().expect("logical ids are strings").to_owned();
            let binary = r
                .get("Metadata")
                .and_then(|m| m.get("BuildProperties"))
                .and_then(|b| b.get("Binary"))
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("{logical_id} names no Metadata.BuildProperties.Binary"))
                .to_owned();
            Function {
                logical_id,
                binary,
                properties: r.get("Properties").cloned().unwrap_or(Value::Null),
            }
        })
        .collect()
}

/// One `HttpApi` event: a route key of the HTTP API. `method` and `path` are both absent
/// for the `$default` route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRoute {
    pub function: String,
    pub binary: String,
    pub event: String,
    pub method: Option<String>,
    pub path: Option<String>,
}

impl HttpRoute {
    /// `GET /sign-in`, or `$default`.
    pub fn key(&self) -> String {
        match (&self.method, &self.path) {
            (Some(m), Some(p)) => format!("{} {p}", m.to_ascii_uppercase()),
            _ => "$default".to_owned(),
        }
    }
}

/// Every `HttpApi` event of every function.
pub fn http_routes(template: &Value) -> Vec<HttpRoute> {
    let mut out = Vec::new();
    for f in functions(template) {
        let Some(events) = f.properties.get("Events").and_then(Value::as_mapping) else {
            continue;
        };
        for (name, event) in events {
            if event.get("Type").and_then(Value::as_str) != Some("HttpApi") {
                continue;
            }
            let props = event.get("Properties");
            let field = |k: &str| {
                props
                    .and_then(|p| p.get(k))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            out.push(HttpRoute {
                function: f.logical_id.clone(),
                binary: f.binary.clone(),
                event: name.as_str().unwrap_or_default().to_owned(),
                method: field("Method"),
                path: field("Path"),
            });
        }
    }
    out
}

/// A value that may be one item or a list of them, as a list.
pub fn one_or_many(value: Option<&Value>) -> Vec<&Value> {
    match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Sequence(items)) => items.iter().collect(),
        Some(v) => vec![v],
    }
}

/// A CloudFormation value as text, for messages and wildcard checks: strings as they
/// are, `!Tag value` for intrinsic functions, lists in brackets.
pub fn text(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Sequence(items) => {
            format!(
                "[{}]",
                items.iter().map(text).collect::<Vec<_>>().join(", ")
            )
        }
        Value::Mapping(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", text(k), text(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Tagged(t) => format!("{} {}", t.tag, text(&t.value)),
    }
}

/// The logical ids and parameters an expression refers to (`!Ref X`, `!GetAtt X.Arn`,
/// `${X}` and `${X.Arn}` in `!Sub`), without pseudo parameters (`AWS::…`) and without a
/// `!Sub`'s own variables.
pub fn references(value: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    collect_references(value, &mut out);
    out
}

fn collect_references(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Sequence(items) => items.iter().for_each(|v| collect_references(v, out)),
        Value::Mapping(m) => m.iter().for_each(|(_, v)| collect_references(v, out)),
        Value::Tagged(t) => {
            let tag = t.tag.to_string();
            match (tag.trim_start_matches('!'), &t.value) {
                ("Ref", Value::String(s)) => {
                    out.insert(s.split('.').next().unwrap_or(s).to_owned());
                }
                ("GetAtt", Value::String(s)) => {
                    out.insert(s.split('.').next().unwrap_or(s).to_owned());
                }
                ("GetAtt", Value::Sequence(items)) => {
                    if let Some(Value::String(s)) = items.first() {
                        out.insert(s.clone());
                    }
                }
                ("Sub", Value::String(s)) => sub_references(s, &BTreeSet::new(), out),
                ("Sub", Value::Sequence(items)) => {
                    let vars: BTreeSet<String> = items
                        .get(1)
                        .and_then(Value::as_mapping)
                        .map(|m| {
                            m.keys()
                                .filter_map(Value::as_str)
                                .map(str::to_owned)
                                .collect()
                        })
                        .unwrap_or_default();
                    if let Some(Value::String(s)) = items.first() {
                        sub_references(s, &vars, out);
                    }
                    if let Some(v) = items.get(1) {
                        collect_references(v, out);
                    }
                }
                (_, v) => collect_references(v, out),
            }
        }
        _ => {}
    }
    out.retain(|r| !r.starts_with("AWS::"));
}

fn sub_references(s: &str, vars: &BTreeSet<String>, out: &mut BTreeSet<String>) {
    let re = Regex::new(r"\$\{([A-Za-z0-9:]+)(?:\.[A-Za-z0-9.]+)?\}").expect("a valid regex");
    for c in re.captures_iter(s) {
        let name = &c[1];
        if !vars.contains(name) {
            out.insert(name.to_owned());
        }
    }
}

/// Every `.rs` file under `dir` (relative to the root), sorted, as (relative path, text).
pub fn rust_files(dir: &str) -> Vec<(String, String)> {
    fn walk(path: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }
    let root = root();
    let mut paths = Vec::new();
    walk(&root.join(dir), &mut paths);
    paths
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(&root)
                .unwrap_or(&p)
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{rel}: {e}"));
            (rel, text)
        })
        .collect()
}

/// A source file without its unit tests: everything from the first `#[cfg(test)]` or
/// `#[cfg(all(test, …))]` on (the crate keeps its test modules last).
pub fn without_tests(source: &str) -> &str {
    let cut = ["#[cfg(test)]", "#[cfg(all(test"]
        .iter()
        .filter_map(|m| source.find(m))
        .min()
        .unwrap_or(source.len());
    &source[..cut]
}

/// Whole-line comments (`//`, `///`, `//!`) blanked, so examples in docs are not read as
/// code. Lines are kept, so line numbers still name the source's lines.
pub fn without_comments(source: &str) -> String {
    source
        .lines()
        .map(|line| {
            let trimmed = line.trim_start();
            if trimmed.starts_with("//") { "" } else { line }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
