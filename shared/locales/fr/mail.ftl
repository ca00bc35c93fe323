# Passerelle : messages des e-mails en français. Chaque identifiant existe aussi dans le
# mail.ftl anglais et espagnol (un test les compare). `-brand` vient de main.ftl, chargé
# dans le même bundle. Vocabulaire : « organisme », « méthode d’authentification »,
# vouvoiement. Les objets ne prennent aucun argument.

## Communs à tous les e-mails

mail-footer-automatic = Ceci est un message automatique de { -brand }. Les réponses à cette adresse ne sont pas lues.
mail-footer-help = Besoin d’aide ? Allez sur le site de { -brand } et choisissez « Aide » en bas de n’importe quelle page. { -brand } ne vous demandera jamais votre mot de passe ni un code de sécurité par e-mail.
# La ligne qui précède un lien dans la version texte ; l’adresse suit sur sa propre ligne.
mail-link-lead = { $label } :
# Une ligne d’une liste de faits (date, appareil, lieu).
mail-fact = { $label } : { $value }
mail-fact-when = Date
mail-fact-device = Appareil
mail-fact-place = Lieu approximatif
mail-was-you = Si c’était vous, vous n’avez rien à faire.
mail-link-valid-24-hours = Ce lien est valable 24 heures.
# Le bloc « ce n’était pas moi » de chaque notification de sécurité (ACC-8).
mail-not-me-heading = Ce n’était pas vous ?
mail-not-me-body = Si vous n’êtes pas à l’origine de cette action, quelqu’un d’autre a peut-être accès à votre compte. Utilisez le lien ci-dessous pour le sécuriser. Ce lien est valable 10 jours et vous demandera de choisir un nouveau mot de passe.
mail-not-me-action = Sécuriser mon compte

## Confirmer l’adresse d’un nouveau compte (ACC-1)

mail-confirm-signup-subject = Confirmez votre adresse e-mail
mail-confirm-signup-body = Merci d’avoir créé un compte { -brand }. Pour continuer, confirmez que cette adresse e-mail est bien la vôtre.
mail-confirm-signup-action = Confirmer mon adresse e-mail
mail-confirm-signup-ignore = Si vous n’avez pas commencé à créer un compte, vous pouvez ignorer cet e-mail : aucun compte ne sera créé.

## Quelqu’un a tenté d’inscrire une adresse qui a déjà un compte (ACC-1)

mail-already-registered-subject = Vous avez déjà un compte
mail-already-registered-body = Quelqu’un, peut-être vous, a tenté de créer un compte { -brand } avec cette adresse e-mail. Un compte utilise déjà cette adresse : aucun nouveau compte n’a été créé.
mail-already-registered-sign-in = Me connecter à mon compte
mail-already-registered-reset = Réinitialiser mon mot de passe
mail-already-registered-ignore = Si ce n’était pas vous, vous pouvez ignorer cet e-mail : votre compte n’a pas été modifié.

## Réinitialisation du mot de passe (ACC-5)

mail-password-reset-subject = Réinitialisez votre mot de passe
mail-password-reset-body = Nous avons reçu une demande de réinitialisation du mot de passe de votre compte { -brand }. Pour choisir un nouveau mot de passe, utilisez le lien ci-dessous.
mail-password-reset-action = Choisir un nouveau mot de passe
mail-password-reset-validity = Ce lien est valable 30 minutes et ne fonctionne qu’une seule fois.
mail-password-reset-identity = Si vous avez vérifié votre identité, vos informations vérifiées sont protégées par votre mot de passe et seront verrouillées après la réinitialisation. Pour les déverrouiller, il vous faudra votre clé personnelle ; sans elle, vous devrez vérifier à nouveau votre identité.
mail-password-reset-ignore = Si vous n’avez pas demandé à réinitialiser votre mot de passe, vous pouvez ignorer cet e-mail : votre mot de passe n’a pas changé.

mail-reset-no-account-subject = Aucun compte n’utilise cette adresse
mail-reset-no-account-body = Quelqu’un, peut-être vous, a demandé à réinitialiser le mot de passe d’un compte { -brand } avec cette adresse e-mail. Aucun compte n’utilise cette adresse : rien n’a été modifié. Si vous avez un compte, il utilise peut-être une autre adresse.
mail-reset-no-account-other-address = Réinitialiser avec une autre adresse
mail-reset-no-account-sign-up = Créer un compte
mail-reset-no-account-ignore = Si ce n’était pas vous, vous pouvez ignorer cet e-mail.

## Notifications de sécurité (ACC-8)

