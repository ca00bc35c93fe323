//! The store suite: conditional writes, races with one winner, counters, transactions,
//! expiry, ordering and pagination, secondary indexes.

use std::collections::HashSet;
use std::sync::Arc;

use super::{Harness, unique};
use crate::clock::{Clock, ManualClock, SystemClock};
use crate::store::*;

const NOW_MS: i64 = 1_800_000_000_000;

fn manual() -> Arc<ManualClock> {
    Arc::new(ManualClock::at_ms(NOW_MS))
}

async fn fresh(h: &dyn Harness) -> Arc<dyn Store> {
    h.store(Arc::new(SystemClock)).await
}

pub async fn round_trip_keeps_every_value_type(h: &dyn Harness) {
    let store = fresh(h).await;
    let key = Key::new(unique("USER"), "PROFILE");
    let item = Item::new(key.clone())
        .with("name", "Amélie 😀")
        .with("count", -42i64)
        .with("blob", vec![0u8, 255, 7])
        .with("flag", true);
    let version = store.put(item.clone(), Expect::Any).await.unwrap();
    assert_eq!(version, 1);
    let got = store
        .get(&key)
        .await
        .unwrap()
        .expect("the item just written");
    assert_eq!(got.attrs, item.attrs);
    assert_eq!(got.version, 1);
    assert_eq!(got.expires_at, None);
    assert!(
        store
            .get(&Key::new(key.pk.clone(), "OTHER"))
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn sixteen_racing_creates_have_one_winner(h: &dyn Harness) {
    let store = fresh(h).await;
    let key = Key::new(unique("EMAIL"), "CLAIM");
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let (store, key) = (Arc::clone(&store), key.clone());
            tokio::spawn(async move {
                store
                    .put(Item::new(key).with("owner", i64::from(i)), Expect::Absent)
                    .await
            })
        })
        .collect();
    let mut winners = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        match t.await.unwrap() {
            Ok(_) => winners.push(i as i64),
            Err(StoreError::ConditionFailed) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one create wins");
    let stored = store.get(&key).await.unwrap().unwrap();
    assert_eq!(stored.num("owner"), Some(winners[0]));
}

pub async fn versions_guard_optimistic_writes(h: &dyn Harness) {
    let store = fresh(h).await;
    let key = Key::new(unique("DOC"), "A");
    assert_eq!(
        store
            .put(Item::new(key.clone()).with("n", 1i64), Expect::Absent)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .put(Item::new(key.clone()).with("n", 2i64), Expect::Version(1))
            .await
            .unwrap(),
        2
    );
    let stale = store
        .put(Item::new(key.clone()).with("n", 3i64), Expect::Version(1))
        .await;
    assert!(
        matches!(stale, Err(StoreError::ConditionFailed)),
        "{stale:?}"
    );
    let updated = store
        .update(Update::new(key.clone()).set("n", 4i64), Expect::Version(2))
        .await
        .unwrap();
    assert_eq!((updated.version, updated.num("n")), (3, Some(4)));
    assert_eq!(store.get(&key).await.unwrap().unwrap().version, 3);
    let absent = store
        .put(Item::new(Key::new(unique("DOC"), "B")), Expect::Version(1))
        .await;
    assert!(matches!(absent, Err(StoreError::ConditionFailed)));
}

pub async fn concurrent_increments_are_exact(h: &dyn Harness) {
    let store = fresh(h).await;
    let key = Key::new(unique("COUNTER"), "HITS");
    // The counter exists first: racing upserts of a missing item are covered by the create
    // race above (and moto itself loses one of sixteen simultaneous first upserts).
    store
        .put(Item::new(key.clone()).with("n", 0i64), Expect::Absent)
        .await
        .unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (store, key) = (Arc::clone(&store), key.clone());
            tokio::spawn(async move {
                for _ in 0..50 {
                    store
                        .update(Update::new(key.clone()).add("n", 1), Expect::Any)
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let item = store.get(&key).await.unwrap().unwrap();
    assert_eq!(item.num("n"), Some(800));
    assert_eq!(item.version, 801);
}

pub async fn conditional_updates_enforce_limits(h: &dyn Harness) {
    // The shape of a rate limit: count up while under the limit, creating the counter.
    let store = fresh(h).await;
    let key = Key::new(unique("RL"), "signin");
    let under = || Expect::AbsentOr(vec![Check::lt("n", 3i64)]);
    for expected in 1..=3 {
        let item = store
            .update(Update::new(key.clone()).add("n", 1), under())
            .await
            .unwrap();
        assert_eq!(item.num("n"), Some(expected));
    }
    let blocked = store
        .update(Update::new(key.clone()).add("n", 1), under())
        .await;
    assert!(
        matches!(blocked, Err(StoreError::ConditionFailed)),
        "{blocked:?}"
    );
    assert_eq!(store.get(&key).await.unwrap().unwrap().num("n"), Some(3));
    let needs_present = store
        .update(
            Update::new(Key::new(unique("RL"), "x")).set("a", "b"),
            Expect::Present,
        )
        .await;
    assert!(matches!(needs_present, Err(StoreError::ConditionFailed)));
    let removed = store
        .update(
            Update::new(key.clone()).remove("n").set("state", "done"),
            Expect::All(vec![Check::eq("n", 3i64), Check::Missing("state".into())]),
        )
        .await
        .unwrap();
    assert_eq!(removed.num("n"), None);
    assert_eq!(removed.str("state"), Some("done"));
    let ne_missing = store
        .update(
            Update::new(key.clone()).set("x", 1i64),
            Expect::All(vec![
                Check::ne("n", 1i64),
                Check::Exists("state".into()),
                Check::ge("state", "d"),
                Check::gt("state", "c"),
                Check::le("state", "done"),
            ]),
        )
        .await;
    assert!(ne_missing.is_ok(), "{ne_missing:?}");
    let cross_type = store
        .update(
            Update::new(key).set("y", 1i64),
            Expect::All(vec![Check::lt("state", 5i64)]),
        )
        .await;
    assert!(matches!(cross_type, Err(StoreError::ConditionFailed)));
}

pub async fn a_consumed_item_is_consumed_once(h: &dyn Harness) {
    let store = fresh(h).await;
    let key = Key::new(unique("CEREMONY"), "STATE");
    store
        .put(
            Item::new(key.clone()).with("challenge", "abc"),
            Expect::Absent,
        )
        .await
        .unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (store, key) = (Arc::clone(&store), key.clone());
            tokio::spawn(async move { store.delete(&key, Expect::Present).await })
        })
        .collect();
    let mut got = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(Some(item)) => got.push(item),
            Ok(None) => panic!("a delete expecting presence returned nothing"),
            Err(StoreError::ConditionFailed) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(got.len(), 1, "exactly one consumer gets the state");
    assert_eq!(got[0].str("challenge"), Some("abc"));
    assert!(store.get(&key).await.unwrap().is_none());
    assert_eq!(store.delete(&key, Expect::Any).await.unwrap(), None);
}

pub async fn a_failed_transaction_writes_nothing(h: &dyn Harness) {
    let store = fresh(h).await;
    let pk = unique("ACCOUNT");
    let taken = Key::new(unique("EMAIL"), "CLAIM");
    store
        .put(
            Item::new(taken.clone()).with("owner", "someone"),
            Expect::Absent,
        )
        .await
        .unwrap();
    let counter = Key::new(pk.clone(), "COUNTER");
    store
        .put(Item::new(counter.clone()).with("n", 5i64), Expect::Absent)
        .await
        .unwrap();
    let anchor = Key::new(pk.clone(), "ANCHOR");
    store
        .put(
            Item::new(anchor.clone()).with("state", "open"),
            Expect::Absent,
        )
        .await
        .unwrap();
    let result = store
        .transact(vec![
            Write::Put(
                Item::new(Key::new(pk.clone(), "PROFILE")).with("name", "x"),
                Expect::Absent,
            ),
            Write::Update(Update::new(counter.clone()).add("n", 1), Expect::Any),
            Write::Put(Item::new(taken.clone()).with("owner", "me"), Expect::Absent),
            Write::Check(Key::new(pk.clone(), "MISSING"), Expect::Present),
        ])
        .await;
    match result {
        Err(StoreError::TransactionCanceled { failed }) => assert_eq!(failed, vec![2, 3]),
        other => panic!("expected a cancelled transaction, got {other:?}"),
    }
    assert!(
        store
            .get(&Key::new(pk.clone(), "PROFILE"))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.get(&counter).await.unwrap().unwrap().num("n"),
        Some(5)
    );
    assert_eq!(
        store.get(&taken).await.unwrap().unwrap().str("owner"),
        Some("someone")
    );

    store
        .transact(vec![
            Write::Put(
                Item::new(Key::new(pk.clone(), "PROFILE")).with("name", "x"),
                Expect::Absent,
            ),
            Write::Update(
                Update::new(counter.clone()).add("n", 1),
                Expect::All(vec![Check::eq("n", 5i64)]),
            ),
            Write::Delete(taken.clone(), Expect::Present),
            Write::Check(anchor, Expect::All(vec![Check::eq("state", "open")])),
        ])
        .await
        .unwrap();
    assert!(store.get(&Key::new(pk, "PROFILE")).await.unwrap().is_some());
    assert_eq!(
        store.get(&counter).await.unwrap().unwrap().num("n"),
        Some(6)
    );
    assert!(store.get(&taken).await.unwrap().is_none());
}

pub async fn invalid_requests_are_refused(h: &dyn Harness) {
    let store = fresh(h).await;
    let key = Key::new(unique("X"), "Y");
    for name in ["pk", "v", "expires_at", "Bad-Name", ""] {
        let r = store
            .put(Item::new(key.clone()).with(name, "x"), Expect::Any)
            .await;
        assert!(matches!(r, Err(StoreError::Invalid(_))), "{name}: {r:?}");
    }
    let too_many: Vec<Write> = (0..101)
        .map(|i| {
            Write::Put(
                Item::new(Key::new(key.pk.clone(), format!("S{i}"))),
                Expect::Any,
            )
        })
        .collect();
    assert!(matches!(
        store.transact(too_many).await,
        Err(StoreError::Invalid(_))
    ));
    let twice = vec![
        Write::Put(Item::new(key.clone()), Expect::Any),
        Write::Delete(key.clone(), Expect::Any),
    ];
    assert!(matches!(
        store.transact(twice).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store.query(&Query::partition("P").limit(0)).await,
        Err(StoreError::Invalid(_))
    ));
}

pub async fn expired_items_are_invisible(h: &dyn Harness) {
    let clock = manual();
    let store = h.store(clock.clone() as Arc<dyn Clock>).await;
    let now = clock.now_secs();
    let pk = unique("SESSION");
    let key = Key::new(pk.clone(), "TOKEN");
    store
        .put(
            Item::new(key.clone())
                .with("user", "u1")
                .with("n", 7i64)
                .expiring_at(now + 10),
            Expect::Absent,
        )
        .await
        .unwrap();
    store
        .put(
            Item::new(Key::new(pk.clone(), "TOKEN#2")).expiring_at(now + 1000),
            Expect::Absent,
        )
        .await
        .unwrap();
    assert_eq!(
        store.get(&key).await.unwrap().unwrap().expires_at,
        Some(now + 10)
    );

    clock.advance_ms(10_000);
    assert!(
        store.get(&key).await.unwrap().is_none(),
        "an item expiring now is gone"
    );
    let page = store.query(&Query::partition(pk.clone())).await.unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].key.sk, "TOKEN#2");
    assert!(matches!(
        store.delete(&key, Expect::Present).await,
        Err(StoreError::ConditionFailed)
    ));
    assert!(matches!(
        store
            .update(Update::new(key.clone()).set("a", "b"), Expect::Present)
            .await,
        Err(StoreError::ConditionFailed)
    ));

    // An update on an expired item starts afresh: old attributes and counts are gone.
    let revived = store
        .update(
            Update::new(key.clone()).add("n", 1),
            Expect::AbsentOr(vec![Check::lt("n", 5i64)]),
        )
        .await
        .unwrap();
    assert_eq!(revived.num("n"), Some(1));
    assert_eq!(revived.str("user"), None);
    assert_eq!(revived.expires_at, None);

    // A create over an expired item succeeds.
    let other = Key::new(pk.clone(), "TOKEN#3");
    store
        .put(
            Item::new(other.clone()).expiring_at(clock.now_secs() + 1),
            Expect::Absent,
        )
        .await
        .unwrap();
    clock.advance_ms(1_000);
    assert_eq!(
        store
            .put(Item::new(other.clone()).with("again", true), Expect::Absent)
            .await
            .unwrap(),
        1
    );
    let tx_key = Key::new(pk.clone(), "TOKEN#4");
    store
        .put(
            Item::new(tx_key.clone())
                .with("old", 1i64)
                .expiring_at(clock.now_secs() + 1),
            Expect::Absent,
        )
        .await
        .unwrap();
    clock.advance_ms(1_000);
    store
        .transact(vec![Write::Put(
            Item::new(tx_key.clone()).with("new", 1i64),
            Expect::Absent,
        )])
        .await
        .unwrap();
    assert_eq!(
        store.get(&tx_key).await.unwrap().unwrap().num("new"),
        Some(1)
    );
}

