"""The respondent web form at /isi/ ("fill in"), offline first (issue 14 part 1).

The pages are a shell: the questionnaire itself runs in the browser (static/surveys/collect/
form.js, no framework) on the public HTTP API, exactly as any other client would:
redeem the invitation (POST /api/v1/invitations/redeem/), read the wave, the instrument in both
languages and the regions, keep every answer in localStorage as it is given, save it as a
server draft (POST ... status "draft", then PATCH) whenever there is a connection, and finish
with POST .../submit/, retried until acknowledged. The client-made submission_id makes every
retry idempotent, so a lost connection never loses or duplicates a response. The form never
sends design fields (stratum, psu, base_weight): those come from the design, not from a
respondent.

Server side there is only:

- `form`: the shell. With `?kode=...` it first looks the invitation up without redeeming it,
  so an unknown or used code, or a closed wave, is refused kindly (404, 410, 409) on a page of
  its own, in Indonesian or English, before any JavaScript runs. Invitations carry no expiry
  of their own: a code "expires" when its wave closes (docs/DECISIONS.md).
- `service_worker`: /isi/sw.js, so that its scope covers /isi/; it caches the shell and its
  static files so the form reopens without signal.
"""

from __future__ import annotations

import hashlib
import json

from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_GET

from surveys.language import request_language
from surveys.models import AgeGroup, Invitation, Region, RegionLevel, Sex, WaveStatus
from surveys.services.accounts import _code_hash as invitation_code_hash

#: Longest code the redeem endpoint accepts (InvitationRedeemInputSerializer).
CODE_MAX = 40
#: The static files the service worker keeps for offline use (besides the shell page).
ASSETS = ("surveys/collect/form.js", "surveys/collect/form.css")
SERVICE_WORKER = "surveys/collect/sw.js"

