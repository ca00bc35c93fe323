//! `cargo run -p passerelle-load --release -- [--rate N] [--duration SECS] [--pool N]
//! [--max-in-flight N] [--seed N]`: a load run against a fresh local stack in this process;
//! prints the report (Markdown) on standard output.
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::time::Duration;

use passerelle_load::{Plan, run};

const USAGE: &str = "usage: passerelle-load [--rate JOURNEYS_PER_S] [--duration SECS] [--pool ACCOUNTS (default: 24 per journey/s, at least 32)] [--max-in-flight N] [--seed N]";

fn plan(args: &[String]) -> Result<Plan, String> {
    let mut plan = Plan::default();
    let mut pool = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.into());
        }
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value; {USAGE}"))?;
        let bad = || format!("{flag} {value:?} is not a positive number; {USAGE}");
        let number: f64 = value.parse().map_err(|_| bad())?;
        if !(number.is_finite() && number > 0.0) {
            return Err(bad());
        }
        match flag.as_str() {
            "--rate" => plan.rate = number,
            "--duration" => plan.duration = Duration::from_secs_f64(number),
            "--pool" => pool = Some(number as usize),
            "--max-in-flight" => plan.max_in_flight = number as usize,
            "--seed" => plan.seed = number as u64,
            _ => return Err(format!("unknown option {flag}; {USAGE}")),
        }
    }
    plan.pool = pool.unwrap_or_else(|| Plan::pool_for(plan.rate));
    Ok(plan)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let plan = match plan(&args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(&plan, |line| eprintln!("{line}")).await {
        Ok(outcome) => {
            #[allow(clippy::print_stdout)]
            {
                println!("{}", outcome.report);
            }
            if outcome.unexpected == 0 && outcome.reconciled {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("the load run could not start: {e}");
            ExitCode::FAILURE
        }
    }
}
