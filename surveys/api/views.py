"""API views: read-only catalogue ViewSets and one APIView per write. Views parse, call a
service and serialize; the rules live in surveys.services."""

from __future__ import annotations

import math
import uuid
from typing import Any

from django.db.models import Max, Prefetch, QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.authentication import (
    BaseAuthentication,
    SessionAuthentication,
    TokenAuthentication,
)
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from surveys.api import permissions
from surveys.api import serializers as s
from surveys.api.parsers import parse_json
from surveys.api.permissions import (
    CachedTokenAuthentication,
    CanSubmitResponses,
    request_principal,
)
from surveys.api.throttling import InvitationRateThrottle, SubmissionRateThrottle
from surveys.exceptions import NotFound
from surveys.ingest import contract
from surveys.ingest.fingerprint import is_derived_submission_id
from surveys.models import (
    AgeGroup,
    Dimension,
    Instrument,
    InstrumentVersion,
    Item,
    Region,
    ResponseStatus,
    Sex,
    Wave,
)
from surveys.selectors import access
from surveys.services import accounts, submissions

ERRORS = {
    400: OpenApiResponse(s.ErrorSerializer, description="invalid input"),
    401: OpenApiResponse(s.ErrorSerializer, description="no or bad token"),
    403: OpenApiResponse(s.ErrorSerializer, description="role or region not permitted"),
    404: OpenApiResponse(s.ErrorSerializer, description="not found"),
    409: OpenApiResponse(s.ErrorSerializer, description="conflicts with the stored state"),
    429: OpenApiResponse(s.ErrorSerializer, description="too many requests"),
}


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: ERRORS[code] for code in codes}


# --------------------------------------------------------------------------- catalogue


class CataloguePagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 1000


@extend_schema_view(
    list=extend_schema(
        parameters=[s.RegionFilterSerializer], responses={200: s.RegionSerializer(many=True),
                                                          **_errors(400, 401)}
    ),
    retrieve=extend_schema(
        responses={200: s.RegionSerializer, **_errors(401, 404)},
        description="One region by its BPS code: name, level, parent and Kemendagri code.",
    ),
)
class RegionViewSet(viewsets.ReadOnlyModelViewSet):
    """Regions (BPS codes), filterable by `level` and `parent` code."""

    pagination_class = CataloguePagination

    serializer_class = s.RegionSerializer
    lookup_field = "code"
    lookup_value_regex = "[^/]+"

    def get_queryset(self) -> QuerySet[Region]:
        qs = Region.objects.select_related("parent").order_by("code")
        if self.action != "list":
            return qs
        params = s.RegionFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        if "level" in params.validated_data:
            qs = qs.filter(level=params.validated_data["level"])
        if "parent" in params.validated_data:
            qs = qs.filter(parent__code=params.validated_data["parent"])
        return qs


@extend_schema_view(
    list=extend_schema(
        responses={200: s.InstrumentSerializer(many=True), **_errors(401)},
        description="The survey instruments (questionnaires) with their latest version.",
    ),
    retrieve=extend_schema(
        parameters=[s.InstrumentDetailQuerySerializer],
        responses={200: s.InstrumentDetailSerializer, **_errors(400, 401, 404)},
        description="One instrument version (default: latest) with its dimensions and items, "
        "in the Accept-Language language (id by default, en).",
    ),
)
class InstrumentViewSet(viewsets.ReadOnlyModelViewSet):
    pagination_class = CataloguePagination
    serializer_class = s.InstrumentSerializer
    lookup_field = "code"
    lookup_value_regex = "[^/]+"

    def get_queryset(self) -> QuerySet[Instrument]:
        return Instrument.objects.annotate(latest_version=Max("versions__version")).order_by(
            "code"
        )

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        query = s.InstrumentDetailQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        versions = (
            InstrumentVersion.objects.filter(instrument__code=kwargs["code"])
            .select_related("instrument")
            .prefetch_related(
                Prefetch(
                    "dimensions",
                    queryset=Dimension.objects.order_by("position").prefetch_related(
                        Prefetch("items", queryset=Item.objects.order_by("position"))
                    ),
                )
            )
        )
        wanted = query.validated_data.get("version")
        version = (
            versions.filter(version=wanted).first()
            if wanted is not None
            else versions.order_by("-version").first()
        )
        if version is None:
            raise NotFound("unknown_instrument", instrument=kwargs["code"])
        return Response(s.InstrumentDetailSerializer(version).data)


