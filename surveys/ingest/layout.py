"""The item layout of an instrument version, read from the database (the codec itself is the
pure `datafiles.answers`)."""

from __future__ import annotations

from datafiles.answers import ItemLayout
from surveys.models import InstrumentVersion

# Published instrument versions never change (a change is a new version with a new checksum),
# so their item layout is cached per process, keyed by id and content checksum.
_LAYOUTS: dict[tuple[int, str], ItemLayout] = {}


def layout_for_version(version: InstrumentVersion) -> ItemLayout:
    """Item codes in `Item.position` order and the scale of `version` (one query)."""
    codes = tuple(version.items.order_by("position").values_list("code", flat=True))
    return ItemLayout(codes=codes, scale_min=version.scale_min, scale_max=version.scale_max)


def layout_for(version: InstrumentVersion) -> ItemLayout:
    """`layout_for_version`, cached per process."""
    key = (version.pk, version.checksum)
    layout = _LAYOUTS.get(key)
    if layout is None:
        layout = layout_for_version(version)
        if layout.codes:
            _LAYOUTS[key] = layout
    return layout


def clear_caches() -> None:
    _LAYOUTS.clear()
