"""Responses submitted through the API: create (idempotent by submission_id), edit drafts, submit.

Concurrency is left to the database: the response is one INSERT ... ON CONFLICT DO NOTHING
RETURNING id and the unique constraints (submission_id; wave + respondent) decide between
concurrent writers. A writer that loses re-reads the stored row and compares content hashes: the
same content is a replay (200), anything else a conflict (409). There is no check-then-insert
window, and no savepoint round trips on the hot path.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
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
from surveys.models.invitations import RespondentAccount
from surveys.selectors.access import Principal, principal_for, region_ref
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
    sql = f"SELECT status FROM {_WAVE_TABLE} WHERE id = %s"
    if lock and connection.vendor == "postgresql":
        sql += " FOR SHARE"
    with connection.cursor() as cursor:
        cursor.execute(sql, [wave_id])
        row = cursor.fetchone()
    return None if row is None else row[0]


def _wave_accepts_writes(wave: Wave) -> bool:
    return _wave_status(wave.pk, lock=True) == "open"


# --------------------------------------------------------------------------- hot-path SQL
# Hand-written statements for the submission hot path: building the same statements with the
# ORM cost 2-3 ms of CPU each (bench/README.md). Values go through each field's
# get_db_prep_save, so they are stored exactly as the ORM would store them.

_q = connection.ops.quote_name
_WAVE_TABLE = _q(Wave._meta.db_table)
_RESPONDENT_INSERT = (
    f"INSERT INTO {_q(Respondent._meta.db_table)} ({_q('panel_key')}, {_q('created_at')}) "
    f"VALUES (%s, %s) ON CONFLICT DO NOTHING RETURNING {_q('id')}"
)
_RESPONDENT_SELECT = f"SELECT id FROM {_q(Respondent._meta.db_table)} WHERE panel_key = %s"
_BINDING_INSERT = (
    f"INSERT INTO {_q(RespondentAccount._meta.db_table)} "
    f"({_q('user_id')}, {_q('respondent_id')}, {_q('bound_at')}) "
    f"VALUES (%s, %s, %s) ON CONFLICT DO NOTHING RETURNING {_q('respondent_id')}"
)
_BINDING_SELECT = (
    f"SELECT respondent_id FROM {_q(RespondentAccount._meta.db_table)} WHERE user_id = %s"
)
_RESPONSE_FIELDS = [
    Response._meta.get_field(name)
    for name in (
        "wave", "respondent", "submission_id", "status", "source", "consent", "region", "sex",
        "age_group", "stratum", "psu", "base_weight", "probability_sample", "answers",
        "content_hash", "created_by", "created_at", "updated_at", "submitted_at",
    )
]
_RESPONSE_INSERT = (
    f"INSERT INTO {_q(Response._meta.db_table)} "
    f"({', '.join(_q(f.column) for f in _RESPONSE_FIELDS)}) "
    f"VALUES ({', '.join(['%s'] * len(_RESPONSE_FIELDS))}) "
    f"ON CONFLICT DO NOTHING RETURNING {_q('id')}"
)


# PostgreSQL: the whole common case (open wave, new submission) as ONE statement in autocommit,
# instead of BEGIN, wave FOR SHARE, two inserts, COMMIT (five round trips, each ~0.3 ms of
# client CPU). The wave row is held FOR SHARE until the statement commits, exactly as the
# transaction did. Respondent and response are inserted only when the wave is open; a unique
# violation on the response (replay, reused id, respondent already answered) fails the whole
# statement, so nothing of it stays, and the caller then takes the transactional path, which
# tells a replay (200) from a conflict (409). When the respondent row was inserted concurrently
# and is not yet in the statement's snapshot, nothing is inserted and the transactional path
# runs as well.
_FAST_INSERT = (
    f"WITH w AS (SELECT status FROM {_WAVE_TABLE} WHERE id = %s FOR SHARE), "
    f"p_new AS (INSERT INTO {_q(Respondent._meta.db_table)} (panel_key, created_at) "
    f"SELECT %s, %s FROM w WHERE w.status = 'open' ON CONFLICT DO NOTHING RETURNING id), "
    f"p AS (SELECT id FROM p_new UNION ALL SELECT r.id FROM {_q(Respondent._meta.db_table)} r, "
    f"w WHERE w.status = 'open' AND r.panel_key = %s), "
    f"ins AS (INSERT INTO {_q(Response._meta.db_table)} "
    f"({', '.join(_q(f.column) for f in _RESPONSE_FIELDS)}) "
    f"SELECT {', '.join('p.id' if f.name == 'respondent' else '%s' for f in _RESPONSE_FIELDS)} "
    f"FROM (SELECT id FROM p LIMIT 1) AS p RETURNING id) "
    f"SELECT (SELECT id FROM ins)"
)


def _fast_insert(*, wave_id: int, panel_key: str, now: datetime, values: list[Any]) -> bool:
    """True when the one-statement insert stored the response (PostgreSQL, autocommit only)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return False
    prep = [
        f.get_db_prep_save(v, connection)
        for f, v in zip(_RESPONSE_FIELDS, values, strict=True)
        if f.name != "respondent"
    ]
    try:
        return _fetch_one(_FAST_INSERT, [wave_id, panel_key, now, panel_key, *prep]) is not None
    except IntegrityError:
        return False


