"""Responses submitted through the API: create (idempotent by submission_id), edit drafts, submit.

Concurrency is left to the database: the response is one INSERT ... ON CONFLICT DO NOTHING
RETURNING id and the unique constraints (submission_id; wave + respondent) decide between
concurrent writers. A writer that loses re-reads the stored row and compares content hashes: the
same content is a replay (200), anything else a conflict (409). There is no check-then-insert
window, and no savepoint round trips on the hot path.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, connections, router, transaction
from django.db.models import Model
from django.db.models.constants import OnConflict
from django.db.models.sql.subqueries import InsertQuery
from django.utils import timezone

from surveys.exceptions import Conflict, Forbidden, InvalidInput, Msg, NotFound
from surveys.models import (
    InstrumentVersion,
    Region,
    Respondent,
    Response,
    ResponseSource,
    ResponseStatus,
    Wave,
)
from surveys.selectors.access import region_for_write
from surveys.services.answers import (
    AnswerError,
    ItemLayout,
    content_hash,
    pack_answers,
    unpack_answers,
    validate_answers,
)
from surveys.services.respondents import IdentifyingKeyError, panel_key_for


@dataclass(frozen=True)
class Submission:
    """A stored response, whether this call created it, and the layout to unpack its answers."""

    response: Response
    created: bool
    layout: ItemLayout

    @property
    def answers(self) -> dict[str, int | None]:
        return unpack_answers(self.layout, bytes(self.response.answers))


def _answer_errors(exc: AnswerError, layout: ItemLayout) -> dict[str, list[Msg]]:
    scale = {"min": layout.scale_min, "max": layout.scale_max}
    return {
        code: [Msg(reason, scale if reason == "out_of_range" else {}) for reason in reasons]
        for code, reasons in exc.errors.items()
    }


def _wave_accepts_writes(wave: Wave) -> bool:
    """Re-read the wave's status inside the current transaction, holding it FOR SHARE on
    PostgreSQL: wave_close's FOR UPDATE then waits for this transaction, and a submission that
    starts after the close commits sees the wave closed."""
    table = Wave._meta.db_table
    sql = f'SELECT status FROM "{table}" WHERE id = %s'
    if connection.vendor == "postgresql":
        sql += " FOR SHARE"
    with connection.cursor() as cursor:
        cursor.execute(sql, [wave.pk])
        row = cursor.fetchone()
    return row is not None and row[0] == "open"


def _insert_or_nothing(obj: Model) -> bool:
    """INSERT `obj` as one statement, doing nothing if a unique constraint already holds an
    equal key (PostgreSQL ON CONFLICT DO NOTHING, SQLite INSERT OR IGNORE), RETURNING the id.

    True (and obj.pk set) when this statement inserted the row. A concurrent writer of the same
    key makes it wait for that transaction's outcome, so no savepoint is needed and the unique
    constraints stay the only arbiter. Built with Django's own insert compiler, so every field
    of the model (defaults, auto_now) is written exactly as save() would.
    """
    meta = obj._meta
    fields = [
        f for f in meta.local_concrete_fields
        if f is not meta.auto_field and not getattr(f, "generated", False)
    ]
    using = router.db_for_write(type(obj))
    query = InsertQuery(type(obj), on_conflict=OnConflict.IGNORE)
    query.insert_values(fields, [obj])
    compiler = query.get_compiler(using=using)
    compiler.returning_fields = [meta.pk]
    ((sql, params),) = compiler.as_sql()
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    obj.pk = row[0]
    obj._state.adding = False
    obj._state.db = using
    return True


def _respondent(panel_key: str) -> Respondent:
    respondent = Respondent(panel_key=panel_key)
    if _insert_or_nothing(respondent):
        return respondent
    return Respondent.objects.only("id", "panel_key").get(panel_key=panel_key)


# Published instrument versions never change (a change is a new version with a new checksum),
# so their item layout is cached per process, keyed by id and content checksum.
_LAYOUTS: dict[tuple[int, str], ItemLayout] = {}


def layout_for(version: InstrumentVersion) -> ItemLayout:
    key = (version.pk, version.checksum)
    layout = _LAYOUTS.get(key)
    if layout is None:
        layout = ItemLayout.for_version(version)
        if layout.codes:
            _LAYOUTS[key] = layout
    return layout


def _hash(
    *, wave: Wave, panel_key: str, region: Region, fields: Mapping[str, Any],
    answers: Mapping[str, int | None],
) -> str:
    return content_hash(
        {"wave": wave.pk, "respondent": panel_key, "region": region.code, **fields}, answers
    )


def response_submit(
    *,
    wave: Wave,
    user: AbstractBaseUser,
    submission_id: uuid.UUID,
    respondent: str,
    region: str,
    sex: str,
    age_group: str,
    answers: Mapping[str, Any],
    stratum: str | None = None,
    psu: str | None = None,
    base_weight: float | None = None,
    draft: bool = False,
    roles: set[str] | None = None,
) -> Submission:
    """Store a response (final, or a draft when `draft`) in an open wave.

    Design defaults: stratum = region, psu = the submission id, base_weight = 1; when none of the
    three is given the response is marked as not from a probability sample. Raises InvalidInput
    (400, errors per field and per item code), Forbidden (403, region outside an enumerator's
    assignment) or Conflict (409: closed wave, submission_id reused with other content,
    respondent already answered this wave).
    """
    region_obj, writable = region_for_write(user, region, roles=roles)
    if region_obj is not None and not writable:
        raise Forbidden("region_forbidden", region=region)
    if not wave.is_open and not Response.objects.filter(submission_id=submission_id).exists():
        raise Conflict("wave_closed", wave=str(wave))

    layout = layout_for(wave.version)
    errors: dict[str, Any] = {}
    if region_obj is None:
        errors["region"] = [Msg("unknown_region", {"region": region})]
    panel_key = ""
    try:
        panel_key = panel_key_for(respondent)
    except IdentifyingKeyError:
        errors["respondent"] = [Msg("respondent_identifying")]
    except ValueError as exc:
        errors["respondent"] = [Msg("respondent_invalid", {"reason": str(exc)})]
    clean: dict[str, int | None] = {}
    try:
        clean = validate_answers(layout, answers, require_all=not draft)
    except AnswerError as exc:
        errors["answers"] = _answer_errors(exc, layout)
    if base_weight is not None and not (math.isfinite(base_weight) and base_weight > 0):
        errors["base_weight"] = [Msg("out_of_range", {"min": "0", "max": "inf"})]
    if errors:
        raise InvalidInput("invalid", errors=errors)
    assert region_obj is not None

    probability_sample = not (stratum is None and psu is None and base_weight is None)
    fields = {
        "sex": sex,
        "age_group": age_group,
        "stratum": stratum or region_obj.code,
        "psu": psu or str(submission_id),
        "base_weight": float(base_weight if base_weight is not None else 1.0),
        "probability_sample": probability_sample,
    }
    digest = _hash(
        wave=wave, panel_key=panel_key, region=region_obj, fields=fields, answers=clean
    )
    status = ResponseStatus.DRAFT if draft else ResponseStatus.SUBMITTED

    with transaction.atomic():
        if not _wave_accepts_writes(wave):
            return _replay_or_raise(
                wave=wave, submission_id=submission_id, digest=digest, status=status,
                layout=layout, error=Conflict("wave_closed", wave=str(wave)),
            )
        respondent_obj = _respondent(panel_key)
        response = Response(
            wave=wave,
            respondent=respondent_obj,
            submission_id=submission_id,
            status=status,
            source=ResponseSource.API,
            region=region_obj,
            answers=pack_answers(layout, clean),
            content_hash=digest,
            created_by=user,
            submitted_at=None if draft else timezone.now(),
            **fields,
        )
        if _insert_or_nothing(response):
            return Submission(response=response, created=True, layout=layout)
        if not Response.objects.filter(submission_id=submission_id).exists():
            if Response.objects.filter(wave=wave, respondent=respondent_obj).exists():
                raise Conflict("respondent_duplicate")
            # SQLite's OR IGNORE also skips CHECK failures: a bug, never a client error
            raise IntegrityError(f"response {submission_id} was not inserted")
        return _replay_or_raise(
            wave=wave, submission_id=submission_id, digest=digest, status=status,
            layout=layout, error=Conflict("submission_conflict", submission_id=submission_id),
        )


def _replay_or_raise(
    *, wave: Wave, submission_id: uuid.UUID, digest: str, status: str, layout: ItemLayout,
    error: Conflict,
) -> Submission:
    stored = (
        Response.objects.select_related("respondent", "region")
        .filter(submission_id=submission_id)
        .first()
    )
    if stored is None:
        raise error
    if stored.wave_id == wave.pk and stored.content_hash == digest and stored.status == status:
        return Submission(response=stored, created=False, layout=layout)
    raise Conflict("submission_conflict", submission_id=submission_id)


def response_get(*, wave: Wave, user: AbstractBaseUser, submission_id: uuid.UUID) -> Submission:
    """The caller's own response (404 for anyone else's: existence is not disclosed)."""
    response = (
        Response.objects.select_related("respondent", "region")
        .filter(wave=wave, submission_id=submission_id, created_by=user)
        .first()
    )
    if response is None:
        raise NotFound("response_not_found", submission_id=submission_id)
    return Submission(response=response, created=False, layout=layout_for(wave.version))


def _own_draft_for_update(
    *, wave: Wave, user: AbstractBaseUser, submission_id: uuid.UUID
) -> Response:
    response = (
        Response.objects.select_for_update(of=("self",))
        .select_related("respondent", "region")
        .filter(wave=wave, submission_id=submission_id, created_by=user)
        .first()
    )
    if response is None:
        raise NotFound("response_not_found", submission_id=submission_id)
    return response


@transaction.atomic
def response_draft_update(
    *,
    wave: Wave,
    user: AbstractBaseUser,
    submission_id: uuid.UUID,
    answers: Mapping[str, Any] | None = None,
    sex: str | None = None,
    age_group: str | None = None,
) -> Submission:
    """Merge partial answers (null clears an answer) and demographic changes into a draft."""
    response = _own_draft_for_update(wave=wave, user=user, submission_id=submission_id)
    if response.status != ResponseStatus.DRAFT:
        raise Conflict("response_final")
    if not _wave_accepts_writes(wave):
        raise Conflict("wave_closed", wave=str(wave))
    layout = layout_for(wave.version)
    merged = unpack_answers(layout, bytes(response.answers))
    if answers:
        try:
            clean = validate_answers(layout, answers)
        except AnswerError as exc:
            raise InvalidInput(
                "invalid", errors={"answers": _answer_errors(exc, layout)}
            ) from None
        for code in answers:
            merged[code] = clean[code]
    if sex is not None:
        response.sex = sex
    if age_group is not None:
        response.age_group = age_group
    response.answers = pack_answers(layout, merged)
    response.content_hash = _hash(
        wave=wave,
        panel_key=response.respondent.panel_key,
        region=response.region,
        fields={
            "sex": response.sex,
            "age_group": response.age_group,
            "stratum": response.stratum,
            "psu": response.psu,
            "base_weight": float(response.base_weight),
            "probability_sample": response.probability_sample,
        },
        answers=merged,
    )
    response.save(update_fields=["answers", "sex", "age_group", "content_hash", "updated_at"])
    return Submission(response=response, created=False, layout=layout)


@transaction.atomic
def response_draft_submit(
    *, wave: Wave, user: AbstractBaseUser, submission_id: uuid.UUID
) -> Submission:
    """Finalise a draft once every item is answered. Submitting again returns it unchanged."""
    response = _own_draft_for_update(wave=wave, user=user, submission_id=submission_id)
    layout = layout_for(wave.version)
    if response.status == ResponseStatus.SUBMITTED:
        return Submission(response=response, created=False, layout=layout)
    if not _wave_accepts_writes(wave):
        raise Conflict("wave_closed", wave=str(wave))
    try:
        validate_answers(layout, unpack_answers(layout, bytes(response.answers)), require_all=True)
    except AnswerError as exc:
        raise InvalidInput("invalid", errors={"answers": _answer_errors(exc, layout)}) from None
    response.status = ResponseStatus.SUBMITTED
    response.submitted_at = timezone.now()
    response.save(update_fields=["status", "submitted_at", "updated_at"])
    return Submission(response=response, created=False, layout=layout)
