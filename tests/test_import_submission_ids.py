"""Derived submission ids of imported rows (surveys.ingest.fingerprint): UUID version 8 of the
respondent's and the wave's primary keys, sorting like (respondent, wave); imported rows store
none (it is derived when read); the API refuses ids of that form; rows stored with the uuid5 ids
of earlier versions re-import as "unchanged"."""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.management import call_command
from django.db import connection

from surveys import models as m
from surveys.ingest import (
    derived_submission_id,
    derived_submission_keys,
    is_derived_submission_id,
    panel_key_for,
)
from surveys.ingest.layout import layout_for_version
from tests import api_fixtures as fx
from tests.api_fixtures import ITEM_CODES, payload, responses_url
from tests.import_files import responses_csv

world = fx.world
fresh_throttle_counters = fx.fresh_throttle_counters
enumerator_client = fx.enumerator_client
EN = fx.EN


#: The definition before the v8 ids (kept here as the reference for stored old ids):
#: uuid5(namespace, "instrument code:year:panel key").
OLD_NAMESPACE = uuid.UUID("8b6f1c52-3f4e-5a7b-9c1d-2e3f4a5b6c7d")


def _by_hand(respondent: int, wave: int) -> uuid.UUID:
    """The layout written out bit by bit from RFC 9562's field positions (independent of the
    module's shifts): 48 bits respondent | ver 1000 | 12 bits | var 10 | 62 bits, where the
    80 + 42 free bits after the respondent are wave (32 bits) then the tag "Nilai" (42 bits)."""
    free = f"{respondent:048b}{wave:032b}{int.from_bytes(b'Nilai', 'big'):042b}"
    assert len(free) == 122
    bits = free[:48] + "1000" + free[48:60] + "10" + free[60:]
    return uuid.UUID(int=int(bits, 2))


# ------------------------------------------------------------------------- the definition


@pytest.mark.parametrize("respondent,wave", [
    (0, 0), (1, 1), (42, 7), (387_541, 5), (2**48 - 1, 2**32 - 1), (2**47 + 3, 2**20),
    (5, 2**20 - 1), (123_456_789_012, 4_000_000_000)])
def test_scalar_layout_matches_rfc_9562_field_positions(respondent, wave):
    value = derived_submission_id(respondent, wave)

    assert value == _by_hand(respondent, wave)
    assert value.version == 8
    assert value.variant == uuid.RFC_4122
    assert value.bytes[:6] == respondent.to_bytes(6, "big")
    assert value.bytes[-5:] == b"Nilai"
    assert is_derived_submission_id(value)
    assert derived_submission_keys(value) == (respondent, wave)


def test_other_uuids_are_not_derived():
    assert not is_derived_submission_id(uuid.uuid4())
    assert not is_derived_submission_id(uuid.uuid5(OLD_NAMESPACE, "IINP:2021:R1"))
    derived = derived_submission_id(10, 20)
    untagged = uuid.UUID(bytes=derived.bytes[:-1] + b"j")  # a v8 id of someone else
    assert untagged.version == 8
    assert not is_derived_submission_id(untagged)
    assert derived_submission_keys(untagged) is None


@pytest.mark.parametrize("respondent,wave", [(-1, 1), (2**48, 1), (1, -1), (1, 2**32)])
def test_keys_outside_the_layout_are_refused(respondent, wave):
    with pytest.raises(ValueError, match="no derived submission id"):
        derived_submission_id(respondent, wave)
    with pytest.raises(ValueError, match="no derived submission id"):
        derived_submission_id(respondent * 2**70, wave * 2**70)


def test_ids_sort_bytewise_like_respondent_then_wave():
    """PostgreSQL compares uuid bytewise (memcmp; SQLite stores 32 hex digits, same order)."""
    rng = np.random.default_rng(7)
    respondent = rng.integers(0, 2**48, size=3_000, dtype=np.int64)
    respondent[::3] = respondent[1::3]  # shared respondents: the wave decides
    respondent[:40] = rng.integers(0, 50, size=40)
    wave = rng.integers(0, 2**32, size=3_000, dtype=np.int64)
    wave[:40] = rng.integers(0, 2**20 + 5, size=40)
    pairs = sorted(set(zip(respondent.tolist(), wave.tolist(), strict=True)))
    ids = [derived_submission_id(r, w) for r, w in pairs]

    assert sorted(ids, key=lambda u: u.bytes) == ids
    assert sorted(u.hex for u in ids) == [u.hex for u in ids]


