"""Input and output serializers. Inputs are plain Serializers that only check shapes and types;
the rules (item codes, scale, regions, idempotency) live in the services."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from surveys.exceptions import Msg
from surveys.ingest import contract
from surveys.ingest.fingerprint import is_derived_submission_id
from surveys.language import request_language
from surveys.models import (
    AgeGroup,
    Dimension,
    Instrument,
    InstrumentVersion,
    Item,
    Region,
    RegionLevel,
    ResponseStatus,
    Sex,
    Wave,
    WaveStatus,
)
from surveys.models.waves import YEAR_MAX, YEAR_MIN
from surveys.services.submissions import Submission

# --------------------------------------------------------------------------- errors (docs only)


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    errors = serializers.DictField(
        help_text="field -> [messages]; under `answers`, item code -> [messages]"
    )


# --------------------------------------------------------------------------- catalogue


@extend_schema_field(OpenApiTypes.STR)
class LocalizedField(serializers.Field):
    """`<base>_en` when the request asks for English and it is set, else `<base>_id`."""

    def __init__(self, base: str, **kwargs: Any) -> None:
        self.base = base
        kwargs.update(source="*", read_only=True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> Any:
        english = getattr(value, f"{self.base}_en", None)
        if request_language() == "en" and english:
            return english
        return getattr(value, f"{self.base}_id")


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class LocalizedListField(LocalizedField):
    pass


class RegionSerializer(serializers.ModelSerializer):
    parent = serializers.CharField(source="parent.code", read_only=True, allow_null=True)

    class Meta:
        model = Region
        fields = ["code", "code_kemendagri", "name", "level", "parent"]


class RegionFilterSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=RegionLevel.choices, required=False)
    parent = serializers.CharField(required=False, help_text="code of the parent region")


class InstrumentSerializer(serializers.ModelSerializer):
    title = LocalizedField("title")
    latest_version = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Instrument
        fields = ["code", "title", "latest_version"]


class InstrumentItemSerializer(serializers.ModelSerializer):
    text = LocalizedField("text")

    class Meta:
        model = Item
        fields = ["code", "text", "reverse", "facet", "position"]


class DimensionSerializer(serializers.ModelSerializer):
    name = LocalizedField("name")
    items = InstrumentItemSerializer(many=True, read_only=True)

    class Meta:
        model = Dimension
        fields = ["code", "name", "weight", "items"]


class ScaleSerializer(serializers.Serializer):
    min = serializers.IntegerField(source="scale_min")
    max = serializers.IntegerField(source="scale_max")
    labels = LocalizedListField("labels")


class InstrumentDetailSerializer(serializers.ModelSerializer):
    code = serializers.CharField(source="instrument.code", read_only=True)
    title = LocalizedField("title")
    scale = ScaleSerializer(source="*", read_only=True)
    dimensions = DimensionSerializer(many=True, read_only=True)

    class Meta:
        model = InstrumentVersion
        fields = ["code", "version", "title", "scale", "min_valid_share", "dimensions"]


class InstrumentDetailQuerySerializer(serializers.Serializer):
    version = serializers.IntegerField(
        required=False, min_value=1, help_text="instrument version (default: latest)"
    )


class WaveSerializer(serializers.ModelSerializer):
    instrument = serializers.CharField(source="instrument.code", read_only=True)
    version = serializers.IntegerField(source="version.version", read_only=True)

    class Meta:
        model = Wave
        fields = ["id", "instrument", "version", "year", "status"]


class WaveFilterSerializer(serializers.Serializer):
    instrument = serializers.CharField(required=False, help_text="instrument code")
    year = serializers.IntegerField(required=False, min_value=YEAR_MIN, max_value=YEAR_MAX)
    status = serializers.ChoiceField(choices=WaveStatus.choices, required=False)


# --------------------------------------------------------------------------- responses

ANSWERS_SCHEMA = {
    "type": "object",
    "additionalProperties": {"type": "integer", "nullable": True},
    "description": "item code -> answer on the instrument's scale, or null for no answer",
}


@extend_schema_field(ANSWERS_SCHEMA)
class AnswersField(serializers.Field):
    """A JSON object of item code -> value. Only the shape is checked here; the values are
    checked against the instrument by the service, so that a string or an out-of-range value
    is reported under its item code (and no per-item field objects are built per request)."""

    default_error_messages = {"not_a_dict": serializers.DictField.default_error_messages[
        "not_a_dict"]}

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            self.fail("not_a_dict", input_type=type(data).__name__)
        return {str(code): value for code, value in data.items()}

    def to_representation(self, value: Any) -> Any:
        return value


# Strict JSON types (issue 16 item 8): DRF's own fields coerce (an integer becomes a string or
# a UUID, "1e3" and true become numbers); these refuse any value of another JSON type.


def _strict_fail(code: str) -> serializers.ValidationError:
    return serializers.ValidationError(Msg(code).render(request_language()), code=code)


class StrictCharField(serializers.CharField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            raise _strict_fail("strict_string")
        return super().to_internal_value(data)


class LabelField(StrictCharField):
    """A stratum or PSU label: a JSON string without control characters
    (`contract.label_problem`)."""

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        problem = contract.label_problem(value)
        if problem is not None:
            raise serializers.ValidationError(problem.render(request_language()),
                                              code=problem.code)
        return value


class StrictChoiceField(serializers.ChoiceField):
    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            raise _strict_fail("strict_string")
        return super().to_internal_value(data)


class StrictUUIDField(serializers.UUIDField):
    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            raise _strict_fail("strict_uuid")
        return super().to_internal_value(data)


@extend_schema_field(OpenApiTypes.DOUBLE)
class StrictFloatField(serializers.Field):
    """A JSON number (not a string, not a boolean) as a float. Whether the value is acceptable
    (finite, positive, plausible) is the contract's rule (surveys.ingest.contract), applied by
    the service, so it is worded the same for the API and the import."""

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            raise _strict_fail("strict_number")
        try:
            return float(data)
        except OverflowError:  # an integer too large for a double
            return float("inf")

    def to_representation(self, value: Any) -> Any:
        return value


class ResponseCreateInputSerializer(serializers.Serializer):
    submission_id = StrictUUIDField(
        help_text="client-generated UUID (random, version 4); replays are safe. The version 8 "
        "layout of imported responses' ids (`surveys.ingest.fingerprint`) is refused")

    def validate_submission_id(self, value: Any) -> Any:
        # an imported row's id is derived from its respondent and wave: a client using that
        # form could take the id of a row a later import would write (and fail that import)
        if is_derived_submission_id(value):
            raise _strict_fail("submission_id_reserved")
        return value
    respondent = StrictCharField(
        max_length=contract.RESPONDENT_MAX,
        help_text="pseudonymous respondent code (never a NIK or phone number): printable, no "
        "control or invisible characters, not starting with = + - @",
    )
    region = StrictCharField(max_length=20, help_text="BPS region code")
    sex = StrictChoiceField(choices=Sex.choices)
    age_group = StrictChoiceField(choices=AgeGroup.choices)
    answers = AnswersField()
    stratum = LabelField(
        max_length=contract.STRATUM_MAX, required=False, allow_null=True,
        help_text="default: the region code; enumerators and admins only",
    )
    psu = LabelField(
        max_length=contract.PSU_MAX, required=False, allow_null=True,
        help_text="default: the submission id; enumerators and admins only",
    )
    base_weight = StrictFloatField(
        required=False, allow_null=True,
        help_text="> 0 and at most the region's adult population; default 1; enumerators and "
        "admins only",
    )
    status = StrictChoiceField(
        choices=ResponseStatus.choices,
        default=ResponseStatus.SUBMITTED,
        help_text="`draft` stores partial answers to complete later",
    )


class ResponsePatchInputSerializer(serializers.Serializer):
    answers = AnswersField(required=False, help_text="merged into the draft; null clears")
    sex = StrictChoiceField(choices=Sex.choices, required=False)
    age_group = StrictChoiceField(choices=AgeGroup.choices, required=False)


class ResponseOutputSerializer(serializers.Serializer):
    """Documents (and checks, in tests) the output of `submission_payload`."""

    submission_id = serializers.UUIDField()
    wave = serializers.IntegerField(source="wave_id")
    respondent = serializers.CharField(help_text="stored pseudonymous panel key")
    region = serializers.CharField()
    sex = serializers.ChoiceField(choices=Sex.choices)
    age_group = serializers.ChoiceField(choices=AgeGroup.choices)
    stratum = serializers.CharField()
    psu = serializers.CharField()
    base_weight = serializers.FloatField()
    probability_sample = serializers.BooleanField()
    status = serializers.ChoiceField(choices=ResponseStatus.choices)
    answers = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(ANSWERS_SCHEMA)
    def get_answers(self, obj: Submission) -> dict[str, int | None]:
        return obj.answers


_DATETIME = serializers.DateTimeField()


def submission_payload(sub: Submission) -> dict[str, Any]:
    """What ResponseOutputSerializer(sub).data gives, built directly (the serializer costs
    more than the rest of a replay); tests assert the two are equal."""
    return {
        "submission_id": str(sub.submission_id),
        "wave": sub.wave_id,
        "respondent": sub.respondent,
        "region": sub.region,
        "sex": sub.sex,
        "age_group": sub.age_group,
        "stratum": sub.stratum,
        "psu": sub.psu,
        "base_weight": float(sub.base_weight),
        "probability_sample": bool(sub.probability_sample),
        "status": sub.status,
        "answers": sub.answers,
        "created_at": _DATETIME.to_representation(sub.created_at),
        "updated_at": _DATETIME.to_representation(sub.updated_at),
        "submitted_at": (
            None if sub.submitted_at is None else _DATETIME.to_representation(sub.submitted_at)
        ),
    }


# --------------------------------------------------------------------------- invitations


class InvitationRedeemInputSerializer(serializers.Serializer):
    code = StrictCharField(max_length=40)


class InvitationRedeemOutputSerializer(serializers.Serializer):
    username = serializers.CharField(source="user.username")
    token = serializers.CharField(help_text="send as `Authorization: Token <token>`")
    wave = serializers.IntegerField(source="wave.id")
    instrument = serializers.CharField(source="wave.instrument.code")
    year = serializers.IntegerField(source="wave.year")
