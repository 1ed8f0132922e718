"""The programme registry: load_programmes (INTERFACE section 1), its rules and the model."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from surveys.models import ImportJob, Programme

pytestmark = pytest.mark.django_db

HEADER = ("code,region,type,dimension,start_year,end_year,name_id,name_en,budget,participants,"
          "rpjmd_code\n")


@pytest.fixture
def registry_world(kaltim_dir: Path) -> Path:
    for command, name in (("load_regions", "regions.csv"), ("load_instrument", "instrument.json")):
        call_command(command, str(kaltim_dir / name), stdout=StringIO())
    return kaltim_dir


def _load(path: Path) -> str:
    out = StringIO()
    call_command("load_programmes", str(path), stdout=out)
    return out.getvalue()


def test_reference_registry_loads_and_reloads_as_a_no_op(registry_world: Path) -> None:
    path = registry_world / "programmes.csv"
    assert "12 new" in _load(path)
    assert Programme.objects.count() == 12
    prov = Programme.objects.get(code="KALTIM-PSK-22")
    assert prov.region.code == "64" and prov.dimension == "S3"
    index = Programme.objects.get(code="KTM-SOS-21")
    assert index.dimension_code == "" and index.dimension == "INDEX"
    dialog = Programme.objects.get(code="PPU-DLG-22")
    assert dialog.budget == 185000000 and dialog.participants == 640
    assert dialog.rpjmd_code == "3.01.02" and dialog.name_en.startswith("Interfaith")
    assert "12 unchanged" in _load(path)
    assert ImportJob.objects.filter(command="load_programmes", status="done").count() == 2


def test_changed_row_updates_in_place(registry_world: Path, tmp_path: Path) -> None:
    _load(registry_world / "programmes.csv")
    text = (registry_world / "programmes.csv").read_text("utf-8")
    path = tmp_path / "p.csv"
    path.write_text(text.replace(",185000000,640,", ",190000000,700,"), "utf-8")
    assert "0 new, 1 changed, 11 unchanged" in _load(path)
    assert Programme.objects.get(code="PPU-DLG-22").participants == 700


@pytest.mark.parametrize("row,column,words", [
    ("X-1,9999,dialog,S3,2022,2022,Nama,,,,", "region", "unknown region"),
    ("X-1,6409,dialog,S9,2022,2022,Nama,,,,", "dimension", "unknown dimension"),
    ("X-1,6409,dialog,S3,2023,2022,Nama,,,,", "end_year", "before the start year"),
    ("X-1,6409,Dialog Warga,S3,2022,2022,Nama,,,,", "type", "lower-case"),
    ("=HYPERLINK(1),6409,dialog,S3,2022,2022,Nama,,,,", "code", "letters, digits"),
    ("X-1,6409,dialog,S3,2022,2022,=cmd|' /C calc'!A0,,,,", "name_id", "formula"),
    ("X-1,6409,dialog,S3,2022,2022,Nama,,1.000.000,,", "budget", "whole number"),
    ("X-1,6409,dialog,S3,2022,2022,Nama,,,-5,", "participants", "whole number"),
    ("X-1,6409,dialog,S3,2022,2022,,,,,", "name_id", "required"),
    ("X-1,6409,dialog,S3,1900,2022,Nama,,,,", "start_year", "a year"),
    ("X-1,6409,dialog,S3,2022,2022,Nama,,,,@SUM(A1)", "rpjmd_code", "dotted"),
])
def test_bad_rows_are_named_and_nothing_is_written(registry_world: Path, tmp_path: Path,
                                                   row: str, column: str, words: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "OK-1,6472,sosialisasi,S1,2023,2023,Baik,Good,1,2,3.01\n" + row + "\n",
                    "utf-8")
    with pytest.raises(CommandError) as err:
        _load(path)
    message = str(err.value)
    assert f"bad.csv, baris/row 3, kolom/column {column}" in message
    assert words in message
    assert not Programme.objects.exists()
    assert ImportJob.objects.get(command="load_programmes").status == "failed"


def test_duplicate_code_and_district_region(registry_world: Path, tmp_path: Path) -> None:
    from surveys.models import Region, RegionLevel
    Region.objects.create(code="6472010", name="Palaran", level=RegionLevel.DISTRICT,
                          parent=Region.objects.get(code="6472"))
    path = tmp_path / "dup.csv"
    path.write_text(HEADER + "A,6472,dialog,,2022,2022,N,,,,\nA,6472,dialog,,2023,2023,N,,,,\n"
                    "B,6472010,dialog,,2022,2022,N,,,,\n", "utf-8")
    with pytest.raises(CommandError) as err:
        _load(path)
    assert "row 3, kolom/column code: kode A ganda (juga baris 2)" in str(err.value)
    assert "row 4, kolom/column region" in str(err.value)
