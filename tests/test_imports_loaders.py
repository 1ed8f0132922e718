"""load_regions, load_instrument, load_population, load_indicators, load_targets."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from surveys import models as m
from tests import factories as f

pytestmark = pytest.mark.django_db


def run(command: str, *args: object) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def fail(command: str, *args: object) -> str:
    with pytest.raises(CommandError) as err:
        run(command, *args)
    return str(err.value)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_reference(kaltim: Path) -> None:
    run("load_regions", kaltim / "regions.csv")
    run("load_instrument", kaltim / "instrument.json")
    run("load_population", kaltim / "population.csv")
    run("load_indicators", kaltim / "indicators.json", kaltim / "indicator_values.csv")
    run("load_targets", kaltim / "targets.csv")
    run("import_responses", kaltim / "responses.csv", "--instrument", "IINP")


def test_the_whole_reference_set_loads(kaltim_dir: Path):
    load_reference(kaltim_dir)

    assert m.Region.objects.count() == 11
    assert m.Region.objects.get(code="6472").parent.code == "64"
    assert m.Region.objects.get(code="64").parent is None
    version = m.InstrumentVersion.objects.get()
    assert (version.instrument.code, version.version, version.scale_min, version.scale_max) == (
        "IINP", 1, 1, 5)
    assert version.min_valid_share == pytest.approx(2 / 3, abs=1e-15)
    assert list(version.dimensions.values_list("code", "weight")) == [
        ("S1", 0.2), ("S2", 0.2), ("S3", 0.2), ("S4", 0.2), ("S5", 0.2)]
    assert version.items.count() == 30
    assert list(version.items.values_list("position", flat=True)) == list(range(30))
    assert version.items.get(position=6).code == "S2_01"
    assert m.PopulationMargin.objects.count() == 500
    assert m.PopulationMargin.objects.get(
        year=2021, region__code="6401", sex="L", age_group="17-24").population == 21420
    assert sorted(m.Indicator.objects.values_list("code", "level", "polarity")) == [
        ("INDEX", "index", "positive"), ("KONFLIK_SARA", "outcome", "negative"),
        ("PARTISIPASI_MUSRENBANG", "outcome", "positive"),
        ("PASKIBRAKA_TAHAPAN", "output", "positive"),
        ("SOSIALISASI_PANCASILA", "output", "positive")]
    assert m.Indicator.objects.get(code="KONFLIK_SARA").dimension_code == "S3"
    assert m.IndicatorValue.objects.count() == 200
    assert m.IndicatorValue.objects.get(
        indicator__code="KONFLIK_SARA", region__code="6401", year=2021).value == 5.291
    assert m.Target.objects.count() == 100
    assert m.Target.objects.get(indicator__code="INDEX", region__code="6401",
                                year=2021).target == 62.0
    assert m.Response.objects.count() == 9140
    assert m.Wave.objects.count() == 5


def test_reloading_every_reference_file_is_a_noop(kaltim_dir: Path):
    load_reference(kaltim_dir)

    outputs = [
        run("load_regions", kaltim_dir / "regions.csv"),
        run("load_instrument", kaltim_dir / "instrument.json"),
        run("load_population", kaltim_dir / "population.csv"),
        run("load_indicators", kaltim_dir / "indicators.json",
            kaltim_dir / "indicator_values.csv"),
        run("load_targets", kaltim_dir / "targets.csv"),
    ]

    assert outputs[0].strip() == (
        "Tidak ada perubahan / nothing changed regions.csv (wilayah / regions): 0 baru, "
        "0 diubah, 11 tidak berubah / 0 new, 0 changed, 11 unchanged")
    assert outputs[1].strip() == (
        "Tidak ada perubahan / nothing changed: IINP versi/version 1 sudah dimuat dengan isi "
        "yang sama / already loaded with the same content")
    assert "0 new, 0 changed, 500 unchanged" in outputs[2]
    assert "0 new, 0 changed, 4 unchanged" in outputs[3]
    assert "0 new, 0 changed, 200 unchanged" in outputs[3]
    assert "0 new, 0 changed, 100 unchanged" in outputs[4]
    assert m.InstrumentVersion.objects.count() == 1


# --- regions -----------------------------------------------------------------------------------

def test_regions_parents_may_follow_children_and_kemendagri_code_is_optional(tmp_path: Path):
    path = write(tmp_path, "regions.csv",
                 "code,name,level,parent,code_kemendagri\n"
                 "640101,Batu Sopang,district,6401,64.01.01\n"
                 "6401,Paser,regency,64,64.01\n64,Kalimantan Timur,province,,64\n")

    assert "3 new, 0 changed, 0 unchanged" in run("load_regions", path)

    district = m.Region.objects.get(code="640101")
    assert (district.parent.code, district.parent.parent.code) == ("6401", "64")
    assert district.code_kemendagri == "64.01.01"


def test_regions_update_in_place_and_parent_may_already_exist(tmp_path: Path):
    f.RegionFactory(code="64", name="Kaltim", level=m.RegionLevel.PROVINCE)
    path = write(tmp_path, "regions.csv", "code,name,level,parent\n"
                 "64,Kalimantan Timur,province,\n6401,Paser,regency,64\n")

    assert "1 new, 1 changed, 0 unchanged" in run("load_regions", path)
    assert m.Region.objects.get(code="64").name == "Kalimantan Timur"


@pytest.mark.parametrize(("body", "problem"), [
    ("6401,Paser,regency,99\n",
     "baris/row 3, kolom/column parent: wilayah induk 99 tidak dikenal / unknown parent "
     "region 99"),
    ("6401,Paser,kabupaten,\n",
     "baris/row 3, kolom/column level: 'kabupaten' bukan salah satu dari city, district, "
     "province, regency, village / 'kabupaten' is not one of city, district, province, "
     "regency, village"),
    ("6401,Paser,regency,\n6401,Paser lagi,regency,\n",
     "baris/row 4, kolom/column code: kode 6401 ganda (juga baris 3) / duplicate code 6401 "
     "(also row 3)"),
    ("6401,Paser,regency,6402\n6402,Kutai,regency,6401\n",
     "baris/row 3, kolom/column parent: siklus induk: 6401 -> 6402 -> 6401 / parent cycle: "
     "6401 -> 6402 -> 6401"),
    (",Tanpa kode,regency,\n", "baris/row 3, kolom/column code: kode kosong / empty code"),
])
def test_bad_regions_are_reported_and_nothing_is_written(tmp_path: Path, body: str,
                                                         problem: str):
    path = write(tmp_path, "regions.csv", "code,name,level,parent\n64,Kaltim,province,\n" + body)

    message = fail("load_regions", path)

    assert f"regions.csv, {problem}" in message
    assert m.Region.objects.count() == 0


@pytest.mark.parametrize(("row", "problem"), [
    ("64A1,Paser,regency,64,", "kolom/column code: kode '64A1' tidak sah: kode BPS hanya angka / "
                               "invalid code '64A1': a BPS code is digits only"),
    ("=1+1,Paser,regency,64,", "kolom/column code: kode '=1+1' tidak sah"),
    ("-6401,Paser,regency,64,", "kolom/column code: kode '-6401' tidak sah"),
    ("64\u202e01,Paser,regency,64,", "kolom/column code: kode '64\\u202e01' tidak sah"),
    ("6401,Paser,regency,64,=64.01", "kolom/column code_kemendagri: kode Kemendagri '=64.01' "
                                     "tidak sah: angka dalam kelompok bertitik"),
    ("6401,Paser,regency,64,64..01", "kolom/column code_kemendagri: kode Kemendagri '64..01'"),
])
def test_region_codes_are_digits_at_the_door(tmp_path: Path, row: str, problem: str):
    path = write(tmp_path, "regions.csv", "code,name,level,parent,code_kemendagri\n"
                 "64,Kaltim,province,,64\n" + row + "\n")

    message = fail("load_regions", path)

    assert f"regions.csv, baris/row 3, {problem}" in message
    assert m.Region.objects.count() == 0


def test_regions_unknown_column_and_empty_file(tmp_path: Path):
    assert "kolom/column parent_code: kolom tidak dikenal 'parent_code'" in fail(
        "load_regions", write(tmp_path, "r.csv", "code,name,level,parent,parent_code\n"))
    assert "r.csv: berkas kosong / empty file" in fail(
        "load_regions", write(tmp_path, "r.csv", ""))


# --- instrument --------------------------------------------------------------------------------

@pytest.fixture
def instrument_doc(kaltim_dir: Path) -> dict:
    return json.loads((kaltim_dir / "instrument.json").read_text())


def dump(tmp_path: Path, doc: object, name: str = "instrument.json") -> Path:
    return write(tmp_path, name, json.dumps(doc, indent=1))


def test_identical_content_with_other_key_order_is_a_noop(tmp_path: Path, instrument_doc: dict):
    assert "Diterbitkan / published: IINP versi/version 1 (5 dimensi/dimensions, 30 " \
        "butir/items)" in run("load_instrument", dump(tmp_path, instrument_doc))
    reordered = dict(reversed(list(instrument_doc.items())))

    out = run("load_instrument", dump(tmp_path, reordered, "again.json"))

    assert out.startswith("Tidak ada perubahan / nothing changed: IINP versi/version 1")
    assert m.InstrumentVersion.objects.count() == 1


def test_a_published_version_never_changes(tmp_path: Path, instrument_doc: dict):
    run("load_instrument", dump(tmp_path, instrument_doc))
    instrument_doc["dimensions"][0]["items"][0]["text"]["id"] = "Teks baru"

    message = fail("load_instrument", dump(tmp_path, instrument_doc, "changed.json"))

    assert message == (
        "changed.json: IINP versi 1 sudah diterbitkan dengan isi berbeda; versi yang terbit "
        "tidak pernah diubah, terbitkan dengan nomor versi baru / IINP version 1 is already "
        "published with different content; a published version never changes, publish it "
        "under a new version number")
    assert m.Item.objects.get(code="S1_01").text_id == "Pernyataan S1_01"

    instrument_doc["version"] = 2
    assert "IINP versi/version 2" in run("load_instrument", dump(tmp_path, instrument_doc, "v2"))
    assert list(m.InstrumentVersion.objects.values_list("version", flat=True)) == [1, 2]
    assert m.Item.objects.filter(code="S1_01").count() == 2


def _break(doc: dict, what: str) -> None:
    item = doc["dimensions"][1]["items"][2]
    if what == "scale":
        doc["scale"]["min"], doc["scale"]["max"] = 5, 5
    elif what == "labels":
        doc["scale"]["labels"]["en"] = doc["scale"]["labels"]["en"][:4]
    elif what == "weight":
        doc["dimensions"][1]["weight"] = 0
    elif what == "duplicate":
        item["code"] = "S1_01"
    elif what == "facet":
        item["facet"] = "perilaku"
    elif what == "share0":
        doc["min_valid_share"] = 0
    elif what == "share":
        doc["min_valid_share"] = 1.5
    elif what == "unknown":
        item["reversed"] = True


@pytest.mark.parametrize(("what", "problem"), [
    ("scale", "isian/field scale: skala harus 0 <= min < max <= 20 (min 5, max 5)"),
    ("labels", "isian/field scale.labels.en: 4 label untuk 5 titik skala: beri satu label per "
               "titik atau kosongkan daftar (skala tanpa label) / 4 labels for 5 scale points"),
    ("weight", "isian/field dimensions[1].weight: bobot harus angka > 0 / weight must be a "
               "number > 0"),
    ("duplicate", "isian/field dimensions[1].items[2].code: kode butir S1_01 ganda (juga "
                  "dimensions[0].items[0])"),
    ("facet", "isian/field dimensions[1].items[2].facet: facet harus salah satu dari kognitif, "
              "afektif, praktik"),
    ("share0", "isian/field min_valid_share: min_valid_share harus dalam (0, 1]"),
    ("share", "isian/field min_valid_share: min_valid_share harus dalam (0, 1]"),
    ("unknown", "isian/field dimensions[1].items[2].reversed: isian tidak dikenal 'reversed'"),
])
def test_invalid_instruments_are_refused(tmp_path: Path, instrument_doc: dict, what: str,
                                         problem: str):
    _break(instrument_doc, what)

    message = fail("load_instrument", dump(tmp_path, instrument_doc))

    assert f"instrument.json, {problem}" in message
    assert m.Instrument.objects.count() == 0
    assert m.InstrumentVersion.objects.count() == 0


BAD_CODES = [
    ('=HYPERLINK("a","b")', """'=HYPERLINK("a","b")'"""),
    ("-1+2", "'-1+2'"),
    ("@SUM(A1)", "'@SUM(A1)'"),
    ("+62", "'+62'"),
    ("S1\u202e01", "'S1\\u202e01'"),
    ("S1\u200b", "'S1\\u200b'"),
    ("S1 01", "'S1 01'"),
    ("S1\t", "'S1\\t'"),
    ("S1,2", "'S1,2'"),
]
SLUG_RULE = ("tidak sah: hanya huruf, angka, _ . - dan diawali huruf atau angka / invalid {what} "
             "{shown}: only letters, digits, _ . - and starting with a letter or digit")


@pytest.mark.parametrize(("where", "what"), [
    ("instrument", "code"), ("dimension", "dimension code"), ("item", "item code")])
@pytest.mark.parametrize(("code", "shown"), BAD_CODES)
def test_instrument_codes_are_slugs(tmp_path: Path, instrument_doc: dict, where: str, what: str,
                                    code: str, shown: str):
    if where == "instrument":
        instrument_doc["code"], field, prefix = code, "code", "kode"
    elif where == "dimension":
        instrument_doc["dimensions"][2]["code"] = code
        field, prefix = "dimensions[2].code", "kode dimensi"
    else:
        instrument_doc["dimensions"][2]["items"][1]["code"] = code
        field, prefix = "dimensions[2].items[1].code", "kode butir"

    message = fail("load_instrument", dump(tmp_path, instrument_doc))

    assert (f"instrument.json, isian/field {field}: {prefix} {shown} "
            + SLUG_RULE.format(what=what, shown=shown)) in message
    assert m.Instrument.objects.count() == 0


def _scale(doc: dict, points: int, labels: dict) -> dict:
    doc["scale"] = {"min": 1, "max": points, "labels": labels}
    return doc


SEVEN_ID = ["Sangat tidak setuju", "Tidak setuju", "Agak tidak setuju", "Netral", "Agak setuju",
            "Setuju", "Sangat setuju"]
SEVEN_EN = ["Strongly disagree", "Disagree", "Somewhat disagree", "Neutral", "Somewhat agree",
            "Agree", "Strongly agree"]


@pytest.mark.parametrize(("points", "labels", "stored"), [
    (5, {"id": ["STS", "TS", "N", "S", "SS"], "en": ["SD", "D", "N", "A", "SA"]},
     (["STS", "TS", "N", "S", "SS"], ["SD", "D", "N", "A", "SA"])),
    (7, {"id": SEVEN_ID, "en": SEVEN_EN}, (SEVEN_ID, SEVEN_EN)),
    (5, {"id": [], "en": []}, ([], [])),
    (7, {"id": [], "en": []}, ([], [])),
    (7, {"id": []}, ([], [])),
    (7, {"id": SEVEN_ID}, (SEVEN_ID, [])),             # not translated: English falls back
    (7, {"id": SEVEN_ID, "en": []}, (SEVEN_ID, [])),
])
def test_scales_are_labelled_per_point_or_unlabelled(tmp_path: Path, instrument_doc: dict,
                                                     points: int, labels: dict,
                                                     stored: tuple[list, list]):
    run("load_instrument", dump(tmp_path, _scale(instrument_doc, points, labels)))

    version = m.InstrumentVersion.objects.get()
    assert (version.scale_min, version.scale_max) == (1, points)
    assert (version.labels_id, version.labels_en) == stored


@pytest.mark.parametrize(("points", "labels", "problem"), [
    (5, {"id": ["STS", "TS", "N"], "en": []},
     "isian/field scale.labels.id: 3 label untuk 5 titik skala: beri satu label per titik atau "
     "kosongkan daftar (skala tanpa label) / 3 labels for 5 scale points: give one label per "
     "point or leave the list empty (an unlabelled scale)"),
    (7, {"id": SEVEN_ID, "en": SEVEN_EN[:6]},
     "isian/field scale.labels.en: 6 label untuk 7 titik skala"),
    (7, {"id": ["Sangat tidak setuju", "Sangat setuju"], "en": ["Strongly disagree",
                                                                "Strongly agree"]},
     "isian/field scale.labels.id: 2 label untuk 7 titik skala"),
    (5, {"id": [], "en": ["SD", "D", "N", "A", "SA"]},
     "isian/field scale.labels.id: label en tanpa label id: skala tanpa label mengosongkan "
     "keduanya / en labels without id labels: an unlabelled scale leaves both empty"),
    (5, {"id": ["STS", "", "N", "S", "SS"]},
     "isian/field scale.labels.id: label harus daftar teks"),
    (5, {"en": []}, "isian/field scale.labels: label skala {id, en} wajib diisi"),
])
def test_partial_scale_labels_are_refused(tmp_path: Path, instrument_doc: dict, points: int,
                                          labels: dict, problem: str):
    message = fail("load_instrument", dump(tmp_path, _scale(instrument_doc, points, labels)))

    assert f"instrument.json, {problem}" in message
    assert m.InstrumentVersion.objects.count() == 0


def test_invalid_json_names_the_line(tmp_path: Path):
    message = fail("load_instrument", write(tmp_path, "i.json", '{\n  "code": "X",\n  oops\n}'))
    assert message.startswith("i.json: 1 kesalahan")
    assert "i.json, baris/row 3: JSON tidak sah" in message


# --- population --------------------------------------------------------------------------------

POP_HEADER = "year,region,sex,age_group,population\n"


@pytest.mark.parametrize(("body", "problem"), [
    ("2021,9999,L,17-24,10\n", "kolom/column region: wilayah 9999 tidak dikenal"),
    ("2021,6401,X,17-24,10\n", "kolom/column sex: 'X' bukan salah satu dari L, P"),
    ("2021,6401,L,10-16,10\n", "kolom/column age_group: '10-16' bukan salah satu"),
    ("2021,6401,L,17-24,sepuluh\n",
     "kolom/column population: jumlah penduduk 'sepuluh' harus bilangan bulat >= 0"),
    ("2021,6401,L,17-24,-1\n", "kolom/column population: jumlah penduduk '-1' harus"),
    ("2021,6401,L,17-24,10.5\n", "kolom/column population: jumlah penduduk '10.5' harus"),
    ("20x1,6401,L,17-24,10\n", "kolom/column year: tahun '20x1' bukan bilangan bulat"),
    ("1900,6401,L,17-24,10\n", "kolom/column year: tahun 1900 di luar 1945..2200"),
    ("2021,6401,L,17-24,1_000\n", "kolom/column population: jumlah penduduk '1_000' harus"),
    ("2021,6401,L,17-24,10\n2021,6401,L,17-24,11\n",
     "baris/row 3: sel 2021/6401/L/17-24 ganda (juga baris 2) / duplicate cell "
     "2021/6401/L/17-24 (also row 2)"),
])
def test_bad_population_rows(tmp_path: Path, body: str, problem: str):
    f.RegionFactory(code="6401")
    message = fail("load_population", write(tmp_path, "pop.csv", POP_HEADER + body))
    assert problem in message
    assert "pop.csv, baris/row" in message
    assert m.PopulationMargin.objects.count() == 0


def test_population_upsert_reports_changes(tmp_path: Path):
    f.RegionFactory(code="6401")
    first = write(tmp_path, "pop.csv", POP_HEADER + "2021,6401,L,17-24,10\n2021,6401,P,55+,20\n")
    assert "2 new, 0 changed, 0 unchanged" in run("load_population", first)
    second = write(tmp_path, "pop2.csv",
                   POP_HEADER + "2021,6401,L,17-24,10\r\n2021,6401,P,55+,25\r\n")

    assert "0 new, 1 changed, 1 unchanged" in run("load_population", second)
    assert m.PopulationMargin.objects.get(sex="P").population == 25


# --- indicators and targets --------------------------------------------------------------------

TGT_HEADER = "indicator,region,year,target\n"
IND = {"code": "KONFLIK", "name": {"id": "Konflik", "en": "Conflict"}, "polarity": "negative",
       "level": "outcome", "unit": "per 100k", "source": "Polda"}
VAL_HEADER = "indicator,region,year,value\n"


@pytest.mark.parametrize(("change", "problem"), [
    ({"polarity": "up"}, "isian/field [0].polarity: polarity harus salah satu dari positive, "
                         "negative"),
    ({"level": "index"}, "isian/field [0].level: level harus salah satu dari outcome, output"),
    ({"code": "INDEX"}, "isian/field [0].code: kode INDEX dicadangkan untuk indeks survei"),
    ({"name": "Konflik"}, "isian/field [0].name: nama {id, en} wajib diisi"),
])
def test_bad_indicator_definitions(tmp_path: Path, change: dict, problem: str):
    defs = write(tmp_path, "ind.json", json.dumps([{**IND, **change}]))
    values = write(tmp_path, "val.csv", VAL_HEADER)

    assert f"ind.json, {problem}" in fail("load_indicators", defs, values)
    assert m.Indicator.objects.count() == 0


@pytest.mark.parametrize(("code", "shown"), BAD_CODES)
def test_indicator_codes_are_slugs_at_the_door(tmp_path: Path, code: str, shown: str):
    f.RegionFactory(code="6401")
    values = write(tmp_path, "val.csv", VAL_HEADER)
    for field, prefix, what, spec in (
            ("code", "kode", "code", {**IND, "code": code}),
            ("dimension", "kode dimensi", "dimension code", {**IND, "dimension": code})):
        defs = write(tmp_path, "ind.json", json.dumps([IND | {"code": "OK_1"}, spec]))

        message = fail("load_indicators", defs, values)

        assert (f"ind.json, isian/field [1].{field}: {prefix} {shown} "
                + SLUG_RULE.format(what=what, shown=shown)) in message
        assert m.Indicator.objects.count() == 0
    if code != code.strip():
        return  # a CSV cell is stripped: "S1\t" is the known code S1 there
    # in a values or targets file the code is refused as a code, before it is looked up
    defs = write(tmp_path, "ind.json", json.dumps([IND]))
    quoted = '"' + code.replace('"', '""') + '"'
    bad = write(tmp_path, "val.csv", VAL_HEADER + f"KONFLIK,6401,2021,1\n{quoted},6401,2021,2\n")
    message = fail("load_indicators", defs, bad)
    assert (f"val.csv, baris/row 3, kolom/column indicator: kode indikator {shown} tidak sah"
            in message)
    assert m.Indicator.objects.count() == 0 and m.IndicatorValue.objects.count() == 0
    message = fail("load_targets", write(tmp_path, "t.csv", f"{TGT_HEADER}{quoted},6401,2021,5\n"))
    assert f"t.csv, baris/row 2, kolom/column indicator: kode indikator {shown} tidak sah" in (
        message)


@pytest.mark.parametrize(("body", "problem"), [
    ("NOPE,6401,2021,1\n", "baris/row 2, kolom/column indicator: indikator NOPE tidak dikenal"),
    ("KONFLIK,9999,2021,1\n", "baris/row 2, kolom/column region: wilayah 9999 tidak dikenal"),
    ("KONFLIK,6401,2021,lima\n", "baris/row 2, kolom/column value: 'lima' bukan angka"),
    ("KONFLIK,6401,2021,nan\n", "baris/row 2, kolom/column value: 'nan' bukan angka"),
    ("KONFLIK,6401,2021,1\nKONFLIK,6401,2021,2\n",
     "baris/row 3: KONFLIK/6401/2021 ganda (juga baris 2)"),
])
def test_bad_indicator_values_write_nothing_not_even_definitions(tmp_path: Path, body: str,
                                                                 problem: str):
    f.RegionFactory(code="6401")
    defs = write(tmp_path, "ind.json", json.dumps([IND]))
    values = write(tmp_path, "val.csv", VAL_HEADER + body)

    assert f"val.csv, {problem}" in fail("load_indicators", defs, values)
    assert m.Indicator.objects.count() == 0
    assert m.IndicatorValue.objects.count() == 0


def test_indicator_upsert(tmp_path: Path):
    f.RegionFactory(code="6401")
    defs = write(tmp_path, "ind.json", json.dumps([IND]))
    run("load_indicators", defs, write(tmp_path, "v.csv", VAL_HEADER + "KONFLIK,6401,2021,1.5\n"))
    defs2 = write(tmp_path, "ind2.json", json.dumps([{**IND, "unit": "per 10k"}]))

    out = run("load_indicators", defs2,
              write(tmp_path, "v2.csv", VAL_HEADER + "KONFLIK,6401,2021,2\nKONFLIK,6401,2022,3\n"))

    assert "ind2.json (indikator / indicators): 0 baru, 1 diubah" in out
    assert "1 new, 1 changed, 0 unchanged" in out
    assert m.Indicator.objects.get().unit == "per 10k"



def test_index_target_creates_the_index_indicator(tmp_path: Path):
    f.RegionFactory(code="6401")

    out = run("load_targets", write(tmp_path, "t.csv", TGT_HEADER + "INDEX,6401,2021,62\n"))

    assert "1 new, 0 changed, 0 unchanged" in out
    index = m.Indicator.objects.get(code="INDEX")
    assert (index.level, index.polarity) == ("index", "positive")
    assert m.Target.objects.get().target == 62.0


@pytest.mark.parametrize(("body", "problem"), [
    ("INDEX,6401,2021,0\n", "baris/row 2, kolom/column target: target 0 tidak sah"),
    ("NOPE,6401,2021,5\n", "baris/row 2, kolom/column indicator: indikator NOPE tidak dikenal"),
    ("INDEX,6401,2021,x\n", "baris/row 2, kolom/column target: 'x' bukan angka"),
    ("INDEX,6401,2021,60\nINDEX,6401,2021,61\n", "baris/row 3: INDEX/6401/2021 ganda"),
    ("INDEX,6499,2021,60\n", "baris/row 2, kolom/column region: wilayah 6499 tidak dikenal"),
])
def test_bad_targets(tmp_path: Path, body: str, problem: str):
    f.RegionFactory(code="6401")
    assert f"t.csv, {problem}" in fail("load_targets", write(tmp_path, "t.csv", TGT_HEADER + body))
    assert m.Target.objects.count() == 0
    assert not m.Indicator.objects.filter(code="INDEX").exists()


def test_small_loaders_accept_bom_and_crlf(tmp_path: Path):
    path = tmp_path / "regions.csv"
    path.write_bytes(b"\xef\xbb\xbfcode,name,level,parent\r\n64,Kalimantan Timur,province,\r\n"
                     b"6401,Paser,regency,64\r\n")

    assert "2 new, 0 changed, 0 unchanged" in run("load_regions", path)
    assert m.Region.objects.get(code="6401").parent.code == "64"
