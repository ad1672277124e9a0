# صفحات convene العامة — العربية.
site-name = convene
skip-to-content = انتقل إلى المحتوى
nav-forum = المنتدى
nav-programme = البرنامج
nav-speakers = المتحدثون
nav-language = اللغة
footer-text = منتديات بلدية تُدار باستخدام convene
footer-api = واجهة البرمجة
back-to-forums = جميع المنتديات
yes = نعم
no = لا
list-more = المزيد

forums-title = المنتديات
forums-intro = برامج المنتديات المنعقدة هنا ومتحدثوها وإعلاناتها.
forums-none = لم يُنشر أي منتدى بعد.

forum-dates = التواريخ
forum-place = المكان
forum-venue = مقر الانعقاد
forum-registration = التسجيل
forum-register = سجّل الآن
forum-declarations = الإعلانات
registration-open = مفتوح
registration-waitlist = قائمة الانتظار
registration-approval = مفتوح، رهنًا بالموافقة
registration-closed = مغلق
registration-opens = يُفتح في { $when }
registration-closes = يُغلق في { $when }
registration-full = جميع المقاعد محجوزة: تُضاف التسجيلات الجديدة إلى قائمة الانتظار.

programme-days = أيام البرنامج
programme-zone = الأوقات بالتوقيت المحلي للمنتدى: { $zone }.
programme-empty = لا شيء مقرر في هذا اليوم.
calendar-feeds = التقويم:
calendar-subscribe = اشترك (webcal)
calendar-download = نزّل ملف ‎.ics
calendar-add = أضف إلى التقويم
calendar-session-download = نزّل هذه الجلسة (‎.ics)

session-cancelled = أُلغيت
session-when = الموعد
session-room = القاعة
session-kind = النوع
session-track = المحور
session-language = اللغة
session-abstract = الملخص
kind-plenary = جلسة عامة
kind-panel = حلقة نقاش
kind-workshop = ورشة عمل
kind-talk = محاضرة
kind-side_event = فعالية جانبية
kind-ceremony = مراسم
kind-break = استراحة
kind-other = أخرى
role-speaker = متحدث
role-moderator = مدير الجلسة
role-chair = رئيس الجلسة

speakers-none = لم يُعلَن عن أي متحدث بعد.
speaker-sessions = الجلسات
speaker-no-sessions = لا توجد جلسة مقررة لهذا الشخص.

declaration-status-draft = مسودة
declaration-status-scheduled = يُفتح قريبًا
declaration-status-open = مفتوح للتوقيع
declaration-status-closed = مغلق
declaration-closes = يُغلق التوقيع في { $when }.
declaration-no-translation = هذا النص غير متوفر بلغتك؛ يُعرض النص الأصلي.
declaration-no-text = لم يُنشر نص هذا الإعلان بعد.
declaration-version = الإصدار
declaration-text-hash = بصمة SHA-256 للنص
declaration-version-hash = بصمة SHA-256 للإصدار
declaration-languages = اقرأه باللغة:

sign-title = وقّع الإعلان
sign-sent = شكرًا لك. أرسلنا إليك رسالة بريد إلكتروني: افتح الرابط الذي فيها لتأكيد توقيعك.
form-errors = يُرجى تصحيح ما يلي:
sign-full-name = الاسم الكامل
sign-title-field = اللقب أو المنصب
sign-entity-kind = التوقيع باسم
sign-entity-name = اسم المدينة أو المنطقة أو المنظمة
sign-city = المدينة
sign-country = البلد
sign-country-hint = رمز ISO من حرفين، مثل TR أو FR أو CO.
sign-email = البريد الإلكتروني
sign-email-hint = يبقى سريًا؛ يُرسَل إليه رابط التأكيد.
sign-consent = أظهر توقيعي في القائمة العامة للموقّعين
sign-button = وقّع
entity-city = مدينة أو بلدية
entity-region = منطقة
entity-organization = منظمة
entity-individual = باسمي الشخصي

signatories-title = الموقّعون
signatories-total = { $count ->
    [zero] لا توجد توقيعات مؤكدة.
    [one] توقيع واحد مؤكد.
    [two] توقيعان مؤكدان.
    [few] { $count } توقيعات مؤكدة.
   *[other] { $count } توقيعًا مؤكدًا.
}
signatories-by-country = حسب البلد
signatories-by-kind = حسب نوع الموقّع
signatories-count = التوقيعات
signatories-list = القائمة العامة
signatories-signed-at = تاريخ التوقيع
signatories-none = لا يوجد أي توقيع في القائمة العامة بعد.

