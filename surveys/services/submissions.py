"""Responses submitted through the API: create (idempotent by submission_id), edit drafts, submit.

Built on the response contract (surveys.ingest): the same field rules, fingerprint, packing and
insert statements as the file import.

Concurrency is left to the database: the response is one INSERT ... ON CONFLICT DO NOTHING
RETURNING id and the unique constraints (submission_id; wave + respondent) decide between
concurrent writers. A writer that loses re-reads the stored row and compares content hashes: the
same content is a replay (200), anything else a conflict (409). There is no check-then-insert
window, and no savepoint round trips on the hot path.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from datafiles.answers import (
    AnswerError,
    ItemLayout,
    pack_answers,
    unpack_answers,
    validate_answers,
)
from surveys.exceptions import Conflict, Forbidden, InvalidInput, Msg, NotFound
from surveys.ingest import contract
from surveys.ingest import layout as layouts
from surveys.ingest import sql as ingest_sql
from surveys.ingest.fingerprint import content_hash
from surveys.ingest.keys import RespondentKeyError, panel_key_for
from surveys.ingest.layout import layout_for
from surveys.models import Respondent, Response, ResponseSource, ResponseStatus, Wave
from surveys.models.invitations import RespondentAccount
from surveys.selectors.access import Principal, principal_for, region_ref

__all__ = ["Submission", "WaveInfo", "layout_for", "response_submit", "wave_info"]


@dataclass(frozen=True)
class Submission:
    """A stored response as the API shows it, whether this call created it, and the layout
    to unpack its answers. Plain values, so the hot path never instantiates a model."""

    submission_id: uuid.UUID
    wave_id: int
    respondent: str  # the stored panel key
    region: str  # BPS code
    sex: str
    age_group: str
    stratum: str
    psu: str
    base_weight: float
    probability_sample: bool
    status: str
    packed: bytes
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    created: bool
    layout: ItemLayout

    @property
    def answers(self) -> dict[str, int | None]:
        return unpack_answers(self.layout, self.packed)

    @classmethod
    def from_response(cls, response: Response, *, created: bool, layout: ItemLayout
                      ) -> Submission:
        """From a Response fetched with select_related("respondent", "region")."""
        return cls(
            submission_id=response.submission_id, wave_id=response.wave_id,
            respondent=response.respondent.panel_key, region=response.region.code,
            sex=response.sex, age_group=response.age_group, stratum=response.stratum,
            psu=response.psu, base_weight=response.base_weight,
            probability_sample=response.probability_sample, status=response.status,
            packed=bytes(response.answers), created_at=response.created_at,
            updated_at=response.updated_at, submitted_at=response.submitted_at,
            created=created, layout=layout,
        )


def _answer_errors(exc: AnswerError, layout: ItemLayout) -> dict[str, list[Msg]]:
    scale = {"min": layout.scale_min, "max": layout.scale_max}
    return {
        code: [Msg(reason, scale if reason == "out_of_range" else {}) for reason in reasons]
        for code, reasons in exc.errors.items()
    }


def _wave_status(wave_id: int, *, lock: bool) -> str | None:
    """The wave's status as stored now (None if the wave is gone). With `lock`, inside the
    current transaction, the row is held FOR SHARE on PostgreSQL: wave_close's FOR UPDATE then
    waits for this transaction, and a submission that starts after the close commits sees the
    wave closed."""
    sql = f"SELECT status FROM {ingest_sql.WAVE_TABLE} WHERE id = %s"
    if lock and connection.vendor == "postgresql":
        sql += " FOR SHARE"
    with connection.cursor() as cursor:
        cursor.execute(sql, [wave_id])
        row = cursor.fetchone()
    return None if row is None else row[0]


def _wave_accepts_writes(wave: Wave) -> bool:
    return _wave_status(wave.pk, lock=True) == "open"


# --------------------------------------------------------------------------- hot-path SQL
# The statements are surveys.ingest.sql's: the column list is written once and every writer
# passes its values by name.


def _fast_insert(*, wave_id: int, panel_key: str, now: datetime,
                 values: Mapping[str, Any]) -> bool:
    """True when the one-statement insert stored the response (PostgreSQL, autocommit only)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return False
    prep = ingest_sql.db_params(values, skip=("respondent",))
    try:
        return _fetch_one(
            ingest_sql.FAST_INSERT, [wave_id, panel_key, now, panel_key, *prep]
        ) is not None
    except IntegrityError:
        return False


