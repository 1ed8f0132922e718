"""import_responses: the reference file, idempotence, --replace, and every kind of bad input."""

from __future__ import annotations

import uuid
from io import StringIO
from pathlib import Path

import pyarrow as pa
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from datafiles.answers import unpack_answers
from surveys import models as m
from surveys.ingest import (
    content_hash,
    derived_submission_id,
    layout_for_version,
)
from surveys.services.submissions import stored_fingerprint
from tests import factories as f
from tests.import_files import KALTIM_ITEMS as ITEMS
from tests.import_files import META

pytestmark = pytest.mark.django_db

def run(path: Path, *args: str) -> str:
    out = StringIO()
    call_command("import_responses", path, "--instrument", "IINP", *args, stdout=out)
    return out.getvalue()


def fail(path: Path, *args: str) -> str:
    with pytest.raises(CommandError) as err:
        run(path, *args)
    return str(err.value)


def row(respondent: str = "R1", wave: str = "2021", region: str = "6401", sex: str = "L",
        age: str = "17-24", stratum: str = "6401", psu: str = "P1", weight: str = "1.5",
        answers: list[str] | None = None) -> list[str]:
    return [respondent, wave, region, sex, age, stratum, psu, weight,
            *(answers if answers is not None else ["3"] * len(ITEMS))]


def write(tmp_path: Path, rows: list[list[str]], header: list[str] | None = None, *,
          name: str = "responses.csv", bom: bool = False, newline: str = "\n") -> Path:
    lines = [",".join(header if header is not None else META + ITEMS)]
    lines += [",".join(r) for r in rows]
    text = newline.join(lines) + newline
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def assert_nothing_written() -> None:
    assert m.Response.objects.count() == 0
    assert m.Respondent.objects.count() == 0
    assert m.Wave.objects.count() == 0


def test_reference_file_imports_whole(base: Path):
    out = run(base / "responses.csv")

    assert "9140 new, 0 unchanged, 0 replaced" in out
    assert out.startswith("Diimpor / imported responses.csv (IINP v1, 9140 baris/rows)")
    assert m.Response.objects.count() == 9140
    assert m.Respondent.objects.count() == 5510
    waves = list(m.Wave.objects.order_by("year").values_list("year", "status"))
    assert waves == [(y, "closed") for y in (2021, 2022, 2023, 2024, 2025)]
    assert set(m.Response.objects.values_list("source", "status", "probability_sample")) == {
        ("import", "submitted", True)}
    assert not m.Response.objects.filter(submitted_at__isnull=True).exists()

    # second data row of the file: R251000097,2021,6401,L,35-44,6401,6401-2021-000,1121.1902
    response = m.Response.objects.select_related("wave__version", "region").get(
        respondent__panel_key="R251000097", wave__year=2021)
    layout = layout_for_version(response.wave.version)
    expected = [3, None, 4, 3, 3, 3, 3, 2, 3, 1, None, 4, 5, 5, 2, 5, 4, 3, None, 5, 4, 3, 4,
                5, 5, 4, 4, 5, 4, 2]
    answers = unpack_answers(layout, bytes(response.answers))
    assert list(answers.values()) == expected
    assert list(answers) == ITEMS
    assert (response.region.code, response.sex, response.age_group, response.stratum,
            response.psu, response.base_weight) == (
        "6401", "L", "35-44", "6401", "6401-2021-000", 1121.1902)
    assert response.submission_id is None  # not stored: derived from the row's keys
    assert response.effective_submission_id == derived_submission_id(response.respondent_id,
                                                                      response.wave_id)
    # no fingerprint stored by an import; the one computed from the row is the contract's
    assert response.content_hash == ""
    assert stored_fingerprint(response, layout) == content_hash(
        {"region": "6401", "sex": "L", "age_group": "35-44", "stratum": "6401",
         "psu": "6401-2021-000", "base_weight": 1121.1902, "probability_sample": True,
         "status": "submitted"}, answers)


def test_reimporting_the_same_file_changes_nothing_and_says_so(base: Path):
    run(base / "responses.csv")
    before = list(m.Response.objects.order_by("id").values_list("id", "updated_at"))

    out = run(base / "responses.csv")

    assert out.startswith("Tidak ada perubahan / nothing changed responses.csv")
    assert "0 new, 9140 unchanged, 0 replaced" in out
    assert list(m.Response.objects.order_by("id").values_list("id", "updated_at")) == before
    assert m.Wave.objects.count() == 5


