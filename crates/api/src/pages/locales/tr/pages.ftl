# convene'in herkese açık sayfaları — Türkçe.
site-name = convene
skip-to-content = İçeriğe geç
nav-forum = Forum
nav-programme = Program
nav-speakers = Konuşmacılar
nav-language = Dil
footer-text = convene ile düzenlenen belediye forumları
footer-api = API
back-to-forums = Tüm forumlar
yes = Evet
no = Hayır
list-more = Devamı

forums-title = Forumlar
forums-intro = Burada düzenlenen forumların programları, konuşmacıları ve bildirgeleri.
forums-none = Henüz yayımlanmış bir forum yok.

forum-dates = Tarihler
forum-place = Yer
forum-venue = Mekân
forum-registration = Kayıt
forum-register = Kayıt ol
forum-declarations = Bildirgeler
registration-open = Açık
registration-waitlist = Bekleme listesi
registration-approval = Açık, onaya tabi
registration-closed = Kapalı
registration-opens = Açılış: { $when }
registration-closes = Kapanış: { $when }
registration-full = Tüm yerler dolu: yeni kayıtlar bekleme listesine alınır.

programme-days = Program günleri
programme-zone = Saatler forumun yerel saatidir: { $zone }.
programme-empty = Bu gün için planlanmış bir şey yok.
calendar-feeds = Takvim:
calendar-subscribe = Abone ol (webcal)
calendar-download = .ics indir
calendar-add = Takvime ekle
calendar-session-download = Bu oturumu indir (.ics)

session-cancelled = İptal edildi
session-when = Ne zaman
session-room = Salon
session-kind = Tür
session-track = Tema
session-language = Dil
session-abstract = Özet
kind-plenary = Genel oturum
kind-panel = Panel
kind-workshop = Çalıştay
kind-talk = Konuşma
kind-side_event = Yan etkinlik
kind-ceremony = Tören
kind-break = Ara
kind-other = Diğer
role-speaker = konuşmacı
role-moderator = moderatör
role-chair = oturum başkanı

speakers-none = Henüz duyurulmuş bir konuşmacı yok.
speaker-sessions = Oturumlar
speaker-no-sessions = Bu kişi için planlanmış bir oturum yok.

declaration-status-draft = Taslak
declaration-status-scheduled = Yakında açılıyor
declaration-status-open = İmzaya açık
declaration-status-closed = Kapalı
declaration-closes = İmzalar { $when } tarihinde kapanır.
declaration-no-translation = Bu metin sizin dilinizde mevcut değil; özgün metin gösteriliyor.
declaration-no-text = Bu bildirgenin metni henüz yayımlanmadı.
declaration-version = Sürüm
declaration-text-hash = Metnin SHA-256 özeti
declaration-version-hash = Sürümün SHA-256 özeti
declaration-languages = Şu dilde okuyun:

sign-title = Bildirgeyi imzalayın
sign-sent = Teşekkürler. Size bir e-posta gönderdik: imzanızı onaylamak için içindeki bağlantıyı açın.
form-errors = Lütfen şunları düzeltin:
sign-full-name = Ad soyad
sign-title-field = Unvan veya görev
sign-entity-kind = Kimin adına
sign-entity-name = Kentin, bölgenin veya kuruluşun adı
sign-city = Şehir
sign-country = Ülke
sign-country-hint = İki harfli ISO kodu, örneğin TR, FR, CO.
sign-email = E-posta
sign-email-hint = Gizli tutulur; onay bağlantısı bu adrese gönderilir.
sign-consent = İmzam imzacıların herkese açık listesinde görünsün
sign-button = İmzala
entity-city = Kent veya belediye
entity-region = Bölge
entity-organization = Kuruluş
entity-individual = Kendi adıma

signatories-title = İmzacılar
signatories-total = { $count ->
    [one] Onaylanmış bir imza.
   *[other] { $count } onaylanmış imza.
}
signatories-by-country = Ülkeye göre
signatories-by-kind = İmzacı türüne göre
signatories-count = İmzalar
signatories-list = Herkese açık liste
signatories-signed-at = İmza tarihi
signatories-none = Herkese açık listede henüz imza yok.