def _fetch_one(sql: str, params: list[Any]) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return None if row is None else row[0]


_RESPONDENT_CREATED_AT = Respondent._meta.get_field("created_at")
_BOUND_AT = RespondentAccount._meta.get_field("bound_at")


def _respondent_id(panel_key: str, now: datetime) -> tuple[int, bool]:
    """The respondent's id and whether this call created it (ON CONFLICT DO NOTHING: a
    concurrent insert of the same key makes this wait for that transaction, then the SELECT
    sees its row)."""
    created_at = _RESPONDENT_CREATED_AT.get_db_prep_save(now, connection)
    respondent_id = _fetch_one(ingest_sql.RESPONDENT_INSERT, [panel_key, created_at])
    if respondent_id is not None:
        return int(respondent_id), True
    return int(_fetch_one(ingest_sql.RESPONDENT_SELECT, [panel_key])), False


def _bind_account(*, user_id: int, respondent_id: int, now: datetime, created: bool) -> None:
    """Bind a respondent-only account to `respondent_id` on its first submission, or check that
    it is bound to it. Both sides of RespondentAccount are unique, so concurrent first
    submissions of one account (or two accounts claiming one key) cannot both bind.

    An unbound account binds only a key this very submission `created`: a key that already
    exists (made by an import, an enumerator or another account) is someone else's (403
    respondent_key_taken). A panel follow-up names its key on the invitation instead, and the
    redemption binds it (services.accounts.invitation_redeem)."""
    bound_to = _fetch_one(ingest_sql.BINDING_SELECT, [user_id])
    if bound_to is None:
        if not created:
            raise Forbidden(
                "respondent_key_taken", errors={"respondent": [Msg("respondent_key_taken")]}
            )
        bound_at = _BOUND_AT.get_db_prep_save(now, connection)
        if _fetch_one(ingest_sql.BINDING_INSERT, [user_id, respondent_id, bound_at]) is not None:
            return
        bound_to = _fetch_one(ingest_sql.BINDING_SELECT, [user_id])
    if bound_to != respondent_id:
        raise Forbidden("respondent_forbidden")


def _fingerprint(*, region: str, status: str, fields: Mapping[str, Any],
                 answers: Mapping[str, int | None]) -> str:
    return content_hash({"region": region, "status": status, **fields}, answers)


# Published waves keep their instrument version (re-opening keeps it; a new version is a new
# checksum), so what the hot path needs from a wave is cached per process. The status is not:
# it is read from the row, under lock, in every write.
WAVE_TTL_SECONDS = 300.0


@dataclass(frozen=True)
class WaveInfo:
    id: int
    label: str  # "IINP 2025", as str(Wave)
    year: int
    layout: ItemLayout


_WAVES: dict[int, tuple[float, WaveInfo]] = {}


def wave_info(wave_id: int) -> WaveInfo:
    """The wave's id, label, year and item layout (cached per process); NotFound if none."""
    entry = _WAVES.get(wave_id)
    if entry is not None and entry[0] > time.monotonic():
        return entry[1]
    wave = (
        Wave.objects.select_related("instrument", "version")
        .only(
            "id", "year", "instrument__code", "version__version", "version__checksum",
            "version__scale_min", "version__scale_max",
        )
        .filter(pk=wave_id)
        .first()
    )
    if wave is None:
        raise NotFound("wave_not_found", wave=wave_id)
    info = WaveInfo(id=wave.pk, label=str(wave), year=wave.year, layout=layout_for(wave.version))
    if info.layout.codes:
        _WAVES[wave_id] = (time.monotonic() + WAVE_TTL_SECONDS, info)
    return info


def clear_caches() -> None:
    _WAVES.clear()
    layouts.clear_caches()
    contract.clear_caches()


