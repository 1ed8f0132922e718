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
    """Well-formed JSON that Nilai refuses; `message(lang)` says why (id or en)."""

    def __init__(self, id_text: str, en_text: str) -> None:
        self.id_text = id_text
        self.en_text = en_text
        super().__init__(en_text)

    def message(self, lang: str = "en") -> str:
        return self.en_text if lang.startswith("en") else self.id_text


def _too_deep(max_depth: int, where: str = "") -> JSONRejected:
    at_id = f" (di {where})" if where else ""
    at_en = f" (at {where})" if where else ""
    return JSONRejected(
        f"JSON bersarang lebih dari {max_depth} tingkat{at_id}.",
        f"JSON is nested more than {max_depth} levels deep{at_en}.",
    )


def _bad_text(text: str, where: str, is_key: bool) -> JSONRejected:
    what_id, what_en = ("kunci", "key") if is_key else ("teks", "string")
    place_id = f" di {where}" if where else ""
    place_en = f" at {where}" if where else ""
    if "\x00" in text:
        return JSONRejected(
            f"{what_id.capitalize()}{place_id} memuat karakter NUL (\\u0000).",
            f"The {what_en}{place_en} contains a NUL character (\\u0000).",
        )
    return JSONRejected(
        f"{what_id.capitalize()}{place_id} memuat surrogate tunggal (mis. \\ud800) yang bukan "
        "teks Unicode yang sah.",
        f"The {what_en}{place_en} contains a lone surrogate (e.g. \\ud800), which is not valid "
        "Unicode text.",
    )


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
