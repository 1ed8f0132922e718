"""The API's JSON parser: DRF's, with surveys.safejson's limits (depth, NUL, lone surrogates).

Set as the first of REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]; the submission endpoint's fast
path, which reads the body itself, calls `parse_json` directly. Every refusal is a ParseError
(400) with a message in the request's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext_noop as _noop
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser

from surveys import safejson
from surveys.language import request_language

#: code -> English msgid (Indonesian in locale/id)
_MESSAGES = {
    "parse": _noop("JSON parse error - {error}"),
    "encoding": _noop("The request body is not valid UTF-8 text."),
    "too_large": _noop("The request body is too large (limit {limit} bytes)."),
}


def message(code: str, **params: Any) -> str:
    """The message in the request's language."""
    return gettext(_MESSAGES[code]).format(**params)


class RequestTooLarge(APIException):
    status_code = 413
    default_detail = "Request body too large."
    default_code = "request_too_large"


def parse_json(body: bytes | str) -> Any:
    """The parsed body, or ParseError (400) saying why it is refused."""
    try:
        return safejson.loads(body)
    except safejson.JSONRejected as exc:
        raise ParseError(exc.message(request_language())) from None
    except UnicodeDecodeError:
        raise ParseError(message("encoding")) from None
    except ValueError as exc:  # json.JSONDecodeError
        raise ParseError(message("parse", error=exc)) from None


class SafeJSONParser(JSONParser):
    """DRF's JSONParser through `parse_json`, reading at most DATA_UPLOAD_MAX_MEMORY_SIZE bytes
    (413 beyond: DRF reads the stream itself, past Django's own body limit)."""

    def parse(
        self, stream: IO[bytes], media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(body) > limit:
            raise RequestTooLarge(message("too_large", limit=limit))
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        if encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
            try:
                body = body.decode(encoding)
            except (LookupError, UnicodeDecodeError):
                raise ParseError(message("encoding")) from None
        return parse_json(body)

