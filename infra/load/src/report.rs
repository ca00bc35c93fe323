//! What a run measured: latencies per step, journeys by kind and outcome, failures by
//! kind, memory and queue depth over time, and the reconciliation of every mail.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

use crate::stack::Counts;

/// Shared by every journey of a run.
#[derive(Debug, Default)]
pub struct Recorder {
    latencies: Mutex<BTreeMap<&'static str, Vec<u32>>>,
    journeys: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    failures: Mutex<BTreeMap<String, u64>>,
    samples: Mutex<Vec<Sample>>,
}

/// One look at the process and the queue.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub at: Duration,
    pub rss_kib: u64,
    pub in_flight: usize,
    pub counts: Counts,
}

impl Recorder {
    pub fn latency(&self, step: &'static str, took: Duration) {
        let micros = u32::try_from(took.as_micros()).unwrap_or(u32::MAX);
        lock(&self.latencies).entry(step).or_default().push(micros);
    }

    /// A journey of `kind` ended with `outcome` (`ok`, `refused`, `limited`, `failed`,
    /// `shed`).
    pub fn journey(&self, kind: &'static str, outcome: &'static str) {
        *lock(&self.journeys).entry((kind, outcome)).or_default() += 1;
    }

    pub fn failure(&self, what: String) {
        *lock(&self.failures).entry(what).or_default() += 1;
    }

    pub fn sample(&self, sample: Sample) {
        lock(&self.samples).push(sample);
    }

    /// Journeys that failed: the stack dropped, broke or misled one (never a refusal
    /// or a limit, which are the answers a wrong value deserves).
    pub fn unexpected(&self) -> u64 {
        lock(&self.journeys)
            .iter()
            .filter(|((_, outcome), _)| *outcome == "failed")
            .map(|(_, n)| n)
            .sum()
    }

    pub fn completed(&self) -> u64 {
        lock(&self.journeys)
            .iter()
            .filter(|((_, outcome), _)| matches!(*outcome, "ok" | "refused" | "limited"))
            .map(|(_, n)| n)
            .sum()
    }

    pub fn count(&self, kind: &'static str, outcome: &'static str) -> u64 {
        lock(&self.journeys)
            .get(&(kind, outcome))
            .copied()
            .unwrap_or(0)
    }

    pub fn samples(&self) -> Vec<Sample> {
        lock(&self.samples).clone()
    }

    /// The report as Markdown tables.
    pub fn render(&self, header: &str, reconciliation: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{header}\n");
        let _ = writeln!(out, "| journey | outcome | count |\n| --- | --- | ---: |");
        for ((kind, outcome), n) in lock(&self.journeys).iter() {
            let _ = writeln!(out, "| {kind} | {outcome} | {n} |");
        }
        let _ = writeln!(
            out,
            "\n| step | count | p50 ms | p95 ms | p99 ms | max ms |\n| --- | ---: | ---: | ---: | ---: | ---: |"
        );
        for (step, values) in lock(&self.latencies).iter_mut() {
            values.sort_unstable();
            let q = |p: f64| {
                let i = ((values.len() as f64 - 1.0) * p).round() as usize;
                f64::from(values[i]) / 1000.0
            };
            let _ = writeln!(
                out,
                "| {step} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
                values.len(),
                q(0.50),
                q(0.95),
                q(0.99),
                q(1.0)
            );
        }
        let failures = lock(&self.failures);
        if failures.is_empty() {
            let _ = writeln!(out, "\nUnexpected errors: none.");
        } else {
            let _ = writeln!(out, "\n| unexpected error | count |\n| --- | ---: |");
            for (what, n) in failures.iter() {
                let _ = writeln!(out, "| {what} | {n} |");
            }
        }
        let samples = lock(&self.samples);
        if !samples.is_empty() {
            let _ = writeln!(
                out,
                "\n| at s | RSS MiB | in flight | notify queued | delivered |\n| ---: | ---: | ---: | ---: | ---: |"
            );
            let every = (samples.len() / 12).max(1);
            for (i, s) in samples.iter().enumerate() {
                if i % every == 0 || i + 1 == samples.len() {
                    let _ = writeln!(
                        out,
                        "| {} | {:.1} | {} | {} | {} |",
                        s.at.as_secs(),
                        s.rss_kib as f64 / 1024.0,
                        s.in_flight,
                        s.counts.queued,
                        s.counts.delivered
                    );
                }
            }
        }
        let _ = writeln!(out, "\n{reconciliation}");
        out
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// This process's resident memory (the stack and the generator), from `/proc`.
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
