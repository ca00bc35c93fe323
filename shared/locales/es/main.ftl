# Passerelle: mensajes en español. Cada identificador existe también en inglés y en
# francés (una prueba los compara). Vocabulario: «agencia» para agency, trato de usted.

-brand = Passerelle

## Diseño de la página

brand-name = { -brand }
brand-tagline = Una sola cuenta para los servicios públicos
skip-to-content = Ir al contenido principal
nav-label = Menú principal
nav-sign-in = Iniciar sesión
nav-create-account = Crear una cuenta
footer-about = { -brand } es un servicio de inicio de sesión compartido por las agencias públicas.
language-label = Idioma
language-submit = Cambiar idioma

## Página de inicio

home-title = Una sola cuenta para los servicios públicos
home-heading = Una sola cuenta para los servicios públicos
home-lead = { -brand } le permite iniciar sesión en los sitios web de las agencias públicas participantes con un solo correo electrónico y una sola contraseña.
home-create-account = Crear una cuenta
home-sign-in = Iniciar sesión
home-one-account-heading = Una cuenta, muchas agencias
home-one-account-body = Use la misma cuenta dondequiera que vea { -brand }. Usted administra sus direcciones de correo electrónico, su contraseña y su configuración de seguridad en un solo lugar, y puede ver a qué agencias está conectada su cuenta.
home-second-factor-heading = Un segundo paso protege su cuenta
home-second-factor-body = Cada vez que inicia sesión, también confirma que realmente es usted: con una llave de seguridad, el desbloqueo facial o con huella digital, una aplicación de autenticación, un código de un solo uso enviado a su teléfono o códigos de respaldo. Una contraseña robada no basta.
home-sealed-heading = Su identidad verificada permanece sellada
home-sealed-body = Algunas agencias necesitan saber quién es usted. Usted verifica su identidad una sola vez. Luego, su información se cifra con una clave que depende de su contraseña, de modo que ni siquiera las personas que operan { -brand } pueden leerla. Una agencia solo recibe lo que usted acepta compartir con ella.
home-agencies-heading = Para las agencias
home-agencies-body = Las agencias se conectan mediante OpenID Connect. Eligen el nivel de garantía que necesitan y solo reciben la información que cada persona acepta compartir.

## Errores

error-home-link = Ir a la página de inicio
error-code = Error { $status }
error-request-id = Referencia para el soporte: { $id }
error-not-found-title = Página no encontrada
error-not-found-body = No encontramos la página que solicitó. Revise la dirección o vuelva a empezar desde la página de inicio.
error-bad-request-title = Hay un problema con esta solicitud
error-bad-request-body = No pudimos entender la solicitud que envió su navegador. Regrese e inténtelo de nuevo.
error-csrf-title = Este formulario caducó
error-csrf-body = Por su seguridad, no pudimos aceptar este formulario. Es posible que haya estado abierto demasiado tiempo o que provenga de otro sitio. Regrese, vuelva a cargar la página e inténtelo de nuevo.
error-forbidden-title = Acceso denegado
error-forbidden-body = No tiene permiso para ver esta página.
error-too-large-title = Se envió demasiada información
error-too-large-body = Lo que envió supera el tamaño que aceptamos. Regrese e inténtelo de nuevo con menos información.
error-rate-limited-title = Espere antes de volver a intentarlo
error-rate-limited-body =
    { $minutes ->
        [one] Ha hecho demasiados intentos. Vuelva a intentarlo en { $minutes } minuto.
       *[other] Ha hecho demasiados intentos. Vuelva a intentarlo en { $minutes } minutos.
    }
error-unavailable-title = Servicio no disponible temporalmente
error-unavailable-body = { -brand } tiene problemas en este momento. Su información está segura. Vuelva a intentarlo en un momento.
error-internal-title = Algo salió mal
error-internal-body = Se produjo un error inesperado de nuestra parte. Su información está segura. Vuelva a intentarlo; si el problema continúa, regrese más tarde.

## Bandeja de salida de desarrollo (/dev/outbox)

outbox-title = Bandeja de salida
outbox-intro = Solo para desarrollo: los correos electrónicos y mensajes de texto que { -brand } habría enviado, del más reciente al más antiguo. Nada de esto sale de esta computadora.
outbox-empty = Todavía no hay mensajes.
outbox-count =
    { $count ->
        [one] { $count } mensaje
       *[other] { $count } mensajes
    }
outbox-kind = Tipo
outbox-to = Para
outbox-at = Fecha de envío
outbox-kind-email = Correo electrónico
outbox-kind-sms = Mensaje de texto
outbox-kind-voice = Llamada de voz
outbox-html-source = Versión HTML (código fuente)

## Forms

form-error-summary-title = Hay un problema
field-email = Correo electrónico
field-password = Contraseña
field-new-password = Nueva contraseña
password-hint = Al menos 12 caracteres. Unas cuantas palabras sin relación entre sí forman una contraseña segura y fácil de recordar. Evite partes de su correo electrónico.
email-missing = Escriba su correo electrónico.
email-too-long = Este correo electrónico es demasiado largo. Escriba una dirección de 254 caracteres como máximo.
email-invalid = Escriba un correo electrónico con el formato correcto, por ejemplo nombre@ejemplo.com.
email-lookalike = Esta dirección mezcla letras de alfabetos diferentes, o solo parece una dirección en letras latinas. Revísela o use otra dirección.
password-missing = Escriba su contraseña.

## Password policy and strength feedback

