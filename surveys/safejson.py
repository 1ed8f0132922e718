"""JSON reading with limits: nesting depth, and strings that cannot be stored or encoded.

`json.loads` recurses once per nesting level, so a document nested ~1,000 deep ends in a
RecursionError (a 500 in a view, a traceback in a command), and it accepts escapes that are valid
JSON but not valid text: a lone surrogate (``"\\ud800"``) cannot be encoded as UTF-8 (it fails
later, when the string is written to the database or rendered) and PostgreSQL refuses NUL in
text. `loads` refuses all three with a message naming where in the document it happened; the API
parser (surveys.api.parsers) and the JSON loaders of the load commands use it.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: Deepest nesting accepted. Nilai's own documents (instruments, indicator lists, API bodies)
#: are at most about six levels deep.
MAX_DEPTH = 64

_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


class JSONRejected(ValueError):
    """Well-formed JSON that Nilai refuses; `message(lang)` says why (gettext, id or en)."""

    def __init__(self, msgid: str, **params: Any) -> None:
        self.msgid = msgid
        self.params = params
        super().__init__(msgid.format(**params))

    def message(self, lang: str | None = "en") -> str:
        """The reason in `lang` (None: the active language)."""
        from django.utils.translation import gettext

        from surveys.language import in_language

        with in_language(lang):
            return gettext(self.msgid).format(**self.params)

    @property
    def id_text(self) -> str:
        return self.message("id")

    @property
    def en_text(self) -> str:
        return self.message("en")


def _too_deep(max_depth: int, where: str = "") -> JSONRejected:
    if where:
        # Translators: id: JSON bersarang lebih dari {depth} tingkat (di {where}).
        return JSONRejected(N_("JSON is nested more than {depth} levels deep (at {where})."),
                            depth=max_depth, where=where)
    # Translators: id: JSON bersarang lebih dari {depth} tingkat.
    return JSONRejected(N_("JSON is nested more than {depth} levels deep."), depth=max_depth)


def _bad_text(text: str, where: str, is_key: bool) -> JSONRejected:
    if "\x00" in text:
        if is_key:
            # Translators: id: Kunci di {where} memuat karakter NUL (\u0000).
            msgid = N_("The key at {where} contains a NUL character (\\u0000).")
        else:
            # Translators: id: Teks di {where} memuat karakter NUL (\u0000).
            msgid = N_("The string at {where} contains a NUL character (\\u0000).")
    elif is_key:
        # Translators: id: Kunci di {where} memuat surrogate tunggal (mis. \ud800) yang bukan
        #   teks Unicode yang sah.
        msgid = N_("The key at {where} contains a lone surrogate (e.g. \\ud800), which is not "
                   "valid Unicode text.")
    else:
        # Translators: id: Teks di {where} memuat surrogate tunggal (mis. \ud800) yang bukan
        #   teks Unicode yang sah.
        msgid = N_("The string at {where} contains a lone surrogate (e.g. \\ud800), which is "
                   "not valid Unicode text.")
    return JSONRejected(msgid, where=where or "$")


def N_(msgid: str) -> str:  # noqa: N802 -- the gettext convention for a marked msgid
    return msgid


def _path(parent: str, step: str | int) -> str:
    if isinstance(step, int):
        return f"{parent}[{step}]"
    return f"{parent}.{step}" if parent else step


def check(value: Any, *, max_depth: int = MAX_DEPTH) -> None:
    """Raise JSONRejected if the parsed `value` nests deeper than `max_depth` or holds a string
    (value or key) with NUL or a lone surrogate. Iterative: no recursion on hostile input."""
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        node, depth, where = stack.pop()
        if isinstance(node, str):
            if _BAD_TEXT.search(node):
                raise _bad_text(node, where, is_key=False)
            continue
        if isinstance(node, dict):
            if depth > max_depth:
                raise _too_deep(max_depth, where)
            for key, item in node.items():
                if _BAD_TEXT.search(key):
                    # the key itself may be unprintable: name its parent
                    raise _bad_text(key, where, is_key=True)
                stack.append((item, depth + 1, _path(where, key)))
        elif isinstance(node, list):
            if depth > max_depth:
                raise _too_deep(max_depth, where)
            stack.extend((item, depth + 1, _path(where, k)) for k, item in enumerate(node))


def loads(data: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """`json.loads(data)`, then `check` it. Malformed JSON raises json.JSONDecodeError (and
    undecodable bytes UnicodeDecodeError) as before; too deep or bad text raises JSONRejected."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise _too_deep(max_depth) from None
    check(value, max_depth=max_depth)
    return value
