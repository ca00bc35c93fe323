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
error-request-id = Reference for support: { $id }
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
error-unavailable-body = { -brand } is having trouble right now. Your information is safe. Please try again in a moment.
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

## Forms

form-error-summary-title = There is a problem
field-email = Email address
field-password = Password
field-new-password = New password
password-hint = At least 12 characters. A few unrelated words make a strong password that is easy to remember. Avoid parts of your email address.
email-missing = Enter your email address.
email-too-long = This email address is too long. Enter an address of at most 254 characters.
email-invalid = Enter an email address in the right format, like name@example.com.
email-lookalike = This address mixes letters of different alphabets, or only looks like a Latin address. Check it, or use another address.
password-missing = Enter your password.

## Password policy and strength feedback

password-too-short = Your password must have at least { $min } characters.
password-too-long = Your password must have at most { $max } characters.
password-common = This password is too common. Choose one that is harder to guess.
password-contains-email = Your password must not contain parts of your email address.
password-too-weak = This password is too easy to guess.
password-warning-straight-rows = Straight rows of keys are easy to guess.
password-warning-short-keyboard-patterns = Short keyboard patterns are easy to guess.
password-warning-repeats = Repeated characters like “aaa” are easy to guess.
password-warning-repeated-patterns = Repeats like “abcabcabc” are only slightly harder to guess than “abc”.
password-warning-top-10 = This is one of the 10 most common passwords.
password-warning-top-100 = This is one of the 100 most common passwords.
password-warning-common = This is a very common password.
password-warning-similar-to-common = This is similar to a commonly used password.
password-warning-sequences = Sequences like “abc” or “6543” are easy to guess.
password-warning-recent-years = Recent years are easy to guess.
password-warning-single-word = A single word is easy to guess.
password-warning-dates = Dates are often easy to guess.
password-warning-names-alone = Names and surnames on their own are easy to guess.
password-warning-common-names = Common names and surnames are easy to guess.
password-suggestion-use-few-words = Use a few words, and avoid common phrases.
password-suggestion-no-need-for-symbols = You don’t need symbols, digits or capital letters.
password-suggestion-add-words = Add another word or two. Uncommon words are better.
password-suggestion-capitalization = Capital letters don’t help very much.
password-suggestion-all-uppercase = All capitals are almost as easy to guess as all lowercase.
password-suggestion-reversed-words = Words spelled backwards are not much harder to guess.
password-suggestion-substitutions = Predictable substitutions like “@” instead of “a” don’t help very much.
password-suggestion-longer-keyboard-pattern = Use a longer keyboard pattern with more turns.
password-suggestion-avoid-repeats = Avoid repeated words and characters.
password-suggestion-avoid-sequences = Avoid sequences.
password-suggestion-avoid-recent-years = Avoid recent years.
password-suggestion-avoid-personal-years = Avoid years that are associated with you.
password-suggestion-avoid-personal-dates = Avoid dates and years that are associated with you.

## Sign-up

signup-title = Create an account
signup-lead = Enter your email address. We’ll send you a link to confirm it.
signup-accept-rules = I accept the rules of use
signup-read-rules = Read the rules of use
signup-rules-required = Accept the rules of use to create an account.
signup-submit = Continue
signup-have-account = Already have an account?
check-email-title = Check your email
check-email-signup = We’ve sent an email to { $email }. Open the link in it to continue creating your account. The link is valid for 24 hours.
check-email-reset = If an account uses { $email }, we’ve sent it an email with a link to choose a new password. The link is valid for 30 minutes.
check-email-not-received = No email after a few minutes? Check your spam or junk folder, or start again.
check-email-start-again = Start again
signup-password-title = Choose your password
signup-password-lead = You’re creating an account for { $email }.
signup-password-submit = Create my account
link-invalid-title = This link has expired or has already been used
link-invalid-body = The links in our emails work only once and for a limited time. You can ask for a new one.
link-invalid-signup-again = Start creating an account again
link-invalid-reset-again = Ask for a new link

## Rules of use

rules-title = Rules of use
rules-intro = By creating an account, you agree to these rules.
rules-own-account = Your account is for you alone. Don’t share your password or your second factors with anyone.
rules-true-information = Give true information about yourself, in particular when you verify your identity.
rules-keep-safe = Keep your email address, password and second factors safe, and tell us by changing your password if you think someone else has used them.
rules-no-misuse = Don’t try to get into someone else’s account, or to disrupt the service.
rules-privacy = We use your information only to run the service, and an agency receives only what you agree to share with it.
rules-changes = If these rules change, we’ll tell you the next time you sign in.
rules-back = Back to creating an account

## Sign-in

signin-title = Sign in
signin-submit = Sign in
signin-failed = The email address or password is not right.
signin-forgot = Forgot your password?
signin-no-account = Don’t have an account?

## Password reset

forgot-title = Forgot your password
forgot-lead = Enter the email address of your account. We’ll send you a link to choose a new password.
forgot-submit = Send the link
reset-title = Choose a new password
reset-lead = You’re choosing a new password for { $email }.
reset-submit = Change my password
password-changed-title = Your password has been changed
password-changed-body = For your security, you have been signed out everywhere. Sign in with your new password.
