//! Envelope seal and open with the local key service, for a 64-byte value (a secret, a
//! code) and a 4 KiB one (a serialised record): with the data-key cache warm, the hot path
//! a warm Lambda takes, against the cache disabled, where every seal wraps a fresh data key
//! and every open unwraps one through the key service (what each call would cost in KMS
//! round trips without the cache).

mod support;

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use passerelle::clock::SystemClock;
use passerelle::envelope::{CacheLimits, Envelope};
use passerelle::keys::EncryptionContext;
use passerelle::keys::local::LocalKeyService;
use passerelle::random::OsRandom;

const RECORD: &str = "USER#bench#secret";
const SIZES: [usize; 2] = [64, 4096];

fn envelope(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let keys = Arc::new(LocalKeyService::open(dir.path(), Arc::new(OsRandom)).expect("root key"));
    let context = EncryptionContext::new().with("purpose", "bench");

    let mut group = c.benchmark_group("envelope");
    for (cache, limits) in [
        ("cached", CacheLimits::default()),
        ("uncached", CacheLimits::disabled()),
    ] {
        let env = Envelope::new(
            keys.clone(),
            Arc::new(SystemClock),
            Arc::new(OsRandom),
            limits,
        );
        for size in SIZES {
            let plaintext = vec![0x5a_u8; size];
            // One round trip first: it checks the setup and leaves the cache warm.
            let sealed = rt
                .block_on(env.seal(&context, RECORD, &plaintext))
                .expect("seal");
            let opened = rt
                .block_on(env.open(&context, RECORD, &sealed))
                .expect("open");
            assert_eq!(*opened, plaintext);

            group.throughput(Throughput::Bytes(size as u64));
            group.bench_function(BenchmarkId::new(format!("seal/{cache}"), size), |b| {
                b.to_async(&rt).iter(|| async {
                    env.seal(&context, RECORD, black_box(&plaintext))
                        .await
                        .expect("seal")
                });
            });
            group.bench_function(BenchmarkId::new(format!("open/{cache}"), size), |b| {
                b.to_async(&rt).iter(|| async {
                    env.open(&context, RECORD, black_box(&sealed))
                        .await
                        .expect("open")
                });
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = support::short_runs();
    targets = envelope
}
criterion_main!(benches);
