"""Export jobs over HTTP (docs/INTERFACE-extensions.md): the only way to get respondent-level
tables (microdata, weights), and an audited one for every table.

- ``POST exports/jobs/`` {table, format, filters: {region, instrument}, k, language}: 202 with
  ``Location`` and the job; the export runs as a Celery task (in-process without a broker).
- ``GET exports/jobs/``: the caller's jobs, newest first (admins: everyone's).
- ``GET exports/jobs/{id}/``: one job's status; ``file_url`` once it is done.
- ``GET exports/jobs/{id}/file``: the file (409 while queued/running or failed, 410 once the
  file is gone); every file served writes an `ExportDownload` audit row.

Who: office, researcher, admin (as the other result endpoints). Offices get aggregate tables
only, cut to their regions; microdata and weights are for researchers and admins (DECISIONS
16-17). A job is visible only to the account that requested it and to admins; anyone else
gets 404, as for a job that does not exist.
"""

from __future__ import annotations

import base64

from django.db.models import QuerySet
from django.http import FileResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.generics import ListCreateAPIView, RetrieveAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from surveys.api.results import (
    JSONErrorsNegotiation,
    ResultsAccessMixin,
    ResultsPagination,
)
from surveys.language import request_language
from surveys.models import ALL_REGIONS, ExportJob, JobSource, JobStatus, Region, Role
from surveys.services import jobs as job_service

LANGUAGES = ("id", "en")


def client_ip(request: Request) -> str | None:
    """The peer address Django saw (REMOTE_ADDR). A proxy in front must pass the client's
    address there (e.g. gunicorn --forwarded-allow-ips with uvicorn/ProxyFix-style set-up);
    X-Forwarded-For is not trusted here, since any client can send it."""
    return request.META.get("REMOTE_ADDR") or None


def microdata_forbidden() -> PermissionDenied:
    # Translators: id: Data tingkat responden (microdata, weights) hanya untuk peneliti dan admin.
    return PermissionDenied(_(
        "Respondent-level data (microdata, weights) is for researchers and admins only."))


# --- serializers ------------------------------------------------------------------------------


class ExportFiltersSerializer(serializers.Serializer):
    region = serializers.ListField(
        child=serializers.CharField(max_length=20), required=False, allow_empty=False,
        help_text="Kode BPS wilayah (atau ALL) / region codes; bawaan: semua dalam cakupan",
    )
    instrument = serializers.CharField(
        required=False, max_length=40, help_text="Kode instrumen (microdata, codebook)"
    )


