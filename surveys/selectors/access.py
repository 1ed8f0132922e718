"""The one place that decides who may read results and which regions a user may read or write.

`READER_ROLES` admits a caller to published results (API, exports, charts, dashboard); every read
of region-scoped rows goes through `visible_region_codes`; tests prove that an office of one
regency cannot read another's rows by id or by filter. The write rule (`write_scope`) is spelled
once and used by `writable_region_codes`, `can_write_region` and the cached `Principal`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from surveys.models import ALL_REGIONS, Region, RegionAssignment, Role

#: Roles that may read published results; everyone else gets 403.
READER_ROLES = frozenset({Role.OFFICE, Role.RESEARCHER, Role.ADMIN})


def user_roles(user: AbstractBaseUser | AnonymousUser) -> set[str]:
    if not user.is_authenticated:
        return set()
    roles = set(user.groups.values_list("name", flat=True)) & set(Role.values)
    if user.is_superuser:
        roles.add(Role.ADMIN)
    return roles


def has_role(user: AbstractBaseUser | AnonymousUser, *roles: str) -> bool:
    return bool(user_roles(user) & set(roles))


def assigned_region_codes(user: AbstractBaseUser) -> set[str]:
    return set(
        RegionAssignment.objects.filter(user=user).values_list("region__code", flat=True)
    )


def visible_region_codes(
    user: AbstractBaseUser | AnonymousUser, *, roles: set[str] | None = None
) -> set[str] | None:
    """Region codes whose aggregate results the user may read; None means every region.

    Researchers and admins see everything. An office sees its assigned region(s), everything
    below them, and the province-wide ``ALL`` row. Anyone else sees nothing. `roles`, when the
    caller already has `user_roles(user)`, saves the query that would recompute them.
    """
    if roles is None:
        roles = user_roles(user)
    if roles & {Role.ADMIN, Role.RESEARCHER}:
        return None
    if Role.OFFICE in roles:
        codes: set[str] = {ALL_REGIONS}
        for root in assigned_region_codes(user):
            codes.update(Region.objects.subtree_codes(root))
        return codes
    return set()


def is_reader(roles: set[str] | frozenset[str]) -> bool:
    """Whether these roles may read published results at all."""
    return bool(set(roles) & READER_ROLES)


WriteScope = Literal["any", "assigned", "none"]


def write_scope(roles: set[str] | frozenset[str]) -> WriteScope:
    """The region-write rule: where a caller with `roles` may submit responses.

    ``any``: respondents answer for themselves (any region) and admins write anywhere;
    ``assigned``: enumerators only inside their assignment (an assigned region includes
    everything below it); ``none``: everyone else.
    """
    if set(roles) & {Role.ADMIN, Role.RESPONDENT}:
        return "any"
    if Role.ENUMERATOR in roles:
        return "assigned"
    return "none"


def writable_region_codes(user: AbstractBaseUser | AnonymousUser) -> set[str] | None:
    """Regions a user may submit responses for (`write_scope`); None means any region."""
    scope = write_scope(user_roles(user))
    if scope == "any":
        return None
    if scope == "assigned":
        codes: set[str] = set()
        for root in assigned_region_codes(user):
            codes.update(Region.objects.subtree_codes(root))
        return codes
    return set()


def can_write_region(
    user: AbstractBaseUser | AnonymousUser, region: Region, *, roles: set[str] | None = None
) -> bool:
    """Whether `user` may submit a response for `region` (same rule as writable_region_codes).

    Walks up from the region to its ancestors instead of expanding every assigned subtree, so a
    submission costs one query for the assignments plus one per level above the region.
    """
    scope = write_scope(user_roles(user) if roles is None else roles)
    if scope != "assigned":
        return scope == "any"
    assigned = set(RegionAssignment.objects.filter(user=user).values_list("region_id", flat=True))
    if not assigned:
        return False
    if region.pk in assigned:
        return True
    parent_id = region.parent_id
    seen: set[int] = {region.pk}
    while parent_id is not None and parent_id not in seen:
        if parent_id in assigned:
            return True
        seen.add(parent_id)
        parent_id = Region.objects.filter(pk=parent_id).values_list("parent_id", flat=True).first()
    return False


def region_for_write(
    user: AbstractBaseUser | AnonymousUser, code: str, *, roles: set[str] | None = None
) -> tuple[Region | None, bool]:
    """The region with BPS `code` (None if unknown) and whether `user` may submit for it."""
    region = Region.objects.only("id", "code", "parent_id").filter(code=code).first()
    if region is None:
        return None, False
    return region, can_write_region(user, region, roles=roles)


# --------------------------------------------------------------------------- per-process caches
# The submission endpoint reads these instead of querying on every request. Both are short-lived
# per-process snapshots (a change in the database reaches a worker within the TTL);
# `clear_caches()` drops them at once (tests, or after loading regions in the same process).

REGION_TTL_SECONDS = 60.0
_REGION_RELOAD_MIN_SECONDS = 2.0


@dataclass(frozen=True)
class RegionRef:
    """A region's id and code plus the ids of the region and all its ancestors."""

    id: int
    code: str
    chain: tuple[int, ...]


