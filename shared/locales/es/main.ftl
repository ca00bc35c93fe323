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
error-unavailable-body = { -brand } tiene problemas en este momento. Su información está segura. Vuelva a intentarlo en unos minutos.
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