# ------------------------------------------------------------------------- in the database


def _csv(tmp_path: Path, rows: list[dict[str, Any]], name: str = "responses.csv") -> Path:
    return responses_csv(tmp_path, rows, ITEM_CODES, name)


def _import(path: Path) -> str:
    out = io.StringIO()
    call_command("import_responses", path, "--instrument", "IINP", stdout=out)
    return out.getvalue()


def _rows(n: int, years: tuple[int, ...] = (2025,)) -> list[dict[str, Any]]:
    return [dict(payload(respondent=f"K-{i:03d}", stratum="S", psu=f"P{i % 4}",
                         base_weight=1.0 + i), wave=year)
            for i in range(n) for year in years]


@pytest.fixture(autouse=True)
def _fresh_throttle_counters(fresh_throttle_counters: None) -> None:
    """Every test starts with empty throttle counters (tests.api_fixtures)."""


@pytest.mark.django_db
def test_imported_rows_have_derived_ids_not_stored_in_row_order(world, tmp_path):
    """A file without ids stores none (NULL, outside the partial unique index): each row's id
    is the derived one of its keys; the rows are written in (respondent, wave year) order."""
    assert "60 new" in _import(_csv(tmp_path, _rows(20, (2023, 2024, 2025))))

    stored = list(m.Response.objects.order_by("id").select_related("wave"))
    assert len(stored) == 60
    for r in stored:
        assert r.submission_id is None
        assert r.effective_submission_id == derived_submission_id(r.respondent_id, r.wave_id)
    # the rows were written in (respondent, wave year) order (the primary key follows it;
    # the world's wave 2025 was created before the import created 2023 and 2024)
    pairs = [(r.respondent_id, r.wave.year) for r in stored]
    assert pairs == sorted(pairs)
    # an API submission still gets its own id, and ids given by a field export are kept
    assert len({r.effective_submission_id for r in stored}) == 60


@pytest.mark.django_db
def test_rows_written_in_many_blocks_are_the_rows_of_the_file(world, tmp_path, monkeypatch):
    """The import writes its rows block by block (each block put in order in a thread ahead
    of the write): with tiny blocks every stored row still has its own fields and answers
    (the scalar fingerprint computed from the stored row is that of its line of the file),
    its own derived id, no stored fingerprint, and the rows follow (respondent, wave)."""
    from surveys.ingest import content_hash
    from surveys.services.imports import responses as module
    from surveys.services.submissions import stored_fingerprint

    monkeypatch.setattr(module, "_COPY_FIRST_CHUNK", 2)
    monkeypatch.setattr(module, "_COPY_CHUNK", 3)
    rows = _rows(7, (2023, 2024, 2025))
    for i, row in enumerate(rows):  # answers differ from row to row
        row["answers"] = {code: 1 + (i + j) % 5 for j, code in enumerate(ITEM_CODES)}
    assert "21 new" in _import(_csv(tmp_path, rows))

    stored = list(m.Response.objects.order_by("id").select_related(
        "region", "respondent", "wave__version"))
    assert [(r.respondent_id, r.wave.year) for r in stored] == sorted(
        (r.respondent_id, r.wave.year) for r in stored)
    given = {(panel_key_for(row["respondent"]), row["wave"]): row for row in rows}
    keys = {r.respondent_id: r.respondent.panel_key for r in stored}
    assert len(set(keys.values())) == 7
    for r in stored:
        assert r.submission_id is None
        assert r.effective_submission_id == derived_submission_id(r.respondent_id, r.wave_id)
        line = given[(keys[r.respondent_id], r.wave.year)]
        assert r.content_hash == ""
        assert stored_fingerprint(r, layout_for_version(r.wave.version)) == content_hash(
            {"region": line["region"], "sex": line["sex"], "age_group": line["age_group"],
             "stratum": line["stratum"], "psu": line["psu"],
             "base_weight": float(line["base_weight"]), "probability_sample": True,
             "status": "submitted"}, line["answers"])
    # each stored row carries the answers of its own line of the file
    by_line = sorted(tuple(row["answers"][c] for c in ITEM_CODES) for row in given.values())
    assert sorted(tuple(bytes(r.answers)) for r in stored) == by_line


