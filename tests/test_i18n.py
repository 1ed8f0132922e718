"""One translation mechanism (issue 9 item 6, issue 17): Django gettext catalogues in locale/.

The catalogues are complete and in line with the code; they compile without GNU gettext; API
errors, the dashboard (with its glossary) and command output come from them, in Indonesian by
default and in English when asked for.
"""

from __future__ import annotations

import gettext as gnu_gettext
import os
import re
import shutil
import subprocess
import sys
from io import StringIO
from pathlib import Path

import polib
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import translation

from analysis.trends import office_verdict
from surveys import i18n
from surveys.checks import compiled_catalogue_check
from surveys.exceptions import MESSAGES, Msg
from surveys.language import both
from surveys.models import Role
from surveys.reports import text as fmt
from surveys.web.labels import GLOSSARY, glossary
from tests.results_world import build_world, make_user

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"\{\w*(?:[:!][^{}]*)?\}|%\(\w+\)s")


def catalogue(lang: str) -> polib.POFile:
    return polib.pofile(str(i18n.po_path(lang)))


# --- the catalogues ---------------------------------------------------------------------------


def test_every_msgid_has_its_indonesian() -> None:
    assert i18n.untranslated() == []
    assert len(catalogue("id")) > 300


def test_the_catalogues_hold_exactly_the_strings_of_the_code() -> None:
    """Nothing to harvest: every gettext string of the code and templates is catalogued (with
    the Indonesian of its `# Translators: id:` comment) and no catalogued msgid is unused. If this
    fails, run `make messages` (python -m surveys.i18n harvest)."""
    result = i18n.harvest(write=False)
    assert result.added == [], "not catalogued (run `make messages`)"
    assert result.removed == [], "catalogued but used nowhere (run `make messages`)"


def test_no_translators_comment_is_missing_from_the_catalogue() -> None:
    found = i18n.scan()
    with_comment = {key for key, item in found.items() if item.indonesian}
    assert len(with_comment) > 40
    have = {(e.msgctxt, e.msgid) for e in catalogue("id")}
    assert with_comment - have == set()


def test_both_catalogues_have_the_same_msgids_and_english_repeats_them() -> None:
    ids = {(e.msgctxt, e.msgid) for e in catalogue("id")}
    english = catalogue("en")
    assert {(e.msgctxt, e.msgid) for e in english} == ids
    for entry in english:
        if not entry.msgid_plural:
            assert entry.msgstr == entry.msgid


def test_translations_keep_every_placeholder() -> None:
    """A {wave} or %(year)s the Indonesian dropped or misspelt would fail at .format() or print
    a hole; a literal % in a template string must stay doubled (Django un-doubles it)."""
    for entry in catalogue("id"):
        texts = [entry.msgstr] if not entry.msgid_plural else list(entry.msgstr_plural.values())
        for text in texts:
            assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(entry.msgid)), (
                entry.msgid)
            if "%%" in entry.msgid:
                assert "%" not in text.replace("%%", "").replace("%(", ""), entry.msgid


def test_every_domain_message_code_is_translated() -> None:
    for code, msgid in MESSAGES.items():
        params = {name: "X" for name in re.findall(r"\{(\w+)\}", msgid)}
        english, indonesian = Msg(code, params).render("en"), Msg(code, params).render("id")
        assert english == msgid.format(**params)
        assert indonesian and indonesian != english, code


# --- compilation ------------------------------------------------------------------------------


def test_both_renders_indonesian_then_english_and_formats_after_translating() -> None:
    """Stored run/job/import messages keep their "<id> / <en>" form, from the catalogue."""
    with translation.override("en"):
        text = both("no wave for {what}", what="tahun/year {2026}")
        assert translation.get_language() == "en"  # the caller's language is left as it was
    assert text == "tidak ada gelombang untuk tahun/year {2026} / no wave for tahun/year {2026}"
    assert both("raking failed") == "pembobotan gagal / raking failed"
    # a text that reads the same in both languages is given once
    assert both("CFA per wave-not-in-the-catalogue {n}", n=3) == (
        "CFA per wave-not-in-the-catalogue 3")


def test_harvest_finds_both_calls_with_their_comment(tmp_path: Path) -> None:
    source = tmp_path / "surveys" / "mod.py"
    source.parent.mkdir()
    source.write_text(
        "from django.utils.translation import gettext_noop as _noop\n"
        "from surveys.language import both\n"
        "# Translators: id: gelombang dilewati, {n} baris\n"
        "text = both(_noop(\"wave skipped, {n} rows\"), n=2)\n", encoding="utf-8")
    found = i18n.scan(tmp_path, ["surveys"])
    assert found[(None, "wave skipped, {n} rows")].indonesian == "gelombang dilewati, {n} baris"


