"""Role checks for API views. Region scoping itself lives in surveys.selectors.access."""

from __future__ import annotations

from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from surveys.models import Role
from surveys.selectors.access import user_roles


def request_roles(request: Request) -> set[str]:
    """The caller's roles, computed once per request."""
    roles = getattr(request, "_nilai_roles", None)
    if roles is None:
        roles = user_roles(request.user)
        request._nilai_roles = roles  # noqa: SLF001
    return roles


class HasAnyRole(BasePermission):
    roles: frozenset[str] = frozenset()

    def has_permission(self, request: Request, view: APIView) -> bool:  # noqa: ARG002
        return bool(request.user and request.user.is_authenticated) and bool(
            request_roles(request) & self.roles
        )


class CanSubmitResponses(HasAnyRole):
    """Respondents answer for themselves; enumerators collect in their regions; admins too."""

    roles = frozenset({Role.RESPONDENT, Role.ENUMERATOR, Role.ADMIN})
