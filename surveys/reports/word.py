"""The report as a Word document (python-docx), for offices to edit the narrative before signing.

The same sections, sentences and tables as the PDF (`surveys.reports.content`): real headings
(Heading 1/2, so Word's navigation pane and table of contents work), a table of contents field
that Word fills on opening (its placeholder lists the sections), page numbers in the footer,
and charts as PNG pictures (Word has no portable SVG support)."""

from __future__ import annotations

import io

from docx import Document
from docx.enum.section import WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from surveys.reports import text as tx
from surveys.reports.content import Chart, Paragraph, Report, Section, Table
from surveys.services.charts import draw_trend

FONT = "Arial"  # on every office PC; LibreOffice maps it to the metric-compatible Liberation Sans
BRAND = RGBColor(0x1F, 0x4E, 0x79)
MUTED = RGBColor(0x5D, 0x6D, 0x7E)


def _field(paragraph, instruction: str, placeholder: str = "") -> None:
    """A Word field (PAGE, NUMPAGES, TOC) with `placeholder` as its last computed result."""
    run = paragraph.add_run()
    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    begin.set(qn("w:dirty"), "true")
    run._r.append(begin)
    run = paragraph.add_run()
    code = OxmlElement("w:instrText")
    code.set(qn("xml:space"), "preserve")
    code.text = f" {instruction} "
    run._r.append(code)
    run = paragraph.add_run()
    separate = OxmlElement("w:fldChar")
    separate.set(qn("w:fldCharType"), "separate")
    run._r.append(separate)
    paragraph.add_run(placeholder)
    run = paragraph.add_run()
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    run._r.append(end)


def _styles(document) -> None:
    normal = document.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(10)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), FONT)
    for name, size in (("Heading 1", 15), ("Heading 2", 12), ("Title", 24)):
        style = document.styles[name]
        style.font.name = FONT
        style.font.size = Pt(size)
        style.font.color.rgb = BRAND
        rfonts = style.element.rPr.rFonts
        for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
            rfonts.set(qn(attr), FONT)


def _cell_text(cell, text: str, *, bold: bool = False, right: bool = False) -> None:
    paragraph = cell.paragraphs[0]
    run = paragraph.add_run(text)
    run.font.size = Pt(8)
    run.bold = bold
    if right:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT


def _table(document, block: Table) -> None:
    if block.caption:
        caption = document.add_paragraph()
        caption.add_run(block.caption).bold = True
    table = document.add_table(rows=1, cols=len(block.columns))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    numeric = set(block.numeric)
    header = table.rows[0]
    # the header row repeats on every page the table runs over
    tr_pr = header._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    tr_pr.append(repeat)
    for i, name in enumerate(block.columns):
        _cell_text(header.cells[i], name, bold=True, right=i in numeric)
    for row in block.rows:
        cells = table.add_row().cells
        for i, value in enumerate(row):
            _cell_text(cells[i], value, right=i in numeric)
    document.add_paragraph()


def _blocks(document, blocks: list, lang: str) -> None:
    for block in blocks:
        if isinstance(block, Table):
            _table(document, block)
        elif isinstance(block, Chart):
            png = draw_trend(block.chart, fmt="png", lang=lang)
            document.add_picture(io.BytesIO(png), width=Cm(16))
            picture = document.paragraphs[-1]
            picture.alignment = WD_ALIGN_PARAGRAPH.CENTER
            # the picture's description: what a screen reader says
            for prop in picture._p.iter(qn("wp:docPr")):
                prop.set("descr", block.alt)
        else:
            assert isinstance(block, Paragraph)
            paragraph = document.add_paragraph()
            run = paragraph.add_run(block.text)
            if block.kind == "note":
                run.font.size = Pt(8)
                run.font.color.rgb = MUTED
            elif block.kind == "model":
                run.italic = True
                run.font.size = Pt(9)
            elif block.kind == "subhead":
                run.bold = True


def _footer(section, lang: str) -> None:
    w = tx.words(lang)
    paragraph = section.footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.add_run(f"{w['page']} ")
    _field(paragraph, "PAGE", "1")
    paragraph.add_run(f" {w['of']} ")
    _field(paragraph, "NUMPAGES", "1")


def _toc(document, report: Report) -> None:
    w = tx.words(report.lang)
    document.add_heading(w["toc"], level=1)
    lines = []
    for i, section in enumerate(report.sections, 1):
        lines.append(f"{i}. {section.title}")
        lines += [f"    {i}.{j} {c.title}" for j, c in enumerate(section.children, 1)]
    paragraph = document.add_paragraph()
    # Word fills the field (with page numbers) on opening; until then the list stands
    _field(paragraph, 'TOC \\o "1-2" \\h \\z \\u', "")
    runs = paragraph.runs
    placeholder = runs[3]  # the run between "separate" and "end"
    for k, line in enumerate(lines):
        if k:
            placeholder.add_break(WD_BREAK.LINE)
        placeholder.add_text(line)


def _heading(document, number: str, section: Section, level: int) -> None:
    document.add_heading(f"{number} {section.title}", level=level)


def render_docx(report: Report) -> bytes:
    """The .docx bytes of `report`."""
    w = tx.words(report.lang)
    document = Document()
    _styles(document)
    core = document.core_properties
    core.title = f"{report.title} — {report.region_name} {report.year}"
    core.subject = report.subtitle
    core.author = "Nilai"
    core.language = report.lang
    core.comments = w["source"]
    first = document.sections[0]
    first.page_height, first.page_width = Cm(29.7), Cm(21.0)
    first.left_margin = first.right_margin = Cm(2.0)
    first.top_margin = first.bottom_margin = Cm(2.0)
    # the cover
    kicker = document.add_paragraph()
    kicker.paragraph_format.space_before = Pt(120)
    run = kicker.add_run(report.subtitle.upper())
    run.font.color.rgb = MUTED
    document.add_paragraph(report.title, style="Title")
    region = document.add_paragraph()
    run = region.add_run(report.region_name)
    run.bold = True
    run.font.size = Pt(18)
    facts = document.add_table(rows=0, cols=2)
    for label, value in report.cover:
        cells = facts.add_row().cells
        cells[0].text, cells[1].text = label, value
    document.add_paragraph()
    document.add_paragraph().add_run(w["source"]).bold = True
    note = document.add_paragraph().add_run(report.source_note)
    note.font.size = Pt(8)
    note.font.color.rgb = MUTED
    # page numbers from the second section on (the cover has none)
    body = document.add_section(WD_SECTION.NEW_PAGE)
    body.footer.is_linked_to_previous = False
    _footer(body, report.lang)
    _toc(document, report)
    for i, section in enumerate(report.sections, 1):
        document.add_page_break()
        _heading(document, f"{i}.", section, 1)
        _blocks(document, section.blocks, report.lang)
        for j, child in enumerate(section.children, 1):
            _heading(document, f"{i}.{j}", child, 2)
            _blocks(document, child.blocks, report.lang)
    # ask Word to refresh the fields (table of contents, page count) when the file is opened
    settings = document.settings.element
    update = OxmlElement("w:updateFields")
    update.set(qn("w:val"), "true")
    settings.append(update)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
