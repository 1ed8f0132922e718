"""Read-only API over stored results: estimates, trends, changes, reliability, items, CFA, proxy
validation, indicators, achievements; table downloads and trend charts.

Access: office (its region subtree + ``ALL``), researcher, admin; everyone else gets 403. Region
scope comes from `visible_region_codes` only. A `?region=` outside the caller's scope is not an
error: the list is simply empty (the rows do not exist for that caller). Charts answer 404 for
a region outside the scope, for the same reason.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.generics import ListAPIView
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from datafiles.formats import CONTENT_TYPES
from surveys import publish
from surveys.language import request_language
from surveys.models import (
    ALL_REGIONS,
    OVERALL,
    Indicator,
    IndicatorLevel,
    IndicatorValue,
    Target,
)
from surveys.models.waves import YEAR_MAX, YEAR_MIN
from surveys.selectors.access import is_reader, user_roles, visible_region_codes


class ResultsAccessMixin:
    """Admit office, researcher and admin; remember the caller's visible regions.

    `self.regions` is None for full access, else the set of region codes (always with ALL).
    """

    regions: set[str] | None
    roles: set[str]

    def check_permissions(self, request: Request) -> None:
        super().check_permissions(request)  # type: ignore[misc]  # IsAuthenticated first
        roles = user_roles(request.user)
        if not is_reader(roles):
            raise PermissionDenied()
        self.roles = roles
        self.regions = visible_region_codes(request.user, roles=roles)


class ResultsPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 1000


# --- query parameters ---------------------------------------------------------------------


class _Params(serializers.Serializer):
    def parse(self, request: Request) -> dict:
        self.initial_data = request.query_params
        self.is_valid(raise_exception=True)
        return dict(self.validated_data)


def _year_field(help_text: str) -> serializers.IntegerField:
    return serializers.IntegerField(
        required=False, min_value=YEAR_MIN, max_value=YEAR_MAX, help_text=help_text
    )


class WaveParams(_Params):
    """`wave` and `year` are synonyms (the wave's year)."""

    wave = _year_field("Tahun gelombang / wave year")
    year = _year_field("Sama dengan wave / same as wave")
    instrument = serializers.CharField(required=False, help_text="Kode instrumen")

    def validate(self, attrs: dict) -> dict:
        year = attrs.pop("year", None)
        if attrs.get("wave") is None and year is not None:
            attrs["wave"] = year
        return attrs


class RegionParams(WaveParams):
    region = serializers.CharField(required=False, help_text="Kode BPS wilayah, atau ALL")
    dimension = serializers.CharField(required=False, help_text="Kode dimensi, atau INDEX")


class TrendParams(_Params):
    region = serializers.CharField(required=False, help_text="Kode BPS wilayah, atau ALL")
    dimension = serializers.CharField(required=False, help_text="Kode dimensi, atau INDEX")
    instrument = serializers.CharField(required=False, help_text="Kode instrumen")


class DimensionParams(WaveParams):
    dimension = serializers.CharField(required=False, help_text="Kode dimensi, atau INDEX")


class IndicatorParam(_Params):
    indicator = serializers.CharField(required=False, help_text="Kode indikator")


class AchievementParams(_Params):
    """`year` and `wave` are synonyms here (the year of the value or target)."""

    indicator = serializers.CharField(required=False, help_text="Kode indikator, atau INDEX")
    region = serializers.CharField(required=False, help_text="Kode BPS wilayah")
    year = _year_field("Tahun")
    wave = _year_field("Sama dengan year / same as year")
    level = serializers.ChoiceField(choices=IndicatorLevel.choices, required=False)

    def validate(self, attrs: dict) -> dict:
        wave = attrs.pop("wave", None)
        if attrs.get("year") is None and wave is not None:
            attrs["year"] = wave
        return attrs


class ProgrammeEffectParams(_Params):
    region = serializers.CharField(required=False, help_text="Kode BPS wilayah program")
    type = serializers.CharField(required=False, help_text="Jenis program (slug)")
    dimension = serializers.CharField(required=False, help_text="Kode dimensi, atau INDEX")


class ProgrammeTypeParams(_Params):
    type = serializers.CharField(required=False, help_text="Jenis program (slug)")


class SmallAreaParams(WaveParams):
    region = serializers.CharField(required=False, help_text="Kode BPS wilayah")


class IndicatorParams(AchievementParams):
    dimension = serializers.CharField(required=False, help_text="Sila terkait (S1..S5)")


# --- serializers ------------------------------------------------------------------------------


_FIELDS: dict[str, type[serializers.Field]] = {
    "int": serializers.IntegerField, "float": serializers.FloatField,
    "str": serializers.CharField, "bool": serializers.BooleanField,
    "category": serializers.CharField,
}


def catalogue_serializer(table: str, class_name: str) -> type[serializers.Serializer]:
    """A read-only serializer of the published rows of `table` (`publish.rows`): one field per
    catalogue column, named as published and read from the column's lookup."""
    fields: dict[str, serializers.Field] = {}
    for column in publish.TABLES[table].columns:
        options: dict[str, object] = {"read_only": True, "allow_null": column.null,
                                      "help_text": column.label("id")}
        if column.lookup != column.name:
            options["source"] = column.lookup
        fields[column.name] = _FIELDS[column.kind](**options)
    return type(class_name, (serializers.Serializer,), {"__module__": __name__, **fields})


EstimateSerializer = catalogue_serializer("estimates", "EstimateSerializer")
TrendSerializer = catalogue_serializer("trends", "TrendSerializer")
ChangeSerializer = catalogue_serializer("changes", "ChangeSerializer")
ReliabilitySerializer = catalogue_serializer("reliability", "ReliabilitySerializer")
ItemSerializer = catalogue_serializer("items", "ItemSerializer")
CfaSerializer = catalogue_serializer("cfa", "CfaSerializer")
ProxyValidationSerializer = catalogue_serializer("proxy_validation", "ProxyValidationSerializer")
ProgrammeEffectSerializer = catalogue_serializer("programme_effects", "ProgrammeEffectSerializer")
ProgrammeTypeSerializer = catalogue_serializer("programme_types", "ProgrammeTypeSerializer")
SmallAreaSerializer = catalogue_serializer("sae", "SmallAreaSerializer")
AchievementSerializer = catalogue_serializer("achievements", "AchievementSerializer")


class IndicatorValueSerializer(serializers.ModelSerializer):
    region = serializers.CharField(source="region.code")

    class Meta:
        model = IndicatorValue
        fields = ["region", "year", "value"]


class TargetSerializer(serializers.ModelSerializer):
    region = serializers.CharField(source="region.code")

    class Meta:
        model = Target
        fields = ["region", "year", "target"]


class LocalisedNameSerializer(serializers.Serializer):
    id = serializers.CharField(source="name_id")
    en = serializers.CharField(source="name_en")


class IndicatorSerializer(serializers.ModelSerializer):
    """An indicator with its level tag (outcome, output, index) and its values and targets in
    the caller's regions. Outputs are reported apart; nothing here sums them into an outcome."""

    name = LocalisedNameSerializer(source="*")
    dimension = serializers.CharField(source="dimension_code", allow_null=True)
    values = IndicatorValueSerializer(source="scoped_values", many=True)
    targets = TargetSerializer(source="scoped_targets", many=True)

    class Meta:
        model = Indicator
        fields = [
            "code", "name", "level", "polarity", "unit", "source", "dimension", "values",
            "targets",
        ]

    def to_representation(self, instance: Indicator) -> dict:
        data = super().to_representation(instance)
        data["dimension"] = data["dimension"] or None
        return data


# --- list views -------------------------------------------------------------------------------


class _ResultList(ResultsAccessMixin, ListAPIView):
    pagination_class = ResultsPagination
    params_class: type[_Params]

    def params(self) -> dict:
        return self.params_class().parse(self.request)


@extend_schema(
    parameters=[RegionParams], tags=["results"],
    description="Index values per wave, region and sila (and the overall INDEX): weighted "
                "mean on 0-100 with its standard error, 95 % confidence interval, n and "
                "category. Rows of fewer than 30 respondents keep `n` and `suppressed: true`; "
                "their numbers and category are blank (not shown).",
)
class EstimateList(_ResultList):
    """Domain estimates; suppressed rows (n < 30) carry n but blank numbers and category."""

    serializer_class = EstimateSerializer
    params_class = RegionParams

    def get_queryset(self) -> QuerySet:
        return publish.rows("estimates", regions=self.regions, **self.params())


@extend_schema(
    parameters=[TrendParams], tags=["results"],
    description="Trend of each region and sila over the published waves: OLS and Theil-Sen "
                "slopes (points per year) with 95 % intervals, Mann-Kendall test and the "
                "direction (up / down / none). A series restarts after an instrument version "
                "break (`series`, `basis`).",
)
class TrendList(_ResultList):
    serializer_class = TrendSerializer
    params_class = TrendParams

    def get_queryset(self) -> QuerySet:
        return publish.rows("trends", regions=self.regions, **self.params())


@extend_schema(
    parameters=[RegionParams],
    tags=["results"],
    description="Year-over-year changes; `wave` (or `year`) selects the changes into that wave.",
)
class ChangeList(_ResultList):
    serializer_class = ChangeSerializer
    params_class = RegionParams

    def get_queryset(self) -> QuerySet:
        return publish.rows("changes", regions=self.regions, **self.params())


@extend_schema(
    parameters=[DimensionParams], tags=["results"],
    description="Reliability of each sila's scale per wave: Cronbach's alpha (with its 95 % "
                "Feldt interval), standardised alpha and McDonald's omega. Province-wide, "
                "not per region.",
)
class ReliabilityList(_ResultList):
    serializer_class = ReliabilitySerializer
    params_class = DimensionParams

    def get_queryset(self) -> QuerySet:
        return publish.rows("reliability", regions=self.regions, **self.params())


@extend_schema(
    parameters=[DimensionParams], tags=["results"],
    description="Statistics of each questionnaire item per wave: mean, standard deviation, "
                "item-rest correlation and alpha if the item were deleted. Province-wide.",
)
class ItemList(_ResultList):
    serializer_class = ItemSerializer
    params_class = DimensionParams

    def get_queryset(self) -> QuerySet:
        return publish.rows("items", regions=self.regions, **self.params())


@extend_schema(
    parameters=[WaveParams], tags=["results"],
    description="Fit of the confirmatory factor analysis (five correlated sila factors) per "
                "wave: chi-square, CFI, TLI, RMSEA, SRMR and whether the model converged.",
)
class CfaList(_ResultList):
    serializer_class = CfaSerializer
    params_class = WaveParams

    def get_queryset(self) -> QuerySet:
        return publish.rows("cfa", regions=self.regions, **self.params())


@extend_schema(
    parameters=[IndicatorParam], tags=["results"],
    description="How well each outcome indicator tracks the survey index across regions and "
                "years (Spearman and Pearson correlations, whether the sign matches the "
                "indicator's polarity) and whether it is accepted as a proxy.",
)
class ProxyValidationList(_ResultList):
    serializer_class = ProxyValidationSerializer
    params_class = IndicatorParam

    def get_queryset(self) -> QuerySet:
        return publish.rows("proxy_validation", regions=self.regions, **self.params())


@extend_schema(
    parameters=[AchievementParams], tags=["results"],
    description="Achievement against targets (capaian) per indicator, region and year: "
                "target, realisation, capaian in % (polarity-aware: for a negative indicator "
                "lower is better), whether the target is met and, for the survey index, "
                "whether it is met with 95 % confidence (the lower bound of the interval "
                "reaches the target).",
)
class AchievementList(_ResultList):
    serializer_class = AchievementSerializer
    params_class = AchievementParams

    def get_queryset(self) -> QuerySet:
        return publish.rows("achievements", regions=self.regions, **self.params())


@extend_schema(
    parameters=[ProgrammeEffectParams], tags=["results"],
    description="Difference-in-differences of every programme (METHODS 11), readable by every "
                "office, researcher and admin. Programmes are not placed at random: a DiD is "
                "evidence, not proof; an effect below `mde` cannot be seen.",
)
class ProgrammeEffectList(_ResultList):
    serializer_class = ProgrammeEffectSerializer
    params_class = ProgrammeEffectParams

    def get_queryset(self) -> QuerySet:
        return publish.rows("programme_effects", regions=self.regions, **self.params())


@extend_schema(
    parameters=[ProgrammeTypeParams], tags=["results"],
    description="Effects pooled by programme type (fixed and REML random effects, I², Q). "
                "Comparison groups of one province overlap: the pooled SE is approximate.",
)
class ProgrammeTypeList(_ResultList):
    serializer_class = ProgrammeTypeSerializer
    params_class = ProgrammeTypeParams

    def get_queryset(self) -> QuerySet:
        return publish.rows("programme_types", regions=self.regions, **self.params())


@extend_schema(
    parameters=[SmallAreaParams], tags=["results"],
    description="Fay-Herriot small-area estimates of the overall index (METHODS 12). Every "
                "number here is MODEL-BASED (estimasi model): `method` eblup combines the "
                "survey and the model, synthetic is the model alone (not surveyed or "
                "suppressed). Never mixed into estimates, trends, changes or achievements.",
)
class SmallAreaList(_ResultList):
    serializer_class = SmallAreaSerializer
    params_class = SmallAreaParams

    def get_queryset(self) -> QuerySet:
        return publish.rows("sae", regions=self.regions, **self.params())


@extend_schema(parameters=[IndicatorParams], tags=["results"])
class IndicatorList(_ResultList):
    """Indicator definitions (tagged outcome / output / index) with values and targets in the
    caller's regions, filtered by `region` and `year`."""

    serializer_class = IndicatorSerializer
    params_class = IndicatorParams

    def get_queryset(self) -> QuerySet:
        return publish.indicators(regions=self.regions, **self.params())


# --- binary downloads ---------------------------------------------------------------------------


class JSONErrorsNegotiation(BaseContentNegotiation):
    """Binary views return Django responses themselves; DRF renders only their errors, always
    as JSON, whatever the Accept header asked for (an <img> asks for image/*)."""

    def select_parser(self, request: Request, parsers: list) -> object | None:
        return parsers[0] if parsers else None

    def select_renderer(
        self, request: Request, renderers: list, format_suffix: str | None = None
    ) -> tuple[JSONRenderer, str]:
        renderer = JSONRenderer()
        return renderer, renderer.media_type


class _BinaryView(ResultsAccessMixin, APIView):
    content_negotiation_class = JSONErrorsNegotiation
    renderer_classes = [JSONRenderer]


def _slug_ok(value: str) -> bool:
    """A region or instrument code fit for a query and a file name (letters, digits, . _ -)."""
    return len(value) <= 40 and all(c.isascii() and (c.isalnum() or c in "._-") for c in value)


def _table_parameter_text() -> str:
    """The export table names with what each holds (the export catalogue), for the schema."""
    from surveys.services.exports import EXPORT_TABLES

    lines = [f"- `{t.name}`: {t.description}" + (
        " (only through `POST /api/v1/exports/jobs/`)" if t.kind != "aggregate" else "")
        for t in EXPORT_TABLES.values()]
    return "Table to download / tabel yang diunduh:\n\n" + "\n".join(lines)


def _table_names() -> list[str]:
    from surveys.services.exports import EXPORT_TABLES

    return list(EXPORT_TABLES)


class ExportDownload(_BinaryView):
    """Stream one aggregate export table (INTERFACE section 3); offices get region-keyed ones
    cut to their regions. Every download is recorded (ExportDownload audit row, job null).
    Respondent-level tables (microdata, weights) are served only through an export job
    (``POST exports/jobs/``): here they answer 400 ``export_job_required`` with ``jobs_url``
    for researchers and admins, 403 for everyone else. Unknown table or format: 404."""

    @extend_schema(
        operation_id="exports_download",
        tags=["exports"],
        description=(
            "Download one result table as a file: `xlsx` for reading (labels in the request's "
            "language, names beside the codes, numbers shown rounded while each cell keeps "
            "its full value), `csv` and `parquet` for processing (codes, full precision), "
            "`sav` / `dta` for SPSS / Stata (variable and value labels). Offices receive "
            "their own regions only. `region` narrows the file to one region and `instrument` "
            "to one instrument; the file is named "
            "`nilai-<table>-<instrument>-<region>-<date>.<fmt>`. Respondent-level tables "
            "(`microdata`, `weights`) are prepared as export jobs: here they answer 400 with "
            "`jobs_url` for researchers and admins and 403 for others. Every download is "
            "recorded."),
        parameters=[
            OpenApiParameter(
                "table", str, OpenApiParameter.PATH, enum=_table_names(),
                description=_table_parameter_text(),
            ),
            OpenApiParameter(
                "fmt", str, OpenApiParameter.PATH, enum=list(CONTENT_TYPES),
                description="csv, xlsx, parquet, sav, dta",
            ),
            OpenApiParameter(
                "region", str, OpenApiParameter.QUERY, required=False,
                description="BPS region code (or ALL): only this region's rows (within your "
                            "regions)",
            ),
            OpenApiParameter(
                "instrument", str, OpenApiParameter.QUERY, required=False,
                description="Instrument code: only this instrument's rows (tables that carry "
                            "one)",
            ),
        ],
        responses={
            **{(200, media): OpenApiResponse(OpenApiTypes.BINARY)
               for media in CONTENT_TYPES.values()},
            400: OpenApiResponse(description="microdata/weights: gunakan / use exports/jobs/"),
        },
    )
    def get(self, request: Request, table: str, fmt: str) -> StreamingHttpResponse | HttpResponse:
        from surveys.api.jobs import client_ip, job_required_response
        from surveys.services import exports
        from surveys.services.jobs import record_download

        spec = exports.EXPORT_TABLES.get(table)
        if spec is None or fmt not in exports.FORMATS:
            raise NotFound()
        if spec.kind != "aggregate":
            if self.regions is not None:
                raise PermissionDenied()
            return job_required_response(request, table, fmt)
        lang = request_language()
        # the dashboard's buttons: ?region= narrows the caller's scope (outside it the file is
        # empty, as a list is), ?instrument= the tables that carry one; both name the file
        region = request.query_params.get("region", "")
        instrument = request.query_params.get("instrument", "")
        if not _slug_ok(region) or not _slug_ok(instrument):
            raise NotFound()
        scope = self.regions
        if region and spec.region_column is not None:
            scope = {region} if scope is None else {region} & scope
        chunks = exports.iter_export(table=table, fmt=fmt, region_codes=scope, lang=lang,
                                     instrument=instrument or None)
        record_download(user=request.user, table=table, fmt=fmt, ip=client_ip(request),
                        user_agent=request.META.get("HTTP_USER_AGENT", ""),
                        region_scope=scope)
        response = StreamingHttpResponse(chunks, content_type=CONTENT_TYPES[fmt])
        name = "-".join(part for part in ("nilai", table, instrument, region,
                                          timezone.localdate().isoformat()) if part)
        response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
        response["Content-Language"] = lang
        response["Cache-Control"] = "private, no-store"
        return response


CHART_TYPES = {"png": "image/png", "svg": "image/svg+xml"}


class ChartParams(serializers.Serializer):
    region = serializers.CharField(required=False, default=ALL_REGIONS)
    dimension = serializers.CharField(required=False, default=OVERALL)
    instrument = serializers.CharField(
        required=False, help_text="Kode instrumen; bawaan: instrumen gelombang terakhir"
    )
    size = serializers.ChoiceField(
        choices=["wide", "phone"], required=False, default="wide",
        help_text="wide (kartu 1280 px / card at 1280 px) atau / or phone (layar 390 px)",
    )


class TrendChart(_BinaryView):
    """Yearly series of one region x dimension with its 95 % CI band; suppressed years are
    gaps; the INDEX target line where targets exist; significant changes marked. Labels in
    Indonesian, or English with `Accept-Language: en`. A region outside the caller's scope,
    or one without estimates, is 404."""

    @extend_schema(
        operation_id="charts_trend",
        tags=["charts"],
        parameters=[
            ChartParams,
            OpenApiParameter("fmt", str, OpenApiParameter.PATH, enum=list(CHART_TYPES)),
        ],
        responses={
            (200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY),
            (200, "image/svg+xml"): OpenApiResponse(OpenApiTypes.BINARY),
        },
    )
    def get(self, request: Request, fmt: str) -> HttpResponse:
        from surveys.services.charts import trend_chart_for

        if fmt not in CHART_TYPES:
            raise NotFound()
        params = ChartParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        try:
            image = trend_chart_for(
                regions=self.regions,
                region=params.validated_data["region"],
                dimension=params.validated_data["dimension"],
                instrument=params.validated_data.get("instrument"),
                fmt=fmt,
                lang=request_language(),
                size=params.validated_data["size"],
            )
        except LookupError as exc:
            raise NotFound() from exc
        response = HttpResponse(image, content_type=CHART_TYPES[fmt])
        response["Cache-Control"] = "private, max-age=300"
        response["Content-Language"] = request_language()
        return response



# --- longitudinal results (issue 12) ------------------------------------------------------------


class RetentionParams(WaveParams):
    region = serializers.CharField(required=False, help_text="Kode BPS wilayah, atau ALL")
    variable = serializers.ChoiceField(choices=["all", "sex", "age_group"], required=False,
                                       help_text="all, sex, age_group")


class PanelChangeParams(RetentionParams):
    variable = None  # type: ignore[assignment]
    dimension = serializers.CharField(required=False, help_text="Kode dimensi, atau INDEX")


class InvarianceParams(_Params):
    instrument = serializers.CharField(required=False, help_text="Kode instrumen")
    version = serializers.IntegerField(required=False, min_value=1, help_text="Versi instrumen")


RetentionSerializer = catalogue_serializer("retention", "RetentionSerializer")
PanelChangeSerializer = catalogue_serializer("panel_changes", "PanelChangeSerializer")
InvarianceSerializer = catalogue_serializer("invariance", "InvarianceSerializer")


@extend_schema(
    parameters=[RetentionParams], tags=["results"],
    description="Panel retention between a wave and the previous wave of its instrument, per "
                "region of the previous wave (and ALL): `variable` all (with new entrants), "
                "or attrition by sex / age_group.",
)
class RetentionList(_ResultList):
    serializer_class = RetentionSerializer
    params_class = RetentionParams

    def get_queryset(self) -> QuerySet:
        return publish.rows("retention", regions=self.regions, **self.params())


@extend_schema(
    parameters=[PanelChangeParams], tags=["results"],
    description="Within-person change of the panel members of two consecutive waves (weighted "
                "mean paired difference, design-based SE on the later wave), with the "
                "cross-sectional change of the same cell beside it and the comparability of "
                "the waves (comparable / partial: compare relations, not means / not). Fewer "
                "than 30 pairs: suppressed, numbers blank.",
)
class PanelChangeList(_ResultList):
    serializer_class = PanelChangeSerializer
    params_class = PanelChangeParams

    def get_queryset(self) -> QuerySet:
        return publish.rows("panel_changes", regions=self.regions, **self.params())


@extend_schema(
    parameters=[InvarianceParams], tags=["results"],
    description="Measurement invariance (configural, metric, scalar) of the correlated-factors "
                "CFA across the waves of each instrument version, Chen's (2007) rule with the "
                "SRMR supplement (METHODS 5), and the comparability it gives.",
)
class InvarianceList(_ResultList):
    serializer_class = InvarianceSerializer
    params_class = InvarianceParams

    def get_queryset(self) -> QuerySet:
        return publish.rows("invariance", regions=self.regions, **self.params())


# --- bridges across instrument versions (issue 12 part 2) ---------------------------------------


class BridgeParams(PanelChangeParams):
    series = serializers.IntegerField(required=False, min_value=1,
                                      help_text="Deret ke- / series number")


BridgeSerializer = catalogue_serializer("bridges", "BridgeSerializer")


@extend_schema(
    parameters=[BridgeParams], tags=["results"],
    description="Bridge estimates: each wave of a series that spans instrument versions scored "
                "on the linked items only (same estimator and n < 30 rule as the estimates), "
                "published beside the full-instrument estimate; they carry the trend of the "
                "series and the change across the version boundary (changes with basis "
                "`linked`). Where a dimension keeps fewer than 3 linked items the series "
                "breaks: a new series starts and no bridge is computed across it.",
)
class BridgeList(_ResultList):
    serializer_class = BridgeSerializer
    params_class = BridgeParams

    def get_queryset(self) -> QuerySet:
        return publish.rows("bridges", regions=self.regions, **self.params())
