"""API views: read-only catalogue ViewSets and one APIView per write. Views parse, call a
service and serialize; the rules live in surveys.services."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Max, Prefetch, QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from surveys.api import serializers as s
from surveys.api.permissions import CanSubmitResponses, request_roles
from surveys.api.throttling import InvitationRateThrottle, SubmissionRateThrottle
from surveys.exceptions import NotFound
from surveys.models import Dimension, Instrument, InstrumentVersion, Item, Region, Wave
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
    retrieve=extend_schema(responses={200: s.RegionSerializer, **_errors(401, 404)}),
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
    list=extend_schema(responses={200: s.InstrumentSerializer(many=True), **_errors(401)}),
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
    retrieve=extend_schema(responses={200: s.WaveSerializer, **_errors(401, 404)}),
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


def _out(result: submissions.Submission, code: int) -> Response:
    return Response(s.ResponseOutputSerializer(result).data, status=code)


class ResponseCreateView(APIView):
    permission_classes = [IsAuthenticated, CanSubmitResponses]
    throttle_classes = [SubmissionRateThrottle]

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
        "`submission_id`: the same content again returns 200 and the stored response.",
    )
    def post(self, request: Request, wave_id: int) -> Response:
        wave = _wave(wave_id)
        data = s.ResponseCreateInputSerializer(data=request.data)
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
            roles=request_roles(request),
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
