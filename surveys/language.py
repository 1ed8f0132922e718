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
