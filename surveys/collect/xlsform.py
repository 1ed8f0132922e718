"""An instrument version as an XLSForm for ODK Collect / KoboCollect (datafiles.xlsform)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO

from datafiles.xlsform import write_xlsform as write_sheets
from datafiles.xlsform import xlsform_sheets
from surveys.models import InstrumentVersion, Region, RegionLevel


def instrument_document(version: InstrumentVersion) -> dict[str, Any]:
    """The stored version in the INTERFACE instrument JSON shape."""
    dims = []
    for dim in version.dimensions.order_by("position").prefetch_related("items"):
        items = sorted(dim.items.all(), key=lambda item: item.position)
        dims.append({
            "code": dim.code, "name": {"id": dim.name_id, "en": dim.name_en},
            "weight": dim.weight,
            "items": [{"code": item.code, "text": {"id": item.text_id, "en": item.text_en},
                       "reverse": item.reverse, "facet": item.facet} for item in items],
        })
    return {
        "code": version.instrument.code, "version": version.version,
        "title": {"id": version.title_id, "en": version.title_en},
        "scale": {"min": version.scale_min, "max": version.scale_max,
                  "labels": {"id": list(version.labels_id), "en": list(version.labels_en)}},
        "min_valid_share": version.min_valid_share, "dimensions": dims,
    }


def survey_regions() -> list[tuple[str, str]]:
    """Regencies and cities an answer may name, by code."""
    levels = [RegionLevel.REGENCY, RegionLevel.CITY]
    return [(r.code, r.name) for r in Region.objects.filter(level__in=levels).order_by("code")]


def write_xlsform(version: InstrumentVersion, output: str | Path | BinaryIO, *,
                  year: int | None = None) -> dict[str, list[dict[str, Any]]]:
    """Write the XLSForm of ``version`` (for the wave ``year`` when given); returns its sheets."""
    sheets = xlsform_sheets(instrument_document(version), regions=survey_regions(), year=year)
    write_sheets(output, sheets)
    return sheets