def response_submit(
    *,
    wave: Wave | WaveInfo,
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
    roles: set[str] | None = None,  # noqa: ARG001 - kept for callers; principal supersedes
    principal: Principal | None = None,
) -> Submission:
    """Store a response (final, or a draft when `draft`) in an open wave.

    Design defaults: stratum = region, psu = the submission id, base_weight = 1; when none of the
    three is given the response is marked as not from a probability sample. Only enumerators
    and admins may give them (surveys.ingest.contract).

    A respondent-only account (role respondent without enumerator or admin) is bound to one
    respondent key: the key its first accepted submission creates (same transaction), or the
    key its invitation names (bound at redemption); any other key is refused (403).

    Raises, in this order: Forbidden (403: region outside an enumerator's assignment; design
    fields from a respondent account; another respondent than the account's own), Conflict
    (409: closed wave, unless the same submission is replayed), InvalidInput (400, errors per
    field and per item code), Forbidden (403: an unbound respondent account claiming an existing
    key), Conflict (409: submission_id reused with other content, respondent already answered
    this wave).
    """
    info = wave if isinstance(wave, WaveInfo) else wave_info(wave.pk)
    if principal is None:
        principal = principal_for(user)
    ref = region_ref(region)
    if ref is not None and not principal.can_write(ref):
        raise Forbidden("region_forbidden", region=region)
    if principal.respondent_only:
        design = contract.design_field_errors(
            {"stratum": stratum, "psu": psu, "base_weight": base_weight})
        if design:
            raise Forbidden("design_field_forbidden", field=", ".join(design), errors=design)

    layout = info.layout
    errors: dict[str, Any] = {}
    if ref is None:
        errors["region"] = [Msg("unknown_region", {"region": region})]
    panel_key = ""
    try:
        panel_key = panel_key_for(respondent)
    except RespondentKeyError as exc:
        errors["respondent"] = [exc.msg]
    if (
        panel_key
        and principal.respondent_only
        and principal.bound is not None
        and principal.bound[1] != panel_key
    ):
        raise Forbidden("respondent_forbidden")
    clean: dict[str, int | None] = {}
    try:
        clean = validate_answers(layout, answers, require_all=not draft)
    except AnswerError as exc:
        errors["answers"] = _answer_errors(exc, layout)
    if base_weight is not None:
        weight_errors = contract.weight_error(
            base_weight, region_id=None if ref is None else ref.id, region=region,
            year=info.year)
        if weight_errors:
            errors["base_weight"] = weight_errors
    closed = Conflict("wave_closed", wave=info.label)
    if errors:
        status_now = _wave_status(info.id, lock=False)
        if status_now is None:
            raise NotFound("wave_not_found", wave=info.id)
        if status_now != "open" and not Response.objects.filter(
            submission_id=submission_id
        ).exists():
            raise closed
        raise InvalidInput("invalid", errors=errors)
    assert ref is not None

    probability_sample = not (stratum is None and psu is None and base_weight is None)
    fields = {
        "sex": sex,
        "age_group": age_group,
        "stratum": stratum or ref.code,
        "psu": psu or str(submission_id),
        "base_weight": float(base_weight if base_weight is not None else 1.0),
        "probability_sample": probability_sample,
    }
    status = ResponseStatus.DRAFT.value if draft else ResponseStatus.SUBMITTED.value
    digest = _fingerprint(region=ref.code, status=status, fields=fields, answers=clean)
    now = timezone.now()
    packed = pack_answers(layout, clean)

    values: dict[str, Any] = {
        "wave": info.id, "respondent": None, "submission_id": submission_id, "status": status,
        "source": ResponseSource.API.value, "consent": True, "region": ref.id,
        **fields, "answers": packed, "content_hash": digest, "created_by": user.pk,
        "created_at": now, "updated_at": now, "submitted_at": None if draft else now,
    }
    created = Submission(
        submission_id=submission_id, wave_id=info.id, respondent=panel_key, region=ref.code,
        status=status, packed=packed, created_at=now, updated_at=now,
        submitted_at=None if draft else now, created=True, layout=layout, **fields,
    )
    # an unbound respondent account is bound in the same transaction: not on the fast path
    if (not principal.respondent_only or principal.bound is not None) and _fast_insert(
        wave_id=info.id, panel_key=panel_key, now=now, values=values
    ):
        return created

    with transaction.atomic():
        status_now = _wave_status(info.id, lock=True)
        if status_now is None:
            raise NotFound("wave_not_found", wave=info.id)
        if status_now != "open":
            return _replay_or_raise(
                wave_id=info.id, submission_id=submission_id, panel_key=panel_key,
                digest=digest, layout=layout, error=closed,
            )
        respondent_id, respondent_created = _respondent_id(panel_key, now)
        if principal.respondent_only and (
            principal.bound is None or principal.bound[0] != respondent_id
        ):
            _bind_account(user_id=user.pk, respondent_id=respondent_id, now=now,
                          created=respondent_created)
            # the cached Principal learns the binding only once it is committed
            bound = (respondent_id, panel_key)
            transaction.on_commit(lambda: setattr(principal, "bound", bound))
        values["respondent"] = respondent_id
        if _fetch_one(ingest_sql.RESPONSE_INSERT, ingest_sql.db_params(values)) is not None:
            return created
        if not Response.objects.filter(submission_id=submission_id).exists():
            if Response.objects.filter(wave_id=info.id, respondent_id=respondent_id).exists():
                raise Conflict("respondent_duplicate")
            raise IntegrityError(f"response {submission_id} was not inserted")
        return _replay_or_raise(
            wave_id=info.id, submission_id=submission_id, panel_key=panel_key, digest=digest,
            layout=layout, error=Conflict("submission_conflict", submission_id=submission_id),
        )


