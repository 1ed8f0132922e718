"""Instruments: load a versioned instrument JSON; look up published versions.

A published version never changes. Loading the same content again (same checksum over the
canonical JSON: key order and whitespace do not matter) is a no-op; different content under an
existing version number is refused, the user must publish a new version number.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_noop as _noop

from surveys import safejson
from surveys.language import both
from surveys.models import (
    Dimension,
    Facet,
    Instrument,
    InstrumentVersion,
    Item,
    ItemLink,
    LinkRelation,
)
from surveys.services.imports._common import (
    ErrorLog,
    ImportFailed,
    check_code,
    decode_utf8,
    file_label,
    read_bytes,
)

FACETS = tuple(Facet.values)
RESERVED_DIMENSION_CODES = frozenset({"INDEX", "ALL"})
DEFAULT_MIN_VALID_SHARE = 2 / 3
SCALE_MAX_LIMIT = 20  # answers are packed one byte per item; DB constraint allows up to 20

_TOP_KEYS = {"code", "version", "title", "scale", "min_valid_share", "dimensions", "links"}
_LINKS_KEYS = {"from_version", "items", "dropped"}
_LINK_KEYS = {"item", "relation", "from"}
LINK_RELATIONS = ("same", "reworded", "new")
_DIMENSION_KEYS = {"code", "name", "weight", "items"}
_ITEM_KEYS = {"code", "text", "reverse", "facet"}


class InstrumentNotFound(LookupError):
    pass


@dataclass(frozen=True)
class InstrumentLoadResult:
    version: InstrumentVersion
    created: bool
    #: ``explicit`` (a links section), ``implicit`` (kept item codes, see `_implicit_links`) or
    #: "" (version 1)
    links: str = ""

    def summary(self) -> str:
        v = self.version
        n_items = v.items.count()
        if self.created:
            # Translators: id: Diterbitkan
            published = both(_noop("published"))
            text = (
                f"{published}: {v.instrument.code} versi/version {v.version} "
                f"({v.dimensions.count()} dimensi/dimensions, {n_items} butir/items)"
            )
            if self.links:
                counts = {r: v.item_links.filter(relation=r).count()
                          for r in LinkRelation.values}
                if self.links == "implicit":
                    # Translators: id: tautan tersirat dari kode butir yang sama
                    how = both(_noop("implicit links from kept item codes"))
                else:
                    # Translators: id: tautan
                    how = both(_noop("links"))
                text += (f"; {how} ke versi/to version {v.version - 1}: "
                         + ", ".join(f"{r} {n}" for r, n in counts.items()))
            return text
        # Translators: id: Tidak ada perubahan
        nothing = both(_noop("nothing changed"))
        # Translators: id: sudah dimuat dengan isi yang sama
        same = both(_noop("already loaded with the same content"))
        return f"{nothing}: {v.instrument.code} versi/version {v.version} {same}"


def instrument_checksum(document: dict[str, Any]) -> str:
    """SHA-256 over the canonical JSON of an instrument document."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _number(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_keys(obj: dict, allowed: set[str], where: str, log: ErrorLog) -> None:
    for key in sorted(set(obj) - allowed):
        # Translators: id: isian tidak dikenal '{key}'
        log.add(_noop("unknown field '{key}'"), key=key, field=f"{where}.{key}" if where else key)


def _check_bilingual(obj: Any, where: str, log: ErrorLog) -> None:
    """{id: non-empty text, en: text (optional)}."""
    if not isinstance(obj, dict) or not _text(obj.get("id")):
        # Translators: id: harus berupa {id, en} dengan teks id
        log.add(_noop("must be {id, en} with an id text"), field=where)
        return
    if "en" in obj and not isinstance(obj["en"], str):
        # Translators: id: teks en harus berupa string
        log.add(_noop("en text must be a string"), field=f"{where}.en")
    _check_keys(obj, {"id", "en"}, where, log)


