"""`/api/v1/programmes/`: the registry of what ran where (GET, POST, PATCH).

Reading: every office, researcher and admin reads every programme (sharing what ran where is the
point: "a programme we don't have may already be running elsewhere"). Writing: an office adds
and edits programmes of its own region (an assigned region and everything below it); admins
anywhere; researchers, enumerators and respondents never. The rules of a programme are the
registry's one set (surveys.services.programmes), the same the file loader applies.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request

from surveys.models import Programme, Region, Role
from surveys.selectors.access import assigned_region_codes, is_reader, user_roles
from surveys.services.programmes import (
    Context,
    parse_programme,
    problem_text,
    programme_problems,
)


class ProgrammePagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class ProgrammeSerializer(serializers.ModelSerializer):
    region = serializers.CharField(source="region.code")
    dimension = serializers.CharField(required=False, allow_blank=True,
                                      help_text="kode sila; kosong atau INDEX = indeks")
    start_year = serializers.IntegerField()
    end_year = serializers.IntegerField()
    budget = serializers.IntegerField(required=False, allow_null=True, min_value=0)
    participants = serializers.IntegerField(required=False, allow_null=True, min_value=0)

    class Meta:
        model = Programme
        fields = ["code", "region", "type", "dimension", "start_year", "end_year", "name_id",
                  "name_en", "budget", "participants", "rpjmd_code", "created_at",
                  "updated_at"]
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs = {"name_en": {"required": False}, "rpjmd_code": {"required": False}}

    def to_representation(self, instance: Programme) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["dimension"] = instance.dimension
        data["budget"] = None if instance.budget is None else int(instance.budget)
        return data

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        """The registry's rules on the raw body (strict: numbers as JSON integers, text as
        strings), each problem under its field, in the request's language."""
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["expected a JSON object"]})
        partial = bool(self.partial)
        known = set(ProgrammeSerializer.Meta.fields) - {"created_at", "updated_at"}
        unknown = sorted(set(data) - known)
        # Translators: id: isian tidak dikenal
        errors: dict[str, list[str]] = {name: [_("unknown field")] for name in unknown}
        for name in ("start_year", "end_year", "budget", "participants"):
            value = data.get(name)
            if name in data and value is not None and (
                    isinstance(value, bool) or not isinstance(value, int)):
                # Translators: id: harus bilangan bulat JSON
                errors.setdefault(name, []).append(_("must be a JSON integer"))
        ctx = Context.load()
        if self.instance is not None and partial and "code" in data \
                and data["code"] != self.instance.code:
            # Translators: id: tidak dapat diubah
            errors.setdefault("code", []).append(_("cannot be changed"))
        checked = {k: v for k, v in data.items() if k in known and k not in errors}
        for name, msgid, params in programme_problems(checked, ctx, partial=partial):
            errors.setdefault(name, []).append(problem_text(msgid, params))
        if errors:
            raise serializers.ValidationError(errors)
        if partial and self.instance is not None:
            merged_years = {
                "start_year": checked.get("start_year", self.instance.start_year),
                "end_year": checked.get("end_year", self.instance.end_year)}
            if int(merged_years["end_year"]) < int(merged_years["start_year"]):
                # Translators: id: sebelum tahun mulai
                raise serializers.ValidationError({"end_year": [_("before the start year")]})
        return parse_programme(checked, ctx, partial=partial)

    def create(self, validated: dict[str, Any]) -> Programme:
        if Programme.objects.filter(code=validated["code"]).exists():
            # Translators: id: Kode program ini sudah ada.
            raise serializers.ValidationError({"code": [_("This programme code already exists.")]})
        return Programme.objects.create(**validated,
                                        created_by=self.context["request"].user)

    def update(self, instance: Programme, validated: dict[str, Any]) -> Programme:
        validated.pop("code", None)
        for field, value in validated.items():
            setattr(instance, field, value)
        instance.save()
        return instance


def _may_write(user: Any, roles: set[str], region_id: int) -> bool:
    if Role.ADMIN in roles:
        return True
    if Role.OFFICE not in roles:
        return False
    code = Region.objects.filter(pk=region_id).values_list("code", flat=True).first()
    allowed: set[str] = set()
    for root in assigned_region_codes(user):
        allowed.update(Region.objects.subtree_codes(root))
    return code in allowed


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("region", str, description="BPS code"),
            OpenApiParameter("type", str), OpenApiParameter("dimension", str,
                                                             description="sila code or INDEX")],
        description="The programme registry: what ran where, when, on which sila. Every "
                    "office, researcher and admin reads every programme; filter by `region`, "
                    "`type` and `dimension`.",
    ),
    retrieve=extend_schema(description="One programme by its code."),
    create=extend_schema(
        description="Register a programme. Offices register programmes of their own regions "
                    "(and the regions below them), admins anywhere; researchers cannot write."),
    partial_update=extend_schema(
        description="Change a programme. Offices change programmes of their own regions "
                    "only, and cannot move one to another office's region."),
)
class ProgrammeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                       mixins.CreateModelMixin, mixins.UpdateModelMixin,
                       viewsets.GenericViewSet):
    serializer_class = ProgrammeSerializer
    permission_classes = [IsAuthenticated]
    pagination_class = ProgrammePagination
    lookup_field = "code"
    lookup_value_regex = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def check_permissions(self, request: Request) -> None:
        super().check_permissions(request)
        self.roles = user_roles(request.user)
        if not is_reader(self.roles):
            raise PermissionDenied()
        if request.method not in ("GET", "HEAD", "OPTIONS") and not (
                self.roles & {Role.OFFICE, Role.ADMIN}):
            raise PermissionDenied()

    def get_queryset(self) -> QuerySet[Programme]:
        qs = Programme.objects.select_related("region").order_by("code")
        params = self.request.query_params
        if params.get("region"):
            qs = qs.filter(region__code=params["region"])
        if params.get("type"):
            qs = qs.filter(type=params["type"])
        if params.get("dimension"):
            dim = params["dimension"]
            qs = qs.filter(dimension_code="" if dim == "INDEX" else dim)
        return qs

    def perform_create(self, serializer: ProgrammeSerializer) -> None:
        region_id = serializer.validated_data["region_id"]
        if not _may_write(self.request.user, self.roles, region_id):
            # Translators: id: Program ini milik wilayah lain.
            raise PermissionDenied(_("This programme belongs to another region."))
        with transaction.atomic():
            serializer.save()

    def perform_update(self, serializer: ProgrammeSerializer) -> None:
        instance = serializer.instance
        target = serializer.validated_data.get("region_id", instance.region_id)
        if not (_may_write(self.request.user, self.roles, instance.region_id)
                and _may_write(self.request.user, self.roles, target)):
            # Translators: id: Program ini milik wilayah lain.
            raise PermissionDenied(_("This programme belongs to another region."))
        with transaction.atomic():
            serializer.save()