def test_bom_and_crlf_are_accepted_and_equal_to_plain_utf8(base: Path, tmp_path: Path):
    rows = [row("R1"), row("R2", answers=["5"] * 29 + [""]), row("R3", psu="Désa 1")]
    crlf = write(tmp_path, rows, name="bom_crlf.csv", bom=True, newline="\r\n")

    out = run(crlf)

    assert "3 new, 0 unchanged" in out
    assert m.Response.objects.get(respondent__panel_key="R3").psu == "Désa 1"
    plain = write(tmp_path, rows, name="plain.csv")
    assert "0 new, 3 unchanged" in run(plain)


def test_crlf_without_bom_and_bom_with_lf(base: Path, tmp_path: Path):
    assert "1 new" in run(write(tmp_path, [row("R1")], name="a.csv", newline="\r\n"))
    assert "1 new" in run(write(tmp_path, [row("R2")], name="b.csv", bom=True))
    assert m.Response.objects.count() == 2


def test_changed_row_is_an_error_without_replace_and_replaced_with_it(base: Path,
                                                                      tmp_path: Path):
    run(write(tmp_path, [row("R1"), row("R2")], name="first.csv"))
    changed = write(tmp_path, [row("R1"), row("R2", answers=["1"] * 30), row("R3")],
                    name="second.csv")

    message = fail(changed)

    assert ("second.csv, baris/row 3, kolom/column respondent: responden R2 gelombang 2021 "
            "berbeda dari jawaban tersimpan; pakai --replace untuk menggantinya / respondent "
            "R2 wave 2021 differs from the stored response; use --replace to replace it"
            ) in message
    assert m.Response.objects.count() == 2

    out = run(changed, "--replace")

    assert "1 new, 1 unchanged, 1 replaced" in out
    r2 = m.Response.objects.get(respondent__panel_key="R2")
    assert bytes(r2.answers) == bytes([1] * 30)
    assert m.Response.objects.count() == 3
    assert "0 new, 3 unchanged, 0 replaced" in run(changed)


@pytest.mark.parametrize("change,differs", [
    ({"region": "6402"}, True), ({"sex": "P"}, True), ({"age": "25-34"}, True),
    ({"stratum": "6401-B"}, True), ({"psu": "P2"}, True), ({"weight": "1.25"}, True),
    ({"answers": ["3"] * 29 + ["4"]}, True), ({"answers": ["3"] * 29 + [""]}, True),
    # the same values written otherwise: the same content, as the fingerprint says
    ({"weight": "1.50"}, False), ({"weight": "15e-1"}, False), ({"wave": "2021"}, False),
])
def test_a_stored_row_is_unchanged_exactly_when_its_fingerprint_is(base: Path, tmp_path: Path,
                                                                   change, differs):
    """Re-imports compare the stored content field by field (imported rows store no
    fingerprint); every field the fingerprint covers counts, and nothing else."""
    run(write(tmp_path, [row("R1"), row("R2")], name="first.csv"))
    stored = m.Response.objects.select_related("region", "wave__version").get(
        respondent__panel_key="R2")
    layout = layout_for_version(stored.wave.version)
    second = write(tmp_path, [row("R1"), row("R2", **change)], name="second.csv")
    old, new = (dict(zip(META + ITEMS, r, strict=True)) for r in (row("R2"), row("R2", **change)))

    def fingerprint(line: dict[str, str]) -> str:
        return content_hash(
            {"region": line["region"], "sex": line["sex"], "age_group": line["age_group"],
             "stratum": line["stratum"], "psu": line["psu"],
             "base_weight": float(line["base_weight"]), "probability_sample": True,
             "status": "submitted"},
            {code: int(line[code]) if line[code] else None for code in ITEMS})

    assert (fingerprint(old) != fingerprint(new)) is differs
    assert stored_fingerprint(stored, layout) == fingerprint(old)
    if differs:
        assert "R2 wave 2021 differs from the stored response" in fail(second)
        assert "0 new, 1 unchanged, 1 replaced" in run(second, "--replace")
        replaced = m.Response.objects.select_related("region", "wave__version").get(
            respondent__panel_key="R2")
        assert replaced.content_hash == ""
        assert stored_fingerprint(replaced, layout) == fingerprint(new)
    else:
        assert "0 new, 2 unchanged, 0 replaced" in run(second)


