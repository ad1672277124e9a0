# Páginas públicas de convene — español.
site-name = convene
skip-to-content = Ir al contenido
nav-forum = Foro
nav-programme = Programa
nav-speakers = Ponentes
nav-language = Idioma
footer-text = Foros municipales organizados con convene
footer-api = API
back-to-forums = Todos los foros
yes = Sí
no = No
list-more = Más

forums-title = Foros
forums-intro = Programas, ponentes y declaraciones de los foros celebrados aquí.
forums-none = Todavía no se ha publicado ningún foro.

forum-dates = Fechas
forum-place = Lugar
forum-venue = Sede
forum-registration = Inscripción
forum-register = Inscribirse
forum-declarations = Declaraciones
registration-open = Abierta
registration-waitlist = Lista de espera
registration-approval = Abierta, sujeta a aprobación
registration-closed = Cerrada
registration-opens = Abre el { $when }
registration-closes = Cierra el { $when }
registration-full = Todas las plazas están ocupadas: las nuevas inscripciones pasan a la lista de espera.

programme-days = Días del programa
programme-zone = Las horas son las locales del foro: { $zone }.
programme-empty = No hay nada previsto este día.
calendar-feeds = Calendario:
calendar-subscribe = Suscribirse (webcal)
calendar-download = Descargar .ics
calendar-add = Añadir al calendario
calendar-session-download = Descargar esta sesión (.ics)

session-cancelled = Cancelada
session-when = Cuándo
session-room = Sala
session-kind = Tipo
session-track = Eje temático
session-language = Idioma
session-abstract = Resumen
kind-plenary = Plenaria
kind-panel = Panel
kind-workshop = Taller
kind-talk = Charla
kind-side_event = Evento paralelo
kind-ceremony = Ceremonia
kind-break = Pausa
kind-other = Otro
role-speaker = ponente
role-moderator = moderador/a
role-chair = presidente/a de sesión

speakers-none = Todavía no se ha anunciado ningún ponente.
speaker-sessions = Sesiones
speaker-no-sessions = No hay ninguna sesión prevista para esta persona.

declaration-status-draft = Borrador
declaration-status-scheduled = Abre pronto
declaration-status-open = Abierta a la firma
declaration-status-closed = Cerrada
declaration-closes = Las firmas cierran el { $when }.
declaration-no-translation = Este texto no está disponible en su idioma; se muestra el original.
declaration-no-text = El texto de esta declaración aún no se ha publicado.
declaration-version = Versión
declaration-text-hash = SHA-256 del texto
declaration-version-hash = SHA-256 de la versión
declaration-languages = Leer en:

sign-title = Firmar la declaración
sign-sent = Gracias. Le hemos enviado un correo electrónico: abra su enlace para confirmar su firma.
form-errors = Corrija lo siguiente:
sign-full-name = Nombre completo
sign-title-field = Título o cargo
sign-entity-kind = Firma en nombre de
sign-entity-name = Nombre de la ciudad, región u organización
sign-city = Ciudad
sign-country = País
sign-country-hint = Código ISO de dos letras, p. ej. TR, FR, CO.
sign-email = Correo electrónico
sign-email-hint = Se mantiene privado; allí se envía el enlace de confirmación.
sign-consent = Mostrar mi firma en la lista pública de firmantes
sign-button = Firmar
entity-city = Ciudad o municipio
entity-region = Región
entity-organization = Organización
entity-individual = A título personal

signatories-title = Firmantes
signatories-total = { $count ->
    [one] Una firma confirmada.
   *[other] { $count } firmas confirmadas.
}
signatories-by-country = Por país
signatories-by-kind = Por tipo de firmante
signatories-count = Firmas
signatories-list = Lista pública
signatories-signed-at = Firmado
signatories-none = Todavía no hay ninguna firma en la lista pública.

ledger-title = Registro
ledger-verified = El servidor acaba de volver a verificar las { $count } entradas: la cadena está intacta.
ledger-broken = El registro no se verifica en la entrada { $seq }: { $reason }
ledger-length = Entradas
ledger-head = Hash de cabeza
ledger-how = Verifíquelo usted mismo
ledger-how-1 = Descargue las entradas:
ledger-how-2 = Para cada entrada, calcule el SHA-256 de su cuerpo; debe ser igual a su hash, y el prev_hash del cuerpo debe ser igual al hash de la entrada anterior (la primera sigue a 64 ceros).
ledger-how-3 = El último hash debe ser igual al hash de cabeza indicado arriba; guárdelo para comprobar más tarde que nada se reescribió.
ledger-how-doc = El formato exacto está en LEDGER.md, incluido con convene.
ledger-entries = Entradas
ledger-kind = Evento
ledger-hash = Hash
ledger-kind-confirm = Firma confirmada
ledger-kind-withdraw = Firma retirada
ledger-empty = El registro está vacío.

signature-heading = Su firma
signature-confirm-heading = Confirme su firma
signature-withdraw-heading = Retirar su firma
signature-status = Estado
signature-status-pending = Pendiente de su confirmación
signature-status-confirmed = Confirmada
signature-status-withdrawn = Retirada
signature-status-lapsed = Caducada
signature-public = En la lista pública
confirm-explain = Todavía no se ha confirmado nada. Pulse el botón para firmar esta versión de la declaración con los datos de arriba.
confirm-button = Confirmar mi firma
withdraw-explain = La retirada queda anotada en el registro; su firma sale de la lista pública.
withdraw-reason = Motivo (opcional)
withdraw-button = Retirar mi firma
confirmed-notice = Su firma está confirmada. Gracias.
withdrawn-notice = Su firma ha sido retirada.
signature-link-confirm = Confirmar esta firma
signature-link-withdraw = Retirar esta firma
signature-link-list = Ver la lista pública

continue-title = Un paso más
continue-explain = Su navegador le lleva a la página de su enlace.
continue-button = Continuar

registration-title = Su inscripción
registration-status = Estado
registration-status-pending = Pendiente de aprobación
registration-status-confirmed = Confirmada
registration-status-waitlisted = En lista de espera
registration-status-rejected = No aceptada
registration-status-cancelled = Cancelada
registration-position = Puesto { $position } en la lista de espera
registration-organization = Organización
registration-check-in-code = Código de acreditación

error-not-found-title = Página no encontrada
error-not-found = Esta página no existe. Puede que el foro aún no esté publicado o que el enlace esté mal escrito.
error-link-title = Este enlace no funciona
error-link = El enlace es desconocido, fue sustituido por uno más reciente o ya no es válido. Abra el último correo que le enviamos o pida un enlace nuevo.
error-conflict-title = No se pudo completar
error-server-title = Algo salió mal
error-server = El servidor no pudo responder. Inténtelo de nuevo en un momento.
error-csrf-title = El formulario ha caducado
error-csrf = Por su seguridad, este formulario solo puede enviarse desde su propia página. Vuelva atrás, recargue la página y envíelo de nuevo.