mail-password-changed-subject = Votre mot de passe a été modifié
mail-password-changed-body = Le mot de passe de votre compte { -brand } vient d’être modifié.

mail-new-device-subject = Nouvelle connexion à votre compte
mail-new-device-body = Quelqu’un vient de se connecter à votre compte { -brand } depuis un nouvel appareil.

mail-email-added-subject = Adresse e-mail ajoutée à votre compte
mail-email-added-body = L’adresse e-mail { $address } a été ajoutée à votre compte { -brand }.

mail-email-removed-subject = Adresse e-mail retirée de votre compte
mail-email-removed-body = L’adresse e-mail { $address } a été retirée de votre compte { -brand }. Elle ne recevra plus de messages concernant votre compte.

mail-factor-added-subject = Méthode d’authentification ajoutée
mail-factor-added-body = Une nouvelle méthode d’authentification a été ajoutée à votre compte { -brand } : { $factor }.

mail-factor-removed-subject = Méthode d’authentification supprimée
mail-factor-removed-body = Une méthode d’authentification a été supprimée de votre compte { -brand } : { $factor }.

mail-personal-key-used-subject = Votre clé personnelle a été utilisée
mail-personal-key-used-body = Votre clé personnelle vient d’être utilisée pour rétablir l’identité vérifiée de votre compte { -brand }. Une clé personnelle ne sert qu’une fois : une nouvelle clé vous a été affichée à l’écran. Conservez-la en lieu sûr.

mail-account-deleted-subject = Votre compte a été supprimé
mail-account-deleted-body = Votre compte { -brand } et les informations qu’il contenait ont été supprimés. Vous ne pouvez plus l’utiliser pour vous connecter aux sites des organismes.
mail-account-deleted-not-you = Si vous n’avez pas demandé cette suppression, contactez immédiatement l’aide de { -brand }.
mail-account-deleted-new-account = Vous pouvez créer un nouveau compte avec cette adresse e-mail à tout moment.

## Confirmer une adresse ajoutée à un compte

mail-confirm-new-email-subject = Confirmez votre nouvelle adresse e-mail
mail-confirm-new-email-body = Quelqu’un a demandé à ajouter cette adresse e-mail à un compte { -brand }. Pour l’ajouter, confirmez que cette adresse est bien la vôtre.
mail-confirm-new-email-action = Confirmer cette adresse e-mail
mail-confirm-new-email-ignore = Si vous n’avez rien demandé, vous pouvez ignorer cet e-mail : l’adresse ne sera pas ajoutée.

## Réinitialisation du compte quand toutes les méthodes d’authentification sont perdues (ACC-7)

mail-account-reset-cancel-intro = Si vous n’avez pas fait cette demande, ou si vous avez changé d’avis, annulez-la. Vous pouvez l’annuler à tout moment tant que le compte n’est pas supprimé.
mail-account-reset-cancel = Annuler la demande de suppression

mail-account-reset-requested-subject = Demande de suppression de votre compte
mail-account-reset-requested-body = Nous avons reçu une demande de suppression de votre compte { -brand }, car aucune de ses méthodes d’authentification n’est plus utilisable.
mail-account-reset-requested-wait = Dans 24 heures, nous vous enverrons un autre e-mail avec un lien pour supprimer votre compte. Vous pourrez ensuite créer un nouveau compte avec la même adresse e-mail.

mail-account-reset-ready-subject = Vous pouvez supprimer votre compte
mail-account-reset-ready-body = Le délai d’attente de 24 heures est écoulé. Vous pouvez maintenant supprimer votre compte { -brand }, puis en créer un nouveau avec la même adresse e-mail.
mail-account-reset-ready-action = Supprimer mon compte
mail-account-reset-ready-warning = La suppression du compte est définitive : vos liens avec les organismes et toute identité vérifiée sont supprimés avec lui.

## Rappel du code d’un courrier (IDV-4)

mail-letter-reminder-subject = Saisissez le code de votre courrier
mail-letter-reminder-body = Pour terminer la vérification de votre identité auprès de { -brand }, nous vous avons envoyé il y a 10 jours un courrier contenant un code. Il devrait vous être parvenu : connectez-vous et saisissez le code.
mail-letter-reminder-action = Saisir le code du courrier
mail-letter-reminder-expires = Le code est valable jusqu’au { $expires }. Passé cette date, connectez-vous pour demander un nouveau courrier.
mail-letter-reminder-not-arrived = Si le courrier n’est pas arrivé, vous pouvez en demander un autre sur la même page.
mail-letter-reminder-not-you = Si vous n’avez pas commencé à vérifier votre identité, connectez-vous et changez votre mot de passe.
