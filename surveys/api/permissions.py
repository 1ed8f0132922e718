"""Authentication and role checks for API views. Region scoping itself lives in
surveys.selectors.access.

The submission endpoint authenticates with `CachedTokenAuthentication`: token -> user, roles,
assigned regions and respondent binding are kept per process for at most TOKEN_TTL_SECONDS
(30 s), and each hit is checked against the user's generation in the shared cache
(`accounts.caller_generation`, bumped by surveys.signals when a token is deleted, a user is
deactivated or a role or assignment changes). With a shared cache (Redis, required in
production) a revocation therefore holds on every worker at its next request; the 30 s TTL only
bounds changes that bypass signals (QuerySet.update()).
"""

from __future__ import annotations

import time

from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from surveys.models import Role
from surveys.selectors.access import Principal, principal_for, user_roles
from surveys.services.accounts import caller_generation

TOKEN_TTL_SECONDS = 30.0
#: token key -> (expiry on the monotonic clock, caller, the caller's generation when cached)
_PRINCIPALS: dict[str, tuple[float, Principal, tuple[object, object]]] = {}
_MAX_PRINCIPALS = 10_000


def request_roles(request: Request) -> set[str]:
    """The caller's roles, computed once per request."""
    roles = getattr(request, "_nilai_roles", None)
    if roles is None:
        roles = user_roles(request.user)
        request._nilai_roles = roles  # noqa: SLF001
    return roles


def request_principal(request: Request) -> Principal:
    """The caller's cached Principal (set by CachedTokenAuthentication), else computed now."""
    principal = getattr(request, "_nilai_principal", None)
    if principal is None:
        principal = principal_for(request.user)
        request._nilai_principal = principal  # noqa: SLF001
    return principal


class CachedTokenAuthentication(TokenAuthentication):
    """DRF's token authentication with a per-process TTL cache of the caller's Principal."""

    def authenticate(self, request: Request) -> tuple | None:
        auth = request.META.get("HTTP_AUTHORIZATION", "")
        parts = auth.split()
        if len(parts) == 2 and parts[0] == "Token":  # noqa: PLR2004
            entry = _PRINCIPALS.get(parts[1])
            if (
                entry is not None
                and entry[0] > time.monotonic()
                and caller_generation(entry[1].user.pk) == entry[2]
            ):
                principal = entry[1]
                request._nilai_principal = principal  # noqa: SLF001
                request._nilai_roles = set(principal.roles)  # noqa: SLF001
                return principal.user, parts[1]
        result = super().authenticate(request)
        if result is None:
            return None
        user, token = result
        # The generation is read before the roles and assignments it covers, so a change to
        # those racing with this request bumps it past the one cached here. The token and user
        # rows were read just before it (re-reading them would cost a query on every miss): a
        # revocation committed within that millisecond is bounded by the TTL.
        generation = caller_generation(user.pk)
        principal = principal_for(user)
        if len(_PRINCIPALS) >= _MAX_PRINCIPALS:
            _PRINCIPALS.clear()
        _PRINCIPALS[token.key] = (time.monotonic() + TOKEN_TTL_SECONDS, principal, generation)
        request._nilai_principal = principal  # noqa: SLF001
        request._nilai_roles = set(principal.roles)  # noqa: SLF001
        return user, token


def clear_caches() -> None:
    _PRINCIPALS.clear()


class HasAnyRole(BasePermission):
    roles: frozenset[str] = frozenset()

    def has_permission(self, request: Request, view: APIView) -> bool:  # noqa: ARG002
        return bool(request.user and request.user.is_authenticated) and bool(
            request_roles(request) & self.roles
        )


class CanSubmitResponses(HasAnyRole):
    """Respondents answer for themselves; enumerators collect in their regions; admins too."""

    roles = frozenset({Role.RESPONDENT, Role.ENUMERATOR, Role.ADMIN})