ledger-title = Kayıt defteri
ledger-verified = Sunucu { $count } kaydın tamamını az önce yeniden doğruladı: zincir sağlam.
ledger-broken = Kayıt defteri { $seq } numaralı kayıtta doğrulanmıyor: { $reason }
ledger-length = Kayıtlar
ledger-head = Baş özeti
ledger-how = Kendiniz doğrulayın
ledger-how-1 = Kayıtları indirin:
ledger-how-2 = Her kayıt için gövdesinin SHA-256 özetini hesaplayın; kaydın özetine eşit olmalı ve gövdedeki prev_hash bir önceki kaydın özetine eşit olmalıdır (ilk kayıt 64 sıfırı izler).
ledger-how-3 = Son özet yukarıdaki baş özetine eşit olmalıdır; hiçbir şeyin yeniden yazılmadığını daha sonra kontrol etmek için saklayın.
ledger-how-doc = Tam biçim, convene ile gelen LEDGER.md dosyasında anlatılır.
ledger-entries = Kayıtlar
ledger-kind = Olay
ledger-hash = Özet
ledger-kind-confirm = İmza onaylandı
ledger-kind-withdraw = İmza geri çekildi
ledger-empty = Kayıt defteri boş.

signature-heading = İmzanız
signature-confirm-heading = İmzanızı onaylayın
signature-withdraw-heading = İmzanızı geri çekin
signature-status = Durum
signature-status-pending = Onayınızı bekliyor
signature-status-confirmed = Onaylandı
signature-status-withdrawn = Geri çekildi
signature-status-lapsed = Süresi doldu
signature-public = Herkese açık listede
confirm-explain = Henüz hiçbir şey onaylanmadı. Bildirgenin bu sürümünü yukarıdaki bilgilerle imzalamak için düğmeye basın.
confirm-button = İmzamı onayla
withdraw-explain = Geri çekme kayıt defterine işlenir; imzanız herkese açık listeden çıkar.
withdraw-reason = Gerekçe (isteğe bağlı)
withdraw-button = İmzamı geri çek
confirmed-notice = İmzanız onaylandı. Teşekkürler.
withdrawn-notice = İmzanız geri çekildi.
signature-link-confirm = Bu imzayı onayla
signature-link-withdraw = Bu imzayı geri çek
signature-link-list = Herkese açık listeyi gör

continue-title = Bir adım daha
continue-explain = Tarayıcınız sizi bağlantınızın sayfasına götürüyor.
continue-button = Devam et

registration-title = Kaydınız
registration-status = Durum
registration-status-pending = Onay bekliyor
registration-status-confirmed = Onaylandı
registration-status-waitlisted = Bekleme listesinde
registration-status-rejected = Kabul edilmedi
registration-status-cancelled = İptal edildi
registration-position = Bekleme listesinde { $position }. sırada
registration-organization = Kuruluş
registration-check-in-code = Giriş kodu

error-not-found-title = Sayfa bulunamadı
error-not-found = Burada böyle bir sayfa yok. Forum henüz yayımlanmamış ya da bağlantı yanlış yazılmış olabilir.
error-link-title = Bu bağlantı çalışmıyor
error-link = Bağlantı bilinmiyor, daha yenisiyle değiştirilmiş ya da artık geçerli değil. Size gönderdiğimiz en son e-postayı açın veya yeni bir bağlantı isteyin.
error-conflict-title = Bu işlem yapılamadı
error-server-title = Bir sorun oluştu
error-server = Sunucu yanıt veremedi. Lütfen biraz sonra yeniden deneyin.
error-csrf-title = Formun süresi doldu
error-csrf = Güvenliğiniz için bu form yalnızca kendi sayfasından gönderilebilir. Geri dönün, sayfayı yenileyin ve yeniden gönderin.