#: Every word of the form, Indonesian first. Kept as data (like surveys.web.labels) and sent to
#: the browser whole, so the language switch works offline too.
STRINGS: dict[str, dict[str, str]] = {
    "id": {
        "lang_name": "Bahasa Indonesia",
        "switch_to": "English",
        "title": "Survei Nilai Pancasila",
        "intro": (
            "Masukkan kode undangan Anda untuk membuka kuesioner. Selama mengisi, jawaban Anda "
            "disimpan di perangkat ini, juga ketika tidak ada sinyal."
        ),
        "code_label": "Kode undangan",
        "code_hint": "Tertulis pada undangan Anda, misalnya ABCDE-FGH23.",
        "start": "Mulai",
        "noscript": (
            "Kuesioner ini memerlukan JavaScript. Aktifkan JavaScript di peramban Anda, lalu "
            "muat ulang halaman ini."
        ),
        "invalid_title": "Kode tidak dikenal",
        "invalid_body": (
            "Kode undangan ini tidak kami kenali. Periksa lagi penulisannya (huruf dan angka "
            "seperti pada undangan), atau hubungi petugas yang memberi undangan."
        ),
        "used_title": "Kode sudah dipakai",
        "used_body": (
            "Kode undangan ini sudah dipakai dan tidak dapat dibuka lagi. Jika Anda sudah mulai "
            "mengisi di perangkat ini, jawaban Anda masih tersimpan: buka halaman Isi Survei "
            "tanpa kode untuk melanjutkan. Jika bukan Anda yang memakainya, mintalah kode baru "
            "kepada petugas."
        ),
        "closed_title": "Survei sudah ditutup",
        "closed_body": (
            "Masa pengisian survei ini ({wave}) sudah berakhir, sehingga jawaban tidak dapat "
            "dikirim lagi. Terima kasih atas kesediaan Anda."
        ),
        "continue_local": "Lanjutkan isian yang tersimpan di perangkat ini",
        "loading": "Memuat kuesioner…",
        "about_title": "Tentang Anda",
        "about_intro": (
            "Tiga pertanyaan ini dipakai untuk menimbang hasil survei. Jawaban Anda tidak dapat "
            "dipakai untuk mengenali Anda."
        ),
        "region": "Kabupaten/kota tempat tinggal",
        "choose": "— pilih —",
        "region_locked": "Wilayah tidak dapat diubah lagi setelah jawaban tersimpan di server.",
        "sex": "Jenis kelamin",
        "sex_L": "Laki-laki",
        "sex_P": "Perempuan",
        "age_group": "Kelompok umur",
        "age_suffix": " tahun",
        "scale_hint": "Pilih satu jawaban untuk setiap pernyataan.",
        "back": "Sebelumnya",
        "next": "Berikutnya",
        "submit": "Kirim jawaban",
        "page_of": "Halaman {n} dari {total}",
        "progress": "Kemajuan pengisian",
        "required": "Pertanyaan ini belum dijawab.",
        "choose_one": "Mohon pilih salah satu.",
        "fix": "Masih ada {n} isian yang perlu dilengkapi atau diperbaiki.",
        "saved_local": "Tersimpan di perangkat ini.",
        "saved_server": "Tersimpan di perangkat ini dan di server.",
        "offline": (
            "Tidak ada sinyal: jawaban disimpan di perangkat ini dan dikirim otomatis saat "
            "tersambung lagi."
        ),
        "sending": "Mengirim jawaban…",
        "pending_title": "Jawaban akan dikirim nanti",
        "pending_body": (
            "Saat ini tidak ada sambungan internet. Jawaban Anda tersimpan di perangkat ini dan "
            "akan dikirim otomatis begitu ada sinyal. Biarkan halaman ini terbuka, atau buka "
            "lagi nanti."
        ),
        "done_title": "Terima kasih!",
        "done_body": "Jawaban Anda sudah kami terima. Anda boleh menutup halaman ini.",
        "error_title": "Jawaban belum dapat dikirim",
        "revoked": (
            "Akses dari undangan ini tidak berlaku lagi. Hubungi petugas yang memberi undangan."
        ),
        "not_loaded": (
            "Kuesioner belum termuat di perangkat ini. Sambungkan ke internet sekali untuk "
            "memuatnya; setelah itu pengisian dapat dilanjutkan tanpa sinyal."
        ),
        "review": "Kembali ke jawaban",
        "new_code": "Isi dengan kode undangan lain",
        "offline_redeem": (
            "Tidak ada sambungan internet. Kode undangan hanya dapat dibuka saat tersambung; "
            "coba lagi begitu ada sinyal."
        ),
        "retry": "Coba lagi",
    },
    "en": {
        "lang_name": "English",
        "switch_to": "Bahasa Indonesia",
        "title": "Pancasila Values Survey",
        "intro": (
            "Enter your invitation code to open the questionnaire. While you answer, your "
            "answers are kept on this device, even without signal."
        ),
        "code_label": "Invitation code",
        "code_hint": "Printed on your invitation, for example ABCDE-FGH23.",
        "start": "Start",
        "noscript": (
            "This questionnaire needs JavaScript. Please turn JavaScript on in your browser and "
            "reload this page."
        ),
        "invalid_title": "Unknown code",
        "invalid_body": (
            "We do not recognise this invitation code. Please check how it is written (letters "
            "and digits as on the invitation), or contact the person who invited you."
        ),
        "used_title": "Code already used",
        "used_body": (
            "This invitation code has already been used and cannot be opened again. If you "
            "started answering on this device, your answers are still kept: open the survey "
            "page without a code to continue. If it was not you, please ask for a new code."
        ),
        "closed_title": "The survey is closed",
        "closed_body": (
            "The answering period of this survey ({wave}) has ended, so answers can no longer "
            "be sent. Thank you for your willingness to take part."
        ),
        "continue_local": "Continue the answers kept on this device",
        "loading": "Loading the questionnaire…",
        "about_title": "About you",
        "about_intro": (
            "These three questions are used to weight the survey results. Your answers cannot "
            "be used to identify you."
        ),
        "region": "Regency/city where you live",
        "choose": "— choose —",
        "region_locked": "The region can no longer be changed once answers are saved on the "
        "server.",
        "sex": "Sex",
        "sex_L": "Male",
        "sex_P": "Female",
        "age_group": "Age group",
        "age_suffix": " years",
        "scale_hint": "Choose one answer for each statement.",
        "back": "Back",
        "next": "Next",
        "submit": "Submit answers",
        "page_of": "Page {n} of {total}",
        "progress": "Progress",
        "required": "This question has not been answered yet.",
        "choose_one": "Please choose one.",
        "fix": "{n} answers still need to be completed or corrected.",
        "saved_local": "Saved on this device.",
        "saved_server": "Saved on this device and on the server.",
        "offline": "No signal: answers are kept on this device and sent automatically once "
        "connected again.",
        "sending": "Sending your answers…",
        "pending_title": "Your answers will be sent later",
        "pending_body": (
            "There is no internet connection right now. Your answers are kept on this device "
            "and will be sent automatically as soon as there is signal. Leave this page open, "
            "or open it again later."
        ),
        "done_title": "Thank you!",
        "done_body": "We have received your answers. You may close this page.",
        "error_title": "Your answers could not be sent yet",
        "revoked": (
            "Access from this invitation is no longer valid. Please contact the person who "
            "invited you."
        ),
        "not_loaded": (
            "The questionnaire is not on this device yet. Connect to the internet once to load "
            "it; after that you can continue without signal."
        ),
        "review": "Back to the answers",
        "new_code": "Answer with another invitation code",
        "offline_redeem": (
            "There is no internet connection. An invitation code can only be opened while "
            "connected; please try again when there is signal."
        ),
        "retry": "Try again",
    },
}