@pytest.mark.django_db
@pytest.mark.parametrize("lang,words", [("en", "reserves for imported responses"),
                                        ("id", "dicadangkan Nilai untuk respons hasil impor")])
def test_the_api_refuses_ids_of_the_derived_form(world, enumerator_client, tmp_path, lang,
                                                  words):
    """An id of the derived form is refused (400 on the field), whether it is an imported
    row's or one no import has written yet (a later import would then have failed whole); a
    random id is accepted."""
    _import(_csv(tmp_path, _rows(3)))
    imported = m.Response.objects.select_related("respondent").get(
        respondent__panel_key="K-001")
    url = responses_url(world["wave"])
    respondent = m.Respondent.objects.order_by("-pk").first()
    unused = derived_submission_id(respondent.pk + 1, world["wave"].pk)
    for taken in (imported.effective_submission_id, unused):
        body = payload(respondent="K-900", submission_id=str(taken))
        r = enumerator_client.post(url, body, format="json", HTTP_ACCEPT_LANGUAGE=lang)
        assert r.status_code == 400, r.json()
        assert words in r.json()["errors"]["submission_id"][0]
    assert enumerator_client.post(url, payload(respondent="K-900"),
                                  format="json").status_code == 201
    assert m.Response.objects.count() == 4


@pytest.mark.django_db
def test_reimport_over_rows_with_old_uuid5_ids_is_a_noop(world, tmp_path):
    rows = _rows(15, (2024, 2025))
    path = _csv(tmp_path, rows)
    assert "30 new" in _import(path)
    # the rows as an earlier version stored them: uuid5 ids
    for response in m.Response.objects.select_related("respondent", "wave"):
        response.submission_id = uuid.uuid5(
            OLD_NAMESPACE, f"IINP:{response.wave.year}:{response.respondent.panel_key}")
        response.save(update_fields=["submission_id"])
    before = list(m.Response.objects.order_by("id").values_list(
        "id", "submission_id", "updated_at", "content_hash"))
    assert all(not is_derived_submission_id(s) and s.version == 5 for _, s, _, _ in before)

    out = _import(path)

    assert out.startswith("Tidak ada perubahan / nothing changed")
    assert "0 new, 30 unchanged, 0 replaced" in out
    assert list(m.Response.objects.order_by("id").values_list(
        "id", "submission_id", "updated_at", "content_hash")) == before
    # a new wave of the same respondents beside them has derived ids (not stored)
    assert "15 new, 30 unchanged" in _import(_csv(tmp_path, _rows(15, (2023, 2024, 2025)),
                                                  name="more.csv"))
    new = m.Response.objects.filter(wave__year=2023)
    assert all(r.submission_id is None and r.effective_submission_id == derived_submission_id(
        r.respondent_id, r.wave_id) for r in new)


@pytest.mark.django_db
def test_the_database_compares_uuids_bytewise(world):
    """The assumption the ordering rests on, asked of the database in use."""
    ids = [derived_submission_id(r, w) for r, w in
           [(1, 2**20), (1, 2**20 - 1), (2**40, 0), (255, 1), (256, 0), (0, 2**32 - 1)]]
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's uuid comparison")
    with connection.cursor() as cursor:
        cursor.execute("SELECT u FROM unnest(%s::uuid[]) AS u ORDER BY u", [ids])
        ordered = [row[0] for row in cursor.fetchall()]
    assert ordered == sorted(ids, key=lambda u: u.bytes)
    assert [derived_submission_keys(u) for u in ordered] == sorted(
        derived_submission_keys(u) for u in ids)