ledger-title = السجل
ledger-verified = أعاد الخادم للتو التحقق من جميع المدخلات ({ $count }): السلسلة سليمة.
ledger-broken = لا يتحقق السجل عند المُدخل { $seq }: { $reason }
ledger-length = المدخلات
ledger-head = بصمة الرأس
ledger-how = تحقّق بنفسك
ledger-how-1 = نزّل المدخلات:
ledger-how-2 = لكل مُدخل، احسب بصمة SHA-256 لمتنه؛ يجب أن تساوي بصمته، ويجب أن يساوي الحقل prev_hash في المتن بصمةَ المُدخل السابق (يلي الأولُ 64 صفرًا).
ledger-how-3 = يجب أن تساوي البصمة الأخيرة بصمة الرأس أعلاه؛ احتفظ بها لتتحقق لاحقًا من أن شيئًا لم يُعَد كتابته.
ledger-how-doc = الصيغة الدقيقة موصوفة في الملف LEDGER.md المرفق مع convene.
ledger-entries = المدخلات
ledger-kind = الحدث
ledger-hash = البصمة
ledger-kind-confirm = تأكيد توقيع
ledger-kind-withdraw = سحب توقيع
ledger-empty = السجل فارغ.

signature-heading = توقيعك
signature-confirm-heading = أكّد توقيعك
signature-withdraw-heading = اسحب توقيعك
signature-status = الحالة
signature-status-pending = بانتظار تأكيدك
signature-status-confirmed = مؤكد
signature-status-withdrawn = مسحوب
signature-status-lapsed = منتهي الصلاحية
signature-public = في القائمة العامة
confirm-explain = لم يُؤكَّد أي شيء بعد. اضغط الزر لتوقيع هذا الإصدار من الإعلان بالبيانات أعلاه.
confirm-button = أكّد توقيعي
withdraw-explain = يُسجَّل السحب في السجل، ويُزال توقيعك من القائمة العامة.
withdraw-reason = السبب (اختياري)
withdraw-button = اسحب توقيعي
confirmed-notice = تم تأكيد توقيعك. شكرًا لك.
withdrawn-notice = تم سحب توقيعك.
signature-link-confirm = أكّد هذا التوقيع
signature-link-withdraw = اسحب هذا التوقيع
signature-link-list = اطّلع على القائمة العامة

continue-title = خطوة أخرى
continue-explain = ينقلك متصفحك إلى صفحة الرابط الخاص بك.
continue-button = متابعة

registration-title = تسجيلك
registration-status = الحالة
registration-status-pending = بانتظار الموافقة
registration-status-confirmed = مؤكد
registration-status-waitlisted = في قائمة الانتظار
registration-status-rejected = غير مقبول
registration-status-cancelled = ملغى
registration-position = المركز { $position } في قائمة الانتظار
registration-organization = المنظمة
registration-check-in-code = رمز تسجيل الحضور

error-not-found-title = الصفحة غير موجودة
error-not-found = لا توجد صفحة بهذا العنوان. ربما لم يُنشر المنتدى بعد، أو أن الرابط مكتوب بشكل خاطئ.
error-link-title = هذا الرابط لا يعمل
error-link = الرابط غير معروف، أو استُبدل برابط أحدث، أو لم يعد صالحًا. افتح أحدث رسالة أرسلناها إليك، أو اطلب رابطًا جديدًا.
error-conflict-title = لم تنجح العملية
error-server-title = حدث خطأ ما
error-server = تعذّر على الخادم الرد. يُرجى المحاولة مرة أخرى بعد قليل.
error-csrf-title = انتهت صلاحية النموذج
error-csrf = حفاظًا على أمانك، لا يمكن إرسال هذا النموذج إلا من صفحته. ارجع، وأعد تحميل الصفحة، ثم أرسله مرة أخرى.

