"""Dashboard pages for Kesbangpol offices, researchers and admins (session login).

The region picker offers only regions the user may see (`visible_region_codes`) that have
estimates; any other `?region=` is 404, exactly like a region that does not exist.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.urls import reverse_lazy
from django.views.decorators.http import require_GET

from surveys import publish
from surveys.language import request_language
from surveys.models import ALL_REGIONS, RegionAssignment
from surveys.selectors.access import is_reader, user_roles, visible_region_codes
from surveys.web.labels import labels_for
from surveys.web.panels import build_dashboard, latest_instrument

LOGIN_URL = reverse_lazy("dashboard:login")


class DashboardParams(forms.Form):
    """The page's query parameters; a NUL byte or an over-long code is a 400, not a query."""

    region = forms.CharField(required=False, max_length=20)  # Region.code
    instrument = forms.CharField(required=False, max_length=40)  # Instrument.code


def _bad_params(form: DashboardParams) -> HttpResponseBadRequest:
    fields = ", ".join(sorted(form.errors))
    return HttpResponseBadRequest(
        f"Parameter tidak sah / invalid parameter: {fields}",
        content_type="text/plain; charset=utf-8",
    )


@require_GET
@login_required(login_url=LOGIN_URL)
def dashboard(request: HttpRequest) -> HttpResponse:
    t = labels_for(request_language())
    roles = user_roles(request.user)
    if not is_reader(roles):
        raise PermissionDenied(t["forbidden"])
    params = DashboardParams(request.GET)
    if not params.is_valid():
        return _bad_params(params)
    regions = visible_region_codes(request.user, roles=roles)
    instrument = params.cleaned_data["instrument"] or latest_instrument(regions=regions)
    choices = publish.regions_with_estimates(regions=regions, instrument=instrument)
    region = params.cleaned_data["region"] or _default_region(request, choices)
    # with no results at all yet, the page says so instead of answering 404
    if region not in choices and (choices or "region" in request.GET):
        raise Http404()
    names = publish.region_names(set(choices))
    names[ALL_REGIONS] = t["all_regions"]
    board = build_dashboard(
        regions=regions,
        region=region,
        instrument=instrument or "",
        lang=request_language(),
        region_name=names.get(region, region),
    )
    return render(
        request,
        "surveys/dashboard/index.html",
        {
            "t": t,
            "board": board,
            "region_choices": [(code, names.get(code, code)) for code in choices],
            "lang": request_language(),
        },
    )


def _default_region(request: HttpRequest, choices: list[str]) -> str:
    """An office starts on its own region; everyone else on the whole design."""
    own = RegionAssignment.objects.filter(user=request.user).values_list(
        "region__code", flat=True
    )
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
        context["t"] = labels_for(getattr(self.request, "LANGUAGE_CODE", "id"))
        return context


class LogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("dashboard:login")
