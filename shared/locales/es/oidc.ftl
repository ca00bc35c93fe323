## Organismos: el paso de autorización, el consentimiento, el cierre de sesión desde un organismo, los organismos conectados.

authorize-error-title = Este enlace de inicio de sesión no se puede usar
authorize-error-no-client = El enlace que le trajo aquí no indica qué organismo le envía. Vuelva al sitio web del organismo y empiece de nuevo desde su botón de inicio de sesión.
authorize-error-unknown-client = El organismo que le envía no está registrado en { -brand }. Vuelva al sitio web del organismo y empiece de nuevo; si vuelve a ocurrir, contacte con el organismo.
authorize-error-redirect-uri = El enlace del organismo pide enviarle a una dirección que no ha registrado, así que { -brand } no le enviará allí. Vuelva al sitio web del organismo y empiece de nuevo; si vuelve a ocurrir, contacte con el organismo.
authorize-error-home = Ir a la página de inicio de { -brand }
authorize-ended-title = Esta solicitud de inicio de sesión ha terminado
authorize-ended = La solicitud del organismo ha caducado o ya fue respondida. Vuelva al sitio web del organismo y empiece de nuevo desde su botón de inicio de sesión.
authorize-ended-account = Ir a su cuenta
authorize-needs-factor-title = Este organismo pide una llave de seguridad o el desbloqueo facial o por huella
authorize-needs-phishing-resistant = Para continuar, inicie sesión con una llave de seguridad o el desbloqueo facial o por huella. Si aún no ha configurado ninguno, añada uno a su cuenta primero.
authorize-use-security-key = Usar una llave de seguridad o el desbloqueo facial o por huella
authorize-needs-verification-title = Este organismo necesita una identidad verificada
authorize-back-to-agency = Volver al organismo
authorize-cancel-title = ¿Volver sin iniciar sesión?
authorize-cancel-lead = Se informará a { $agency } de que no ha iniciado sesión.
authorize-cancel-submit = Volver al organismo

consent-title = Compartir su información
consent-heading = { $agency } solicita su información
consent-lead = Si continúa, { -brand } compartirá con este organismo:
consent-revoke-hint = Puede dejar de compartir en cualquier momento desde la página de su cuenta.
consent-allow = Aceptar y continuar
consent-deny = No compartir
consent-scope-openid = Un identificador propio de este organismo, y cómo inició sesión
consent-scope-email = Su dirección de correo electrónico
consent-scope-all-emails = Todas las direcciones de correo electrónico de su cuenta
consent-scope-locale = Su idioma preferido
consent-scope-profile-verified-at = Cuándo se verificó su identidad
consent-scope-profile = Su nombre, fecha de nacimiento y cuándo se verificó su identidad
consent-scope-profile-name = Su nombre
consent-scope-profile-birthdate = Su fecha de nacimiento
consent-scope-address = Su dirección postal
consent-scope-phone = Su número de teléfono
consent-scope-social-security-number = Su número de Seguro Social

end-session-title = ¿Cerrar sesión en { -brand }?
end-session-lead = Se cerrará su sesión de { -brand } en este dispositivo.
end-session-lead-agency = { $agency } pide cerrar su sesión de { -brand } en este dispositivo.
end-session-submit = Cerrar sesión
end-session-stay = Mantener la sesión
end-session-invalid-title = Este enlace de cierre de sesión no se puede usar
end-session-invalid = El enlace de cierre de sesión del organismo no es válido, así que no se le ha enviado a ninguna parte. Puede cerrar sesión desde la página de su cuenta.

connected-title = Organismos conectados
connected-lead = Estos organismos reciben información de su cuenta cuando inicia sesión en ellos.
connected-none = Todavía no ha compartido información con ningún organismo.
connected-attributes = Compartido: { $attributes }
connected-granted = Autorizado el { $date }
connected-revoke = Dejar de compartir con { $agency }
connected-revoked = Hecho: ese organismo le volverá a pedir permiso la próxima vez.
account-connected-link = Ver y gestionar los organismos con los que comparte información
authorize-needs-verification = { $agency } necesita saber quién es usted: verifique su identidad una vez con { -brand } y los organismos que lo necesiten podrán recibir su información verificada, con su consentimiento.
authorize-verify-now = Verificar su identidad
unlock-title = Introduzca su contraseña para compartir su información verificada
unlock-lead = Su identidad verificada está protegida con su contraseña: solo usted puede abrirla. Introdúzcala para compartir la información que { $agency } solicita.
unlock-submit = Continuar