@dataclass
class _RegionMap:
    loaded_at: float = -1e9
    by_code: dict[str, RegionRef] = field(default_factory=dict)


_REGIONS = _RegionMap()


def _load_regions() -> _RegionMap:
    rows = list(Region.objects.values_list("id", "code", "parent_id"))
    parent = {rid: pid for rid, _, pid in rows}
    by_code: dict[str, RegionRef] = {}
    for rid, code, _ in rows:
        chain = [rid]
        pid = parent.get(rid)
        while pid is not None and pid not in chain:
            chain.append(pid)
            pid = parent.get(pid)
        by_code[code] = RegionRef(id=rid, code=code, chain=tuple(chain))
    return _RegionMap(loaded_at=time.monotonic(), by_code=by_code)


def region_ref(code: str) -> RegionRef | None:
    """The region with BPS `code` from a per-process snapshot of the region table (reloaded
    after REGION_TTL_SECONDS, or on an unknown code at most every 2 s); None if unknown."""
    global _REGIONS  # noqa: PLW0603
    snapshot = _REGIONS
    age = time.monotonic() - snapshot.loaded_at
    ref = snapshot.by_code.get(code) if age < REGION_TTL_SECONDS else None
    if ref is None and (age >= REGION_TTL_SECONDS or age >= _REGION_RELOAD_MIN_SECONDS):
        snapshot = _REGIONS = _load_regions()
        ref = snapshot.by_code.get(code)
    return ref


@dataclass
class Principal:
    """What the submission endpoint needs to know about a caller, read once per TTL.

    `bound` is the (respondent id, panel key) a respondent-only account is bound to
    (RespondentAccount), None while unbound; a binding never changes once made, so a bound value
    is never stale, and an unbound one is re-checked by the database inside the write.
    """

    user: AbstractBaseUser
    roles: frozenset[str]
    assigned_region_ids: frozenset[int]
    bound: tuple[int, str] | None

    @property
    def respondent_only(self) -> bool:
        return Role.RESPONDENT in self.roles and not (
            self.roles & {Role.ENUMERATOR, Role.ADMIN}
        )

    def can_write(self, region: RegionRef) -> bool:
        """`write_scope`, on the cached assignment and ancestor chain."""
        scope = write_scope(self.roles)
        if scope != "assigned":
            return scope == "any"
        return not self.assigned_region_ids.isdisjoint(region.chain)


def principal_for(user: AbstractBaseUser) -> Principal:
    """Roles, assigned region ids and respondent binding of `user` (three small queries)."""
    from surveys.models.invitations import RespondentAccount

    roles = frozenset(user_roles(user))
    assigned: frozenset[int] = frozenset()
    if write_scope(roles) == "assigned":
        assigned = frozenset(
            RegionAssignment.objects.filter(user=user).values_list("region_id", flat=True)
        )
    principal = Principal(user=user, roles=roles, assigned_region_ids=assigned, bound=None)
    if principal.respondent_only:
        principal.bound = (
            RespondentAccount.objects.filter(user=user)
            .values_list("respondent_id", "respondent__panel_key")
            .first()
        )
    return principal


def clear_caches() -> None:
    global _REGIONS  # noqa: PLW0603
    _REGIONS = _RegionMap()
