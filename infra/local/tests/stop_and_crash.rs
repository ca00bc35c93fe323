//! Stopping and killing the real `passerelle-local` binary while people sign up, then
//! starting it again on the same data directory, as an operator (or a supervisor) would.
//!
//! Each person signs up (the stack answers 200 once the confirmation mail is queued), reads
//! the mail from the outbox and sets a password (303 once the account exists). Mid-way
//! the stack gets SIGTERM, or SIGKILL. What must hold after the restart:
//!
//! - every sign-up that was answered 200 has its mail in the outbox: nothing accepted is
//!   lost, and what the stack held at the signal resumes;
//! - the queue ends empty, with nothing dead-lettered;
//! - every person answered 200 ends with exactly one account (a used link never makes a
//!   second), and the store holds together (every account has its password, one email
//!   claim and its address; every claim names an account);
//! - after SIGTERM, the stop is clean: exit status 0, no message left claimed, and each
//!   mail delivered exactly once; after SIGKILL, the database opens (WAL recovery) and
//!   passes SQLite's integrity check, and mail is delivered at least once (a kill between
//!   the outbox write and the queue delete delivers it again: the queue is at least once,
//!   as SQS is).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use passerelle::queue::consumer::VISIBILITY;
use passerelle::services::{NOTIFY_DLQ, NOTIFY_QUEUE};
use support::binary::{Binary, free_port, try_post, try_send, try_sign_up};
use support::{PASSWORD, Person};

/// People signing up at once.
const PEOPLE: usize = 8;
/// Each person sets a password after one sign-up in this many (the others wait for the
/// restart): sign-ups, which queue mail, come faster than the consumer's idle poll.
const CONFIRM_EVERY: usize = 3;
/// Sign-ups answered 200 before the signal: enough that writes of every kind (sign-up
/// links, queued and delivered mail, accounts) are under way when it comes.
const ACCEPTED_BEFORE_SIGNAL: usize = 24;
/// The longest a graceful stop may take: the drain and the workers' deadlines, and room.
const STOP_LIMIT: Duration = Duration::from_secs(30);

/// How the stack is stopped mid-way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Term,
    Kill,
}

