//! Letter reminders (IDV-4): a scheduled job ([`run_due_letter_reminders`]) mails, 10 days
//! after a letter was sent ([`REMINDER_AFTER_MS`](crate::idv::letter::REMINDER_AFTER_MS)),
//! a reminder to enter its code at `/verify/letter`, with the date the code expires. It
//! runs beside the account-reset job, in the same scheduled function.
//!
//! The mail carries no personal data beyond what the address it goes to implies: no
//! postal address, no code, only that a letter is on its way and until when its code
//! works. Expiry needs no job: the letter's TTL removes it, and the letter page and the
//! account page then offer a new letter.

use super::WebState;
use super::error::WebError;
use super::forms::{link, send_mail};
use super::i18n::Lang;
use super::mail::MailKind;
use super::when::format_utc;
use crate::account::accounts::AccountError;
use crate::idv::letter::DueReminder;
use crate::idv::profile::ProfileState;

/// Letters handled per job run; the next run takes the rest.
const JOB_BATCH: u32 = 100;

/// What the job did with one due letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handled {
    /// Marked, and the reminder queued to every address of the account.
    Reminded,
    /// Marked without mail: the identity no longer waits for it, or a newer letter will
    /// have its own reminder, or another run took it first.
    Skipped,
}

/// The scheduled job: for each letter whose reminder is due, mails a reminder in the
/// account's language to every address of the account while its identity still waits for
/// a letter (and this letter is the newest), and takes the letter out of the reminder
/// index either way. Returns how many letters were reminded.
///
/// A letter is marked reminded before its mail is queued, so two runs never mail it twice;
/// a failed send therefore does not stop the run — every other letter still gets its
/// reminder — and the run reports the failure at the end, for the alarm.
pub async fn run_due_letter_reminders(state: &WebState) -> Result<usize, WebError> {
    let idv = state.idv().await?;
    let due = idv
        .letters
        .due_reminders(state.services.clock.now_ms(), JOB_BATCH)
        .await?;
    let (mut reminded, mut skipped) = (0, 0);
    let mut failed = None;
    for letter in &due {
        match remind(state, letter).await {
            Ok(Handled::Reminded) => reminded += 1,
            Ok(Handled::Skipped) => skipped += 1,
            Err(e) => {
                tracing::error!(error = %e, "letter reminder not sent");
                failed = Some(e);
            }
        }
    }
    if !due.is_empty() {
        tracing::info!(reminded, skipped, "letter reminders");
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(reminded),
    }
}

async fn remind(state: &WebState, letter: &DueReminder) -> Result<Handled, WebError> {
    let idv = state.idv().await?;
    let user = letter.user_id.as_str();
    let waiting = matches!(
        idv.profiles.status(user).await?,
        Some(ProfileState::PendingLetter { .. })
    );
    // Two letters ten days apart remind once each; a letter sent after this one (asked
    // for because this one did not come) gets its own reminder, with its own date.
    let newest = waiting
        && !idv
            .letters
            .pending(user)
            .await?
            .iter()
            .any(|l| l.requested_ms > letter.requested_ms);
    if !idv.letters.mark_reminded(user, &letter.letter).await? || !newest {
        return Ok(Handled::Skipped);
    }
    let services = state.account_services().await?;
    let (account, addresses) = match services.accounts.addresses_for_mail(user).await {
        Ok(found) => found,
        // Deleted meanwhile: nobody to remind (its letters go with its partition).
        Err(AccountError::AccountNotFound) => {
            return Ok(Handled::Skipped);
        }
        Err(e) => return Err(e.into()),
    };
    let lang = Lang::from_code(&account.locale).unwrap_or(Lang::En);
    let kind = MailKind::LetterReminder {
        letter_url: link(state, lang, "/verify/letter", None),
        expires: format_utc(letter.expires_ms),
    };
    // Every address gets its copy even when one send fails; the failure is reported.
    let mut failed = None;
    for address in &addresses {
        if let Err(e) = send_mail(state, &kind, lang, address.as_str()).await {
            failed = Some(e);
        }
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(Handled::Reminded),
    }
}