def _check_labels(labels: Any, points: int, log: ErrorLog) -> None:
    """Scale labels: none (an unlabelled numeric scale) or one per point, nothing in between.

    ``{"id": [], "en": []}`` (or ``en`` absent) declares an unlabelled scale. Otherwise ``id``
    has exactly one label per scale point and ``en`` is either one per point too or absent /
    empty (not translated: English output falls back to the Indonesian labels). English labels
    without Indonesian ones, and a list with some points unlabelled, are refused.
    """
    if not isinstance(labels, dict) or "id" not in labels:
        # Translators: id: label skala {id, en} wajib diisi (daftar kosong untuk skala tanpa label)
        log.add(_noop("scale labels {id, en} are required (empty lists for an unlabelled scale)"),
                field="scale.labels")
        return
    _check_keys(labels, {"id", "en"}, "scale.labels", log)
    counts: dict[str, int] = {}
    for lang in ("id", "en"):
        if lang not in labels:
            continue
        items = labels[lang]
        if not isinstance(items, list) or not all(_text(x) for x in items):
            # Translators: id: label harus daftar teks
            log.add(_noop("labels must be a list of texts"), field=f"scale.labels.{lang}")
        elif items and len(items) != points:
            # Translators: id: {items} label untuk {points} titik skala: beri satu label per titik
            #   atau kosongkan daftar (skala tanpa label)
            log.add(_noop("{items} labels for {points} scale points: give one label per point or "
                          "leave the list empty (an unlabelled scale)"), items=len(items),
                    points=points, field=f"scale.labels.{lang}")
        else:
            counts[lang] = len(items)
    if counts.get("id") == 0 and counts.get("en", 0) > 0:
        # Translators: id: label en tanpa label id: skala tanpa label mengosongkan keduanya
        log.add(_noop("en labels without id labels: an unlabelled scale leaves both empty"),
                field="scale.labels.id")


