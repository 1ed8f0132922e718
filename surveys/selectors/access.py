"""The one place that decides which regions a user may read or write.

Every read of region-scoped rows goes through `visible_region_codes`; tests prove that an office
of one regency cannot read another's rows by id or by filter.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from surveys.models import ALL_REGIONS, Region, RegionAssignment, Role


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


def writable_region_codes(user: AbstractBaseUser | AnonymousUser) -> set[str] | None:
    """Regions a user may submit responses for; None means any region of the wave.

    Respondents answer for themselves (any region); enumerators only inside their assignment
    (an assigned region includes everything below it); admins anywhere.
    """
    roles = user_roles(user)
    if roles & {Role.ADMIN, Role.RESPONDENT}:
        return None
    if Role.ENUMERATOR in roles:
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
    if roles is None:
        roles = user_roles(user)
    if roles & {Role.ADMIN, Role.RESPONDENT}:
        return True
    if Role.ENUMERATOR not in roles:
        return False
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
