# Passerelle : messages en français. Chaque identifiant existe aussi en anglais et en
# espagnol (un test les compare). Vocabulaire : « organisme » pour agency, « méthode
# d’authentification » pour second factor, vouvoiement.

-brand = Passerelle

## Mise en page

brand-name = { -brand }
brand-tagline = Un seul compte pour les services publics
skip-to-content = Aller au contenu principal
nav-label = Menu principal
nav-sign-in = Se connecter
nav-create-account = Créer un compte
footer-about = { -brand } est un service de connexion partagé par les organismes publics.
language-label = Langue
language-submit = Changer de langue

## Page d’accueil

home-title = Un seul compte pour les services publics
home-heading = Un seul compte pour les services publics
home-lead = { -brand } vous permet de vous connecter aux sites des organismes publics participants avec une seule adresse e-mail et un seul mot de passe.
home-create-account = Créer un compte
home-sign-in = Se connecter
home-one-account-heading = Un compte, de nombreux organismes
home-one-account-body = Utilisez le même compte partout où vous voyez { -brand }. Vous gérez vos adresses e-mail, votre mot de passe et vos paramètres de sécurité au même endroit, et vous voyez à quels organismes votre compte est relié.
home-second-factor-heading = Une deuxième étape protège votre compte
home-second-factor-body = À chaque connexion, vous confirmez aussi que c’est bien vous : avec une clé de sécurité, le déverrouillage par visage ou empreinte digitale, une application d’authentification, un code à usage unique envoyé sur votre téléphone ou des codes de secours. Un mot de passe volé ne suffit pas.
home-sealed-heading = Votre identité vérifiée reste scellée
home-sealed-body = Certains organismes ont besoin de savoir qui vous êtes. Vous vérifiez votre identité une seule fois. Vos informations sont ensuite chiffrées avec une clé qui dépend de votre mot de passe : même les personnes qui exploitent { -brand } ne peuvent pas les lire. Un organisme ne reçoit que ce que vous acceptez de lui transmettre.
home-agencies-heading = Pour les organismes
home-agencies-body = Les organismes se raccordent par OpenID Connect. Ils choisissent le niveau de garantie dont ils ont besoin et ne reçoivent que les informations que chaque personne accepte de partager.

## Erreurs

error-home-link = Retourner à la page d’accueil
error-code = Erreur { $status }
error-not-found-title = Page introuvable
error-not-found-body = Nous ne trouvons pas la page demandée. Vérifiez l’adresse ou repartez de la page d’accueil.
error-bad-request-title = Cette demande comporte une erreur
error-bad-request-body = Nous n’avons pas compris la demande envoyée par votre navigateur. Revenez en arrière et réessayez.
error-csrf-title = Ce formulaire a expiré
error-csrf-body = Pour votre sécurité, nous n’avons pas pu accepter ce formulaire. Il est peut-être resté ouvert trop longtemps, ou il provient d’un autre site. Revenez en arrière, rechargez la page et réessayez.
error-forbidden-title = Accès refusé
error-forbidden-body = Vous n’avez pas l’autorisation de consulter cette page.
error-too-large-title = Trop d’informations ont été envoyées
error-too-large-body = Votre envoi dépasse la taille acceptée. Revenez en arrière et réessayez avec moins d’informations.
error-rate-limited-title = Veuillez patienter avant de réessayer
error-rate-limited-body =
    { $minutes ->
        [one] Vous avez fait trop de tentatives. Réessayez dans { $minutes } minute.
       *[other] Vous avez fait trop de tentatives. Réessayez dans { $minutes } minutes.
    }
error-unavailable-title = Service momentanément indisponible
error-unavailable-body = { -brand } rencontre actuellement des difficultés. Vos informations sont en sécurité. Veuillez réessayer dans quelques minutes.
error-internal-title = Une erreur est survenue
error-internal-body = Une erreur inattendue s’est produite de notre côté. Vos informations sont en sécurité. Veuillez réessayer ; si le problème persiste, revenez plus tard.

## Boîte d’envoi de développement (/dev/outbox)

outbox-title = Boîte d’envoi
outbox-intro = Pour le développement uniquement : les e-mails et SMS que { -brand } aurait envoyés, du plus récent au plus ancien. Rien ici ne quitte cet ordinateur.
outbox-empty = Aucun message pour l’instant.
outbox-count =
    { $count ->
        [one] { $count } message
       *[other] { $count } messages
    }
outbox-kind = Type
outbox-to = Destinataire
outbox-at = Date d’envoi
outbox-kind-email = E-mail
outbox-kind-sms = SMS
outbox-kind-voice = Appel vocal
outbox-html-source = Version HTML (source)
