"""One exception handler for the API: every error is ``{"detail": str, "errors": {...}}``.

Domain errors (surveys.exceptions) map to their status (400/403/404/409) with messages in the
request's language (Accept-Language: id by default, en); DRF's own errors keep their status and
their (Django-translated) message, with field errors moved under ``errors``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from surveys.api.parsers import RequestTooLarge, message
from surveys.exceptions import DomainError, Msg, render_errors
from surveys.language import request_language


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    lang = request_language()
    if isinstance(exc, DomainError):
        return Response(
            {"detail": exc.msg.render(lang), "errors": render_errors(exc.errors, lang)},
            status=exc.http_status,
        )
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, RequestDataTooBig):
        # Django's body limit (request.body) raised inside a view: 413, not an HTML 400 page
        exc = RequestTooLarge(message("too_large", limit=settings.DATA_UPLOAD_MAX_MEMORY_SIZE))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, drf_exceptions.ValidationError):
        errors = data if isinstance(data, dict) else {"non_field_errors": data}
        response.data = {"detail": Msg("invalid").render(lang), "errors": errors}
    elif isinstance(data, dict) and "detail" in data:
        response.data = {"detail": str(data["detail"]), "errors": {}}
    else:
        response.data = {"detail": str(data), "errors": {}}
    return response
