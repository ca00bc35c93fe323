# Sessions: header links, idle-timeout warning, sign-out and timeout pages.
nav-account = Your account
nav-sign-out = Sign out
session-warning-title = Your session is about to end
session-warning-body = For your security, we will sign you out after { $minutes } minutes without activity. Time left:
session-warning-stay = Stay signed in
session-timed-out-title = Your session has ended
session-timed-out-body = For your security, we signed you out because there was no activity for a while. Sign in again to continue.
session-ended-notice = Your session has ended. Sign in again to continue.
signed-out-notice = You have signed out.