def _replay_or_raise(
    *, wave_id: int, submission_id: uuid.UUID, panel_key: str, digest: str,
    layout: ItemLayout, error: Conflict,
) -> Submission:
    """The stored response when it is this very submission again (same wave, respondent and
    fingerprint; the fingerprint covers the status), else a conflict."""
    stored = (
        Response.objects.select_related("respondent", "region")
        .filter(submission_id=submission_id)
        .first()
    )
    if stored is None:
        raise error
    if (
        stored.wave_id == wave_id
        and stored.respondent.panel_key == panel_key
        and stored_fingerprint(stored, layout) == digest
    ):
        return Submission.from_response(stored, created=False, layout=layout)
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
    return Submission.from_response(
        response, created=False, layout=layout_for(wave.version)
    )


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


def stored_fingerprint(response: Response, layout: ItemLayout) -> str:
    """The fingerprint of a stored response: its `content_hash` where the API stored one, else
    computed from the row (file imports store none; docs/DECISIONS.md 80). Needs the row's
    region loaded (select_related) and its wave's layout."""
    if response.content_hash:
        return response.content_hash
    return _refingerprint(response, unpack_answers(layout, bytes(response.answers)))


def _refingerprint(response: Response, answers: Mapping[str, int | None]) -> str:
    return _fingerprint(
        region=response.region.code, status=response.status,
        fields={
            "sex": response.sex, "age_group": response.age_group, "stratum": response.stratum,
            "psu": response.psu, "base_weight": response.base_weight,
            "probability_sample": response.probability_sample,
        },
        answers=answers,
    )


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
    response.content_hash = _refingerprint(response, merged)
    response.save(update_fields=["answers", "sex", "age_group", "content_hash", "updated_at"])
    return Submission.from_response(response, created=False, layout=layout)


@transaction.atomic
def response_draft_submit(
    *, wave: Wave, user: AbstractBaseUser, submission_id: uuid.UUID
) -> Submission:
    """Finalise a draft once every item is answered. Submitting again returns it unchanged."""
    response = _own_draft_for_update(wave=wave, user=user, submission_id=submission_id)
    layout = layout_for(wave.version)
    if response.status == ResponseStatus.SUBMITTED:
        return Submission.from_response(response, created=False, layout=layout)
    if not _wave_accepts_writes(wave):
        raise Conflict("wave_closed", wave=str(wave))
    answers = unpack_answers(layout, bytes(response.answers))
    try:
        validate_answers(layout, answers, require_all=True)
    except AnswerError as exc:
        raise InvalidInput("invalid", errors={"answers": _answer_errors(exc, layout)}) from None
    response.status = ResponseStatus.SUBMITTED
    response.submitted_at = timezone.now()
    response.content_hash = _refingerprint(response, answers)
    response.save(update_fields=["status", "submitted_at", "content_hash", "updated_at"])
    return Submission.from_response(response, created=False, layout=layout)