register-title = التسجيل
register-approval-note = يراجع المنظمون كل تسجيل قبل تأكيده.
register-closed = التسجيل في هذا المنتدى مغلق.
register-required-note = الحقول المعلَّمة بـ * مطلوبة.
register-about-you = بياناتك
register-email-hint = يُرسَل إليه رابطك الشخصي لإدارة تسجيلك.
register-position = المنصب أو الصفة
register-category = أشارك بصفتي
register-choose = اختر…
register-language = لغة رسائلنا الإلكترونية
register-accessibility = احتياجات إمكانية الوصول
register-accessibility-hint = كل ما يساعدك على المشاركة: مدخل بلا درج، لغة الإشارة، ترجمة نصية، نظام غذائي…
register-questions = أسئلة المنظمين
register-any = (يمكنك اختيار أكثر من خيار)
register-consent = أظهِر اسمي ومؤسستي في القوائم العامة للمشاركين
register-button = سجّلني
register-already = عنوان البريد الإلكتروني هذا مسجَّل بالفعل في هذا المنتدى. أرسلنا إليه الرابط الشخصي لإدارة ذلك التسجيل.
register-in-flight = ما زال تسجيلك قيد المعالجة. انتظر قليلًا ثم أعد تحميل الصفحة.
category-mayor = رئيس بلدية
category-municipal_official = موظف بلدي
category-civil_society = المجتمع المدني
category-ngo = منظمة غير حكومية
category-un_international = الأمم المتحدة أو منظمة دولية
category-government = الحكومة
category-academia = الأوساط الأكاديمية
category-media = وسائل الإعلام
category-other = أخرى
registered-notice-confirmed = تم تسجيلك وتأكيد مقعدك. أرسلنا إليك بالبريد الإلكتروني رابطًا شخصيًا إلى هذه الصفحة.
registered-notice-waitlisted = أنت على قائمة الانتظار. سنراسلك فور توفر مقعد. أرسلنا إليك بالبريد الإلكتروني رابطًا شخصيًا إلى هذه الصفحة.
registered-notice-pending = شكرًا لك. سيراجع المنظمون تسجيلك ويبلغونك بقرارهم بالبريد الإلكتروني. أرسلنا إليك بالبريد الإلكتروني رابطًا شخصيًا إلى هذه الصفحة.
error-too-large = النموذج المُرسَل كبير جدًا.
field-required = هذا الحقل مطلوب.
field-email = أدخل عنوان بريد إلكتروني مثل name@example.org.
field-yes-no = اختر نعم أو لا.
field-one-line = اكتبه في سطر واحد.
field-country = أدخل رمز البلد من حرفين مثل TR أو FR أو CO.
field-choice = اختر أحد الخيارات.
field-choices = اختر من بين الخيارات.
field-too-long = { $count } حرفًا على الأكثر.

seats-unlimited = المقاعد: بلا حد
seats-left = { $count ->
    [0] لا مقاعد متبقية: تُضاف التسجيلات الجديدة إلى قائمة الانتظار.
    [one] مقعد واحد متبقٍّ.
    [two] مقعدان متبقيان.
    [few] { $count } مقاعد متبقية.
   *[other] { $count } مقعدًا متبقيًا.
}
manage-saved = حُفظت بياناتك.
manage-joined = تم تسجيلك في الجلسة.
manage-left = أُلغي تسجيلك في الجلسة.
manage-link-sent = أرسلنا إليك بالبريد الإلكتروني رابطًا جديدًا إلى هذه الصفحة.
manage-cancelled = أُلغي تسجيلك.
manage-checkin-explain = أظهر هذا الرمز عند المدخل: يمسحه الفريق لتسجيل حضورك.
manage-qr-label = رمز QR لرمز تسجيل حضورك { $code }
manage-sessions = الجلسات
manage-sessions-explain = سجّل في الجلسات التي ستحضرها؛ فهي تشكّل جدولك الشخصي.
manage-agenda = نزّل جدولي (‎.ics)
manage-signed-up = أنت مسجَّل
manage-signup-waiting = على قائمة الانتظار، المركز { $position }
manage-leave = ألغِ تسجيلي في الجلسة
manage-join = سجّلني
manage-join-waitlist = انضم إلى قائمة الانتظار
manage-details = بياناتك
manage-save = احفظ بياناتي
manage-link = رابطك الشخصي
manage-link-explain = هل فقدت الرسالة أو تفتح هذه الصفحة على جهاز آخر؟ يمكننا أن نرسل إليك رابطًا جديدًا.
manage-link-button = أرسل إليّ رابطًا جديدًا
manage-cancel = إلغاء تسجيلي
manage-cancel-link = إلغاء تسجيلي…
cancel-question = هل تريد حقًا إلغاء تسجيل { $name }؟ سيذهب مقعدك وتسجيلاتك في الجلسات إلى المنتظرين في قوائم الانتظار.
cancel-button = نعم، ألغِ تسجيلي
cancel-back = لا، عُد إلى تسجيلي
signup-clash = لا يمكنك التسجيل في «{ $title }»: فهي تتداخل مع «{ $other }» ({ $when }) المسجَّل فيها بالفعل. ألغِ ذلك التسجيل أولًا إن كنت تفضّل هذه الجلسة.
