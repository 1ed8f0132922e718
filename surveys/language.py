"""The language of the current request: Indonesian unless English was asked for."""

from django.utils import translation


def request_language() -> str:
    """``en`` when the language LocaleMiddleware activated for this request (from
    Accept-Language, or the dashboard's language cookie) is English, else ``id``."""
    return "en" if (translation.get_language() or "id").lower().startswith("en") else "id"