class ExportJobCreateSerializer(serializers.Serializer):
    table = serializers.ChoiceField(choices=[], help_text="Tabel / table (INTERFACE 3)")
    format = serializers.ChoiceField(choices=[], help_text="csv, xlsx, parquet, sav, dta")
    filters = ExportFiltersSerializer(required=False)
    k = serializers.IntegerField(
        required=False, min_value=1, max_value=1000,
        help_text="k-anonimitas, hanya microdata (bawaan 5) / microdata only (default 5)",
    )
    language = serializers.ChoiceField(
        choices=LANGUAGES, required=False,
        help_text="Bahasa label; bawaan: Accept-Language / label language",
    )

    def __init__(self, *args, **kwargs) -> None:
        from surveys.services import exports

        super().__init__(*args, **kwargs)
        self.fields["table"].choices = list(exports.EXPORT_TABLES)
        self.fields["format"].choices = list(exports.FORMATS)

    def validate(self, attrs: dict) -> dict:
        from surveys.services import exports

        table = attrs["table"]
        filters = attrs.get("filters") or {}
        errors: dict[str, list[str]] = {}
        if "k" in attrs and table != "microdata":
            # Translators: id: k hanya berlaku untuk tabel microdata.
            errors["k"] = [_("k applies to the microdata table only.")]
        if "instrument" in filters and table not in ("microdata", "codebook"):
            # Translators: id: instrument hanya berlaku untuk microdata dan codebook.
            errors["filters"] = [_("instrument applies to microdata and codebook only.")]
        regions = filters.get("region")
        if regions:
            if exports.EXPORT_TABLES[table].region_column is None and table not in (
                    job_service.JOB_ONLY_TABLES):
                # Translators: id: Tabel {table} tidak memiliki kolom wilayah; hapus filter region.
                errors["filters"] = [_(
                    "Table {table} has no region column; drop the region filter.").format(
                    table=table)]
            else:
                known = set(Region.objects.filter(code__in=regions)
                            .values_list("code", flat=True)) | {ALL_REGIONS}
                unknown = sorted(set(regions) - known)
                if unknown:
                    # Translators: id: Wilayah tidak dikenal: {regions}.
                    errors["filters"] = [_("Unknown regions: {regions}.").format(
                        regions=", ".join(unknown))]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class ExportJobSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    file_url = serializers.SerializerMethodField()
    requested_by = serializers.CharField(source="requested_by_name")
    status = serializers.ChoiceField(choices=JobStatus.choices)

    class Meta:
        model = ExportJob
        fields = [
            "id", "url", "status", "table", "format", "filters", "k", "language", "rows",
            "bytes", "sha256", "messages", "requested_by", "created_at", "started_at",
            "finished_at", "file_url",
        ]
        read_only_fields = fields

    def _absolute(self, name: str, job: ExportJob) -> str:
        path = reverse(name, kwargs={"pk": job.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path

    def get_url(self, job: ExportJob) -> str:
        return self._absolute("export-job-detail", job)

    def get_file_url(self, job: ExportJob) -> str | None:
        if job.status != JobStatus.DONE or job.source != JobSource.API:
            return None  # command-line exports are written where --output said, not served
        return self._absolute("export-job-file", job)


# --- views ------------------------------------------------------------------------------------


class _JobAccess(ResultsAccessMixin):
    def jobs(self) -> QuerySet:
        qs = ExportJob.objects.select_related("requested_by")
        if Role.ADMIN in self.roles:
            return qs
        return qs.filter(requested_by=self.request.user)  # type: ignore[attr-defined]


@extend_schema(tags=["exports"])
class ExportJobListCreate(_JobAccess, ListCreateAPIView):
    """The caller's export jobs (admins: all), newest first; POST starts one."""

    serializer_class = ExportJobSerializer
    pagination_class = ResultsPagination

    def get_queryset(self) -> QuerySet:
        return self.jobs()

    @extend_schema(
        operation_id="exports_jobs_create",
        request=ExportJobCreateSerializer,
        responses={202: ExportJobSerializer},
        description=(
            "Mulai ekspor; jawab 202 dengan Location ke status pekerjaan. / Start an export; "
            "answers 202 with Location pointing at the job's status. Microdata and weights: "
            "researchers and admins only (offices: 403)."
        ),
    )
    def post(self, request: Request) -> Response:
        from surveys.services import exports

        params = ExportJobCreateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        table = data["table"]
        spec = exports.EXPORT_TABLES[table]
        if spec.kind != "aggregate" and self.regions is not None:
            raise microdata_forbidden()
        filters = dict(data.get("filters") or {})
        requested = set(filters.get("region") or ()) or None
        if self.regions is not None and spec.region_column is not None:
            scope = self.regions & requested if requested else set(self.regions)
        else:
            scope = requested
        k = data.get("k", exports.DEFAULT_K) if table == "microdata" else None
        job = job_service.request_export(
            user=request.user, table=table, fmt=data["format"], filters=filters,
            region_scope=scope, k=k, language=data.get("language") or request_language(),
        )
        job.refresh_from_db()  # an eager task may already have run it
        body = ExportJobSerializer(job, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})


class ExportJobDetail(_JobAccess, RetrieveAPIView):
    """One export job: status, rows, bytes, sha256, messages; `file_url` once done."""

    serializer_class = ExportJobSerializer

    def get_queryset(self) -> QuerySet:
        return self.jobs()

    @extend_schema(tags=["exports"], operation_id="exports_jobs_retrieve")
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class ExportJobFile(_JobAccess, APIView):
    """The job's file. 409 while queued or running (and for a failed job), 410 when the file
    was removed; each file served is recorded (user, time, IP)."""

    content_negotiation_class = JSONErrorsNegotiation

    @extend_schema(
        operation_id="exports_jobs_file",
        tags=["exports"],
        responses={
            200: OpenApiResponse(OpenApiTypes.BINARY, description="Berkas ekspor / the file"),
            409: OpenApiResponse(description="Belum selesai atau gagal / not ready or failed"),
            410: OpenApiResponse(description="Berkas sudah dihapus / file removed"),
        },
    )
    def get(self, request: Request, pk: int) -> FileResponse | Response:
        from surveys.services.exports import CONTENT_TYPES

        job = self.jobs().filter(pk=pk).first()
        if job is None:
            raise NotFound()
        if job.table in job_service.JOB_ONLY_TABLES and self.regions is not None:
            raise microdata_forbidden()
        if job.status != JobStatus.DONE:
            if job.status == JobStatus.FAILED:
                # Translators: id: Ekspor gagal.
                detail = _("The export failed.")
            else:
                # Translators: id: Ekspor belum selesai; coba lagi nanti.
                detail = _("The export is not finished yet; try again later.")
            return Response({"detail": detail, "errors": {}, "status": job.status,
                             "messages": job.messages}, status=status.HTTP_409_CONFLICT)
        path = job_service.job_file(job)
        if path is None:
            # Translators: id: Berkas ekspor sudah dihapus; mulai ekspor baru.
            return Response({"detail": _("The export file was removed; start a new export."),
                             "errors": {}}, status=status.HTTP_410_GONE)
        job_service.record_download(
            user=request.user, job=job, table=job.table, fmt=job.format, ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            region_scope=set(job.region_scope) if job.region_scope is not None else None,
        )
        filename, content_type = f"nilai-{job.table}-{job.pk}.{job.format}", None
        if job.table == "report":  # a document or a ZIP of documents (surveys.reports.jobs)
            from surveys.reports import CONTENT_TYPES as REPORT_TYPES

            filename = f"nilai-{path.name}"
            content_type = REPORT_TYPES[path.suffix.lstrip(".")]
        response = FileResponse(
            open(path, "rb"), as_attachment=True,  # noqa: SIM115 - FileResponse closes it
            filename=filename, content_type=content_type or CONTENT_TYPES[job.format],
        )
        response["Cache-Control"] = "private, no-store"
        response["Content-Language"] = job.language
        if job.sha256:
            digest = base64.b64encode(bytes.fromhex(job.sha256)).decode()
            response["Repr-Digest"] = f"sha-256=:{digest}:"
            response["ETag"] = f'"{job.sha256}"'
        return response


def job_required_response(request: Request, table: str, fmt: str) -> Response:
    """What the direct route ``exports/{microdata,weights}.{fmt}`` answers a researcher or
    admin: 400 ``export_job_required``, naming the jobs endpoint and the body to POST."""
    jobs_url = request.build_absolute_uri(reverse("export-job-list"))
    # Translators: id: Tabel {table} hanya dapat diunduh melalui pekerjaan ekspor: POST {url}
    #   dengan {body}.
    detail = _("Table {table} can only be downloaded through an export job: POST {url} with "
               "{body}.").format(table=table, url=jobs_url,
                                 body=f'{{"table": "{table}", "format": "{fmt}"}}')
    return Response(
        {"detail": detail, "code": "export_job_required", "errors": {"table": [detail]},
         "jobs_url": jobs_url, "job_request": {"table": table, "format": fmt}},
        status=status.HTTP_400_BAD_REQUEST, headers={"Link": f'<{jobs_url}>; rel="related"'},
    )
