# Passerelle: mensajes de los correos electrónicos en español. Cada identificador existe
# también en el mail.ftl inglés y francés (una prueba los compara). `-brand` viene de
# main.ftl, cargado en el mismo bundle. Vocabulario: «agencia», «método de
# autenticación», trato de usted. Los asuntos no llevan argumentos.

## Comunes a todos los correos

mail-footer-automatic = Este es un mensaje automático de { -brand }. Las respuestas a esta dirección no se leen.
mail-footer-help = ¿Necesita ayuda? Visite el sitio web de { -brand } y elija «Ayuda» al pie de cualquier página. { -brand } nunca le pedirá su contraseña ni un código de seguridad por correo electrónico.
# La línea que precede a un enlace en la versión de texto; la dirección va en su propia línea.
mail-link-lead = { $label }:
# Una línea de una lista de datos (fecha, dispositivo, lugar).
mail-fact = { $label }: { $value }
mail-fact-when = Fecha
mail-fact-device = Dispositivo
mail-fact-place = Ubicación aproximada
mail-was-you = Si fue usted, no tiene que hacer nada.
mail-link-valid-24-hours = Este enlace es válido durante 24 horas.
# El bloque «no fui yo» de cada notificación de seguridad (ACC-8).
mail-not-me-heading = ¿No fue usted?
mail-not-me-body = Si usted no hizo esto, es posible que otra persona tenga acceso a su cuenta. Use el enlace de abajo para protegerla. El enlace es válido durante 10 días y le pedirá que elija una nueva contraseña.
mail-not-me-action = Proteger mi cuenta

## Confirmar la dirección de una cuenta nueva (ACC-1)

mail-confirm-signup-subject = Confirme su correo electrónico
mail-confirm-signup-body = Gracias por crear una cuenta de { -brand }. Para continuar, confirme que esta dirección de correo electrónico es suya.
mail-confirm-signup-action = Confirmar mi correo electrónico
mail-confirm-signup-ignore = Si usted no comenzó a crear una cuenta, puede ignorar este correo: no se creará ninguna cuenta.

## Alguien intentó registrar una dirección que ya tiene una cuenta (ACC-1)

mail-already-registered-subject = Usted ya tiene una cuenta
mail-already-registered-body = Alguien, quizás usted, intentó crear una cuenta de { -brand } con esta dirección de correo electrónico. Una cuenta ya usa esta dirección, así que no se creó ninguna cuenta nueva.
mail-already-registered-sign-in = Iniciar sesión en mi cuenta
mail-already-registered-reset = Restablecer mi contraseña
mail-already-registered-ignore = Si no fue usted, puede ignorar este correo: su cuenta no ha cambiado.

## Restablecimiento de la contraseña (ACC-5)

mail-password-reset-subject = Restablezca su contraseña
mail-password-reset-body = Recibimos una solicitud para restablecer la contraseña de su cuenta de { -brand }. Para elegir una nueva contraseña, use el enlace de abajo.
mail-password-reset-action = Elegir una nueva contraseña
mail-password-reset-validity = Este enlace es válido durante 30 minutos y solo funciona una vez.
mail-password-reset-identity = Si verificó su identidad, su información verificada está protegida por su contraseña y quedará bloqueada después del restablecimiento. Para desbloquearla, necesitará su clave personal; sin ella, tendrá que verificar su identidad de nuevo.
mail-password-reset-ignore = Si usted no pidió restablecer su contraseña, puede ignorar este correo: su contraseña no ha cambiado.

mail-reset-no-account-subject = Ninguna cuenta usa esta dirección
mail-reset-no-account-body = Alguien, quizás usted, pidió restablecer la contraseña de una cuenta de { -brand } con esta dirección de correo electrónico. Ninguna cuenta usa esta dirección, así que no se cambió nada. Si tiene una cuenta, quizás use otra dirección.
mail-reset-no-account-other-address = Restablecer con otra dirección
mail-reset-no-account-sign-up = Crear una cuenta
mail-reset-no-account-ignore = Si no fue usted, puede ignorar este correo.

## Notificaciones de seguridad (ACC-8)

mail-password-changed-subject = Se cambió su contraseña
mail-password-changed-body = Se acaba de cambiar la contraseña de su cuenta de { -brand }.

