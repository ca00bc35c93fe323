# Passerelle: English messages, the reference. Every id here must exist in fr/ and es/
# (a test compares them). Text is plain: templates escape it.

-brand = Passerelle

## Layout

brand-name = { -brand }
brand-tagline = One account for public services
skip-to-content = Skip to main content
nav-label = Main
nav-sign-in = Sign in
nav-create-account = Create an account
footer-about = { -brand } is a shared sign-in service for public agencies.
language-label = Language
language-submit = Change language

## Home page

home-title = One account for public services
home-heading = One account for public services
home-lead = { -brand } lets you sign in to the websites of participating public agencies with one email address and one password.
home-create-account = Create an account
home-sign-in = Sign in
home-one-account-heading = One account, many agencies
home-one-account-body = Use the same account wherever you see { -brand }. You manage your email addresses, password and security settings in one place, and you can see which agencies your account is connected to.
home-second-factor-heading = A second step protects your account
home-second-factor-body = Each time you sign in, you also confirm that it is really you: with a security key, face or fingerprint unlock, an authentication app, a one-time code sent to your phone, or backup codes. A stolen password alone is not enough.
home-sealed-heading = Your verified identity stays sealed
home-sealed-body = Some agencies need to know who you are. You verify your identity once. Your information is then encrypted with a key that depends on your password, so even the people who run { -brand } cannot read it. An agency receives only what you agree to share with it.
home-agencies-heading = For agencies
home-agencies-body = Agencies connect through OpenID Connect. They choose the level of assurance they need and receive only the information each person agrees to share.

## Errors

error-home-link = Go to the home page
error-code = Error { $status }
error-not-found-title = Page not found
error-not-found-body = We can’t find the page you asked for. Check the address, or start again from the home page.
error-bad-request-title = Something is wrong with this request
error-bad-request-body = We couldn’t understand the request your browser sent. Go back and try again.
error-csrf-title = This form has expired
error-csrf-body = For your security, we couldn’t accept this form. It may have been open for too long, or it came from another site. Go back, reload the page and try again.
error-forbidden-title = Access denied
error-forbidden-body = You don’t have permission to see this page.
error-too-large-title = Too much information was sent
error-too-large-body = What you sent is larger than we accept. Go back and try again with less.
error-rate-limited-title = Please wait before trying again
error-rate-limited-body =
    { $minutes ->
        [one] You’ve made too many attempts. Try again in { $minutes } minute.
       *[other] You’ve made too many attempts. Try again in { $minutes } minutes.
    }
error-unavailable-title = Service temporarily unavailable
error-unavailable-body = { -brand } is having trouble right now. Your information is safe. Please try again in a few minutes.
error-internal-title = Something went wrong
error-internal-body = An unexpected error happened on our side. Your information is safe. Please try again; if it keeps happening, come back later.

## Development outbox (/dev/outbox)

outbox-title = Outbox
outbox-intro = For development only: the email and text messages { -brand } would have sent, newest first. Nothing here leaves this computer.
outbox-empty = No messages yet.
outbox-count =
    { $count ->
        [one] { $count } message
       *[other] { $count } messages
    }
outbox-kind = Type
outbox-to = To
outbox-at = Sent
outbox-kind-email = Email
outbox-kind-sms = Text message
outbox-kind-voice = Voice call
outbox-html-source = HTML version (source)