def test_a_stored_label_holding_the_separator_is_compared_not_split(base: Path,
                                                                      tmp_path: Path):
    """A label stored before the contract refused control characters: the look-up of stored
    rows reads that wave row by row (the aggregated read would split the label apart)."""
    path = write(tmp_path, [row("R1"), row("R2")])
    run(path)
    m.Response.objects.filter(respondent__panel_key="R1").update(psu="P\x1f1")

    assert "R1 wave 2021 differs from the stored response" in fail(path)
    assert "0 new, 1 unchanged, 1 replaced" in run(path, "--replace")
    assert m.Response.objects.get(respondent__panel_key="R1").psu == "P1"


def test_an_absent_item_column_means_all_missing(base: Path, tmp_path: Path):
    header = META + [c for c in ITEMS if c != "S2_03"]
    run(write(tmp_path, [row("R1", answers=["4"] * 29)], header=header))

    answers = bytes(m.Response.objects.get().answers)

    assert answers[ITEMS.index("S2_03")] == m.ANSWER_MISSING
    assert answers.count(4) == 29


def test_instrument_version_option_and_unknown_instrument(base: Path, tmp_path: Path):
    path = write(tmp_path, [row("R1")])
    assert "(IINP v1, 1 baris/rows)" in run(path, "--instrument-version", "1")
    assert "IINP versi/version 7 belum dimuat" in fail(path, "--instrument-version", "7")
    with pytest.raises(CommandError, match="instrumen NOPE belum dimuat"):
        call_command("import_responses", path, "--instrument", "NOPE", stdout=StringIO())


def test_wave_of_another_version_is_refused(base: Path, tmp_path: Path):
    version = m.InstrumentVersion.objects.get()
    other = f.InstrumentVersionFactory(instrument=version.instrument, version=2)
    f.WaveFactory(version=other, instrument=version.instrument, year=2021)

    message = fail(write(tmp_path, [row("R1")]), "--instrument-version", "1")

    assert ("wave 2021 uses version 2, not 1; import that wave separately with "
            "--instrument-version 2") in message


