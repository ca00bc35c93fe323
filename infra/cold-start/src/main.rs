//! Measures each Lambda function's cold start on this machine. For every run it starts
//! the function's release bootstrap as Lambda would (a fresh process, the Runtime API in
//! `AWS_LAMBDA_RUNTIME_API`, the template's environment, its AWS adapters pointed at
//! moto_server) and times exec → first poll for work (initialisation: config read, SDK
//! clients built) and exec → its answer to a first event. Prints a Markdown table of
//! medians and 90th percentiles.
//!
//! `cargo xtask cold-start` builds the functions and starts moto, then runs this with
//! `--bin-dir <dir with <function>/bootstrap> --moto <url> [--runs 20] [function …]`.
#![forbid(unsafe_code)]
// A command-line tool: its table is its output.
#![allow(clippy::print_stdout)]

mod functions;
mod resources;
mod runtime_api;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use functions::{FUNCTIONS, Function};
use runtime_api::{RuntimeApi, Seen};

/// Longer than any healthy start and first answer, even against moto.
const RUN_TIMEOUT: Duration = Duration::from_secs(30);

struct Args {
    bin_dir: PathBuf,
    moto: String,
    runs: usize,
    only: Vec<String>,
}

fn args() -> Result<Args, String> {
    let mut bin_dir = None;
    let mut moto = None;
    let mut runs = 20;
    let mut only = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--bin-dir" => bin_dir = it.next().map(PathBuf::from),
            "--moto" => moto = it.next(),
            "--runs" => {
                runs = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| *n > 0)
                    .ok_or("--runs takes a positive number")?;
            }
            name if !name.starts_with('-') => only.push(name.to_owned()),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(Args {
        bin_dir: bin_dir.ok_or("--bin-dir <dir> is required (one <function>/bootstrap each)")?,
        moto: moto.ok_or("--moto <url> is required (a running moto_server)")?,
        runs,
        only,
    })
}

/// One run's times, from exec.
struct Times {
    init: Duration,
    first_answer: Duration,
}

fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events")
}

fn one_run(
    api: &RuntimeApi,
    f: &Function,
    bootstrap: &Path,
    env: &[(String, String)],
    event: &str,
    n: usize,
) -> Result<Times, String> {
    let seen = api.arm(event, &format!("cold-start-{}-{n}", f.name));
    let mut cmd = Command::new(bootstrap);
    cmd.env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .envs(f.extra_env.iter().copied())
        .env("AWS_LAMBDA_RUNTIME_API", api.address())
        .env("AWS_LAMBDA_FUNCTION_NAME", f.name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", f.memory_mb.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("{}: cannot start {}: {e}", f.name, bootstrap.display()))?;
    let mut init = None;
    let outcome = loop {
        match seen.recv_timeout(RUN_TIMEOUT) {
            Ok(Seen::Next(at)) => init = Some(at - started),
            Ok(Seen::Response { at, body }) => break Ok((at - started, body)),
            Ok(Seen::Error { body }) => break Err(format!("{}: reported {body}", f.name)),
            Err(_) => break Err(format!("{}: no answer within {RUN_TIMEOUT:?}", f.name)),
        }
    };
    // Stopped by its own handle, like Lambda freezing then reclaiming the sandbox.
    let _ = child.kill();
    let output = child.wait_with_output();
    let (first_answer, body) = outcome.map_err(|e| {
        let stderr = output
            .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
            .unwrap_or_default();
        format!("{e}\n{stderr}")
    })?;
    if n == 0 {
        eprintln!("{}: first answer: {}", f.name, summary(&body));
    }
    let init = init.ok_or_else(|| format!("{}: answered without polling", f.name))?;
    Ok(Times { init, first_answer })
}

/// The answer's status (HTTP functions) or its shape (queue consumers), for the log.
fn summary(body: &str) -> String {
    let cut: String = body.chars().take(400).collect();
    cut.replace('\n', " ")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn measure(args: &Args, env: &[(String, String)]) -> Result<Vec<String>, String> {
    let api = RuntimeApi::start().map_err(|e| format!("the Runtime API: {e}"))?;
    let mut rows = Vec::new();
    for f in FUNCTIONS
        .iter()
        .filter(|f| args.only.is_empty() || args.only.iter().any(|o| o == f.name))
    {
        let bootstrap = args.bin_dir.join(f.name).join("bootstrap");
        let event = std::fs::read_to_string(events_dir().join(f.event))
            .map_err(|e| format!("{}: events/{}: {e}", f.name, f.event))?;
        let size = std::fs::metadata(&bootstrap)
            .map_err(|e| format!("{}: {}: {e}", f.name, bootstrap.display()))?
            .len();
        // One unmeasured run first: the page cache holds the binary, as on a Lambda
        // host that has started it before (a cold start, not a cold disk).
        one_run(&api, f, &bootstrap, env, &event, 0)?;
        let mut inits = Vec::new();
        let mut answers = Vec::new();
        for n in 1..=args.runs {
            let t = one_run(&api, f, &bootstrap, env, &event, n)?;
            inits.push(t.init);
            answers.push(t.first_answer);
        }
        inits.sort();
        answers.sort();
        rows.push(format!(
            "| `{}` | {:.1} MB | {} | {} | {} | {} | {} |",
            f.name,
            size as f64 / 1_000_000.0,
            ms(percentile(&inits, 0.5)),
            ms(percentile(&inits, 0.9)),
            ms(percentile(&answers, 0.5)),
            ms(percentile(&answers, 0.9)),
            f.first_invocation,
        ));
        eprintln!("{}: done", f.name);
    }
    Ok(rows)
}

fn main() -> ExitCode {
    let args = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("cold-start: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cold-start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime
        .block_on(resources::Resources::create(&args.moto))
        .and_then(|r| measure(&args, &r.env));
    match result {
        Ok(rows) => {
            println!(
                "| Function | Binary | Init, median | Init, p90 | First answer, median | First answer, p90 | First event |"
            );
            println!("| --- | --- | --- | --- | --- | --- | --- |");
            for row in rows {
                println!("{row}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cold-start: {e}");
            ExitCode::FAILURE
        }
    }
}