password-too-short = Su contraseña debe tener al menos { $min } caracteres.
password-too-long = Su contraseña debe tener como máximo { $max } caracteres.
password-common = Esta contraseña es demasiado común. Elija una más difícil de adivinar.
password-contains-email = Su contraseña no debe contener partes de su correo electrónico.
password-too-weak = Esta contraseña es demasiado fácil de adivinar.
password-warning-straight-rows = Las filas seguidas de teclas son fáciles de adivinar.
password-warning-short-keyboard-patterns = Los patrones cortos del teclado son fáciles de adivinar.
password-warning-repeats = Los caracteres repetidos como «aaa» son fáciles de adivinar.
password-warning-repeated-patterns = Las repeticiones como «abcabcabc» son apenas más difíciles de adivinar que «abc».
password-warning-top-10 = Es una de las 10 contraseñas más comunes.
password-warning-top-100 = Es una de las 100 contraseñas más comunes.
password-warning-common = Es una contraseña muy común.
password-warning-similar-to-common = Se parece a una contraseña muy utilizada.
password-warning-sequences = Las secuencias como «abc» o «6543» son fáciles de adivinar.
password-warning-recent-years = Los años recientes son fáciles de adivinar.
password-warning-single-word = Una sola palabra es fácil de adivinar.
password-warning-dates = Las fechas suelen ser fáciles de adivinar.
password-warning-names-alone = Los nombres y apellidos por sí solos son fáciles de adivinar.
password-warning-common-names = Los nombres y apellidos comunes son fáciles de adivinar.
password-suggestion-use-few-words = Use unas cuantas palabras y evite las frases comunes.
password-suggestion-no-need-for-symbols = No hacen falta símbolos, números ni mayúsculas.
password-suggestion-add-words = Añada una o dos palabras más. Las palabras poco comunes son mejores.
password-suggestion-capitalization = Las mayúsculas no ayudan mucho.
password-suggestion-all-uppercase = Todo en mayúsculas es casi tan fácil de adivinar como todo en minúsculas.
password-suggestion-reversed-words = Las palabras escritas al revés no son mucho más difíciles de adivinar.
password-suggestion-substitutions = Las sustituciones previsibles como «@» en lugar de «a» no ayudan mucho.
password-suggestion-longer-keyboard-pattern = Use un patrón de teclado más largo y con más cambios de dirección.
password-suggestion-avoid-repeats = Evite las palabras y los caracteres repetidos.
password-suggestion-avoid-sequences = Evite las secuencias.
password-suggestion-avoid-recent-years = Evite los años recientes.
password-suggestion-avoid-personal-years = Evite los años relacionados con usted.
password-suggestion-avoid-personal-dates = Evite las fechas y los años relacionados con usted.

## Sign-up

signup-title = Crear una cuenta
signup-lead = Escriba su correo electrónico. Le enviaremos un enlace para confirmarlo.
signup-accept-rules = Acepto las reglas de uso
signup-read-rules = Leer las reglas de uso
signup-rules-required = Acepte las reglas de uso para crear una cuenta.
signup-submit = Continuar
signup-have-account = ¿Ya tiene una cuenta?
check-email-title = Revise su correo electrónico
check-email-signup = Enviamos un mensaje a { $email }. Abra el enlace que contiene para seguir creando su cuenta. El enlace es válido durante 24 horas.
check-email-reset = Si una cuenta usa { $email }, le enviamos un mensaje con un enlace para elegir una nueva contraseña. El enlace es válido durante 30 minutos.
check-email-not-received = ¿No recibió nada después de unos minutos? Revise su carpeta de correo no deseado o vuelva a empezar.
check-email-start-again = Volver a empezar
signup-password-title = Elija su contraseña
signup-password-lead = Está creando una cuenta para { $email }.
signup-password-submit = Crear mi cuenta
link-invalid-title = Este enlace caducó o ya se usó
link-invalid-body = Los enlaces de nuestros mensajes solo funcionan una vez y durante un tiempo limitado. Puede pedir uno nuevo.
link-invalid-signup-again = Volver a crear una cuenta
link-invalid-reset-again = Pedir un nuevo enlace

## Rules of use

rules-title = Reglas de uso
rules-intro = Al crear una cuenta, usted acepta estas reglas.
rules-own-account = Su cuenta es solo para usted. No comparta con nadie su contraseña ni sus segundos factores.
rules-true-information = Proporcione información verdadera sobre usted, sobre todo cuando verifique su identidad.
rules-keep-safe = Proteja su correo electrónico, su contraseña y sus segundos factores, y cambie su contraseña si cree que otra persona los usó.
rules-no-misuse = No intente entrar en la cuenta de otra persona ni perturbar el servicio.
rules-privacy = Usamos su información solo para hacer funcionar el servicio, y una agencia solo recibe lo que usted acepta compartir con ella.
rules-changes = Si estas reglas cambian, se lo diremos la próxima vez que inicie sesión.
rules-back = Volver a la creación de la cuenta

## Sign-in

signin-title = Iniciar sesión
signin-submit = Iniciar sesión
signin-failed = El correo electrónico o la contraseña no son correctos.
signin-forgot = ¿Olvidó su contraseña?
signin-no-account = ¿No tiene una cuenta?

## Password reset

forgot-title = Olvidé mi contraseña
forgot-lead = Escriba el correo electrónico de su cuenta. Le enviaremos un enlace para elegir una nueva contraseña.
forgot-submit = Enviar el enlace
reset-title = Elija una nueva contraseña
reset-lead = Está eligiendo una nueva contraseña para { $email }.
reset-submit = Cambiar mi contraseña
password-changed-title = Su contraseña se cambió
password-changed-body = Por su seguridad, se cerró su sesión en todas partes. Inicie sesión con su nueva contraseña.