def _fetch_one(sql: str, params: list[Any]) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return None if row is None else row[0]


def _respondent_id(panel_key: str, now: datetime) -> int:
    """The respondent's id, inserting it if new (ON CONFLICT DO NOTHING: a concurrent insert of
    the same key makes this wait for that transaction, then the SELECT sees its row)."""
    created_at = Respondent._meta.get_field("created_at").get_db_prep_save(now, connection)
    respondent_id = _fetch_one(_RESPONDENT_INSERT, [panel_key, created_at])
    if respondent_id is None:
        respondent_id = _fetch_one(_RESPONDENT_SELECT, [panel_key])
    return int(respondent_id)


def _bind_account(*, user_id: int, respondent_id: int, now: datetime) -> None:
    """Bind a respondent-only account to `respondent_id` on its first submission, or check that
    it is bound to it. Both sides of RespondentAccount are unique, so concurrent first
    submissions of one account (or two accounts claiming one key) cannot both bind."""
    bound_at = RespondentAccount._meta.get_field("bound_at").get_db_prep_save(now, connection)
    if _fetch_one(_BINDING_INSERT, [user_id, respondent_id, bound_at]) is not None:
        return
    if _fetch_one(_BINDING_SELECT, [user_id]) != respondent_id:
        raise Forbidden("respondent_forbidden")


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


# Published waves keep their instrument version (re-opening keeps it; a new version is a new
# checksum), so what the hot path needs from a wave is cached per process. The status is not:
# it is read from the row, under lock, in every write.
WAVE_TTL_SECONDS = 300.0


@dataclass(frozen=True)
class WaveInfo:
    id: int
    label: str  # "IINP 2025", as str(Wave)
    layout: ItemLayout


_WAVES: dict[int, tuple[float, WaveInfo]] = {}


def wave_info(wave_id: int) -> WaveInfo:
    """The wave's id, label and item layout (cached per process); NotFound if there is none."""
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
    info = WaveInfo(id=wave.pk, label=str(wave), layout=layout_for(wave.version))
    if info.layout.codes:
        _WAVES[wave_id] = (time.monotonic() + WAVE_TTL_SECONDS, info)
    return info


