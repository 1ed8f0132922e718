"""The dashboard's glossary (issue 17): one explanation per term, in the page's language.

The words themselves are gettext msgids (English) translated in locale/id; the rest of the
dashboard's wording is in its templates (``{% translate %}``) and in surveys.web.panels. The
glossary is data because every term is used twice: as a footnote in the glossary card and as the
tooltip (``<abbr title>``) where the term appears in a table heading or the first card.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext
from django.utils.translation import gettext_noop as _noop

from surveys.language import in_language


@dataclass(frozen=True)
class Term:
    key: str  # the anchor: id="g-<key>"
    term: str
    text: str


#: key -> (the term as the page names it, its explanation); msgids. A symbol that is the same in
#: every language (p, n, rho) is its key (None).
GLOSSARY: dict[str, tuple[str | None, str]] = {
    "ci": (_noop("95 % confidence interval"), _noop(
        "95 % confidence interval: the range that holds the true value with 95 % "
        "confidence; narrower is more precise.")),
    "sig": (_noop("significant"), _noop(
        "Significant: a change too large to be sampling chance (p < 0.05).")),
    "p": (None, _noop("p: the chance of a change this large if nothing had really changed.")),
    "n": (None, _noop("n: respondents with a valid score.")),
    "rho": (None, _noop(
        "rho: Spearman rank correlation between the proxy indicator and the index (-1 to 1).")),
    "bands": (_noop("Category"), _noop(
        "Categories: 0-<20 very low, 20-<40 low, 40-<60 moderate, 60-<80 high, "
        "80-100 very high.")),
    "polarity": (_noop("lower is better"), _noop(
        "Polarity: an indicator marked \u201clower is better\u201d (e.g. conflict incidents) "
        "is met when the realisation is below the target.")),
    "model": (_noop("model-based estimate"), _noop(
        "Model-based estimate: a Fay-Herriot figure from proxy indicators, for years or "
        "regions without a survey result that can be shown.")),
}


def glossary(lang: str | None = None) -> list[Term]:
    """The glossary in `lang` (default: the active language), in page order."""
    with in_language(lang):
        return [Term(key, gettext(term) if term else key, gettext(text))
                for key, (term, text) in GLOSSARY.items()]