def instrument_validate(document: Any, log: ErrorLog) -> None:
    """Report every problem of an instrument document in `log`."""
    if not isinstance(document, dict):
        # Translators: id: dokumen harus berupa objek JSON
        log.add(_noop("document must be a JSON object"))
        return
    _check_keys(document, _TOP_KEYS, "", log)
    # Translators: id: kode
    check_code(document.get("code"), log, what=_noop("code"), max_length=40, field="code")
    version = document.get("version")
    if not _int(version) or version < 1:
        # Translators: id: versi harus bilangan bulat >= 1
        log.add(_noop("version must be an integer >= 1"), field="version")
    _check_bilingual(document.get("title"), "title", log)

    scale = document.get("scale")
    if not isinstance(scale, dict):
        # Translators: id: skala wajib diisi
        log.add(_noop("scale is required"), field="scale")
    else:
        _check_keys(scale, {"min", "max", "labels"}, "scale", log)
        lo, hi = scale.get("min"), scale.get("max")
        if not (_int(lo) and _int(hi)):
            # Translators: id: min dan max skala harus bilangan bulat
            log.add(_noop("scale min and max must be integers"), field="scale")
        elif not 0 <= lo < hi <= SCALE_MAX_LIMIT:
            # Translators: id: skala harus 0 <= min < max <= {scale_max_limit} (min {lo}, max {hi})
            log.add(_noop("scale must have 0 <= min < max <= {scale_max_limit} (min {lo}, max "
                          "{hi})"), scale_max_limit=SCALE_MAX_LIMIT, lo=lo, hi=hi, field="scale")
        else:
            _check_labels(scale.get("labels"), hi - lo + 1, log)

    share = document.get("min_valid_share", DEFAULT_MIN_VALID_SHARE)
    if not _number(share) or not 0 < share <= 1:
        # Translators: id: min_valid_share harus dalam (0, 1]
        log.add(_noop("min_valid_share must be in (0, 1]"), field="min_valid_share")

    dimensions = document.get("dimensions")
    if not isinstance(dimensions, list) or not dimensions:
        # Translators: id: daftar dimensi wajib diisi
        log.add(_noop("a non-empty list of dimensions is required"), field="dimensions")
        return
    dim_codes: set[str] = set()
    item_codes: dict[str, str] = {}
    for d, dim in enumerate(dimensions):
        where = f"dimensions[{d}]"
        if not isinstance(dim, dict):
            # Translators: id: dimensi harus berupa objek
            log.add(_noop("a dimension must be an object"), field=where)
            continue
        _check_keys(dim, _DIMENSION_KEYS, where, log)
        dcode = dim.get("code")
        # Translators: id: kode dimensi
        if not check_code(dcode, log, what=_noop("dimension code"), max_length=20,
                          field=f"{where}.code"):
            pass  # reported
        elif dcode in RESERVED_DIMENSION_CODES:
            # Translators: id: kode dimensi {dcode} dicadangkan
            log.add(_noop("dimension code {dcode} is reserved"), dcode=dcode, field=f"{where}.code")
        elif dcode in dim_codes:
            # Translators: id: kode dimensi {dcode} ganda
            log.add(_noop("duplicate dimension code {dcode}"), dcode=dcode, field=f"{where}.code")
        else:
            dim_codes.add(dcode)
        _check_bilingual(dim.get("name"), f"{where}.name", log)
        weight = dim.get("weight")
        if not _number(weight) or weight <= 0:
            # Translators: id: bobot harus angka > 0
            log.add(_noop("weight must be a number > 0"), field=f"{where}.weight")
        items = dim.get("items")
        if not isinstance(items, list) or not items:
            # Translators: id: daftar butir wajib diisi
            log.add(_noop("a non-empty list of items is required"), field=f"{where}.items")
            continue
        for i, item in enumerate(items):
            iwhere = f"{where}.items[{i}]"
            if not isinstance(item, dict):
                # Translators: id: butir harus berupa objek
                log.add(_noop("an item must be an object"), field=iwhere)
                continue
            _check_keys(item, _ITEM_KEYS, iwhere, log)
            icode = item.get("code")
            # Translators: id: kode butir
            if not check_code(icode, log, what=_noop("item code"), max_length=40,
                              field=f"{iwhere}.code"):
                pass  # reported
            elif icode in item_codes:
                # Translators: id: kode butir {icode} ganda (juga {item_codes})
                log.add(_noop("duplicate item code {icode} (also {item_codes})"), icode=icode,
                        item_codes=item_codes[icode], field=f"{iwhere}.code")
            else:
                item_codes[icode] = iwhere
            _check_bilingual(item.get("text"), f"{iwhere}.text", log)
            if not isinstance(item.get("reverse", False), bool):
                # Translators: id: reverse harus true atau false
                log.add(_noop("reverse must be true or false"), field=f"{iwhere}.reverse")
            if item.get("facet") not in FACETS:
                # Translators: id: facet harus salah satu dari {facets}
                log.add(_noop("facet must be one of {facets}"), facets=', '.join(FACETS),
                        field=f"{iwhere}.facet")


def instrument_load(*, path: Path) -> InstrumentLoadResult:
    """Validate an instrument JSON file and publish it as a new instrument version.

    Raises ImportFailed listing every problem, or when the version number is already
    published with different content.
    """
    log = ErrorLog(file_label(path))
    data = read_bytes(path, log)
    text = decode_utf8(data, log) if data is not None else None
    document: Any = None
    if text is not None:
        if not text.strip():
            # Translators: id: berkas kosong
            log.add(_noop("empty file"))
        else:
            try:
                document = safejson.loads(text)
            except json.JSONDecodeError as exc:
                # Translators: id: JSON tidak sah: {msg} (kolom {colno})
                log.add(_noop("invalid JSON: {msg} (column {colno})"), msg=exc.msg, colno=exc.colno,
                        row=exc.lineno)
            except safejson.JSONRejected as exc:  # too deep, NUL, lone surrogate
                log.add(exc.msgid, **exc.params)
    if document is not None:
        instrument_validate(document, log)
    log.raise_if_any()
    return instrument_version_publish(document=document, label=log.label)


