## Organismes : l'étape d'autorisation, le consentement, la déconnexion depuis un organisme, les organismes connectés.

authorize-error-title = Ce lien de connexion ne peut pas être utilisé
authorize-error-no-client = Le lien qui vous a mené ici n'indique pas quel organisme vous envoie. Retournez sur le site de l'organisme et recommencez depuis son bouton de connexion.
authorize-error-unknown-client = L'organisme qui vous envoie n'est pas enregistré auprès de { -brand }. Retournez sur le site de l'organisme et recommencez ; si cela se reproduit, contactez l'organisme.
authorize-error-redirect-uri = Le lien de l'organisme demande de vous renvoyer vers une adresse qu'il n'a pas enregistrée : { -brand } ne vous y enverra pas. Retournez sur le site de l'organisme et recommencez ; si cela se reproduit, contactez l'organisme.
authorize-error-home = Aller à l'accueil de { -brand }
authorize-ended-title = Cette demande de connexion est terminée
authorize-ended = La demande de l'organisme a expiré ou a déjà reçu une réponse. Retournez sur le site de l'organisme et recommencez depuis son bouton de connexion.
authorize-ended-account = Aller à votre compte
authorize-needs-factor-title = Cet organisme demande une clé de sécurité ou le déverrouillage par visage ou empreinte
authorize-needs-phishing-resistant = Pour continuer, connectez-vous avec une clé de sécurité ou le déverrouillage par visage ou empreinte. Si vous n'en avez pas encore configuré, ajoutez-en une à votre compte d'abord.
authorize-use-security-key = Utiliser une clé de sécurité ou le déverrouillage par visage ou empreinte
authorize-needs-verification-title = Cet organisme a besoin d'une identité vérifiée
authorize-back-to-agency = Retourner vers l'organisme
authorize-cancel-title = Revenir sans vous connecter ?
authorize-cancel-lead = { $agency } sera informé que vous ne vous êtes pas connecté.
authorize-cancel-submit = Retourner vers l'organisme

consent-title = Partager vos informations
consent-heading = { $agency } demande vos informations
consent-lead = Si vous continuez, { -brand } transmettra à cet organisme :
consent-revoke-hint = Vous pouvez arrêter ce partage à tout moment depuis la page de votre compte.
consent-allow = Accepter et continuer
consent-deny = Ne pas partager
consent-scope-openid = Un identifiant propre à cet organisme, et la façon dont vous vous êtes connecté
consent-scope-email = Votre adresse e-mail
consent-scope-all-emails = Toutes les adresses e-mail de votre compte
consent-scope-locale = Votre langue préférée
consent-scope-profile-verified-at = La date de vérification de votre identité
consent-scope-profile = Vos nom, date de naissance et date de vérification de votre identité
consent-scope-profile-name = Votre nom
consent-scope-profile-birthdate = Votre date de naissance
consent-scope-address = Votre adresse postale
consent-scope-phone = Votre numéro de téléphone
consent-scope-social-security-number = Votre numéro de sécurité sociale

end-session-title = Vous déconnecter de { -brand } ?
end-session-lead = Vous serez déconnecté de { -brand } sur cet appareil.
end-session-lead-agency = { $agency } demande à vous déconnecter de { -brand } sur cet appareil.
end-session-submit = Me déconnecter
end-session-stay = Rester connecté
end-session-invalid-title = Ce lien de déconnexion ne peut pas être utilisé
end-session-invalid = Le lien de déconnexion de l'organisme n'est pas valide : vous n'avez été redirigé nulle part. Vous pouvez toujours vous déconnecter depuis la page de votre compte.

connected-title = Organismes connectés
connected-lead = Ces organismes reçoivent des informations de votre compte quand vous vous y connectez.
connected-none = Vous n'avez encore partagé d'informations avec aucun organisme.
connected-attributes = Partagé : { $attributes }
connected-granted = Autorisé le { $date }
connected-revoke = Arrêter le partage avec { $agency }
connected-revoked = C'est fait : cet organisme vous redemandera votre accord la prochaine fois.
account-connected-link = Voir et gérer les organismes avec lesquels vous partagez des informations
authorize-needs-verification = { $agency } a besoin de savoir qui vous êtes : vérifiez votre identité une fois avec { -brand }, et les organismes qui en ont besoin pourront recevoir vos informations vérifiées, avec votre accord.
authorize-verify-now = Vérifier votre identité
unlock-title = Saisissez votre mot de passe pour partager vos informations vérifiées
unlock-lead = Votre identité vérifiée est verrouillée par votre mot de passe : vous seul pouvez l'ouvrir. Saisissez-le pour partager les informations que { $agency } demande.
unlock-submit = Continuer