def test_compilation_needs_no_gnu_gettext_and_is_read_by_gettext(tmp_path: Path) -> None:
    for lang in i18n.LANGUAGES:
        target = i18n.po_path(lang, tmp_path)
        target.parent.mkdir(parents=True)
        shutil.copy(i18n.po_path(lang), target)
    assert {lang for lang, _ in i18n.stale(tmp_path)} == {"id", "en"}
    written = i18n.compile_catalogues(tmp_path)
    assert sorted(p.parent.parent.name for p in written) == ["en", "id"]
    assert i18n.stale(tmp_path) == []
    assert i18n.compile_catalogues(tmp_path) == []  # up to date: nothing rewritten
    with i18n.mo_path("id", tmp_path).open("rb") as handle:
        compiled = gnu_gettext.GNUTranslations(handle)
    assert compiled.gettext("Unknown invitation code.") == "Kode undangan tidak dikenal."
    assert compiled.pgettext("month", "May") == "Mei"
    # a .po edited after its .mo is stale again
    po = i18n.po_path("id", tmp_path)
    os.utime(po, (po.stat().st_atime, i18n.mo_path("id", tmp_path).stat().st_mtime + 10))
    assert i18n.stale(tmp_path) == [("id", "locale/id/LC_MESSAGES/django.mo is older than its "
                                           ".po")]


def test_system_check_warns_about_an_uncompiled_catalogue(monkeypatch) -> None:
    assert compiled_catalogue_check() == []  # the session compiled them (tests/conftest.py)
    monkeypatch.setattr(i18n, "stale", lambda: [("en", "locale/en/LC_MESSAGES/django.mo is "
                                                       "missing")])
    (warning,) = compiled_catalogue_check()
    assert warning.id == "nilai.W301" and "django.mo is missing" in warning.msg


# --- API errors -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_api_errors_in_indonesian_by_default_and_english_on_request() -> None:
    client = Client()
    default = client.get("/api/v1/results/estimates/?region=%00")
    assert default.status_code == 400
    assert default.json()["detail"] == (
        "Alamat atau parameter permintaan memuat karakter NUL (%00).")
    english = client.get("/api/v1/results/estimates/?region=%00", HTTP_ACCEPT_LANGUAGE="en")
    assert english.json()["detail"] == (
        "The request path or query string contains a NUL character (%00).")
    # a domain error (surveys.exceptions) through the API's exception handler: code kept
    redeem = "/api/v1/invitations/redeem/"
    body = {"code": "AAAAA-BBBBB"}
    assert client.post(redeem, body, content_type="application/json").json()["detail"] == (
        "Kode undangan tidak dikenal.")
    assert client.post(redeem, body, content_type="application/json",
                       HTTP_ACCEPT_LANGUAGE="en-GB").json()["detail"] == (
        "Unknown invitation code.")


# --- the dashboard ----------------------------------------------------------------------------


def _dashboard(lang: str) -> str:
    build_world()
    user = make_user(f"researcher-{lang}", Role.RESEARCHER, password="kata-sandi-uji-123")
    client = Client()
    client.force_login(user)
    response = client.get("/dashboard/", {"region": "6401"}, HTTP_ACCEPT_LANGUAGE=lang)
    assert response.status_code == 200
    return response.content.decode()


def _visible_text(html: str) -> str:
    body = html[html.index("<main>"):]
    body = re.sub(r"<(svg|style|script)\b.*?</\1>", " ", body, flags=re.S)
    body = re.sub(r"<[^>]+>", " ", body)
    return " ".join(body.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
                    .split())


def _template_words(lang_from: str) -> set[str]:
    """The dashboard templates' words in `lang_from` that differ in the other language."""
    out = set()
    for entry in catalogue("id"):
        if not any("templates/surveys/dashboard" in ref for ref, _ in entry.occurrences):
            continue
        english, indonesian = entry.msgid.replace("%%", "%"), entry.msgstr.replace("%%", "%")
        word = indonesian if lang_from == "id" else english
        if english.lower() != indonesian.lower() and len(word) >= 10 and "{" not in word:
            out.add(word)
    return out


@pytest.mark.django_db
def test_english_dashboard_declares_english_and_shows_no_indonesian_label() -> None:
    html = _dashboard("en")
    assert '<html lang="en">' in html
    body = _visible_text(html)
    leftovers = sorted(word for word in _template_words("id") if word in body)
    assert leftovers == []
    assert "95 % confidence interval" in body and "Glossary" in body