def instrument_version_publish(*, document: dict[str, Any], label: str = "instrument"
                               ) -> InstrumentLoadResult:
    """Publish an already validated instrument document (idempotent on identical content)."""
    checksum = instrument_checksum(document)
    code, number = document["code"], document["version"]
    title = document["title"]
    scale = document["scale"]
    with transaction.atomic():
        instrument, _ = Instrument.objects.select_for_update().get_or_create(
            code=code, defaults={"title_id": title["id"], "title_en": title.get("en", "")}
        )
        existing = InstrumentVersion.objects.filter(instrument=instrument, version=number).first()
        if existing is not None:
            if existing.checksum == checksum:
                return InstrumentLoadResult(existing, created=False)
            raise ImportFailed([
                f"{label}: {code} versi {number} sudah diterbitkan dengan isi berbeda; versi "
                f"yang terbit tidak pernah diubah, terbitkan dengan nomor versi baru / "
                f"{code} version {number} is already published with different content; a "
                f"published version never changes, publish it under a new version number"
            ])
        previous = instrument.versions.filter(version=number - 1).first()
        log = ErrorLog(label)
        plan = links_validate(document, previous, log)
        log.raise_if_any()
        latest = instrument.versions.order_by("-version").values_list("version", flat=True)
        if not latest.exists() or number > latest[0]:
            instrument.title_id = title["id"]
            instrument.title_en = title.get("en", "")
            instrument.save(update_fields=["title_id", "title_en"])
        version = InstrumentVersion.objects.create(
            instrument=instrument, version=number, title_id=title["id"],
            title_en=title.get("en", ""), scale_min=scale["min"], scale_max=scale["max"],
            labels_id=list(scale["labels"]["id"]), labels_en=list(scale["labels"].get("en", [])),
            min_valid_share=document.get("min_valid_share", DEFAULT_MIN_VALID_SHARE),
            checksum=checksum,
        )
        position = 0
        items: list[Item] = []
        for d, dim in enumerate(document["dimensions"]):
            dimension = Dimension.objects.create(
                version=version, code=dim["code"], name_id=dim["name"]["id"],
                name_en=dim["name"].get("en", ""), weight=dim["weight"], position=d,
            )
            for item in dim["items"]:
                items.append(Item(
                    version=version, dimension=dimension, code=item["code"],
                    text_id=item["text"]["id"], text_en=item["text"].get("en", ""),
                    reverse=item.get("reverse", False), facet=item["facet"], position=position,
                ))
                position += 1
        Item.objects.bulk_create(items)
        kind = ""
        if previous is not None:
            kind = "explicit" if "links" in document else "implicit"
            _store_links(version, previous, plan)
    return InstrumentLoadResult(version, created=True, links=kind)


# --- links to the previous version (issue 12 part 2, docs/INTERFACE-extensions.md) ------------


@dataclass(frozen=True)
class _Links:
    """Validated links: item code -> (relation, predecessor code or None); dropped codes."""

    items: dict[str, tuple[str, str | None]]
    dropped: tuple[str, ...]


