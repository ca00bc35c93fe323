## Agencies: the authorize step, consent, sign-out from an agency, connected agencies.

authorize-error-title = This sign-in link cannot be used
authorize-error-no-client = The link that brought you here does not say which agency sent you. Go back to the agency's website and start again from its sign-in button.
authorize-error-unknown-client = The agency that sent you here is not registered with { -brand }. Go back to the agency's website and start again; if it keeps happening, contact the agency.
authorize-error-redirect-uri = The agency's link asks to send you back to an address it has not registered, so { -brand } will not send you there. Go back to the agency's website and start again; if it keeps happening, contact the agency.
authorize-error-home = Go to the { -brand } home page
authorize-ended-title = This sign-in request has ended
authorize-ended = The agency's request has expired or was already answered. Go back to the agency's website and start again from its sign-in button.
authorize-ended-account = Go to your account
authorize-needs-factor-title = This agency asks for a security key or face or touch unlock
authorize-needs-phishing-resistant = To continue, sign in with a security key or face or touch unlock. If you have not set one up yet, add one to your account first.
authorize-use-security-key = Use a security key or face or touch unlock
authorize-needs-verification-title = This agency needs a verified identity
authorize-back-to-agency = Go back to the agency
authorize-cancel-title = Go back without signing in?
authorize-cancel-lead = { $agency } will be told that you did not sign in.
authorize-cancel-submit = Go back to the agency

consent-title = Share your information
consent-heading = { $agency } asks for your information
consent-lead = If you continue, { -brand } will share the following with this agency:
consent-revoke-hint = You can stop sharing at any time from your account page.
consent-allow = Agree and continue
consent-deny = Do not share
consent-scope-openid = An identifier for this agency, and how you signed in
consent-scope-email = Your email address
consent-scope-all-emails = All the email addresses on your account
consent-scope-locale = Your preferred language
consent-scope-profile-verified-at = When your identity was verified
consent-scope-profile = Your name, date of birth and when your identity was verified
consent-scope-profile-name = Your name
consent-scope-profile-birthdate = Your date of birth
consent-scope-address = Your address
consent-scope-phone = Your phone number
consent-scope-social-security-number = Your Social Security number

end-session-title = Sign out of { -brand }?
end-session-lead = You will be signed out of { -brand } on this device.
end-session-lead-agency = { $agency } asks to sign you out of { -brand } on this device.
end-session-submit = Sign out
end-session-stay = Stay signed in
end-session-invalid-title = This sign-out link cannot be used
end-session-invalid = The agency's sign-out link is not valid, so you were not sent anywhere. You can still sign out from your account page.

connected-title = Connected agencies
connected-lead = These agencies receive information from your account when you sign in to them.
connected-none = You have not shared information with any agency yet.
connected-attributes = Shared: { $attributes }
connected-granted = Allowed on { $date }
connected-revoke = Stop sharing with { $agency }
connected-revoked = Done: that agency will ask for your permission again next time.
account-connected-link = See and manage the agencies you share information with
authorize-needs-verification = { $agency } needs to know who you are: verify your identity with { -brand } once, and agencies that need it can receive your verified information, with your consent.
authorize-verify-now = Verify your identity
unlock-title = Enter your password to share your verified information
unlock-lead = Your verified identity is locked with your password, so that only you can open it. Enter it to share the information { $agency } asks for.
unlock-submit = Continue
