"""The active language, and the gettext helpers every user-facing text goes through.

Indonesian is the default (settings.LANGUAGE_CODE = "id"); English is chosen per request by
LocaleMiddleware (Accept-Language, the language cookie, the dashboard's ``?lang=``), and for
management commands by the NILAI_LANGUAGE environment variable (backend settings). The texts
themselves are gettext msgids (English) translated by locale/<lang>/LC_MESSAGES/django.po;
see surveys/i18n.py for how to add a string.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext, pgettext

#: a table entry: an English msgid, or (context, msgid)
Text = str | tuple[str, str]


def normalise(lang: str | None) -> str:
    """``en`` for any English code (en, en-US, en_GB), else ``id``."""
    return "en" if (lang or "id").lower().startswith("en") else "id"


def request_language() -> str:
    """``en`` when the active language (LocaleMiddleware's choice for this request, or the
    process default for a command) is English, else ``id``."""
    return normalise(translation.get_language())


def translate(text: Text) -> str:
    """One table entry in the active language."""
    if isinstance(text, tuple):
        return pgettext(text[0], text[1])
    return gettext(text)


def words(table: Mapping[str, Text], lang: str | None = None) -> dict[str, str]:
    """A table of texts (key -> msgid) in `lang` (default: the active language)."""
    if lang is None:
        return {key: translate(text) for key, text in table.items()}
    with translation.override(normalise(lang)):
        return {key: translate(text) for key, text in table.items()}


def in_language(lang: str | None) -> translation.override:
    """``with in_language("en"): ...`` -- gettext in that language (None: leave as is)."""
    return translation.override(normalise(lang) if lang else translation.get_language())


def both(msgid: Text, /, **params: object) -> str:
    """A stored or logged text in both languages, Indonesian first: ``"<id> / <en>"``.

    `msgid` is a gettext msgid (mark it ``gettext_noop`` with its ``# Translators: id:``
    comment, so ``python -m surveys.i18n harvest`` finds it), or a ``(context, msgid)`` table
    entry (pgettext) where the bare msgid has another translation; each rendering is translated
    first and formatted after (``{name}`` placeholders from `params`; a ``gettext_lazy`` param
    is translated for each side). When the two renderings are equal (a text without words, or
    one not yet translated) it is given once. Used where
    the reader's language is not known when the text is made: run and job messages stored in
    the database, import errors, command output read by either.
    """
    rendered = []
    for lang in ("id", "en"):
        with translation.override(lang):
            text = translate(msgid)
            # a lazy translation among the params (gettext_lazy) is rendered in this side's
            # language too: "kode butir ... / item code ..."
            values = {key: str(value) if isinstance(value, Promise) else value
                      for key, value in params.items()}
        rendered.append(text.format(**values) if params else text)
    return rendered[0] if rendered[0] == rendered[1] else f"{rendered[0]} / {rendered[1]}"
