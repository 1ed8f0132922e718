"""The dashboard's "Unduh laporan / Download report" (session login): a POST starts the report
job of the region on screen and redirects to its file once done (with no broker the job runs
at once, so the download starts straight away), else to a status page that reloads itself
until the file is ready. Offices: their own region only."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_noop as _noop
from django.views.decorators.http import require_GET, require_POST

from surveys import language
from surveys.language import Text, request_language
from surveys.models import ExportJob, JobStatus, Role
from surveys.models.waves import YEAR_MAX, YEAR_MIN
from surveys.reports import FORMATS, ReportError
from surveys.reports import jobs as report_jobs
from surveys.reports.content import report_instrument
from surveys.selectors.access import is_reader, user_roles, visible_region_codes
from surveys.web.views import LOGIN_URL

#: the report button's and status page's words: key -> English msgid (Indonesian in locale/id)
WORDS: dict[str, Text] = {
    "report": _noop("Performance report"),
    "download": _noop("Download report"),
    "year": _noop("Year"),
    "format": _noop("Format"),
    "word": _noop("Word (.docx)"),
    "note": _noop(
        "The report for Bappeda: RPJMD indicator table, summary, trends per sila, outputs, "
        "programmes, methods. The Word version can be edited before signing."),
    "waiting": _noop("The report is being made; this page reloads itself."),
    "ready": _noop("The report is ready."),
    "failed": _noop("The report failed."),
    "back": _noop("Back to the dashboard"),
    "forbidden": _noop("This account may produce its own region's report only."),
    "invalid": _noop("Invalid report request"),
}


def words(lang: str | None = None) -> dict[str, str]:
    return language.words(WORDS, lang)


class ReportForm(forms.Form):
    region = forms.CharField(max_length=20)
    year = forms.IntegerField(min_value=YEAR_MIN, max_value=YEAR_MAX)
    format = forms.ChoiceField(choices=[(f, f) for f in FORMATS], required=False)
    language = forms.ChoiceField(choices=[("id", "id"), ("en", "en")], required=False)


def _page(request: HttpRequest, context: dict, status: int = 200) -> HttpResponse:
    lang = request_language()
    return render(request, "surveys/reports/status.html",
                  {"lang": lang, **context},
                  status=status)


@require_POST
@login_required(login_url=LOGIN_URL)
def start(request: HttpRequest) -> HttpResponse:
    lang = request_language()
    roles = user_roles(request.user)
    if not is_reader(roles):
        raise PermissionDenied(gettext("This account may not view the dashboard."))
    form = ReportForm(request.POST)
    if not form.is_valid():
        problems = [f"{field}: {' '.join(errors)}" for field, errors in form.errors.items()]
        return _page(request, {"error": f"{words(lang)['invalid']}: {'; '.join(problems)}"},
                     status=400)
    data = form.cleaned_data
    region, year = data["region"], data["year"]
    try:
        report_jobs.check_regions(request.user, [region])
    except report_jobs.ReportForbidden:
        return _page(request, {"error": words(lang)["forbidden"]}, status=403)
    scope = visible_region_codes(request.user, roles=roles)
    try:
        instrument = report_instrument(regions=scope, region=region, year=year)
    except ReportError as exc:
        return _page(request, {"error": str(exc)}, status=400)
    job = report_jobs.request_report(
        user=request.user, regions=[region], year=year, fmt=data["format"] or "pdf",
        language=data["language"] or lang, scope=scope, instrument=instrument)
    job.refresh_from_db()  # without a broker the job has run already
    if job.status == JobStatus.DONE:
        return HttpResponseRedirect(reverse("export-job-file", kwargs={"pk": job.pk}),
                                    status=303)
    return HttpResponseRedirect(reverse("dashboard:report-status", kwargs={"pk": job.pk}),
                                status=303)


@require_GET
@login_required(login_url=LOGIN_URL)
def status(request: HttpRequest, pk: int) -> HttpResponse:
    jobs = ExportJob.objects.filter(table=report_jobs.REPORT_TABLE)
    if Role.ADMIN not in user_roles(request.user):
        jobs = jobs.filter(requested_by=request.user)
    job = jobs.filter(pk=pk).first()
    if job is None:
        raise Http404()
    file_url = reverse("export-job-file", kwargs={"pk": job.pk})
    return _page(request, {"job": job, "file_url": file_url,
                           "waiting": job.status in (JobStatus.QUEUED, JobStatus.RUNNING)})