def _doc_items(document: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    return {it["code"]: (dim["code"], it) for dim in document["dimensions"]
            for it in dim["items"]}


def _implicit_links(document: dict[str, Any], previous: InstrumentVersion) -> _Links:
    """Without a ``links`` section an item continues the item of version N-1 with the same code
    as ``same`` when its dimension, reverse flag, Indonesian text and the scale are unchanged
    (METHODS 1: a new version keeps the codes of items that did not change); every other item
    is ``new`` and every other item of N-1 ``dropped``."""
    before = {i.code: i for i in previous.items.select_related("dimension")}
    scale_kept = (document["scale"]["min"], document["scale"]["max"]) == (
        previous.scale_min, previous.scale_max)
    items: dict[str, tuple[str, str | None]] = {}
    for code, (dim, it) in _doc_items(document).items():
        old = before.get(code)
        same = (old is not None and scale_kept and old.dimension.code == dim
                and old.reverse == it.get("reverse", False) and old.text_id == it["text"]["id"])
        items[code] = ("same", code) if same else ("new", None)
    linked = {p for _, p in items.values() if p is not None}
    return _Links(items, tuple(c for c in before if c not in linked))


def links_validate(document: dict[str, Any], previous: InstrumentVersion | None,
                   log: ErrorLog) -> _Links | None:
    """Check the ``links`` section of version N against the published version N-1.

    Every problem is reported in ``log`` with the field it is in; returns the links (explicit,
    or implicit when the section is absent and N-1 exists), None for a first version."""
    number = document["version"]
    links = document.get("links")
    if links is None:
        return _implicit_links(document, previous) if previous is not None else None
    if number == 1:
        # Translators: id: versi 1 tidak mempunyai versi sebelumnya untuk ditautkan
        log.add(_noop("version 1 has no previous version to link to"), field="links")
        return None
    if previous is None:
        # Translators: id: versi {number} belum diterbitkan: muat versi sebelumnya dulu
        log.add(_noop("version {number} has not been published: load the previous version first"),
                number=number - 1, field="links")
        return None
    if not isinstance(links, dict):
        # Translators: id: links harus berupa objek {from_version, items, dropped}
        log.add(_noop("links must be an object {from_version, items, dropped}"), field="links")
        return None
    _check_keys(links, _LINKS_KEYS, "links", log)
    if "from_version" in links and links["from_version"] != number - 1:
        # Translators: id: from_version harus {number} (versi sebelumnya)
        log.add(_noop("from_version must be {number} (the previous version)"), number=number - 1,
                field="links.from_version")
    before = {i.code: i for i in previous.items.select_related("dimension")}
    current = _doc_items(document)
    scale_kept = (document["scale"]["min"], document["scale"]["max"]) == (
        previous.scale_min, previous.scale_max)
    entries = links.get("items")
    if not isinstance(entries, list):
        # Translators: id: links.items harus berupa daftar
        log.add(_noop("links.items must be a list"), field="links.items")
        entries = []
    items: dict[str, tuple[str, str | None]] = {}
    where_item: dict[str, str] = {}
    where_from: dict[str, str] = {}
    for k, entry in enumerate(entries):
        where = f"links.items[{k}]"
        if not isinstance(entry, dict):
            # Translators: id: tautan harus berupa objek {item, relation, from}
            log.add(_noop("a link must be an object {item, relation, from}"), field=where)
            continue
        _check_keys(entry, _LINK_KEYS, where, log)
        code, relation, source = entry.get("item"), entry.get("relation"), entry.get("from")
        ok = True
        if not isinstance(code, str) or code not in current:
            # Translators: id: butir {code!r} tidak ada di versi {number}
            log.add(_noop("item {code!r} is not in version {number}"), code=code, number=number,
                    field=f"{where}.item")
            ok = False
        elif code in where_item:
            # Translators: id: butir {code} ditautkan dua kali (juga {where_item})
            log.add(_noop("item {code} is linked twice (also {where_item})"), code=code,
                    where_item=where_item[code], field=f"{where}.item")
            ok = False
        else:
            where_item[code] = where
        if relation not in LINK_RELATIONS:
            # Translators: id: relation harus salah satu dari {link_relations}
            log.add(_noop("relation must be one of {link_relations}"),
                    link_relations=', '.join(LINK_RELATIONS), field=f"{where}.relation")
            continue
        if relation == "new":
            if source is not None:
                # Translators: id: butir baru tidak mempunyai 'from'
                log.add(_noop("a new item has no 'from'"), field=f"{where}.from")
            elif ok:
                items[code] = ("new", None)
            continue
        if not isinstance(source, str) or source not in before:
            # Translators: id: butir {source!r} tidak ada di versi {number}
            log.add(_noop("item {source!r} is not in version {number}"), source=source,
                    number=number - 1, field=f"{where}.from")
            continue
        if source in where_from:
            # Translators: id: butir {source} versi {number} ditautkan dua kali (juga {where_from})
            log.add(_noop("item {source} of version {number} is linked twice (also {where_from})"),
                    source=source, number=number - 1, where_from=where_from[source],
                    field=f"{where}.from")
            continue
        where_from[source] = where
        if not ok:
            continue
        dim, it = current[code]
        old = before[source]
        if old.dimension.code != dim:
            # Translators: id: butir tertaut harus tetap di dimensinya: {code} di {dim}, {source} di
            #   {code2}
            log.add(_noop("a linked item stays in its dimension: {code} is in {dim}, {source} in "
                          "{code2}"), code=code, dim=dim, source=source, code2=old.dimension.code,
                    field=f"{where}.from")
            continue
        if relation == "same":
            reasons = []  # lazy: translated into each language of the message
            if old.reverse != it.get("reverse", False):
                # Translators: id: arah (reverse) berbeda
                reasons.append(gettext_lazy("reverse keying differs"))
            if not scale_kept:
                # Translators: id: skala berbeda ({lo}..{hi})
                reasons.append(format_lazy(gettext_lazy("the scale differs ({lo}..{hi})"),
                                           lo=previous.scale_min, hi=previous.scale_max))
            if old.text_id != it["text"]["id"]:
                # Translators: id: teks id berbeda
                reasons.append(gettext_lazy("the id text differs"))
            if reasons:
                # Translators: id: tautan 'same' {code} <- {source} tidak sah: {reasons}
                #   (gunakan 'reworded' atau 'new')
                log.add(_noop("'same' link {code} <- {source} is not valid: {reasons} (use "
                              "'reworded' or 'new')"), code=code, source=source,
                        reasons=format_lazy("; ".join("{}" for _ in reasons), *reasons),
                        field=f"{where}.relation")
                continue
        items[code] = (relation, source)
    for code in current:
        if code not in where_item:
            # Translators: id: butir {code} tidak mempunyai tautan (same, reworded atau new)
            log.add(_noop("item {code} has no link entry (same, reworded or new)"), code=code,
                    field="links.items")
    dropped_raw = links.get("dropped", [])
    if not isinstance(dropped_raw, list):
        # Translators: id: links.dropped harus berupa daftar kode butir versi sebelumnya
        log.add(_noop("links.dropped must be a list of item codes of the previous version"),
                field="links.dropped")
        dropped_raw = []
    dropped: list[str] = []
    for k, code in enumerate(dropped_raw):
        where = f"links.dropped[{k}]"
        if not isinstance(code, str) or code not in before:
            # Translators: id: butir {code!r} tidak ada di versi {number}
            log.add(_noop("item {code!r} is not in version {number}"), code=code, number=number - 1,
                    field=where)
        elif code in where_from:
            # Translators: id: butir {code} dinyatakan dihapus tetapi ditautkan di {where_from}
            log.add(_noop("item {code} is listed as dropped but is linked in {where_from}"),
                    code=code, where_from=where_from[code], field=where)
        elif code in dropped:
            # Translators: id: butir {code} disebut dua kali
            log.add(_noop("item {code} is listed twice"), code=code, field=where)
        else:
            dropped.append(code)
    for code in before:
        if code not in where_from and code not in dropped:
            # Translators: id: butir {code} versi {number} tidak ditautkan dan tidak ada di
            #   links.dropped
            log.add(_noop("item {code} of version {number} is neither linked nor listed in "
                          "links.dropped"), code=code, number=number - 1, field="links.dropped")
    return _Links(items, tuple(dropped))


def _store_links(version: InstrumentVersion, previous: InstrumentVersion,
                 plan: _Links | None) -> None:
    if plan is None:
        return
    new_items = {i.code: i for i in version.items.all()}
    old_items = {i.code: i for i in previous.items.all()}
    rows = [ItemLink(version=version, item=new_items[code], relation=relation,
                     predecessor=old_items[source] if source is not None else None)
            for code, (relation, source) in plan.items.items()]
    rows += [ItemLink(version=version, item=None, predecessor=old_items[code],
                      relation=LinkRelation.DROPPED) for code in plan.dropped]
    ItemLink.objects.bulk_create(rows)


def instrument_version_get(*, code: str, version: int | None = None) -> InstrumentVersion:
    """The given version of instrument `code`, or its latest published version."""
    qs = InstrumentVersion.objects.select_related("instrument").filter(instrument__code=code)
    found = qs.filter(version=version).first() if version is not None else (
        qs.order_by("-version").first()
    )
    if found is None:
        what = f"{code} versi/version {version}" if version is not None else code
        # Translators: id: instrumen {what} belum dimuat
        raise InstrumentNotFound(both(_noop("instrument {what} has not been loaded"), what=what))
    return found
