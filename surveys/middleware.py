"""Request guards and security headers.

- `ApiRequestGuardMiddleware`: under /api/, a NUL character in the path or the query string
  (PostgreSQL refuses NUL in text, so a lookup would end in a 500) is a 400, and a body larger
  than DATA_UPLOAD_MAX_MEMORY_SIZE is a 413, both in the API's JSON error shape
  ``{"detail": ..., "errors": {}}`` instead of Django's HTML pages.
- `ContentSecurityPolicyMiddleware`: a Content-Security-Policy on every response. Scripts only
  from this site (no inline script anywhere); inline styles only with the per-request nonce
  (``request.csp_nonce``: the dashboard's one <style> element carries it), except on the pages
  of third-party UIs that set style attributes themselves (Swagger UI, Django's admin).
- `lockout_response`: django-axes' answer to a locked-out login (429, Indonesian and English).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_plus

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import escape
from django.utils.translation import gettext
from django.utils.translation import gettext_noop as _noop

from surveys.language import in_language, request_language

API_PREFIX = "/api/"

#: code -> English msgid (Indonesian in locale/id)
_MESSAGES = {
    "nul": _noop("The request path or query string contains a NUL character (%00)."),
    "too_large": _noop("The request body is too large (limit {limit} bytes)."),
    "locked_out": _noop(
        "Too many failed login attempts for this account from this address. It is locked for "
        "now; try again in {minutes} minutes or ask an administrator to unlock it."),
}


def _text(code: str, lang: str | None = None, **params: Any) -> str:
    with in_language(lang):
        return gettext(_MESSAGES[code]).format(**params)


def api_error(code: str, status: int, **params: Any) -> JsonResponse:
    return JsonResponse({"detail": _text(code, **params), "errors": {}}, status=status)


def _has_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path_info:
        return True
    query = request.META.get("QUERY_STRING", "")
    return "\x00" in unquote_plus(query, errors="replace")


def _declared_too_large(request: HttpRequest) -> bool:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is None or request.content_type == "multipart/form-data":
        return False  # file uploads have their own limits
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return length > limit


class ApiRequestGuardMiddleware:
    """NUL in the path or query -> 400, an oversized body -> 413, in JSON, for /api/ only.

    Placed after LocaleMiddleware, so the message follows Accept-Language like every other API
    error."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(API_PREFIX):
            if _has_nul(request):
                return api_error("nul", 400)
            if _declared_too_large(request):
                return api_error("too_large", 413, limit=settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RequestDataTooBig) and request.path_info.startswith(API_PREFIX):
            return api_error("too_large", 413, limit=settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        return None


# --------------------------------------------------------------------------- CSP

#: Path prefixes whose third-party pages set inline style attributes (no nonce possible).
CSP_INLINE_STYLE_PREFIXES = ("/api/docs/", "/admin/")


def content_security_policy(request: HttpRequest, nonce: str) -> str:
    inline_style = request.path_info.startswith(CSP_INLINE_STYLE_PREFIXES)
    style = "'self' 'unsafe-inline'" if inline_style else f"'self' 'nonce-{nonce}'"
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            f"style-src {style}",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class ContentSecurityPolicyMiddleware:
    """Sets Content-Security-Policy (unless the view set one) and `request.csp_nonce`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        nonce = secrets.token_urlsafe(16)
        request.csp_nonce = nonce
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = content_security_policy(request, nonce)
        return response


# --------------------------------------------------------------------------- login lockout


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None,  # noqa: ARG001
    credentials: dict | None = None,  # noqa: ARG001
) -> HttpResponse:
    """429 for a locked-out login (settings.AXES_LOCKOUT_CALLABLE), Indonesian then English
    (the login page is not language-negotiated before login, so both are shown)."""
    cool_off = settings.AXES_COOLOFF_TIME
    minutes = max(1, int(cool_off.total_seconds() // 60)) if cool_off else 0
    id_text = _text("locked_out", "id", minutes=minutes)
    en_text = _text("locked_out", "en", minutes=minutes)
    if request.path_info.startswith(API_PREFIX) or "json" in request.headers.get("Accept", ""):
        lang = request_language()
        response: HttpResponse = JsonResponse(
            {"detail": id_text if lang == "id" else en_text, "errors": {}}, status=429
        )
    else:
        response = HttpResponse(
            "<!doctype html><html lang=\"id\"><head><meta charset=\"utf-8\">"
            "<title>429</title></head><body>"
            f"<p>{escape(id_text)}</p><p lang=\"en\">{escape(en_text)}</p></body></html>",
            status=429,
            content_type="text/html; charset=utf-8",
        )
    if cool_off:
        response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response