@extend_schema_view(
    list=extend_schema(
        parameters=[s.WaveFilterSerializer],
        responses={200: s.WaveSerializer(many=True), **_errors(400, 401)},
    ),
    retrieve=extend_schema(
        responses={200: s.WaveSerializer, **_errors(401, 404)},
        description="One wave (an instrument's survey year) by its id: instrument, version, "
                    "year and status (open for responses, or closed).",
    ),
)
class WaveViewSet(viewsets.ReadOnlyModelViewSet):
    """Waves: `id` is the `{wave}` of the response endpoints; `status` open or closed."""

    pagination_class = CataloguePagination

    serializer_class = s.WaveSerializer

    def get_queryset(self) -> QuerySet[Wave]:
        qs = Wave.objects.select_related("instrument", "version").order_by(
            "instrument__code", "year"
        )
        if self.action != "list":
            return qs
        params = s.WaveFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        if "instrument" in data:
            qs = qs.filter(instrument__code=data["instrument"])
        if "year" in data:
            qs = qs.filter(year=data["year"])
        if "status" in data:
            qs = qs.filter(status=data["status"])
        return qs


# --------------------------------------------------------------------------- responses


def _wave(wave_id: int) -> Wave:
    # only() keeps the hot path from decoding the version's JSON scale labels on every write
    wave = (
        Wave.objects.select_related("instrument", "version")
        .only(
            "id", "status", "year", "instrument__code", "version__version",
            "version__checksum", "version__scale_min", "version__scale_max",
        )
        .filter(pk=wave_id)
        .first()
    )
    if wave is None:
        raise NotFound("wave_not_found", wave=wave_id)
    return wave


def clear_caches() -> None:
    """Drop the per-process caches of the submission endpoint (tests; after bulk changes)."""
    permissions.clear_caches()
    access.clear_caches()
    submissions.clear_caches()


def _out(result: submissions.Submission, code: int) -> Response:
    return Response(s.submission_payload(result), status=code)


_SEXES = frozenset(Sex.values)
_AGE_GROUPS = frozenset(AgeGroup.values)
_STATUSES = frozenset(ResponseStatus.values)


def _text(value: Any, max_length: int) -> str | None:
    """`value` as ResponseCreateInputSerializer's CharField would keep it, or None when that
    field might refuse or alter it (then the serializer decides and words the error)."""
    if type(value) is not str:
        return None
    value = value.strip()
    if not value or len(value) > max_length or not value.isprintable():
        return None
    return value


def _fast_input(data: Any) -> dict[str, Any] | None:
    """The validated input for a well-formed body, checked with plain code; None for anything
    ResponseCreateInputSerializer might judge differently (then it runs, with its messages).

    Types are strict, as in the serializer: strings are JSON strings (the submission id too),
    the base weight a JSON number (not a string, not a boolean)."""
    if type(data) is not dict:
        return None
    raw_id = data.get("submission_id")
    if type(raw_id) is not str:
        return None
    try:
        submission_id = uuid.UUID(raw_id)
    except ValueError:
        return None
    if is_derived_submission_id(submission_id):
        return None  # refused by the serializer, with its message
    respondent = _text(data.get("respondent"), contract.RESPONDENT_MAX)
    region = _text(data.get("region"), 20)
    sex, age_group = data.get("sex"), data.get("age_group")
    answers = data.get("answers")
    status_value = data.get("status", ResponseStatus.SUBMITTED.value)
    if (
        respondent is None or region is None or type(answers) is not dict
        or type(sex) is not str or sex not in _SEXES
        or type(age_group) is not str or age_group not in _AGE_GROUPS
        or type(status_value) is not str or status_value not in _STATUSES
        or not all(type(code) is str for code in answers)
    ):
        return None
    out: dict[str, Any] = {
        "submission_id": submission_id, "respondent": respondent, "region": region,
        "sex": sex, "age_group": age_group, "answers": answers, "status": status_value,
    }
    for name, max_length in (("stratum", contract.STRATUM_MAX), ("psu", contract.PSU_MAX)):
        value = data.get(name)
        if value is not None:
            value = _text(value, max_length)
            if value is None:
                return None
        out[name] = value
    weight = data.get("base_weight")
    if weight is not None:
        if type(weight) not in (int, float):
            return None
        try:
            weight = float(weight)
        except OverflowError:
            return None
        if not math.isfinite(weight):
            return None
    out["base_weight"] = weight
    return out


