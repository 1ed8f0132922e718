"""Imports of files saved by Excel in an Indonesian locale (`;` delimiter, decimal commas), the
one-line-per-row error report, and a quiet import without a message broker (issue 17 item 7)."""

from __future__ import annotations

import csv
import json
import logging
import runpy
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from surveys import models as m
from surveys.services.imports._common import ErrorLog, ImportFailed
from tests import factories as f
from tests.import_files import KALTIM_ITEMS as ITEMS
from tests.import_files import META

pytestmark = pytest.mark.django_db

def run(command: str, *args: object) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def fail(command: str, *args: object) -> str:
    with pytest.raises(CommandError) as err:
        run(command, *args)
    return str(err.value)


def reference_rows(kaltim: Path, n: int) -> tuple[list[str], list[list[str]]]:
    with open(kaltim / "responses.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:n + 1]


def write(path: Path, header: list[str], rows: list[list[str]], delimiter: str) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def stored() -> list[tuple]:
    return list(m.Response.objects.order_by("respondent__panel_key", "wave__year").values_list(
        "respondent__panel_key", "wave__year", "region__code", "base_weight", "answers",
        "content_hash"))


def test_excel_semicolon_file_with_decimal_comma_weights_imports_like_the_comma_file(
        base: Path, tmp_path: Path):
    header, rows = reference_rows(base, 40)
    comma = write(tmp_path / "koma.csv", header, rows, ",")
    excel_rows = [[*r[:7], r[7].replace(".", ","), *r[8:]] for r in rows]
    assert any("," in r[7] for r in excel_rows)  # the reference weights have decimals
    semicolon = write(tmp_path / "excel.csv", header, excel_rows, ";")

    assert "40 new" in run("import_responses", semicolon, "--instrument", "IINP")
    from_excel = stored()
    # the same content from the comma file is recognised as already stored, row by row
    assert "0 new, 40 unchanged" in run("import_responses", comma, "--instrument", "IINP")
    assert stored() == from_excel
    weights = {(k, y): w for k, y, _, w, _, _ in from_excel}
    assert weights[("R251000097", 2021)] == 1121.1902  # "1121,1902" in the Excel file


def test_semicolon_file_with_dot_thousands_and_decimal_comma(base: Path, tmp_path: Path):
    header, rows = reference_rows(base, 2)
    rows[0][7], rows[1][7] = "1.121,5", "980,25"
    run("import_responses", write(tmp_path / "r.csv", header, rows, ";"), "--instrument", "IINP")

    assert sorted(m.Response.objects.values_list("base_weight", flat=True)) == [980.25, 1121.5]


def test_decimal_commas_mixed_with_decimal_points_are_refused_with_one_line(
        base: Path, tmp_path: Path):
    header, rows = reference_rows(base, 3)
    rows[0][7], rows[1][7], rows[2][7] = "10,5", "12.5", "11"

    message = fail("import_responses", write(tmp_path / "r.csv", header, rows, ";"),
                   "--instrument", "IINP")

    assert "pemisah ';', bukan koma" in message
    assert ("r.csv, kolom/column base_weight: koma desimal (baris 2) dan titik desimal (baris 3) "
            "bercampur") in message
    assert m.Response.objects.count() == 0


def test_a_semicolon_header_with_wrong_columns_names_the_delimiter_and_the_real_columns(
        base: Path, tmp_path: Path):
    header, rows = reference_rows(base, 2)
    header = ["responden", *header[1:]]

    message = fail("import_responses", write(tmp_path / "r.csv", header, rows, ";"),
                   "--instrument", "IINP")

    lines = message.splitlines()
    assert "berkas ini memakai pemisah ';'" in lines[1]
    assert "kolom wajib 'respondent' tidak ada" in message
    assert "kolom tidak dikenal 'responden'" in message
    assert max(map(len, lines)) < 300  # never the whole header as one "column" name
    assert m.Response.objects.count() == 0


def test_an_unreadable_header_is_cut_not_printed_whole(base: Path, tmp_path: Path):
    path = tmp_path / "r.csv"
    path.write_text("|".join(META + ITEMS) + "\n" + "|".join(["x"] * 38) + "\n")

    message = fail("import_responses", path, "--instrument", "IINP")

    assert "kolom wajib tidak ada: respondent, wave, region, sex, age_group, stratum, psu, " \
           "base_weight /" in message
    assert "kolom tidak dikenal 'respondent|wave|region|sex|age_group|stratum|psu|base_we... /" \
           in message
    assert "|".join(META + ITEMS) not in message
    assert len(message.splitlines()) == 2


def test_one_out_of_range_row_is_one_line(base: Path, tmp_path: Path):
    header, rows = reference_rows(base, 6)
    rows[2][8:] = ["7"] * 30  # file row 4
    rows[4][3], rows[4][8], rows[4][9] = "X", "9", "0"  # file row 6: three problems

    lines = fail("import_responses", write(tmp_path / "r.csv", header, rows, ","),
                 "--instrument", "IINP").splitlines()

    assert lines == [
        "r.csv: 33 kesalahan, tidak ada yang disimpan / 33 errors, nothing was saved",
        "r.csv, baris/row 4, kolom/column S1_01 ... S5_06 (30 kolom/columns): nilai 7 di luar "
        "skala 1..5 / value 7 outside the scale 1..5",
        "r.csv, baris/row 6: kolom/column sex: 'X' bukan salah satu dari L, P / 'X' is not one "
        "of L, P; kolom/column S1_01: nilai 9 di luar skala 1..5 / value 9 outside the scale "
        "1..5; kolom/column S1_02: nilai 0 di luar skala 1..5 / value 0 outside the scale 1..5",
    ]
    assert m.Response.objects.count() == 0


def test_error_log_lists_twenty_rows_then_counts_the_rest():
    log = ErrorLog("x.csv")
    for row in range(60, 1, -1):  # added out of order: listed in row order
        log.add("empty cell", row=row, column="a")  # a msgid of the catalogue
        log.add("empty cell", row=row, column="b")
    log.add("empty file")

    with pytest.raises(ImportFailed) as err:
        log.raise_if_any()

    lines = err.value.messages
    assert lines[0] == "x.csv: 119 kesalahan, tidak ada yang disimpan / 119 errors, nothing " \
                       "was saved"
    assert lines[1] == "x.csv: berkas kosong / empty file"
    assert lines[2] == "x.csv, baris/row 2, kolom/column a, b: sel kosong / empty cell"
    assert lines[21].startswith("x.csv, baris/row 21,")
    assert lines[22] == "... dan 39 baris lain dengan kesalahan / and 39 more rows with errors"
    assert len(lines) == 23


def test_a_row_with_many_different_problems_stays_one_bounded_line():
    log = ErrorLog("x.csv")
    for j in range(12):
        log.add("longer than {limit} characters", limit=j, row=5, column=f"c{j}")

    with pytest.raises(ImportFailed) as err:
        log.raise_if_any()

    assert len(err.value.messages) == 2
    assert err.value.messages[1].endswith("... dan 7 masalah lain / and 7 more problems")


# --- the small loaders through the common reader ----------------------------------------------

IND = {"code": "KONFLIK", "name": {"id": "Konflik", "en": "Conflict"}, "polarity": "negative",
       "level": "outcome", "unit": "per 100k", "source": "Polda"}


def test_semicolon_regions_and_population(tmp_path: Path):
    regions = tmp_path / "wilayah.csv"
    regions.write_text("code;name;level;parent\n64;Kalimantan Timur;province;\n"
                       "6401;Paser;regency;64\n", encoding="utf-8")
    population = tmp_path / "penduduk.csv"
    population.write_text("year;region;sex;age_group;population\r\n2021;6401;L;17-24;21420\r\n",
                          encoding="utf-8-sig")

    assert "2 new" in run("load_regions", regions)
    assert "1 new" in run("load_population", population)
    assert m.Region.objects.get(code="6401").parent.code == "64"
    assert m.PopulationMargin.objects.get().population == 21420


def test_semicolon_indicator_values_and_targets_with_decimal_commas(tmp_path: Path):
    f.RegionFactory(code="6401")
    defs = tmp_path / "ind.json"
    defs.write_text(json.dumps([IND]))
    values = tmp_path / "nilai.csv"
    values.write_text("indicator;region;year;value\nKONFLIK;6401;2021;12,75\n"
                      "KONFLIK;6401;2022;3\n", encoding="utf-8")
    targets = tmp_path / "target.csv"
    targets.write_text("indicator;region;year;target\nINDEX;6401;2021;62,5\n", encoding="utf-8")

    run("load_indicators", defs, values)
    run("load_targets", targets)

    assert sorted(m.IndicatorValue.objects.values_list("year", "value")) == [(2021, 12.75),
                                                                           (2022, 3.0)]
    assert m.Target.objects.get().target == 62.5


def test_decimal_comma_in_a_comma_file_says_which_separator(tmp_path: Path):
    f.RegionFactory(code="6401")
    defs = tmp_path / "ind.json"
    defs.write_text(json.dumps([IND]))
    values = tmp_path / "nilai.csv"
    values.write_text('indicator,region,year,value\nKONFLIK,6401,2021,"12,75"\n')

    assert ("nilai.csv, baris/row 2, kolom/column value: '12,75' bukan angka: dalam berkas "
            "berpemisah koma, pemisah desimal adalah titik (1.5)") in fail(
        "load_indicators", defs, values)
    assert m.IndicatorValue.objects.count() == 0


# --- no stray broker line ---------------------------------------------------------------------

def test_settings_without_a_broker_name_a_host_for_the_eager_producer(monkeypatch):
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    base = runpy.run_path(str(Path(__file__).parents[1] / "backend/settings/base.py"))
    assert base["CELERY_TASK_ALWAYS_EAGER"] is True
    assert base["CELERY_BROKER_URL"] == "memory://localhost/"
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://cache:6379/0")
    base = runpy.run_path(str(Path(__file__).parents[1] / "backend/settings/base.py"))
    assert (base["CELERY_TASK_ALWAYS_EAGER"], base["CELERY_BROKER_URL"]) == (
        False, "redis://cache:6379/0")


def test_an_import_that_queues_the_recompute_logs_no_broker_warning(
        base: Path, tmp_path: Path, caplog, django_capture_on_commit_callbacks):
    header, rows = reference_rows(base, 3)
    path = write(tmp_path / "r.csv", header, rows, ",")
    caplog.set_level(logging.WARNING)

    with override_settings(NILAI_AUTO_RECOMPUTE=True), \
            django_capture_on_commit_callbacks(execute=True):
        run("import_responses", path, "--instrument", "IINP")

    assert m.IndexRun.objects.exists()  # the recompute did run, eagerly
    assert not [r for r in caplog.records if r.name.startswith("kombu")]