async fn fill(store: &Arc<dyn Store>, pk: &str, n: usize) {
    let writes: Vec<Write> = (0..n)
        .map(|i| {
            Write::Put(
                Item::new(Key::new(pk, format!("EVENT#{i:04}")))
                    .with("i", i as i64)
                    .with(GSI1_PK, format!("{pk}-BYDAY"))
                    .with(GSI1_SK, format!("DAY#{:02}", i % 7)),
                Expect::Absent,
            )
        })
        .collect();
    for chunk in writes.chunks(MAX_TRANSACTION_WRITES) {
        store.transact(chunk.to_vec()).await.unwrap();
    }
}

async fn read_all(store: &Arc<dyn Store>, first: Query) -> (Vec<Item>, usize) {
    let (mut all, mut pages, mut query) = (Vec::new(), 0, first);
    loop {
        let page = store.query(&query).await.unwrap();
        assert!(page.items.len() <= query.limit as usize);
        pages += 1;
        all.extend(page.items);
        match page.next {
            Some(c) => {
                query = query.after(Some(
                    Cursor::parse(c.as_str()).expect("a cursor parses back"),
                ))
            }
            None => return (all, pages),
        }
        assert!(pages < 1000, "pagination does not end");
    }
}

pub async fn pages_cover_a_partition_in_order(h: &dyn Harness) {
    let store = fresh(h).await;
    let pk = unique("USER");
    fill(&store, &pk, 1000).await;
    store
        .put(Item::new(Key::new(&pk, "PROFILE")), Expect::Absent)
        .await
        .unwrap();
    store
        .put(Item::new(Key::new(&pk, "EVENTS")), Expect::Absent)
        .await
        .unwrap();

    let (asc, pages) = read_all(&store, Query::partition(&pk).prefix("EVENT#").limit(100)).await;
    assert!(pages >= 10);
    let sks: Vec<&str> = asc.iter().map(|i| i.key.sk.as_str()).collect();
    assert_eq!(sks.len(), 1000);
    assert!(sks.windows(2).all(|w| w[0] < w[1]), "ascending order");
    assert_eq!(sks[0], "EVENT#0000");

    let (desc, _) = read_all(
        &store,
        Query::partition(&pk)
            .prefix("EVENT#")
            .limit(77)
            .descending(),
    )
    .await;
    let dsks: Vec<&str> = desc.iter().map(|i| i.key.sk.as_str()).collect();
    assert_eq!(dsks.len(), 1000);
    assert!(dsks.windows(2).all(|w| w[0] > w[1]), "descending order");
    assert_eq!(dsks[0], "EVENT#0999");

    let (whole, _) = read_all(&store, Query::partition(&pk).limit(1000)).await;
    assert_eq!(whole.len(), 1002);
}

