"""``POST /api/v1/reports/``: start a report job (docs/INTERFACE-extensions.md).

Body ``{"region": "6472", "year": 2025, "format": "pdf"|"docx", "language": "id"|"en",
"instrument": "IINP"}`` (format, language and instrument optional). Answers 202 with the job (the
export job representation: ``url`` for its status, ``file_url`` once done) and ``Location``.
Offices: their own region only (403 otherwise); researchers and admins: any region. A region
without published estimates that year is a 400 naming the years that exist.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from surveys.api.jobs import LANGUAGES, ExportJobSerializer
from surveys.api.results import ResultsAccessMixin
from surveys.language import request_language
from surveys.models import ALL_REGIONS, Region
from surveys.models.waves import YEAR_MAX, YEAR_MIN
from surveys.reports import FORMATS, ReportError
from surveys.reports import jobs as report_jobs
from surveys.reports.content import report_instrument


class ReportRequestSerializer(serializers.Serializer):
    region = serializers.CharField(max_length=20, help_text="Kode BPS wilayah atau ALL")
    year = serializers.IntegerField(min_value=YEAR_MIN, max_value=YEAR_MAX,
                                    help_text="Tahun laporan / report year")
    format = serializers.ChoiceField(choices=FORMATS, default="pdf")
    language = serializers.ChoiceField(choices=LANGUAGES, required=False,
                                       help_text="Bawaan: Accept-Language / default")
    instrument = serializers.CharField(max_length=40, required=False)

    def validate_region(self, value: str) -> str:
        if value != ALL_REGIONS and not Region.objects.filter(code=value).exists():
            # Translators: id: Wilayah tidak dikenal: {region}.
            raise serializers.ValidationError(_("Unknown region: {region}.").format(
                region=value))
        return value


class ReportCreate(ResultsAccessMixin, APIView):
    """Start the yearly indicator report of one region (PDF or Word) as a tracked job."""

    @extend_schema(
        tags=["exports"], operation_id="reports_create", request=ReportRequestSerializer,
        responses={202: ExportJobSerializer},
        description=(
            "Buat laporan capaian kinerja (PDF/Word) satu wilayah untuk satu tahun; jawab 202 "
            "dengan pekerjaan ekspor. / Produce one region's yearly performance report (PDF or "
            "Word); answers 202 with the export job. Offices: their own region only."),
    )
    def post(self, request: Request) -> Response:
        params = ReportRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        region, year = data["region"], data["year"]
        try:
            report_jobs.check_regions(request.user, [region])
        except report_jobs.ReportForbidden as exc:
            raise PermissionDenied(str(exc)) from exc
        try:
            instrument = report_instrument(regions=self.regions, region=region, year=year,
                                           instrument=data.get("instrument"))
        except ReportError as exc:
            raise serializers.ValidationError({"year": [str(exc)]}) from exc
        job = report_jobs.request_report(
            user=request.user, regions=[region], year=year, fmt=data["format"],
            language=data.get("language") or request_language(), scope=self.regions,
            instrument=instrument,
        )
        job.refresh_from_db()  # an eager task may already have run it
        body = ExportJobSerializer(job, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED,
                        headers={"Location": body["url"]})