@pytest.mark.django_db
def test_indonesian_dashboard_shows_no_english_label() -> None:
    html = _dashboard("id")
    assert '<html lang="id">' in html
    body = _visible_text(html)
    leftovers = sorted(word for word in _template_words("en") if word in body)
    assert leftovers == []
    assert "Selang kepercayaan 95 %" in body and "Keterangan istilah" in body


# --- the glossary (issue 17) ------------------------------------------------------------------


def test_glossary_has_every_term_in_both_languages() -> None:
    keys = ["ci", "sig", "p", "n", "rho", "bands", "polarity", "model"]
    assert list(GLOSSARY) == keys
    indonesian, english = glossary("id"), glossary("en")
    assert [t.key for t in indonesian] == [t.key for t in english] == keys
    for id_term, en_term in zip(indonesian, english, strict=True):
        assert id_term.text and en_term.text and id_term.text != en_term.text, id_term.key
    by_key = {t.key: t for t in indonesian}
    assert by_key["ci"].term == "Selang kepercayaan 95 %"
    assert by_key["polarity"].term == "semakin kecil semakin baik"
    assert "60-<80 tinggi" in by_key["bands"].text
    assert {t.key: t.term for t in english}["bands"] == "Category"


@pytest.mark.django_db
@pytest.mark.parametrize(("lang", "ci_text"), [
    ("id", "Selang kepercayaan 95 %: rentang yang memuat nilai sebenarnya"),
    ("en", "95 % confidence interval: the range that holds the true value"),
])
def test_dashboard_explains_each_term_once_with_a_tooltip_where_it_is_used(lang, ci_text) -> None:
    html = _dashboard(lang)
    glossary_card = html[html.index('id="glossary"'):]
    for term in GLOSSARY:
        assert glossary_card.count(f'id="g-{term}"') == 1, term
    assert ci_text in glossary_card
    # the trend table's headings link to their footnote and carry it as a tooltip
    heading = re.search(r'<a class="term" href="#g-ci" title="([^"]+)">', html)
    assert heading and heading.group(1).startswith(ci_text)
    assert 'href="#g-n"' in html and 'href="#g-bands"' in html


# --- one verdict sentence for the dashboard and the report ------------------------------------


def test_dashboard_and_report_word_the_verdict_with_one_function() -> None:
    from surveys.reports import content
    from surveys.web import panels

    verdict = office_verdict([2021, 2022, 2023], [61.2, 66.0, 70.4], [1.2, 1.1, 1.0])
    sentence = fmt.verdict_sentence(verdict, "id")
    assert sentence == ("Dari 2021 ke 2023 indeks naik 9,2 poin secara signifikan "
                        "(p < 0,001); rata-rata kenaikan 4,60 poin per tahun. Terlalu sedikit "
                        "tahun untuk uji tren.")
    assert fmt.verdict_sentence(verdict, "en") == (
        "From 2021 to 2023 the index rose by 9.2 points, a significant change (p < 0.001); on "
        "average +4.60 points per year. Too few years for a trend test.")
    assert fmt.verdict_sentence(verdict, "id", subject="S1 Ketuhanan", mdc=True).startswith(
        "S1 Ketuhanan: Dari 2021 ke 2023 indeks naik 9,2 poin secara signifikan (p < 0,001; "
        "MDC ")
    assert not hasattr(panels, "verdict_sentence")
    assert "tx.verdict_sentence" in Path(content.__file__).read_text()


# --- command output ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_command_output_in_the_active_language() -> None:
    build_world()
    out = StringIO()
    with pytest.raises(CommandError, match="^pengguna tidak dikenal: nobody$"):
        call_command("login_link", "nobody", stdout=out)
    with translation.override("en"), pytest.raises(CommandError,
                                                   match="^unknown user: nobody$"):
        call_command("login_link", "nobody", stdout=out)
    with pytest.raises(CommandError, match="^Tidak ada gelombang IINP 1990.$"):
        call_command("invite", "IINP", "1990", stdout=out)
    with translation.override("en"), pytest.raises(CommandError,
                                                   match="^There is no wave IINP 1990.$"):
        call_command("invite", "IINP", "1990", stdout=out)


@pytest.mark.parametrize(("env", "expected"), [
    ({}, "--output harus berakhiran .xlsx: x.txt"),
    ({"NILAI_LANGUAGE": "en"}, "--output must end in .xlsx: x.txt"),
])
def test_nilai_language_sets_the_language_of_a_command_run(tmp_path, env, expected) -> None:
    environ = {k: v for k, v in os.environ.items() if k != "NILAI_LANGUAGE"} | env
    environ["DJANGO_SETTINGS_MODULE"] = "backend.settings.test"
    result = subprocess.run(
        [sys.executable, "manage.py", "export_xlsform", "IINP", "--output", "x.txt",
         "--skip-checks"], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert expected in result.stderr