/// What the people were told before the stack went away.
#[derive(Debug, Default)]
struct Told {
    /// Sign-ups answered 200 (their mail was queued).
    accepted: Vec<String>,
    /// Passwords set, answered 303 (their account exists).
    confirmed: Vec<String>,
    /// Anything but those answers before the signal was sent.
    failures: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_under_load_loses_no_accepted_mail_and_the_restart_is_consistent() {
    stop_under_load_then_restart(Stop::Term).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_mid_write_restarts_consistent_and_the_pending_mail_resumes() {
    stop_under_load_then_restart(Stop::Kill).await;
}

async fn stop_under_load_then_restart(stop: Stop) {
    // Given the local stack as `cargo run` starts it, on its own port and data directory
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("stack.log");
    let port = free_port();
    let mut first = Binary::start(port, &data, &log, "info");
    first.wait_until_up().await;

    // When people sign up and confirm, and the stack gets the signal mid-way
    let signal_sent = Arc::new(AtomicBool::new(false));
    let told = Arc::new(Mutex::new(Told::default()));
    let mut people = Vec::new();
    for p in 0..PEOPLE {
        let person = first.person();
        let (told, signal_sent, data) = (Arc::clone(&told), Arc::clone(&signal_sent), data.clone());
        people.push(tokio::spawn(sign_up_until_stopped(
            person,
            format!("{stop:?}-{p}").to_lowercase(),
            data,
            told,
            signal_sent,
        )));
    }
    let deadline = Instant::now() + Duration::from_secs(90);
    while told.lock().unwrap().accepted.len() < ACCEPTED_BEFORE_SIGNAL {
        assert!(
            Instant::now() < deadline,
            "the load runs: {:?}\n{}",
            told.lock().unwrap(),
            first.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The signal comes while mail is queued and not yet delivered (or held by the
    // consumer), so that there is pending work for the restart to resume.
    let deadline = Instant::now() + Duration::from_secs(10);
    while depth(&data, NOTIFY_QUEUE) == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    signal_sent.store(true, Ordering::SeqCst);
    match stop {
        Stop::Term => first.terminate(),
        // SIGKILL, by the child's own handle.
        Stop::Kill => first.child.kill().unwrap(),
    }
    for person in people {
        person.await.unwrap();
    }
    let told = std::mem::take(&mut *told.lock().unwrap());
    assert!(
        told.failures.is_empty(),
        "before the signal every request was answered as expected: {:?}\n{}",
        told.failures,
        first.log_tail()
    );
    let status = first.wait_for_exit(STOP_LIMIT);
    let held_at_stop = held(&data);
    let queued_at_stop = depth(&data, NOTIFY_QUEUE);
    eprintln!(
        "{stop:?}: {} sign-ups accepted, {} confirmed before the signal; {queued_at_stop} \
         mail still queued, {held_at_stop} held by the consumer at the stop",
        told.accepted.len(),
        told.confirmed.len()
    );
    match stop {
        Stop::Term => {
            // Then a SIGTERM is a clean stop: in time, status 0, said in the log, and no
            // message left claimed (hidden until its visibility timeout)
            let status = status.unwrap_or_else(|| {
                panic!(
                    "the stack stops within {STOP_LIMIT:?}:\n{}",
                    first.log_tail()
                )
            });
            assert!(status.success(), "{status}:\n{}", first.log_tail());
            let text = first.log_text();
            assert!(
                text.contains("SIGTERM") && text.contains("stopping"),
                "{text}"
            );
            assert!(
                text.contains("every worker finished what it held"),
                "{text}"
            );
            assert_eq!(held_at_stop, 0, "a message left claimed at the stop");
        }
        Stop::Kill => {
            // Then a SIGKILL is no exit at all: the process is gone mid-way, with mail
            // still to deliver
            let status = status.expect("a killed process is reaped at once");
            assert!(!status.success(), "{status}");
            assert!(queued_at_stop > 0, "the kill came with mail pending");
        }
    }

    // When the stack starts again on the same data directory (its database opens)
    let mut second = Binary::start(port, &data, &log, "info");
    second.wait_until_up().await;

    // Then every accepted sign-up's mail is delivered: at once after a clean stop (sooner
    // than any visibility timeout, so nothing was left hidden); after a kill, what the
    // consumer held comes back when its visibility timeout ends
    let wait = match stop {
        Stop::Term => Duration::from_secs(15),
        Stop::Kill => VISIBILITY + Duration::from_secs(20),
    };
    let deadline = Instant::now() + wait;
    let mails = loop {
        let mails = mails_to(&data, &told.accepted);
        let missing: Vec<&String> = told
            .accepted
            .iter()
            .filter(|e| mails.get(*e).is_none_or(Vec::is_empty))
            .collect();
        if missing.is_empty() && depth(&data, NOTIFY_QUEUE) == 0 {
            break mails;
        }
        assert!(
            Instant::now() < deadline,
            "within {wait:?} of the restart, accepted sign-ups still without their mail: \
             {missing:?}; {} queued\n{}",
            depth(&data, NOTIFY_QUEUE),
            second.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // And nothing was dead-lettered
    assert_eq!(depth(&data, NOTIFY_DLQ), 0, "dead-lettered mail");
    let duplicates: usize = mails.values().map(|m| m.len().saturating_sub(1)).sum();
    eprintln!("{stop:?}: {duplicates} mail delivered twice");
    if stop == Stop::Term {
        // And after a clean stop each was delivered once
        assert_eq!(duplicates, 0, "{mails:?}");
    }

    // When each accepted person uses their link: those answered 303 before the signal
    // again (it must not make a second account), the others for the first time
    let confirmed: BTreeSet<&String> = told.confirmed.iter().collect();
    for email in &told.accepted {
        let link = confirmation_link(&mails[email]).expect("the mail holds its link");
        let mut person = second.person();
        let answer = confirm(&mut person, &link).await;
        if confirmed.contains(email) {
            assert_ne!(
                answer,
                Ok(303),
                "a used link made a second account for {email}"
            );
        } else if stop == Stop::Term {
            // Nothing was cut short: a person not told 303 had not set a password.
            assert_eq!(answer, Ok(303), "{email}: {}", second.log_tail());
        } else {
            // A kill may have come after the account's transaction and before its answer:
            // then the link is used up and the account exists (the store check counts it).
            assert!(answer.is_ok(), "{email}: {answer:?}");
        }
    }

    // Then every accepted person has exactly one account, and the store holds together
    let accounts = check_store(&data).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        accounts,
        told.accepted.len(),
        "one account per accepted sign-up"
    );

    // And the restarted stack stops cleanly too, leaving a sound database
    second.terminate();
    let status = second.wait_for_exit(STOP_LIMIT).expect("the restart stops");
    assert!(status.success(), "{status}:\n{}", second.log_tail());
    assert_eq!(integrity(&data), "ok");
    assert!(
        !second.log_text().contains("panicked"),
        "a panic in the log:\n{}",
        second.log_tail()
    );
}

/// One person's loop: sign up, read the mail, set the password, again, until the stack
/// stops answering after the signal. Every answer is recorded in `told`.
async fn sign_up_until_stopped(
    mut person: Person,
    tag: String,
    data: PathBuf,
    told: Arc<Mutex<Told>>,
    signal_sent: Arc<AtomicBool>,
) {
    let fail = |what: String| {
        // After the signal, a refused or closed connection is the stop itself.
        if !signal_sent.load(Ordering::SeqCst) {
            told.lock().unwrap().failures.push(what);
        }
    };
    for n in 0..500 {
        let email = format!("{tag}-{n}@example.gov");
        match try_sign_up(&mut person, &email).await {
            Ok(200) => told.lock().unwrap().accepted.push(email.clone()),
            Ok(status) => return fail(format!("sign-up {email}: {status}")),
            Err(e) => return fail(format!("sign-up {email}: {e}")),
        }
        if n % CONFIRM_EVERY != 0 {
            continue;
        }
        // The consumer delivers the mail in a few milliseconds; after the signal it may
        // never come to this stack.
        let deadline = Instant::now() + Duration::from_secs(10);
        let link = loop {
            if let Some(link) = mails_to(&data, std::slice::from_ref(&email))
                .get(&email)
                .and_then(|m| confirmation_link(m))
            {
                break link;
            }
            if signal_sent.load(Ordering::SeqCst) {
                return;
            }
            if Instant::now() > deadline {
                return fail(format!("no mail to {email} within 10 s"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        match confirm(&mut person, &link).await {
            Ok(303) => told.lock().unwrap().confirmed.push(email),
            Ok(status) => return fail(format!("password for {email}: {status}")),
            Err(e) => return fail(format!("password for {email}: {e}")),
        }
        // A fresh browser for the next person: the one before is signed in now.
        person = support::binary::person(&person.base);
    }
}

/// Opens the link and sets the password; the status of the POST.
async fn confirm(person: &mut Person, link: &str) -> Result<u16, String> {
    let page = person.http.get(person.url(link));
    try_send(person, page).await?;
    let token = link.split("t=").nth(1).unwrap_or_default().to_owned();
    try_post(
        person,
        "/sign-up/confirm",
        &[("t", token.as_str()), ("password", PASSWORD)],
    )
    .await
}

/// The path of the sign-up link in the first mail that holds one.
fn confirmation_link(mails: &[String]) -> Option<String> {
    mails.iter().find_map(|text| {
        let i = text.find("/sign-up/confirm?t=")?;
        Some(
            text[i..]
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '>' && *c != ')')
                .collect(),
        )
    })
}

/// A connection of the test's own to the stack's database, as an operator's `sqlite3`
/// would open it (WAL: it reads while the stack writes).
fn db(data: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(data.join("passerelle.db")).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn
}

/// The text of every mail in the outbox to each of `emails`.
fn mails_to(data: &Path, emails: &[String]) -> BTreeMap<String, Vec<String>> {
    let conn = db(data);
    let mut stmt = conn
        .prepare("SELECT text_body FROM outbox WHERE kind = 'email' AND recipient = ?1")
        .unwrap();
    emails
        .iter()
        .map(|e| {
            let texts = stmt
                .query_map([e], |r| r.get::<_, String>(0))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            (e.clone(), texts)
        })
        .collect()
}

/// Messages in `queue`, visible or not.
fn depth(data: &Path, queue: &str) -> i64 {
    db(data)
        .query_row(
            "SELECT COUNT(*) FROM queue_messages WHERE queue = ?1",
            [queue],
            |r| r.get(0),
        )
        .unwrap()
}

/// Messages a consumer received and has neither deleted nor given back: hidden until
/// their visibility timeout.
fn held(data: &Path) -> i64 {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    db(data)
        .query_row(
            "SELECT COUNT(*) FROM queue_messages WHERE receipt IS NOT NULL AND visible_ms > ?1",
            [now_ms],
            |r| r.get(0),
        )
        .unwrap()
}

fn integrity(data: &Path) -> String {
    db(data)
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

fn string_attr<'j>(attrs: &'j serde_json::Value, name: &str) -> Option<&'j str> {
    attrs.get(name)?.get("S")?.as_str()
}

/// Walks every live item of the store and checks what sign-up must leave together:
/// each account has its password, is named by exactly one email claim and holds that
/// address; each claim names an account. Returns how many accounts there are.
fn check_store(data: &Path) -> Result<usize, String> {
    let conn = db(data);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut stmt = conn
        .prepare("SELECT pk, sk, attrs FROM items WHERE expires_at IS NULL OR expires_at > ?1")
        .unwrap();
    let rows: Vec<(String, String, serde_json::Value)> = stmt
        .query_map([now], |r| {
            let attrs: String = r.get(2)?;
            Ok((r.get(0)?, r.get(1)?, serde_json::from_str(&attrs).unwrap()))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut accounts = BTreeMap::new();
    let mut addresses: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut claims: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (pk, sk, attrs) in &rows {
        if let Some(user) = pk.strip_prefix("USER#") {
            if sk == "ACCOUNT" {
                accounts.insert(user, attrs);
            } else if let Some(fp) = sk.strip_prefix("EMAIL#") {
                addresses.entry(user).or_default().push(fp);
            }
        } else if let Some(fp) = pk.strip_prefix("EMAIL#")
            && sk == "CLAIM"
        {
            let owner =
                string_attr(attrs, "user").ok_or(format!("claim {fp} without its owner"))?;
            claims.entry(owner).or_default().push(fp);
        }
    }
    for (user, attrs) in &accounts {
        if attrs.get("password").is_none() {
            return Err(format!("account {user} without a password hash"));
        }
        let claimed = claims.get(user).map(Vec::as_slice).unwrap_or_default();
        let [fp] = claimed else {
            return Err(format!(
                "account {user} named by {} email claims",
                claimed.len()
            ));
        };
        if !addresses.get(user).is_some_and(|a| a.contains(fp)) {
            return Err(format!("account {user} without the address it claims"));
        }
    }
    if let Some(owner) = claims.keys().find(|u| !accounts.contains_key(*u)) {
        return Err(format!("an email claim names {owner}, who has no account"));
    }
    if let Some(user) = addresses.keys().find(|u| !accounts.contains_key(*u)) {
        return Err(format!(
            "an address left in {user}'s partition, with no account"
        ));
    }
    Ok(accounts.len())
}
