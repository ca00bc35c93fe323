//! The mail and SMS suite: valid messages reach the adapter's sink, invalid ones are
//! refused before anything is sent.

use super::{Harness, unique};
use crate::notify::{Channel, Email, NotifyError, Sms};

fn email(to: &str) -> Email {
    Email {
        to: to.to_owned(),
        subject: "Confirm your email".into(),
        text: "Open https://localhost:3000/confirm?t=abc to confirm.".into(),
        html: "<p>Open <a href=\"https://localhost:3000/confirm?t=abc\">this link</a>.</p>".into(),
    }
}

pub async fn an_email_is_delivered(h: &dyn Harness) {
    let mailer = h.mailer().await;
    let to = format!("{}@example.gov", unique("person"));
    mailer.send(&email(&to)).await.unwrap();
    assert_eq!(h.delivered_to(&to).await, 1);
}

pub async fn a_bad_email_is_refused(h: &dyn Harness) {
    let mailer = h.mailer().await;
    for to in ["not-an-address", "a@b", "two words@example.gov", ""] {
        let r = mailer.send(&email(to)).await;
        assert!(matches!(r, Err(NotifyError::Refused(_))), "{to}: {r:?}");
    }
    let mut no_subject = email("x@example.gov");
    no_subject.subject = " ".into();
    assert!(matches!(
        mailer.send(&no_subject).await,
        Err(NotifyError::Refused(_))
    ));
}

pub async fn a_text_message_is_delivered(h: &dyn Harness) {
    let sms = h.sms().await;
    // A number unique to this run, so the sink count belongs to this case.
    let digits: String = unique("n")
        .bytes()
        .rev()
        .take(6)
        .map(|b| char::from(b'0' + b % 10))
        .collect();
    let to = format!("+3361{digits}");
    sms.send(&Sms {
        to: to.clone(),
        body: "Passerelle: your code is 123456".into(),
        channel: Channel::Text,
    })
    .await
    .unwrap();
    assert_eq!(h.delivered_to(&to).await, 1);
}

pub async fn a_bad_number_is_refused(h: &dyn Harness) {
    let sms = h.sms().await;
    for to in ["0612345678", "+0612345678", "+33 6 12 34 56 78", "+1234"] {
        let r = sms
            .send(&Sms {
                to: to.into(),
                body: "x".into(),
                channel: Channel::Text,
            })
            .await;
        assert!(matches!(r, Err(NotifyError::Refused(_))), "{to}: {r:?}");
    }
}
