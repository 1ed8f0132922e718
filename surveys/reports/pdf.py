"""The report as PDF: one HTML template and one stylesheet (surveys/reports/templates), printed
by WeasyPrint. Charts are embedded as SVG, so they stay vector graphics in the PDF (text as text);
the fonts are the system's (DejaVu / Noto / Liberation), embedded in the file."""

from __future__ import annotations

import base64
import logging
from functools import cache
from pathlib import Path
from typing import Any

from django.template import Context, Engine

from surveys.reports import text as tx
from surveys.reports.content import Chart, Paragraph, Report, Table
from surveys.services.charts import draw_trend

TEMPLATES = Path(__file__).resolve().parent / "templates"


@cache
def _engine() -> Engine:
    # a template engine of its own: the report's templates are not pages of the site
    return Engine(dirs=[str(TEMPLATES)], autoescape=True)


def _css(lang: str) -> str:
    w = tx.words(lang)
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    return css.replace("{{PAGE}}", w["page"]).replace("{{OF}}", w["of"])


def _block(block: Any, lang: str) -> dict[str, Any]:
    if isinstance(block, Table):
        numeric = set(block.numeric)
        return {
            "kind_of": "table", "key": block.key, "caption": block.caption,
            "head": [{"text": c, "num": i in numeric} for i, c in enumerate(block.columns)],
            "body": [[{"text": c, "num": i in numeric} for i, c in enumerate(row)]
                     for row in block.rows],
        }
    if isinstance(block, Chart):
        svg = draw_trend(block.chart, fmt="svg", lang=lang)
        src = "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
        return {"kind_of": "chart", "src": src, "alt": block.alt}
    assert isinstance(block, Paragraph)
    return {"kind_of": "paragraph", "kind": block.kind, "text": block.text}


def render_html(report: Report) -> str:
    sections = [
        {"key": s.key, "title": s.title, "blocks": [_block(b, report.lang) for b in s.blocks],
         "children": [{"key": c.key, "title": c.title,
                       "blocks": [_block(b, report.lang) for b in c.blocks]}
                      for c in s.children]}
        for s in report.sections
    ]
    context = {
        "r": {"lang": report.lang, "title": report.title, "subtitle": report.subtitle,
              "region_name": report.region_name, "year": report.year, "cover": report.cover,
              "source_note": report.source_note, "sections": sections},
        "w": tx.words(report.lang),
        "css": _css(report.lang),
    }
    return _engine().get_template("report.html").render(Context(context))


def render_pdf(report: Report) -> bytes:
    """The PDF bytes of `report`."""
    from weasyprint import HTML

    # WeasyPrint and fontTools log every font subset at INFO/WARNING: keep the job log quiet
    for name in ("weasyprint", "fontTools"):
        logging.getLogger(name).setLevel(logging.ERROR)
    html = render_html(report)
    return HTML(string=html, base_url=str(TEMPLATES)).write_pdf(
        pdf_identifier=f"nilai-{report.region}-{report.year}".encode(),
        custom_metadata=False,
    )
