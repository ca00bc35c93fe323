# Passerelle: English email messages, the reference. Every id here must exist in the
# fr/ and es/ mail.ftl (a test compares them). `-brand` comes from main.ftl, loaded into
# the same bundle. Text is plain: the HTML template escapes it, the text one wraps it.
# Subjects take no arguments: they are mail headers, kept free of caller-supplied text.

## Shared by every email

mail-footer-automatic = This is an automatic message from { -brand }. Replies to this address are not read.
mail-footer-help = Need help? Go to the { -brand } website and choose “Help” at the bottom of any page. { -brand } will never ask for your password or a security code by email.
# A link's lead line in the text version; the URL follows on its own line.
mail-link-lead = { $label }:
# One line of a list of facts (time, device, place).
mail-fact = { $label }: { $value }
mail-fact-when = When
mail-fact-device = Device
mail-fact-place = Approximate location
mail-was-you = If this was you, you don’t need to do anything.
mail-link-valid-24-hours = This link is valid for 24 hours.
# The “this wasn't me” block every security notification carries (ACC-8).
mail-not-me-heading = Wasn’t you?
mail-not-me-body = If you didn’t do this, someone else may have access to your account. Use the link below to secure it. The link is valid for 10 days and will ask you to choose a new password.
mail-not-me-action = Secure my account

## Confirm the address of a new account (ACC-1)

mail-confirm-signup-subject = Confirm your email address
mail-confirm-signup-body = Thank you for creating a { -brand } account. To continue, confirm that this email address is yours.
mail-confirm-signup-action = Confirm my email address
mail-confirm-signup-ignore = If you didn’t start creating an account, you can ignore this email: no account will be created.

## Someone tried to register an address that already has an account (ACC-1)

mail-already-registered-subject = You already have an account
mail-already-registered-body = Someone, perhaps you, tried to create a { -brand } account with this email address. An account already uses this address, so no new account was created.
mail-already-registered-sign-in = Sign in to your account
mail-already-registered-reset = Reset your password
mail-already-registered-ignore = If this wasn’t you, you can ignore this email: your account has not changed.

## Password reset (ACC-5)

mail-password-reset-subject = Reset your password
mail-password-reset-body = We received a request to reset the password of your { -brand } account. To choose a new password, use the link below.
mail-password-reset-action = Choose a new password
mail-password-reset-validity = This link is valid for 30 minutes and works only once.
mail-password-reset-identity = If you have verified your identity, your verified information is protected by your password and will be locked after the reset. To unlock it, you will need your personal key; without it, you will need to verify your identity again.
mail-password-reset-ignore = If you didn’t ask to reset your password, you can ignore this email: your password has not changed.

mail-reset-no-account-subject = No account uses this address
mail-reset-no-account-body = Someone, perhaps you, asked to reset the password of a { -brand } account with this email address. No account uses this address, so nothing was changed. If you have an account, it may use another address.
mail-reset-no-account-other-address = Reset with another address
mail-reset-no-account-sign-up = Create an account
mail-reset-no-account-ignore = If this wasn’t you, you can ignore this email.

## Security notifications (ACC-8)

mail-password-changed-subject = Your password was changed
mail-password-changed-body = The password of your { -brand } account was just changed.

mail-new-device-subject = New sign-in to your account
mail-new-device-body = Someone just signed in to your { -brand } account from a new device.

mail-email-added-subject = Email address added to your account
mail-email-added-body = The email address { $address } was added to your { -brand } account.

mail-email-removed-subject = Email address removed from your account
mail-email-removed-body = The email address { $address } was removed from your { -brand } account. It will no longer receive messages about your account.

mail-factor-added-subject = Authentication method added
mail-factor-added-body = A new authentication method was added to your { -brand } account: { $factor }.

mail-factor-removed-subject = Authentication method removed
mail-factor-removed-body = An authentication method was removed from your { -brand } account: { $factor }.

mail-personal-key-used-subject = Your personal key was used
mail-personal-key-used-body = Your personal key was just used to restore the verified identity in your { -brand } account. A personal key works only once: a new one was shown on screen. Keep it in a safe place.

mail-account-deleted-subject = Your account was deleted
mail-account-deleted-body = Your { -brand } account and the information it held have been deleted. You can no longer use it to sign in to agency websites.
mail-account-deleted-not-you = If you didn’t ask for this, contact { -brand } help right away.
mail-account-deleted-new-account = You can create a new account with this email address at any time.

## Confirm an address added to an account

mail-confirm-new-email-subject = Confirm your new email address
mail-confirm-new-email-body = Someone asked to add this email address to a { -brand } account. To add it, confirm that this address is yours.
mail-confirm-new-email-action = Confirm this email address
mail-confirm-new-email-ignore = If you didn’t ask for this, you can ignore this email: the address will not be added.

## Account reset when every authentication method is lost (ACC-7)

mail-account-reset-cancel-intro = If you didn’t ask for this, or if you changed your mind, cancel the request. You can cancel it at any time until the account is deleted.
mail-account-reset-cancel = Cancel the deletion request

mail-account-reset-requested-subject = Request to delete your account
mail-account-reset-requested-body = We received a request to delete your { -brand } account because none of its authentication methods can be used anymore.
mail-account-reset-requested-wait = In 24 hours, we will send you another email with a link to delete your account. You can then create a new account with the same email address.

mail-account-reset-ready-subject = You can now delete your account
mail-account-reset-ready-body = The 24-hour waiting period is over. You can now delete your { -brand } account, then create a new one with the same email address.
mail-account-reset-ready-action = Delete my account
mail-account-reset-ready-warning = Deleting your account cannot be undone: your connections to agencies and any verified identity are removed with it.

## Reminder of a letter's code (IDV-4)

mail-letter-reminder-subject = Enter the code from your letter
mail-letter-reminder-body = To finish verifying your identity with { -brand }, we mailed a letter with a code to your address 10 days ago. It should have arrived by now: sign in and enter the code.
mail-letter-reminder-action = Enter the code from your letter
mail-letter-reminder-expires = The code can be used until { $expires }. After that, sign in to ask for a new letter.
mail-letter-reminder-not-arrived = If the letter has not arrived, you can ask for another one on the same page.
mail-letter-reminder-not-you = If you didn’t start verifying your identity, sign in and change your password.
