# Sesiones: enlaces del encabezado, aviso de inactividad, páginas de cierre y de expiración.
nav-account = Su cuenta
nav-sign-out = Cerrar sesión
session-warning-title = Su sesión está a punto de terminar
session-warning-body = Por su seguridad, cerraremos su sesión después de { $minutes } minutos sin actividad. Tiempo restante:
session-warning-stay = Mantener la sesión
session-timed-out-title = Su sesión ha terminado
session-timed-out-body = Por su seguridad, cerramos su sesión porque no hubo actividad durante un tiempo. Vuelva a iniciar sesión para continuar.
session-ended-notice = Su sesión ha terminado. Vuelva a iniciar sesión para continuar.
signed-out-notice = Ha cerrado la sesión.