pub async fn secondary_index_queries_page_through_ties(h: &dyn Harness) {
    let store = fresh(h).await;
    let pk = unique("AGENCY");
    fill(&store, &pk, 140).await;
    let (items, _) = read_all(
        &store,
        Query::partition(format!("{pk}-BYDAY"))
            .on(Index::Gsi1)
            .prefix("DAY#03")
            .limit(7),
    )
    .await;
    let mut seen = HashSet::new();
    for item in &items {
        assert_eq!(item.str(GSI1_SK), Some("DAY#03"));
        assert!(seen.insert(item.key.sk.clone()), "no item twice");
    }
    assert_eq!(items.len(), 20);
    let (all, _) = read_all(
        &store,
        Query::partition(format!("{pk}-BYDAY"))
            .on(Index::Gsi1)
            .limit(33)
            .descending(),
    )
    .await;
    assert_eq!(all.len(), 140);
    let days: Vec<&str> = all.iter().filter_map(|i| i.str(GSI1_SK)).collect();
    assert!(days.windows(2).all(|w| w[0] >= w[1]));
}

pub async fn a_cursor_only_continues_its_own_partition(h: &dyn Harness) {
    let store = fresh(h).await;
    let (a, b) = (unique("A"), unique("B"));
    fill(&store, &a, 3).await;
    fill(&store, &b, 3).await;
    let page = store.query(&Query::partition(&a).limit(1)).await.unwrap();
    let cursor = page.next.expect("more items follow");
    let stolen = store
        .query(&Query::partition(&b).limit(1).after(Some(cursor)))
        .await;
    assert!(matches!(stolen, Err(StoreError::Invalid(_))), "{stolen:?}");
    assert!(Cursor::parse("not a cursor").is_none());
}
