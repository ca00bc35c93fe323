# Sessions : liens d'en-tête, avertissement d'inactivité, pages de déconnexion et d'expiration.
nav-account = Votre compte
nav-sign-out = Se déconnecter
session-warning-title = Votre session va bientôt se terminer
session-warning-body = Pour votre sécurité, nous vous déconnecterons après { $minutes } minutes sans activité. Temps restant :
session-warning-stay = Rester connecté
session-timed-out-title = Votre session est terminée
session-timed-out-body = Pour votre sécurité, nous vous avons déconnecté après une période sans activité. Reconnectez-vous pour continuer.
session-ended-notice = Votre session est terminée. Reconnectez-vous pour continuer.
signed-out-notice = Vous êtes déconnecté.
