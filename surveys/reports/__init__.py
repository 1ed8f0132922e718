"""The yearly indicator report a Kesbangpol office hands to Bappeda (issue 13), in PDF and Word.

* `content` - what the report says, read through `surveys.publish` (scope and suppression apply):
  cover, summary sentences built from the figures, the RPJMD indicator table, per sila the trend
  chart, yearly table, reliability and comparability, outputs, programmes, methods and caveats;
* `pdf` - HTML + CSS printed by WeasyPrint (charts as SVG: vector), `word` - python-docx;
* `jobs` - reports as tracked export jobs (`ExportJob` with table ``report``), the API
  (`api`) and the dashboard's download (`web`); ``manage.py report`` for the command line.
"""

from __future__ import annotations

from surveys.reports.content import Report, ReportError, build_report

FORMATS = ("pdf", "docx")
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "zip": "application/zip",
}


def render(report: Report, fmt: str) -> bytes:
    """The document bytes of `report` in `fmt` (pdf or docx)."""
    if fmt == "pdf":
        from surveys.reports.pdf import render_pdf

        return render_pdf(report)
    if fmt == "docx":
        from surveys.reports.word import render_docx

        return render_docx(report)
    raise ReportError(f"format {fmt!r} tidak dikenal (pdf, docx) / unknown format {fmt!r} "
                      "(pdf, docx)")


__all__ = ["CONTENT_TYPES", "FORMATS", "Report", "ReportError", "build_report", "render"]