BAD_CASES = {
    "value outside the scale": (
        [row("R1"), row("R2", answers=["6"] + ["3"] * 29)], 3, "S1_01",
        "nilai 6 di luar skala 1..5 / value 6 outside the scale 1..5"),
    "value below the scale": (
        [row("R1", answers=["3"] * 29 + ["0"])], 2, "S5_06",
        "nilai 0 di luar skala 1..5 / value 0 outside the scale 1..5"),
    # the answers are read as numbers straight from the file; a message quotes the cell as
    # written, and a cell with spaces goes through the text path (trimmed)
    "value with a leading zero outside the scale": (
        [row("R1"), row("R2", answers=["3", "07"] + ["3"] * 28)], 3, "S1_02",
        "nilai 07 di luar skala 1..5 / value 07 outside the scale 1..5"),
    "value with spaces outside the scale": (
        [row("R1", answers=[" 6 "] + ["3"] * 29)], 2, "S1_01",
        "nilai 6 di luar skala 1..5 / value 6 outside the scale 1..5"),
    "non-integer value": (
        [row("R1", answers=["2.5"] + ["3"] * 29)], 2, "S1_01",
        "nilai '2.5' bukan bilangan bulat / value '2.5' is not an integer"),
    "non-numeric value": (
        [row("R1", answers=["3", "x"] + ["3"] * 28)], 2, "S1_02",
        "nilai 'x' bukan angka / value 'x' is not a number"),
    "zero weight": (
        [row("R1", weight="0")], 2, "base_weight",
        "Bobot dasar 0 harus lebih dari 0. / The base weight 0 must be greater than 0."),
    "negative weight": (
        [row("R1", weight="-2")], 2, "base_weight",
        "Bobot dasar -2 harus lebih dari 0. / The base weight -2 must be greater than 0."),
    "nan as a value": (
        [row("R1", answers=["3", "nan"] + ["3"] * 28)], 2, "S1_02",
        "nilai 'nan' bukan angka / value 'nan' is not a number"),
    "nan as a weight": (
        [row("R1", weight="NaN")], 2, "base_weight",
        "Bobot dasar NaN harus angka terhingga lebih dari 0. / The base weight NaN must be a "
        "finite number greater than 0."),
    "non-numeric weight": (
        [row("R1", weight="satu")], 2, "base_weight",
        "Bobot dasar satu harus angka terhingga lebih dari 0. / The base weight satu must be a "
        "finite number greater than 0."),
    "infinite weight": (
        [row("R1", weight="inf")], 2, "base_weight",
        "Bobot dasar inf harus angka terhingga lebih dari 0. / The base weight inf must be a "
        "finite number greater than 0."),
    "empty weight": ([row("R1", weight="")], 2, "base_weight", "sel kosong / empty cell"),
    "bad sex": (
        [row("R1", sex="X")], 2, "sex",
        "'X' bukan salah satu dari L, P / 'X' is not one of L, P"),
    "bad age group": (
        [row("R1", age="16-20")], 2, "age_group",
        "'16-20' bukan salah satu dari 17-24, 25-34, 35-44, 45-54, 55+ / '16-20' is not one "
        "of 17-24, 25-34, 35-44, 45-54, 55+"),
    "unknown region": (
        [row("R1", region="9999")], 2, "region",
        "wilayah 9999 tidak dikenal / unknown region 9999"),
    "bad wave": (
        [row("R1", wave="20x1")], 2, "wave",
        "gelombang '20x1' bukan tahun 1945..2200 / wave '20x1' is not a year 1945..2200"),
    "empty psu": ([row("R1", psu="")], 2, "psu", "sel kosong / empty cell"),
    # a control character inside a design label (the aggregated reads split texts on chr 31)
    "unit separator inside a psu": (
        [row("R1", psu="P\x1f1")], 2, "psu", "Karakter kendali (U+001F) tidak diperbolehkan di "
        "sini. / A control character (U+001F) is not allowed here."),
    "tab inside a stratum": (
        [row("R1", stratum="64\t01")], 2, "stratum", "Karakter kendali (U+0009) tidak "
        "diperbolehkan di sini. / A control character (U+0009) is not allowed here."),
    "duplicate respondent in a wave": (
        [row("R1"), row("R2"), row("R1", answers=["4"] * 30)], 4, "respondent",
        "responden R1 ganda dalam gelombang 2021 (juga baris 2) / duplicate respondent R1 in "
        "wave 2021 (also row 2)"),
    "respondent id that looks like a NIK": (
        [row("3174012345678901")], 2, "respondent", "ID responden tampak seperti NIK atau nomor "
        "telepon; gunakan kode pseudonim. / The respondent id looks like a NIK or phone number; "
        "use a pseudonymous code."),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_cell_is_reported_with_file_row_column_and_nothing_is_written(
        base: Path, tmp_path: Path, case: str):
    rows, line, column, problem = BAD_CASES[case]

    message = fail(write(tmp_path, rows))

    assert message.splitlines() == [
        "responses.csv: 1 kesalahan, tidak ada yang disimpan / 1 errors, nothing was saved",
        f"responses.csv, baris/row {line}, kolom/column {column}: {problem}",
    ]
    assert_nothing_written()


def test_same_respondent_in_two_waves_is_fine(base: Path, tmp_path: Path):
    out = run(write(tmp_path, [row("R1"), row("R1", wave="2022")]))
    assert "2 new" in out
    assert m.Respondent.objects.count() == 1


@pytest.mark.parametrize(("header", "problem"), [
    (META + ITEMS + ["S9_99"],
     "baris/row 1, kolom/column S9_99: kolom tidak dikenal 'S9_99' / unknown column 'S9_99'"),
    ([c for c in META if c != "psu"] + ITEMS,
     "baris/row 1, kolom/column psu: kolom wajib 'psu' tidak ada / required column 'psu' is "
     "missing"),
    (META + ITEMS + ["S1_01"],
     "baris/row 1, kolom/column S1_01: kolom 'S1_01' ganda / duplicate column 'S1_01'"),
])
def test_bad_header(base: Path, tmp_path: Path, header: list[str], problem: str):
    message = fail(write(tmp_path, [], header=header))
    assert f"responses.csv, {problem}" in message
    assert_nothing_written()


@pytest.mark.parametrize(("content", "problem"), [
    (b"", "responses.csv: berkas kosong / empty file"),
    (b"\xef\xbb\xbf\r\n", "responses.csv: berkas kosong / empty file"),
    (",".join(META + ITEMS).encode() + b"\n",
     "responses.csv: berkas tidak berisi baris data / file has no data rows"),
])
def test_empty_files(base: Path, tmp_path: Path, content: bytes, problem: str):
    path = tmp_path / "responses.csv"
    path.write_bytes(content)
    assert problem in fail(path).splitlines()
    assert_nothing_written()


def test_ragged_row_and_blank_lines_keep_physical_row_numbers(base: Path, tmp_path: Path):
    path = tmp_path / "responses.csv"
    lines = [",".join(META + ITEMS), ",".join(row("R1")), "", ",".join(row("R2")[:-1]),
             ",".join(row("R3"))]
    path.write_text("\n".join(lines) + "\n")

    message = fail(path)

    assert "responses.csv, baris/row 4: 37 sel, seharusnya 38 / 37 cells, expected 38" in message
    assert_nothing_written()


def test_blank_line_inside_shifts_row_numbers_of_later_errors(base: Path, tmp_path: Path):
    path = tmp_path / "responses.csv"
    lines = [",".join(META + ITEMS), ",".join(row("R1")), "", "",
             ",".join(row("R2", sex="W"))]
    path.write_text("\r\n".join(lines) + "\r\n")

    assert "responses.csv, baris/row 5, kolom/column sex: 'W'" in fail(path)


def test_bad_utf8_is_reported(base: Path, tmp_path: Path):
    path = tmp_path / "responses.csv"
    path.write_bytes(",".join(META + ITEMS).encode() + b"\n"
                     + ",".join(row("R\xe9")).encode("latin-1") + b"\n")
    assert "responses.csv, baris/row 2: bukan teks UTF-8 yang sah / not valid UTF-8 text" in (
        fail(path))
    assert_nothing_written()


def test_many_bad_rows_are_all_counted_and_the_first_twenty_rows_listed(base: Path,
                                                                         tmp_path: Path):
    rows = [row(f"R{i}", answers=["9"] + ["3"] * 29) for i in range(120)]
    rows[5][3] = "X"  # one more problem on row 7: on the same line, in column order

    lines = fail(write(tmp_path, rows)).splitlines()

    assert lines[0] == ("responses.csv: 121 kesalahan, tidak ada yang disimpan / 121 errors, "
                        "nothing was saved")
    assert len(lines) == 22  # one line per row, 20 rows, then the count of the others
    assert lines[1].startswith("responses.csv, baris/row 2, kolom/column S1_01: nilai 9")
    assert lines[6].startswith("responses.csv, baris/row 7: kolom/column sex: 'X'")
    assert "; kolom/column S1_01: nilai 9" in lines[6]
    assert lines[20].startswith("responses.csv, baris/row 21, kolom/column S1_01")
    assert lines[21] == ("... dan 100 baris lain dengan kesalahan / and 100 more rows with "
                         "errors")
    assert_nothing_written()


def test_a_bad_last_row_rolls_back_the_whole_file(base: Path, tmp_path: Path):
    rows = [row(f"R{i}") for i in range(200)] + [row("R999", region="0000")]
    assert "baris/row 202, kolom/column region" in fail(write(tmp_path, rows))
    assert_nothing_written()


def test_a_conflict_found_in_the_database_rolls_back_new_waves(base: Path, tmp_path: Path):
    run(write(tmp_path, [row("R1")], name="first.csv"))
    second = write(tmp_path, [row("R2", wave="2030"), row("R1", answers=["1"] * 30)],
                   name="second.csv")

    assert "differs from the stored response" in fail(second)
    assert list(m.Wave.objects.values_list("year", flat=True)) == [2021]
    assert m.Respondent.objects.count() == 1


def _response_schema() -> tuple[list, list]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                       "WHERE conrelid = 'surveys_response'::regclass ORDER BY 1")
        constraints = cursor.fetchall()
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes "
                       "WHERE tablename = 'surveys_response' ORDER BY 1")
        return constraints, cursor.fetchall()


