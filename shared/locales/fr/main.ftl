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
error-request-id = Référence à donner à l’assistance : { $id }
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
error-unavailable-body = { -brand } rencontre actuellement des difficultés. Vos informations sont en sécurité. Veuillez réessayer dans un instant.
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

## Forms

form-error-summary-title = Il y a un problème
field-email = Adresse e-mail
field-password = Mot de passe
field-new-password = Nouveau mot de passe
password-hint = Au moins 12 caractères. Quelques mots sans rapport entre eux font un mot de passe solide et facile à retenir. Évitez les parties de votre adresse e-mail.
email-missing = Saisissez votre adresse e-mail.
email-too-long = Cette adresse e-mail est trop longue. Saisissez une adresse de 254 caractères au plus.
email-invalid = Saisissez une adresse e-mail au bon format, par exemple nom@exemple.fr.
email-lookalike = Cette adresse mélange des lettres d’alphabets différents, ou ne fait que ressembler à une adresse en lettres latines. Vérifiez-la, ou utilisez une autre adresse.
password-missing = Saisissez votre mot de passe.

## Password policy and strength feedback

password-too-short = Votre mot de passe doit comporter au moins { $min } caractères.
password-too-long = Votre mot de passe doit comporter au plus { $max } caractères.
password-common = Ce mot de passe est trop courant. Choisissez-en un plus difficile à deviner.
password-contains-email = Votre mot de passe ne doit pas contenir de parties de votre adresse e-mail.
password-too-weak = Ce mot de passe est trop facile à deviner.
password-warning-straight-rows = Les rangées de touches du clavier sont faciles à deviner.
password-warning-short-keyboard-patterns = Les motifs courts sur le clavier sont faciles à deviner.
password-warning-repeats = Les caractères répétés comme « aaa » sont faciles à deviner.
password-warning-repeated-patterns = Les répétitions comme « abcabcabc » sont à peine plus difficiles à deviner que « abc ».
password-warning-top-10 = C’est l’un des 10 mots de passe les plus courants.
password-warning-top-100 = C’est l’un des 100 mots de passe les plus courants.
password-warning-common = C’est un mot de passe très courant.
password-warning-similar-to-common = Il ressemble à un mot de passe très utilisé.
password-warning-sequences = Les suites comme « abc » ou « 6543 » sont faciles à deviner.
password-warning-recent-years = Les années récentes sont faciles à deviner.
password-warning-single-word = Un mot seul est facile à deviner.
password-warning-dates = Les dates sont souvent faciles à deviner.
password-warning-names-alone = Les prénoms et noms de famille seuls sont faciles à deviner.
password-warning-common-names = Les prénoms et noms de famille courants sont faciles à deviner.
password-suggestion-use-few-words = Utilisez quelques mots et évitez les expressions courantes.
password-suggestion-no-need-for-symbols = Les symboles, chiffres et majuscules ne sont pas nécessaires.
password-suggestion-add-words = Ajoutez un ou deux mots. Les mots peu courants sont préférables.
password-suggestion-capitalization = Les majuscules n’aident pas beaucoup.
password-suggestion-all-uppercase = Tout en majuscules est presque aussi facile à deviner que tout en minuscules.
password-suggestion-reversed-words = Les mots écrits à l’envers ne sont guère plus difficiles à deviner.
password-suggestion-substitutions = Les substitutions prévisibles comme « @ » au lieu de « a » n’aident pas beaucoup.
password-suggestion-longer-keyboard-pattern = Utilisez un motif de clavier plus long, avec plus de changements de direction.
password-suggestion-avoid-repeats = Évitez les mots et les caractères répétés.
password-suggestion-avoid-sequences = Évitez les suites.
password-suggestion-avoid-recent-years = Évitez les années récentes.
password-suggestion-avoid-personal-years = Évitez les années qui vous sont associées.
password-suggestion-avoid-personal-dates = Évitez les dates et les années qui vous sont associées.

## Sign-up

signup-title = Créer un compte
signup-lead = Saisissez votre adresse e-mail. Nous vous enverrons un lien pour la confirmer.
signup-accept-rules = J’accepte les règles d’utilisation
signup-read-rules = Lire les règles d’utilisation
signup-rules-required = Acceptez les règles d’utilisation pour créer un compte.
signup-submit = Continuer
signup-have-account = Vous avez déjà un compte ?
check-email-title = Consultez vos e-mails
check-email-signup = Nous avons envoyé un e-mail à { $email }. Ouvrez le lien qu’il contient pour continuer la création de votre compte. Le lien est valable 24 heures.
check-email-reset = Si un compte utilise { $email }, nous lui avons envoyé un e-mail avec un lien pour choisir un nouveau mot de passe. Le lien est valable 30 minutes.
check-email-not-received = Pas d’e-mail après quelques minutes ? Regardez dans vos courriers indésirables, ou recommencez.
check-email-start-again = Recommencer
signup-password-title = Choisissez votre mot de passe
signup-password-lead = Vous créez un compte pour { $email }.
signup-password-submit = Créer mon compte
link-invalid-title = Ce lien a expiré ou a déjà été utilisé
link-invalid-body = Les liens de nos e-mails ne fonctionnent qu’une fois et pendant une durée limitée. Vous pouvez en demander un nouveau.
link-invalid-signup-again = Recommencer la création du compte
link-invalid-reset-again = Demander un nouveau lien

## Rules of use

rules-title = Règles d’utilisation
rules-intro = En créant un compte, vous acceptez ces règles.
rules-own-account = Votre compte est personnel. Ne communiquez à personne votre mot de passe ni vos seconds facteurs.
rules-true-information = Donnez des informations exactes sur vous-même, en particulier lorsque vous vérifiez votre identité.
rules-keep-safe = Protégez votre adresse e-mail, votre mot de passe et vos seconds facteurs, et changez votre mot de passe si vous pensez que quelqu’un d’autre les a utilisés.
rules-no-misuse = N’essayez pas d’accéder au compte de quelqu’un d’autre ni de perturber le service.
rules-privacy = Nous n’utilisons vos informations que pour faire fonctionner le service, et un organisme ne reçoit que ce que vous acceptez de lui transmettre.
rules-changes = Si ces règles changent, nous vous le dirons lors de votre prochaine connexion.
rules-back = Revenir à la création du compte

## Sign-in

signin-title = Se connecter
signin-submit = Se connecter
signin-failed = L’adresse e-mail ou le mot de passe n’est pas correct.
signin-forgot = Mot de passe oublié ?
signin-no-account = Vous n’avez pas de compte ?

## Password reset

forgot-title = Mot de passe oublié
forgot-lead = Saisissez l’adresse e-mail de votre compte. Nous vous enverrons un lien pour choisir un nouveau mot de passe.
forgot-submit = Envoyer le lien
reset-title = Choisissez un nouveau mot de passe
reset-lead = Vous choisissez un nouveau mot de passe pour { $email }.
reset-submit = Changer mon mot de passe
password-changed-title = Votre mot de passe a été changé
password-changed-body = Pour votre sécurité, vous avez été déconnecté partout. Connectez-vous avec votre nouveau mot de passe.
