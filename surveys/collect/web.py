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
from django.utils.translation import gettext_noop as _noop
from django.views.decorators.http import require_GET

from surveys import language
from surveys.language import Text, request_language
from surveys.models import AgeGroup, Invitation, Region, RegionLevel, Sex, WaveStatus
from surveys.services.accounts import _code_hash as invitation_code_hash

#: Longest code the redeem endpoint accepts (InvitationRedeemInputSerializer).
CODE_MAX = 40
#: The static files the service worker keeps for offline use (besides the shell page).
ASSETS = ("surveys/collect/form.js", "surveys/collect/form.css")
SERVICE_WORKER = "surveys/collect/sw.js"

#: Every word of the form: key -> English msgid (Indonesian in locale/id). Both languages are
#: sent to the browser whole (`strings()`), so the language switch works offline too.
MSGIDS: dict[str, Text] = {
    "title": _noop("Pancasila Values Survey"),
    "intro": _noop(
        "Enter your invitation code to open the questionnaire. While you answer, your answers "
        "are kept on this device, even without signal."),
    "code_label": _noop("Invitation code"),
    "code_hint": _noop("Printed on your invitation, for example ABCDE-FGH23."),
    "start": _noop("Start"),
    "noscript": _noop(
        "This questionnaire needs JavaScript. Please turn JavaScript on in your browser and "
        "reload this page."),
    "invalid_title": _noop("Unknown code"),
    "invalid_body": _noop(
        "We do not recognise this invitation code. Please check how it is written (letters and "
        "digits as on the invitation), or contact the person who invited you."),
    "used_title": _noop("Code already used"),
    "used_body": _noop(
        "This invitation code has already been used and cannot be opened again. If you started "
        "answering on this device, your answers are still kept: open the survey page without a "
        "code to continue. If it was not you, please ask for a new code."),
    "closed_title": _noop("The survey is closed"),
    "closed_body": _noop(
        "The answering period of this survey ({wave}) has ended, so answers can no longer be "
        "sent. Thank you for your willingness to take part."),
    "continue_local": _noop("Continue the answers kept on this device"),
    "loading": _noop("Loading the questionnaire…"),
    "about_title": _noop("About you"),
    "about_intro": _noop(
        "These three questions are used to weight the survey results. Your answers cannot be "
        "used to identify you."),
    "region": _noop("Regency/city where you live"),
    "choose": _noop("— choose —"),
    "region_locked": _noop(
        "The region can no longer be changed once answers are saved on the server."),
    "sex": _noop("Sex"),
    "sex_L": _noop("Male"),
    "sex_P": _noop("Female"),
    "age_group": _noop("Age group"),
    "age_suffix": _noop(" years"),
    "scale_hint": _noop("Choose one answer for each statement."),
    "back": _noop("Back"),
    "next": _noop("Next"),
    "submit": _noop("Submit answers"),
    "page_of": _noop("Page {n} of {total}"),
    "progress": _noop("Progress"),
    "required": _noop("This question has not been answered yet."),
    "choose_one": _noop("Please choose one."),
    "fix": _noop("{n} answers still need to be completed or corrected."),
    "saved_local": _noop("Saved on this device."),
    "saved_server": _noop("Saved on this device and on the server."),
    "offline": _noop(
        "No signal: answers are kept on this device and sent automatically once connected again."),
    "sending": _noop("Sending your answers…"),
    "pending_title": _noop("Your answers will be sent later"),
    "pending_body": _noop(
        "There is no internet connection right now. Your answers are kept on this device and "
        "will be sent automatically as soon as there is signal. Leave this page open, or open it "
        "again later."),
    "done_title": _noop("Thank you!"),
    "done_body": _noop("We have received your answers. You may close this page."),
    "error_title": _noop("Your answers could not be sent yet"),
    "revoked": _noop(
        "Access from this invitation is no longer valid. Please contact the person who invited "
        "you."),
    "not_loaded": _noop(
        "The questionnaire is not on this device yet. Connect to the internet once to load it; "
        "after that you can continue without signal."),
    "review": _noop("Back to the answers"),
    "new_code": _noop("Answer with another invitation code"),
    "offline_redeem": _noop(
        "There is no internet connection. An invitation code can only be opened while connected; "
        "please try again when there is signal."),
    "retry": _noop("Try again"),
}
#: each language's own name and the switch to the other, never translated
LANGUAGE_NAMES = {"id": ("Bahasa Indonesia", "English"), "en": ("English", "Bahasa Indonesia")}


def strings() -> dict[str, dict[str, str]]:
    """Every word of the form in both languages, from the gettext catalogues."""
    out = {}
    for lang, (name, switch) in LANGUAGE_NAMES.items():
        out[lang] = {"lang_name": name, "switch_to": switch, **language.words(MSGIDS, lang)}
    return out


#: Refusals of an invitation code: (state, HTTP status).
UNKNOWN, USED, CLOSED = "invalid", "used", "closed"
_STATUS = {UNKNOWN: 404, USED: 410, CLOSED: 409}


def _language(request: HttpRequest) -> str:
    """`?lang=` when given (the page's switch), else the negotiated language."""
    wanted = request.GET.get("lang", "")
    return wanted if wanted in LANGUAGE_NAMES else request_language()


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
    every = strings()
    t = every[lang]
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
            "strings": every,
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