def test_postgres_import_takes_no_lock_that_blocks_submissions(base: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch):
    """Even on the largest-load path: nothing of the table is dropped (that took ACCESS
    EXCLUSIVE until commit), the waves are held FOR SHARE (as API submissions hold theirs),
    and the foreign-key triggers are skipped for the COPY only."""
    from django.db import connection

    from surveys.services.imports import responses as module

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    monkeypatch.setattr(module, "ANALYZE_MIN_ROWS", 1, raising=False)
    monkeypatch.setattr(module, "BULK_MIN_ROWS", 1, raising=False)  # the loader before
    seen: dict[str, object] = {}
    original = module._insert_responses

    def spy(*args):  # noqa: ANN002, ANN202
        original(*args)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT relation::regclass::text, mode FROM pg_locks WHERE pid = "
                "pg_backend_pid() AND relation IN ('surveys_response'::regclass, "
                "'surveys_wave'::regclass)")
            seen["locks"] = set(cursor.fetchall())
            cursor.execute("SHOW session_replication_role")
            seen["role"] = cursor.fetchone()[0]

    monkeypatch.setattr(module, "_insert_responses", spy)
    run(write(tmp_path, [row("R0", wave="2020")]))  # an existing wave, locked by the next
    before = _response_schema()

    out = run(write(tmp_path, [row("R1"), row("R2"), row("R3", wave="2020")]))

    assert "3 new, 0 unchanged" in out
    assert _response_schema() == before
    assert len([c for c in before[0] if "FOREIGN KEY" in c[1]]) == 4
    weak = {"AccessShareLock", "RowShareLock", "RowExclusiveLock", "ShareUpdateExclusiveLock"}
    assert {mode for _, mode in seen["locks"]} <= weak, seen["locks"]
    assert ("surveys_wave", "RowShareLock") in seen["locks"]  # FOR SHARE, not FOR UPDATE
    assert seen["role"] == "origin"
    assert m.Response.objects.filter(region__code="6401").count() == 4