mail-new-device-subject = Nuevo inicio de sesión en su cuenta
mail-new-device-body = Alguien acaba de iniciar sesión en su cuenta de { -brand } desde un dispositivo nuevo.

mail-email-added-subject = Se agregó un correo a su cuenta
mail-email-added-body = Se agregó la dirección de correo electrónico { $address } a su cuenta de { -brand }.

mail-email-removed-subject = Se eliminó un correo de su cuenta
mail-email-removed-body = Se eliminó la dirección de correo electrónico { $address } de su cuenta de { -brand }. Ya no recibirá mensajes sobre su cuenta.

mail-factor-added-subject = Se agregó un método de autenticación
mail-factor-added-body = Se agregó un nuevo método de autenticación a su cuenta de { -brand }: { $factor }.

mail-factor-removed-subject = Se eliminó un método de autenticación
mail-factor-removed-body = Se eliminó un método de autenticación de su cuenta de { -brand }: { $factor }.

mail-personal-key-used-subject = Se usó su clave personal
mail-personal-key-used-body = Se acaba de usar su clave personal para restablecer la identidad verificada de su cuenta de { -brand }. Una clave personal solo sirve una vez: se le mostró una nueva en la pantalla. Guárdela en un lugar seguro.

mail-account-deleted-subject = Se eliminó su cuenta
mail-account-deleted-body = Se eliminaron su cuenta de { -brand } y la información que contenía. Ya no puede usarla para iniciar sesión en los sitios web de las agencias.
mail-account-deleted-not-you = Si usted no pidió esto, comuníquese de inmediato con la ayuda de { -brand }.
mail-account-deleted-new-account = Puede crear una cuenta nueva con esta dirección de correo electrónico en cualquier momento.

## Confirmar una dirección agregada a una cuenta

mail-confirm-new-email-subject = Confirme su nuevo correo electrónico
mail-confirm-new-email-body = Alguien pidió agregar esta dirección de correo electrónico a una cuenta de { -brand }. Para agregarla, confirme que esta dirección es suya.
mail-confirm-new-email-action = Confirmar este correo electrónico
mail-confirm-new-email-ignore = Si usted no pidió esto, puede ignorar este correo: la dirección no se agregará.

## Restablecimiento de la cuenta cuando se perdieron todos los métodos de autenticación (ACC-7)

mail-account-reset-cancel-intro = Si usted no hizo esta solicitud, o si cambió de opinión, cancélela. Puede cancelarla en cualquier momento mientras la cuenta no se haya eliminado.
mail-account-reset-cancel = Cancelar la solicitud de eliminación

mail-account-reset-requested-subject = Solicitud para eliminar su cuenta
mail-account-reset-requested-body = Recibimos una solicitud para eliminar su cuenta de { -brand } porque ya no se puede usar ninguno de sus métodos de autenticación.
mail-account-reset-requested-wait = Dentro de 24 horas, le enviaremos otro correo con un enlace para eliminar su cuenta. Después podrá crear una cuenta nueva con la misma dirección de correo electrónico.

mail-account-reset-ready-subject = Ya puede eliminar su cuenta
mail-account-reset-ready-body = El período de espera de 24 horas terminó. Ya puede eliminar su cuenta de { -brand } y luego crear una nueva con la misma dirección de correo electrónico.
mail-account-reset-ready-action = Eliminar mi cuenta
mail-account-reset-ready-warning = La eliminación de la cuenta no se puede deshacer: sus conexiones con las agencias y cualquier identidad verificada se eliminan con ella.

## Recordatorio del código de una carta (IDV-4)

mail-letter-reminder-subject = Ingrese el código de su carta
mail-letter-reminder-body = Para terminar de verificar su identidad en { -brand }, hace 10 días le enviamos por correo postal una carta con un código. Ya debería haberla recibido: inicie sesión e ingrese el código.
mail-letter-reminder-action = Ingresar el código de la carta
mail-letter-reminder-expires = El código se puede usar hasta el { $expires }. Después, inicie sesión para pedir una carta nueva.
mail-letter-reminder-not-arrived = Si la carta no llegó, puede pedir otra en la misma página.
mail-letter-reminder-not-you = Si usted no comenzó a verificar su identidad, inicie sesión y cambie su contraseña.
