"""Dashboard pages for Kesbangpol offices, researchers and admins (session login).

The region picker offers only regions the user may see (`visible_region_codes`) that have
estimates; any other `?region=` is 404, exactly like a region that does not exist.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import reverse_lazy
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as _noop
from django.views.decorators.http import require_GET

from surveys import publish
from surveys.language import request_language
from surveys.models import ALL_REGIONS, Region, RegionAssignment
from surveys.selectors.access import is_reader, user_roles, visible_region_codes
from surveys.services.compute import run_notices
from surveys.web.labels import glossary
from surveys.web.panels import build_dashboard, codes_text, latest_instrument, region_labels

LOGIN_URL = reverse_lazy("dashboard:login")


class DashboardParams(forms.Form):
    """The page's query parameters; a NUL byte or an over-long code is a 400, not a query."""

    region = forms.CharField(required=False, max_length=20)  # Region.code
    instrument = forms.CharField(required=False, max_length=40)  # Instrument.code
    sila = forms.CharField(required=False, max_length=20)  # Dimension.code
    lang = forms.ChoiceField(required=False, choices=[("", ""), ("id", "id"), ("en", "en")])


#: the region's tables offered for download (export endpoint, region-keyed tables), with their
#: button labels (msgids)
DOWNLOAD_TABLES = {"estimates": _noop("Index values"), "achievements": _noop("Achievement"),
                   # Translators: id: Tren
                   "trends": _noop("Trends"),
                   "changes": _noop("Changes"), "sae": _noop("Model-based estimates")}

#: partials other areas add to the page (report button, comparability note); included only
#: once they exist, so that the page never fails on a missing template
PARTIALS = {"report_partial": "surveys/dashboard/_report_button.html",
            "comparability_partial": "surveys/dashboard/_comparability.html"}


def _exists(template: str) -> bool:
    try:
        get_template(template)
    except TemplateDoesNotExist:
        return False
    return True


def _bad_params(form: DashboardParams) -> HttpResponseBadRequest:
    fields = ", ".join(sorted(form.errors))
    return HttpResponseBadRequest(
        # Translators: id: Parameter tidak sah: {fields}
        _("Invalid parameter: {fields}").format(fields=fields),
        content_type="text/plain; charset=utf-8",
    )


@require_GET
@login_required(login_url=LOGIN_URL)
def dashboard(request: HttpRequest) -> HttpResponse:
    params = DashboardParams(request.GET)
    chosen = params.cleaned_data["lang"] if params.is_valid() else ""
    if chosen:  # the page's language switch; kept in the language cookie (LocaleMiddleware)
        translation.activate(chosen)
        request.LANGUAGE_CODE = chosen
    lang = request_language()
    roles = user_roles(request.user)
    if not is_reader(roles):
        raise PermissionDenied(_("This account may not view the dashboard."))
    if not params.is_valid():
        return _bad_params(params)
    regions = visible_region_codes(request.user, roles=roles)
    instrument = params.cleaned_data["instrument"] or latest_instrument(regions=regions)
    choices = publish.regions_with_estimates(regions=regions, instrument=instrument)
    own = list(RegionAssignment.objects.filter(user=request.user)
               .values_list("region__code", flat=True))
    region = params.cleaned_data["region"] or _default_region(own, choices)
    # with no results at all yet, the page says so instead of answering 404
    if region not in choices and (choices or "region" in request.GET):
        raise Http404()
    labels = region_labels(set(choices) | {_province_code(choices)})
    province = labels.get(_province_code(choices))
    names = {code: name for code, (name, _) in labels.items()}
    # the whole design is named after its province, not "Seluruh wilayah survei"
    names[ALL_REGIONS] = province[0] if province else _("Whole survey area")
    board = build_dashboard(
        regions=regions,
        region=region,
        instrument=instrument or "",
        lang=lang,
        region_name=names.get(region, region),
        sila=params.cleaned_data["sila"] or None,
        own_regions=set(own),
    )
    board.notices = _notices(instrument)
    terms = glossary()
    other = "id" if lang == "en" else "en"
    query = {k: v for k, v in request.GET.items() if k != "lang"}
    response = render(
        request,
        "surveys/dashboard/index.html",
        {
            "board": board,
            "glossary": terms,
            "gloss": {term.key: term for term in terms},
            "region_choices": [
                (code, names.get(code, code),
                 "" if code == ALL_REGIONS else codes_text(code, labels.get(code, ("", ""))[1]))
                for code in choices
            ],
            "lang": lang,
            "ranking_note": _(
                "Index value in {year} with its 95 % confidence interval. Overlapping intervals "
                "mean the difference is not certain. No map: no maintained package of regency "
                "boundaries is available.").format(
                year=board.ranking.year if board.ranking else ""),
            "download_tables": [(name, _(label)) for name, label in DOWNLOAD_TABLES.items()],
            "other_lang": other,
            "other_lang_query": urlencode({**query, "lang": other}),
            "today": date.today().isoformat(),
            **{key: _exists(name) for key, name in PARTIALS.items()},
        },
    )
    if chosen:
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, chosen, samesite="Lax",
                            max_age=365 * 24 * 3600)
    return response


def _province_code(choices: list[str]) -> str:
    """The province of the regions offered (the parent of the first regency), or ''."""
    codes = [c for c in choices if c != ALL_REGIONS]
    if not codes:
        return ""
    parent = Region.objects.filter(code=codes[0]).values_list("parent__code", flat=True).first()
    return parent or ""


def _notices(instrument: str | None) -> list[dict[str, str]]:
    """Issue 16 item 10: a wave the latest index run skipped (it keeps its previous results)
    and a failed run's error, in the page's words and the run's own (bilingual) message."""
    out = []
    for notice in run_notices(instrument=instrument):
        wave = f"{notice.get('instrument', '')} {notice.get('wave', '')}".strip()
        head = _("Wave {wave} was skipped by the latest run; its previous results are still "
                 "shown.").format(wave=wave) if notice.get("skipped") else ""
        out.append({"head": head, "message": str(notice.get("message", ""))})
    return out


def _default_region(own: list[str], choices: list[str]) -> str:
    """An office starts on its own region; everyone else on the whole design."""
    for code in own:
        if code in choices:
            return code
    return choices[0] if choices else ALL_REGIONS


class LoginView(auth_views.LoginView):
    template_name = "surveys/dashboard/login.html"
    redirect_authenticated_user = True
    next_page = reverse_lazy("dashboard:home")

    def get_context_data(self, **kwargs: object) -> dict:
        context = super().get_context_data(**kwargs)
        # the English login page declares lang="en" (issue 17 item 3)
        context["lang"] = request_language()
        return context


class LogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("dashboard:login")