def test_postgres_a_trigger_of_the_table_still_fires(base: Path, tmp_path: Path):
    """The foreign-key triggers are skipped only when the table has no trigger of its own
    (session_replication_role = replica would skip that one too)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE audit_rows (n int)")
        cursor.execute("CREATE FUNCTION audit_row() RETURNS trigger LANGUAGE plpgsql AS "
                       "$$ BEGIN INSERT INTO audit_rows VALUES (1); RETURN NEW; END $$")
        cursor.execute("CREATE TRIGGER audit AFTER INSERT ON surveys_response "
                       "FOR EACH ROW EXECUTE FUNCTION audit_row()")

    assert "2 new" in run(write(tmp_path, [row("R1"), row("R2")]))

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM audit_rows")
        assert cursor.fetchone()[0] == 2


def test_postgres_a_role_that_may_not_skip_triggers_still_imports(base: Path, tmp_path: Path):
    """Without the right to set session_replication_role (neither superuser nor granted),
    the failed SET is rolled back to its savepoint and the foreign-key triggers run."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    role = f"nilai_plain_{uuid.uuid4().hex[:12]}"  # roles are cluster-wide
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role} NOSUPERUSER")  # rolled back with the test
        cursor.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
        cursor.execute(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}")
        cursor.execute(f"SET ROLE {role}")
        try:
            out = run(write(tmp_path, [row("R1"), row("R2")]))
        finally:
            cursor.execute("RESET ROLE")

    assert "2 new" in out
    assert m.Response.objects.count() == 2


def test_rows_are_stored_in_respondent_order(base: Path, tmp_path: Path):
    """New rows are written in (respondent, wave year) order: the primary key is filled
    front to back, the unique (wave, respondent) index at one point per wave."""
    run(write(tmp_path, [row("R1", wave="2021")], name="first.csv"))  # R1 gets the lowest id
    run(write(tmp_path, [row("R3", wave="2021"), row("R2", wave="2022"),
                         row("R1", wave="2022"), row("R2", wave="2021")]))

    stored = list(m.Response.objects.order_by("id").values_list("respondent__panel_key",
                                                                "wave__year"))
    assert stored == [("R1", 2021), ("R1", 2022), ("R2", 2021), ("R2", 2022), ("R3", 2021)]


def test_trailing_blank_lines_are_ignored(base: Path, tmp_path: Path):
    path = tmp_path / "responses.csv"
    path.write_text(",".join(META + ITEMS) + "\n" + ",".join(row("R1")) + "\n\n\r\n")

    assert "1 new, 0 unchanged" in run(path)


KEY_CASES = ["R1", "DM6401-0000099", " R2", "R3 ", "R\t4", "R\x1f5", "=1+2", "@SUM", "+62", "-R",
             "", "3171-0123-4567-8901", "NIK3171012345678901", "(0812)34567890",
             "6281234567890", "081234567", "\uff13\uff11\uff17\uff11012345678901",
             "R\u202e1", "R\u200b1", "Ré", "x" * 64, "x" * 65, "R" * 200]


@pytest.mark.parametrize("secret", ["", "s3cret", "k" * 100])
def test_column_wise_panel_keys_equal_panel_key_for(secret: str):
    from surveys.ingest.keys import RespondentKeyError, panel_key_for, panel_keys_for

    keys, refused = panel_keys_for(pa.array(KEY_CASES), secret=secret)

    for i, external in enumerate(KEY_CASES):
        try:
            expected = panel_key_for(external, secret=secret)
        except RespondentKeyError as exc:
            assert keys[i] == "" and refused[i].msg == exc.msg, external
        else:
            assert keys[i] == expected and i not in refused, external