class ResponseCreateView(APIView):
    """Submit a response to a wave.

    Who may submit for whom:

    - an enumerator: any respondent, in a region inside its assignment (403 outside);
    - an admin: anyone, anywhere;
    - a respondent-only account (role respondent, neither enumerator nor admin): one respondent
      key, its own. The key of the account's first accepted submission is recorded in
      RespondentAccount (unique on the account and on the respondent, written in the same
      transaction as the response); a later submission for any other respondent id is 403
      ("respondent_forbidden"), as is claiming a key another account is bound to.

    The hot path avoids DRF's serializers and the ORM: the body is parsed once with parse_json
    and checked with plain code (falling back to ResponseCreateInputSerializer, for its exact
    error messages, whenever a field is not plainly valid); the caller, the region tree and the
    wave's item layout come from short-lived per-process caches (surveys.api.permissions,
    surveys.selectors.access, surveys.services.submissions); the writes are hand-written SQL.
    """

    authentication_classes = [CachedTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated, CanSubmitResponses]
    throttle_classes = [SubmissionRateThrottle]

    def get_authenticators(self) -> list[BaseAuthentication]:
        if getattr(self, "swagger_fake_view", False):
            # the schema shows the one "tokenAuth" scheme of every other endpoint
            return [TokenAuthentication(), SessionAuthentication()]
        return super().get_authenticators()

    @extend_schema(
        operation_id="wave_response_create",
        request=s.ResponseCreateInputSerializer,
        responses={
            201: OpenApiResponse(s.ResponseOutputSerializer, description="stored"),
            200: OpenApiResponse(
                s.ResponseOutputSerializer, description="replay of the same content: stored"
            ),
            **_errors(400, 401, 403, 404, 409, 429),
        },
        description="Submit a response (or a draft with `status: draft`). Idempotent by "
        "`submission_id`: the same content again returns 200 and the stored response. A "
        "respondent account is bound to the respondent of its first accepted submission and "
        "may submit only for that respondent (403 otherwise).",
    )
    def post(self, request: Request, wave_id: int) -> Response:
        wave = submissions.wave_info(wave_id)
        v = None
        if request.content_type.startswith("application/json"):
            body = request._request.body  # noqa: SLF001
            raw = parse_json(body) if body else {}
            v = _fast_input(raw)
        else:
            raw = request.data
        if v is None:
            data = s.ResponseCreateInputSerializer(data=raw)
            data.is_valid(raise_exception=True)
            v = data.validated_data
        result = submissions.response_submit(
            wave=wave,
            user=request.user,
            submission_id=v["submission_id"],
            respondent=v["respondent"],
            region=v["region"],
            sex=v["sex"],
            age_group=v["age_group"],
            answers=v["answers"],
            stratum=v.get("stratum"),
            psu=v.get("psu"),
            base_weight=v.get("base_weight"),
            draft=v["status"] == "draft",
            principal=request_principal(request),
        )
        return _out(result, status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class ResponseDetailView(APIView):
    """The caller's own response: read it, or change it while it is a draft."""

    permission_classes = [IsAuthenticated]

    def get_throttles(self) -> list[BaseThrottle]:
        if self.request.method in ("GET", "HEAD", "OPTIONS"):
            return []
        return [SubmissionRateThrottle()]

    @extend_schema(
        operation_id="wave_response_retrieve",
        responses={200: s.ResponseOutputSerializer, **_errors(401, 404)},
    )
    def get(self, request: Request, wave_id: int, submission_id: uuid.UUID) -> Response:
        result = submissions.response_get(
            wave=_wave(wave_id), user=request.user, submission_id=submission_id
        )
        return _out(result, status.HTTP_200_OK)

    @extend_schema(
        operation_id="wave_response_partial_update",
        request=s.ResponsePatchInputSerializer,
        responses={200: s.ResponseOutputSerializer, **_errors(400, 401, 404, 409, 429)},
        description="Merge partial answers into a draft (author only; 409 once submitted).",
    )
    def patch(self, request: Request, wave_id: int, submission_id: uuid.UUID) -> Response:
        wave = _wave(wave_id)
        data = s.ResponsePatchInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        result = submissions.response_draft_update(
            wave=wave,
            user=request.user,
            submission_id=submission_id,
            answers=v.get("answers"),
            sex=v.get("sex"),
            age_group=v.get("age_group"),
        )
        return _out(result, status.HTTP_200_OK)


class ResponseSubmitView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [SubmissionRateThrottle]

    @extend_schema(
        operation_id="wave_response_submit",
        request=None,
        responses={200: s.ResponseOutputSerializer, **_errors(400, 401, 404, 409, 429)},
        description="Finalise a draft: every item must be answered. A submitted response is "
        "final; submitting it again returns it unchanged.",
    )
    def post(self, request: Request, wave_id: int, submission_id: uuid.UUID) -> Response:
        result = submissions.response_draft_submit(
            wave=_wave(wave_id), user=request.user, submission_id=submission_id
        )
        return _out(result, status.HTTP_200_OK)


# --------------------------------------------------------------------------- invitations


class InvitationRedeemView(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [InvitationRateThrottle]

    @extend_schema(
        operation_id="invitation_redeem",
        auth=[],
        request=s.InvitationRedeemInputSerializer,
        responses={
            201: s.InvitationRedeemOutputSerializer,
            **_errors(400, 409, 429),
        },
        description="Exchange a one-time invitation code for a respondent account and token.",
    )
    def post(self, request: Request) -> Response:
        data = s.InvitationRedeemInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        redeemed = accounts.invitation_redeem(code=data.validated_data["code"])
        return Response(
            s.InvitationRedeemOutputSerializer(redeemed).data, status=status.HTTP_201_CREATED
        )
