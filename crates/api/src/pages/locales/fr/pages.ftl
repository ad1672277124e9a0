# Pages publiques de convene — français.
site-name = convene
skip-to-content = Aller au contenu
nav-forum = Forum
nav-programme = Programme
nav-speakers = Intervenants
nav-language = Langue
footer-text = Forums municipaux organisés avec convene
footer-api = API
back-to-forums = Tous les forums
yes = Oui
no = Non
list-more = Suite

forums-title = Forums
forums-intro = Programmes, intervenants et déclarations des forums tenus ici.
forums-none = Aucun forum n’est encore publié.

forum-dates = Dates
forum-place = Lieu
forum-venue = Salle
forum-registration = Inscription
forum-register = S’inscrire
forum-declarations = Déclarations
registration-open = Ouverte
registration-waitlist = Liste d’attente
registration-approval = Ouverte, sous réserve d’approbation
registration-closed = Fermée
registration-opens = Ouvre le { $when }
registration-closes = Ferme le { $when }
registration-full = Toutes les places sont prises : les nouvelles inscriptions vont sur la liste d’attente.

programme-days = Jours du programme
programme-zone = Les heures sont celles du forum : { $zone }.
programme-empty = Rien n’est prévu ce jour-là.
calendar-feeds = Agenda :
calendar-subscribe = S’abonner (webcal)
calendar-download = Télécharger le .ics
calendar-add = Ajouter à l’agenda
calendar-session-download = Télécharger cette session (.ics)

session-cancelled = Annulée
session-when = Quand
session-room = Salle
session-kind = Type
session-track = Thème
session-language = Langue
session-abstract = Résumé
kind-plenary = Plénière
kind-panel = Table ronde
kind-workshop = Atelier
kind-talk = Exposé
kind-side_event = Événement parallèle
kind-ceremony = Cérémonie
kind-break = Pause
kind-other = Autre
role-speaker = intervenant·e
role-moderator = modérateur·rice
role-chair = président·e de séance

speakers-none = Aucun intervenant n’est encore annoncé.
speaker-sessions = Sessions
speaker-no-sessions = Aucune session n’est prévue pour cette personne.

declaration-status-draft = Brouillon
declaration-status-scheduled = Ouvre bientôt
declaration-status-open = Ouverte à la signature
declaration-status-closed = Close
declaration-closes = Les signatures ferment le { $when }.
declaration-no-translation = Ce texte n’existe pas dans votre langue ; l’original est affiché.
declaration-no-text = Le texte de cette déclaration n’est pas encore publié.
declaration-version = Version
declaration-text-hash = SHA-256 du texte
declaration-version-hash = SHA-256 de la version
declaration-languages = Lire en :

sign-title = Signer la déclaration
sign-sent = Merci. Nous vous avons envoyé un e-mail : ouvrez son lien pour confirmer votre signature.
form-errors = Veuillez corriger ce qui suit :
sign-full-name = Nom complet
sign-title-field = Titre ou fonction
sign-entity-kind = Signe pour
sign-entity-name = Nom de la ville, de la région ou de l’organisation
sign-city = Ville
sign-country = Pays
sign-country-hint = Code ISO à deux lettres, par ex. TR, FR, CO.
sign-email = E-mail
sign-email-hint = Reste confidentiel ; le lien de confirmation y est envoyé.
sign-consent = Afficher ma signature sur la liste publique des signataires
sign-button = Signer
entity-city = Ville ou commune
entity-region = Région
entity-organization = Organisation
entity-individual = En mon nom propre

signatories-title = Signataires
signatories-total = { $count ->
    [one] Une signature confirmée.
   *[other] { $count } signatures confirmées.
}
signatories-by-country = Par pays
signatories-by-kind = Par type de signataire
signatories-count = Signatures
signatories-list = Liste publique
signatories-signed-at = Signé le
signatories-none = Aucune signature ne figure encore sur la liste publique.

ledger-title = Registre
ledger-verified = Le serveur vient de revérifier les { $count } entrées : la chaîne est intacte.
ledger-broken = Le registre ne se vérifie pas à l’entrée { $seq } : { $reason }
ledger-length = Entrées
ledger-head = Empreinte de tête
ledger-how = Vérifiez-le vous-même
ledger-how-1 = Téléchargez les entrées :
ledger-how-2 = Pour chaque entrée, calculez le SHA-256 de son corps ; il doit égaler son empreinte, et le prev_hash du corps doit égaler l’empreinte de l’entrée précédente (la première suit 64 zéros).
ledger-how-3 = La dernière empreinte doit égaler l’empreinte de tête ci-dessus ; gardez-la pour vérifier plus tard que rien n’a été réécrit.
ledger-how-doc = Le format exact est décrit dans LEDGER.md, livré avec convene.
ledger-entries = Entrées
ledger-kind = Événement
ledger-hash = Empreinte
ledger-kind-confirm = Signature confirmée
ledger-kind-withdraw = Signature retirée
ledger-empty = Le registre est vide.

signature-heading = Votre signature
signature-confirm-heading = Confirmez votre signature
signature-withdraw-heading = Retirer votre signature
signature-status = État
signature-status-pending = En attente de votre confirmation
signature-status-confirmed = Confirmée
signature-status-withdrawn = Retirée
signature-status-lapsed = Caduque
signature-public = Sur la liste publique
confirm-explain = Rien n’est encore confirmé. Appuyez sur le bouton pour signer cette version de la déclaration avec les informations ci-dessus.
confirm-button = Confirmer ma signature
withdraw-explain = Le retrait est inscrit au registre ; votre signature quitte la liste publique.
withdraw-reason = Motif (facultatif)
withdraw-button = Retirer ma signature
confirmed-notice = Votre signature est confirmée. Merci.
withdrawn-notice = Votre signature est retirée.
signature-link-confirm = Confirmer cette signature
signature-link-withdraw = Retirer cette signature
signature-link-list = Voir la liste publique

continue-title = Encore une étape
continue-explain = Votre navigateur vous mène à la page de votre lien.
continue-button = Continuer

registration-title = Votre inscription
registration-status = État
registration-status-pending = En attente d’approbation
registration-status-confirmed = Confirmée
registration-status-waitlisted = Sur liste d’attente
registration-status-rejected = Non retenue
registration-status-cancelled = Annulée
registration-position = Position { $position } sur la liste d’attente
registration-organization = Organisation
registration-check-in-code = Code d’accueil

error-not-found-title = Page introuvable
error-not-found = Cette page n’existe pas. Le forum n’est peut-être pas encore publié, ou le lien est mal saisi.
error-link-title = Ce lien ne fonctionne pas
error-link = Le lien est inconnu, a été remplacé par un plus récent ou n’est plus valable. Ouvrez le dernier e-mail que nous vous avons envoyé, ou demandez un nouveau lien.
error-conflict-title = Cela n’a pas abouti
error-server-title = Une erreur s’est produite
error-server = Le serveur n’a pas pu répondre. Réessayez dans un instant.
error-csrf-title = Le formulaire a expiré
error-csrf = Pour votre sécurité, ce formulaire ne peut être envoyé que depuis sa propre page. Revenez en arrière, rechargez la page et envoyez-le à nouveau.
