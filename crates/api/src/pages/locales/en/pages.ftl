# convene's public pages — English (the fallback catalog: every key is here).
site-name = convene
skip-to-content = Skip to content
nav-forum = Forum
nav-programme = Programme
nav-speakers = Speakers
nav-language = Language
footer-text = Municipal forums run with convene
footer-api = API
back-to-forums = All forums
yes = Yes
no = No
list-more = More

forums-title = Forums
forums-intro = Programmes, speakers and declarations of the forums held here.
forums-none = No forum is published yet.

forum-dates = Dates
forum-place = Place
forum-venue = Venue
forum-registration = Registration
forum-register = Register
forum-declarations = Declarations
registration-open = Open
registration-waitlist = Wait-list
registration-approval = Open, subject to approval
registration-closed = Closed
registration-opens = Opens { $when }
registration-closes = Closes { $when }
registration-full = All seats are taken: new registrations go on the wait-list.

programme-days = Days of the programme
programme-zone = Times are local to the forum: { $zone }.
programme-empty = Nothing is scheduled on this day.
calendar-feeds = Calendar:
calendar-subscribe = Subscribe (webcal)
calendar-download = Download .ics
calendar-add = Add to calendar
calendar-session-download = Download this session (.ics)

session-cancelled = Cancelled
session-when = When
session-room = Room
session-kind = Kind
session-track = Track
session-language = Language
session-abstract = Abstract
kind-plenary = Plenary
kind-panel = Panel
kind-workshop = Workshop
kind-talk = Talk
kind-side_event = Side event
kind-ceremony = Ceremony
kind-break = Break
kind-other = Other
role-speaker = speaker
role-moderator = moderator
role-chair = chair

speakers-none = No speaker is listed yet.
speaker-sessions = Sessions
speaker-no-sessions = No session is scheduled for this person.

declaration-status-draft = Draft
declaration-status-scheduled = Opens soon
declaration-status-open = Open for signature
declaration-status-closed = Closed
declaration-closes = Signatures close { $when }.
declaration-no-translation = This text is not available in your language; the original is shown.
declaration-no-text = The text of this declaration is not published yet.
declaration-version = Version
declaration-text-hash = SHA-256 of the text
declaration-version-hash = SHA-256 of the version
declaration-languages = Read it in:

sign-title = Sign the declaration
sign-sent = Thank you. We have sent you an e-mail: open its link to confirm your signature.
form-errors = Please correct the following:
sign-full-name = Full name
sign-title-field = Title or position
sign-entity-kind = Signing for
sign-entity-name = Name of the city, region or organization
sign-city = City
sign-country = Country
sign-country-hint = Two-letter ISO code, e.g. TR, FR, CO.
sign-email = E-mail
sign-email-hint = Kept private; the confirmation link is sent there.
sign-consent = Show my signature on the public list of signatories
sign-button = Sign
entity-city = City or municipality
entity-region = Region
entity-organization = Organization
entity-individual = In my own name

signatories-title = Signatories
signatories-total = { $count ->
    [one] One confirmed signature.
   *[other] { $count } confirmed signatures.
}
signatories-by-country = By country
signatories-by-kind = By kind of signatory
signatories-count = Signatures
signatories-list = Public list
signatories-signed-at = Signed
signatories-none = No signature is on the public list yet.

ledger-title = Ledger
ledger-verified = The server re-verified all { $count } entries just now: the chain is intact.
ledger-broken = The ledger does not verify at entry { $seq }: { $reason }
ledger-length = Entries
ledger-head = Head hash
ledger-how = Verify it yourself
ledger-how-1 = Download the entries:
ledger-how-2 = For each entry, compute the SHA-256 of its body; it must equal its hash, and the body's prev_hash must equal the previous entry's hash (the first one follows 64 zeros).
ledger-how-3 = The last hash must equal the head hash above; keep it to check later that nothing was rewritten.
ledger-how-doc = The exact format is in LEDGER.md, shipped with convene.
ledger-entries = Entries
ledger-kind = Event
ledger-hash = Hash
ledger-kind-confirm = Signature confirmed
ledger-kind-withdraw = Signature withdrawn
ledger-empty = The ledger is empty.

signature-heading = Your signature
signature-confirm-heading = Confirm your signature
signature-withdraw-heading = Withdraw your signature
signature-status = Status
signature-status-pending = Waiting for your confirmation
signature-status-confirmed = Confirmed
signature-status-withdrawn = Withdrawn
signature-status-lapsed = Lapsed
signature-public = On the public list
confirm-explain = Nothing has been confirmed yet. Press the button to sign this version of the declaration with the details above.
confirm-button = Confirm my signature
withdraw-explain = Withdrawing is recorded in the ledger; your signature leaves the public list.
withdraw-reason = Reason (optional)
withdraw-button = Withdraw my signature
confirmed-notice = Your signature is confirmed. Thank you.
withdrawn-notice = Your signature is withdrawn.
signature-link-confirm = Confirm this signature
signature-link-withdraw = Withdraw this signature
signature-link-list = See the public list

continue-title = One more step
continue-explain = Your browser is taking you to the page of your link.
continue-button = Continue

registration-title = Your registration
registration-status = Status
registration-status-pending = Waiting for approval
registration-status-confirmed = Confirmed
registration-status-waitlisted = On the wait-list
registration-status-rejected = Not accepted
registration-status-cancelled = Cancelled
registration-position = Position { $position } on the wait-list
registration-organization = Organization
registration-check-in-code = Check-in code

error-not-found-title = Page not found
error-not-found = There is no such page here. The forum may not be published yet, or the link may be mistyped.
error-link-title = This link does not work
error-link = The link is unknown, was replaced by a newer one, or has been used up. Open the most recent e-mail we sent you, or ask for a new link.
error-conflict-title = That did not work
error-server-title = Something went wrong
error-server = The server could not answer. Please try again in a moment.
error-csrf-title = The form has expired
error-csrf = For your safety this form can only be sent from its own page. Go back, reload the page and send it again.