#: Refusals of an invitation code: (state, HTTP status).
UNKNOWN, USED, CLOSED = "invalid", "used", "closed"
_STATUS = {UNKNOWN: 404, USED: 410, CLOSED: 409}


def _language(request: HttpRequest) -> str:
    """`?lang=` when given (the page's switch), else the negotiated language."""
    wanted = request.GET.get("lang", "")
    return wanted if wanted in STRINGS else request_language()


def invitation_problem(code: str) -> tuple[str | None, str]:
    """Why `code` cannot be redeemed now (UNKNOWN, USED, CLOSED) or None, and its wave's label.

    Looks only; redeeming stays with the API (surveys.services.accounts.invitation_redeem),
    which applies the same order: a closed wave first, then a used code."""
    if not code or len(code) > CODE_MAX or "\x00" in code:
        return UNKNOWN, ""
    invitation = (
        Invitation.objects.select_related("wave__instrument")
        .filter(code_hash=invitation_code_hash(code))
        .first()
    )
    if invitation is None:
        return UNKNOWN, ""
    label = f"{invitation.wave.instrument.code} {invitation.wave.year}"
    if invitation.wave.status != WaveStatus.OPEN:
        return CLOSED, label
    if invitation.redeemed_at is not None:
        return USED, label
    return None, label


def region_choices() -> list[dict[str, str]]:
    """Regencies and cities by name (the level a respondent names; everything below a province
    where there are none). Sent with the page, so the form needs no extra request for them."""
    regions = Region.objects.exclude(level=RegionLevel.PROVINCE)
    wanted = regions.filter(level__in=(RegionLevel.REGENCY, RegionLevel.CITY))
    if wanted.exists():
        regions = wanted
    return [{"code": code, "name": name}
            for code, name in regions.order_by("name", "code").values_list("code", "name")]


@require_GET
def form(request: HttpRequest) -> HttpResponse:
    lang = _language(request)
    t = STRINGS[lang]
    code = request.GET.get("kode", "").strip()
    state, status, wave_label = "start", 200, ""
    if "kode" in request.GET:
        problem, wave_label = invitation_problem(code)
        if problem is None:
            state = "redeem"
        else:
            state, status = problem, _STATUS[problem]
    other = "en" if lang == "id" else "id"
    context = {
        "lang": lang,
        "other_lang": other,
        "t": t,
        "state": state,
        "code": code if state == "redeem" else "",
        "problem": {
            "title": t.get(f"{state}_title", ""),
            "body": t.get(f"{state}_body", "").format(wave=wave_label),
        },
        "wave_label": wave_label,
        "client": {
            "strings": STRINGS,
            "regions": region_choices(),
            "sexes": list(Sex.values),
            "age_groups": list(AgeGroup.values),
        },
        "api_root": "/api/v1/",
        "sw_url": reverse("collect:sw"),
        "home_url": reverse("collect:form"),
    }
    response = render(request, "surveys/collect/form.html", context, status=status)
    # a page that carries a code is neither cached nor leaked through a Referer
    response["Referrer-Policy"] = "no-referrer"
    if "kode" in request.GET:
        response["Cache-Control"] = "no-store"
    return response


def _read_static(path: str) -> bytes:
    found = finders.find(path)
    if not found:
        raise Http404(path)
    with open(found, "rb") as handle:
        return handle.read()


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:  # noqa: ARG001
    """The service worker, served from /isi/ so that its scope covers the form. Its cache name
    is a hash of the files it caches, so a new release replaces the old copies."""
    assets = [reverse("collect:form"), *(static(path) for path in ASSETS)]
    source = _read_static(SERVICE_WORKER)
    digest = hashlib.sha256(source)
    for path in ASSETS:
        digest.update(_read_static(path))
    body = (
        source.decode()
        .replace('"__ASSETS__"', json.dumps(assets))
        .replace("__VERSION__", digest.hexdigest()[:16])
    )
    response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = reverse("collect:form")
    response["Cache-Control"] = "no-cache"
    return response
