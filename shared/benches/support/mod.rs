//! What every bench shares: short runs, so the whole suite fits in a few minutes on a
//! 2-core machine.

use std::time::Duration;

use criterion::Criterion;

pub fn short_runs() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
}