def clear_caches() -> None:
    _WAVES.clear()
    _LAYOUTS.clear()


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
    three is given the response is marked as not from a probability sample.

    A respondent-only account (role respondent without enumerator or admin) is bound to one
    respondent key: its first accepted submission records the key in RespondentAccount (same
    transaction), and any submission for another key is refused (403 respondent_forbidden).

    Raises, in this order: Forbidden (403: region outside an enumerator's assignment; another
    respondent than the account's own), Conflict (409: closed wave, unless the same submission
    is replayed), InvalidInput (400, errors per field and per item code), Conflict (409:
    submission_id reused with other content, respondent already answered this wave).
    """
    info = wave if isinstance(wave, WaveInfo) else wave_info(wave.pk)
    if principal is None:
        principal = principal_for(user)
    ref = region_ref(region)
    if ref is not None and not principal.can_write(ref):
        raise Forbidden("region_forbidden", region=region)

    layout = info.layout
    errors: dict[str, Any] = {}
    if ref is None:
        errors["region"] = [Msg("unknown_region", {"region": region})]
    panel_key = ""
    try:
        panel_key = panel_key_for(respondent)
    except IdentifyingKeyError:
        errors["respondent"] = [Msg("respondent_identifying")]
    except ValueError as exc:
        errors["respondent"] = [Msg("respondent_invalid", {"reason": str(exc)})]
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
    if base_weight is not None and not (math.isfinite(base_weight) and base_weight > 0):
        errors["base_weight"] = [Msg("out_of_range", {"min": "0", "max": "inf"})]
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
    digest = content_hash(
        {"wave": info.id, "respondent": panel_key, "region": ref.code, **fields}, clean
    )
    status = ResponseStatus.DRAFT.value if draft else ResponseStatus.SUBMITTED.value
    now = timezone.now()
    packed = pack_answers(layout, clean)

    values = [
        info.id, None, submission_id, status, ResponseSource.API.value, True, ref.id, sex,
        age_group, fields["stratum"], fields["psu"], fields["base_weight"], probability_sample,
        packed, digest, user.pk, now, now, None if draft else now,
    ]
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
                wave_id=info.id, submission_id=submission_id, digest=digest, status=status,
                layout=layout, error=closed,
            )
        respondent_id = _respondent_id(panel_key, now)
        if principal.respondent_only and (
            principal.bound is None or principal.bound[0] != respondent_id
        ):
            _bind_account(user_id=user.pk, respondent_id=respondent_id, now=now)
            # the cached Principal learns the binding only once it is committed
            bound = (respondent_id, panel_key)
            transaction.on_commit(lambda: setattr(principal, "bound", bound))
        values[1] = respondent_id
        params = [
            f.get_db_prep_save(v, connection)
            for f, v in zip(_RESPONSE_FIELDS, values, strict=True)
        ]
        if _fetch_one(_RESPONSE_INSERT, params) is not None:
            return created
        if not Response.objects.filter(submission_id=submission_id).exists():
            if Response.objects.filter(wave_id=info.id, respondent_id=respondent_id).exists():
                raise Conflict("respondent_duplicate")
            raise IntegrityError(f"response {submission_id} was not inserted")
        return _replay_or_raise(
            wave_id=info.id, submission_id=submission_id, digest=digest, status=status,
            layout=layout, error=Conflict("submission_conflict", submission_id=submission_id),
        )


def _replay_or_raise(
    *, wave_id: int, submission_id: uuid.UUID, digest: str, status: str, layout: ItemLayout,
    error: Conflict,
) -> Submission:
    stored = (
        Response.objects.select_related("respondent", "region")
        .filter(submission_id=submission_id)
        .first()
    )
    if stored is None:
        raise error
    if stored.wave_id == wave_id and stored.content_hash == digest and stored.status == status:
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
    try:
        validate_answers(layout, unpack_answers(layout, bytes(response.answers)), require_all=True)
    except AnswerError as exc:
        raise InvalidInput("invalid", errors={"answers": _answer_errors(exc, layout)}) from None
    response.status = ResponseStatus.SUBMITTED
    response.submitted_at = timezone.now()
    response.save(update_fields=["status", "submitted_at", "updated_at"])
    return Submission.from_response(response, created=False, layout=layout)
