"""Accounts, roles, API tokens and one-time invitation codes."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from surveys.exceptions import Conflict, InvalidInput, Msg
from surveys.models import Invitation, Region, RegionAssignment, Role, Wave

REGION_ROLES = frozenset({Role.ENUMERATOR, Role.OFFICE})
# 10 characters from a 32-letter alphabet without look-alikes (0/O, 1/I/L): 50 bits.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_CODE_LENGTH = 10


@transaction.atomic
def user_grant_role(
    *, username: str, role: str, region_codes: Sequence[str] = ()
) -> AbstractBaseUser:
    """Give `username` (created with an unusable password if new) the role's group and, for
    enumerators and offices, the listed regions. Granting again is harmless (adds only)."""
    if role not in Role.values:
        raise InvalidInput("unknown_role", role=role, choices=", ".join(Role.values))
    if region_codes and role not in REGION_ROLES:
        raise InvalidInput("region_not_for_role")
    if role in REGION_ROLES and not region_codes:
        raise InvalidInput("region_required", role=role)
    regions = {r.code: r for r in Region.objects.filter(code__in=region_codes)}
    unknown = [code for code in region_codes if code not in regions]
    if unknown:
        raise InvalidInput("unknown_region", region=", ".join(unknown))
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(username=username)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    group, _ = Group.objects.get_or_create(name=role)
    user.groups.add(group)
    for region in regions.values():
        RegionAssignment.objects.get_or_create(user=user, region=region)
    return user


def token_issue(*, username: str, rotate: bool = False) -> str:
    """The user's API token key; created if missing, replaced when `rotate`."""
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    if user is None:
        raise InvalidInput("unknown_user", username=username)
    with transaction.atomic():
        if rotate:
            Token.objects.filter(user=user).delete()
        token, _ = Token.objects.get_or_create(user=user)
    return token.key


def _code_hash(code: str) -> str:
    normalised = code.strip().upper().replace("-", "").replace(" ", "")
    return hashlib.sha256(normalised.encode()).hexdigest()


def invitation_create(*, wave: Wave, count: int, respondent: str | None = None) -> list[str]:
    """Create `count` one-time codes for `wave`; returns the codes (stored only as hashes).

    A panel follow-up names the `respondent` id it is for (created if new): redeeming the code
    binds the new account to that key (surveys.ingest: the only way an account gets a key it
    did not create itself)."""
    if count < 1:
        raise InvalidInput("count_positive")
    respondent_row = None
    if respondent is not None:
        from surveys.ingest.keys import RespondentKeyError, panel_key_for
        from surveys.models import Respondent

        try:
            panel_key = panel_key_for(respondent)
        except RespondentKeyError as exc:
            raise InvalidInput(exc.msg.code, errors={"respondent": [exc.msg]},
                               **exc.msg.params) from None
        respondent_row, _ = Respondent.objects.get_or_create(panel_key=panel_key)
    codes = [
        "".join(secrets.choice(_CODE_ALPHABET) for _ in range(_CODE_LENGTH)) for _ in range(count)
    ]
    Invitation.objects.bulk_create(
        [Invitation(wave=wave, code_hash=_code_hash(code), respondent=respondent_row)
         for code in codes]
    )
    return [f"{code[:5]}-{code[5:]}" for code in codes]


@dataclass(frozen=True)
class Redeemed:
    user: AbstractBaseUser
    token: str
    wave: Wave


@transaction.atomic
def invitation_redeem(*, code: str) -> Redeemed:
    """Turn a one-time code into a respondent account with an API token (wave must be open).

    The claim is one conditional UPDATE (redeemed_at IS NULL), so two concurrent redemptions of
    the same code cannot both succeed.
    """
    code_hash = _code_hash(code)
    wave = (
        Wave.objects.select_related("instrument")
        .filter(invitations__code_hash=code_hash)
        .first()
    )
    if wave is not None and not wave.is_open:
        raise Conflict("wave_closed", wave=str(wave))
    claimed = Invitation.objects.filter(code_hash=code_hash, redeemed_at__isnull=True).update(
        redeemed_at=timezone.now()
    )
    if not claimed:
        if Invitation.objects.filter(code_hash=code_hash).exists():
            raise Conflict("invitation_used")
        raise InvalidInput("invitation_invalid", errors={"code": [Msg("invitation_invalid")]})
    invitation = Invitation.objects.select_related("wave__instrument").get(code_hash=code_hash)
    user_model = get_user_model()
    user = user_model(username=f"resp-{secrets.token_hex(6)}")
    user.set_unusable_password()
    user.save()
    group, _ = Group.objects.get_or_create(name=Role.RESPONDENT)
    user.groups.add(group)
    token = Token.objects.create(user=user)
    invitation.redeemed_by = user
    invitation.save(update_fields=["redeemed_by"])
    if invitation.respondent_id is not None:
        # a panel follow-up: the new account answers for the named key (moved from an earlier
        # account of the same person, whose cached caller is dropped)
        from surveys.models.invitations import RespondentAccount

        earlier = list(RespondentAccount.objects.filter(
            respondent_id=invitation.respondent_id).values_list("user_id", flat=True))
        RespondentAccount.objects.filter(respondent_id=invitation.respondent_id).delete()
        RespondentAccount.objects.create(user=user, respondent_id=invitation.respondent_id,
                                         bound_at=timezone.now())
        if earlier:
            callers_invalidate(earlier)
    return Redeemed(user=user, token=token.key, wave=invitation.wave)


# --------------------------------------------------------------------------- caller cache
# The submission endpoint caches each token's caller (roles, regions, binding) per process
# (surveys.api.permissions). Every change that can take a right away (token deleted, user
# deactivated or deleted, group or region assignment changed) gives the user a new
# "generation" in the shared Django cache (surveys.signals); each worker compares the generation
# it cached with the current one on every request, so with a shared cache (Redis, CACHE_URL) a
# revocation holds on every worker at its next request. The per-process TTL (30 s) stays as the
# bound for changes that bypass signals (QuerySet.update()) or a per-process cache.

_CALLER_KEY = "nilai:caller-gen:{}"
_ALL_CALLERS_KEY = "nilai:caller-gen:all"
#: Longer than the per-process TTL: a generation key must outlive every entry cached under it.
CALLER_GENERATION_TIMEOUT = 24 * 3600


def caller_generation(user_id: int) -> tuple[object, object]:
    """The user's current cache generation (and the global one), to compare with a cached one."""
    keys = (_CALLER_KEY.format(user_id), _ALL_CALLERS_KEY)
    found = cache.get_many(keys)
    return found.get(keys[0]), found.get(keys[1])


def _bump(keys: list[str]) -> None:
    if keys:
        value = secrets.token_hex(8)
        cache.set_many(dict.fromkeys(keys, value), timeout=CALLER_GENERATION_TIMEOUT)


def callers_invalidate(user_ids: Sequence[int] = (), *, everyone: bool = False) -> None:
    """Drop the cached caller of these users (or of everyone) on every worker, now and again
    when the surrounding transaction commits (a worker that re-read the old rows in between
    would otherwise cache them under the new generation)."""
    keys = [_CALLER_KEY.format(pk) for pk in user_ids if pk is not None]
    if everyone:
        keys.append(_ALL_CALLERS_KEY)
    _bump(keys)
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: _bump(keys))
