from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class Instrument(models.Model):
    """A questionnaire, identified by a stable code (e.g. IINP); its content lives in versions."""

    code = models.CharField("kode", max_length=40, unique=True)
    title_id = models.CharField("judul (id)", max_length=300)
    title_en = models.CharField("judul (en)", max_length=300, blank=True, default="")

    class Meta:
        ordering = ["code"]
        verbose_name = "instrumen"
        verbose_name_plural = "instrumen"
        constraints = [models.CheckConstraint(condition=~Q(code=""), name="instrument_code_set")]

    def __str__(self) -> str:
        return self.code


class InstrumentVersion(models.Model):
    """One published version of an instrument. A published version never changes: a change to
    items, scale or weights is a new version (item codes are kept for unchanged items)."""

    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField("versi")
    title_id = models.CharField("judul (id)", max_length=300)
    title_en = models.CharField("judul (en)", max_length=300, blank=True, default="")
    scale_min = models.SmallIntegerField("skala minimum")
    scale_max = models.SmallIntegerField("skala maksimum")
    labels_id = models.JSONField("label skala (id)", default=list)
    labels_en = models.JSONField("label skala (en)", default=list)
    min_valid_share = models.FloatField("proporsi minimum jawaban sah", default=2 / 3)
    checksum = models.CharField("checksum isi", max_length=64)
    published_at = models.DateTimeField("diterbitkan", auto_now_add=True)

    class Meta:
        ordering = ["instrument__code", "version"]
        verbose_name = "versi instrumen"
        verbose_name_plural = "versi instrumen"
        constraints = [
            models.UniqueConstraint(
                fields=["instrument", "version"], name="instrument_version_unique"
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="instrument_version_gte_1"),
            models.CheckConstraint(
                condition=Q(scale_min__gte=0) & Q(scale_max__gt=F("scale_min"))
                & Q(scale_max__lte=20),
                name="instrument_scale_valid",
            ),
            models.CheckConstraint(
                condition=Q(min_valid_share__gt=0) & Q(min_valid_share__lte=1),
                name="instrument_min_valid_share_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument.code} v{self.version}"

    @property
    def scale_points(self) -> int:
        return self.scale_max - self.scale_min + 1


class Dimension(models.Model):
    version = models.ForeignKey(
        InstrumentVersion, on_delete=models.CASCADE, related_name="dimensions"
    )
    code = models.CharField("kode", max_length=20)
    name_id = models.CharField("nama (id)", max_length=200)
    name_en = models.CharField("nama (en)", max_length=200, blank=True, default="")
    weight = models.FloatField("bobot")
    position = models.PositiveSmallIntegerField("urutan")

    class Meta:
        ordering = ["version", "position"]
        verbose_name = "dimensi"
        verbose_name_plural = "dimensi"
        constraints = [
            models.UniqueConstraint(fields=["version", "code"], name="dimension_code_unique"),
            models.UniqueConstraint(
                fields=["version", "position"], name="dimension_position_unique"
            ),
            models.CheckConstraint(condition=Q(weight__gt=0), name="dimension_weight_positive"),
            models.CheckConstraint(
                condition=~Q(code="INDEX") & ~Q(code="ALL") & ~Q(code=""),
                name="dimension_code_not_reserved",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class Facet(models.TextChoices):
    KOGNITIF = "kognitif", "Pemahaman (kognitif)"
    AFEKTIF = "afektif", "Sikap (afektif)"
    PRAKTIK = "praktik", "Perilaku (praktik)"


class Item(models.Model):
    """A questionnaire item. `position` (0-based, over the whole version) is the item's byte
    offset in every Response.answers of a wave that uses this version."""

    version = models.ForeignKey(InstrumentVersion, on_delete=models.CASCADE, related_name="items")
    dimension = models.ForeignKey(Dimension, on_delete=models.CASCADE, related_name="items")
    code = models.CharField("kode", max_length=40)
    text_id = models.TextField("teks (id)")
    text_en = models.TextField("teks (en)", blank=True, default="")
    reverse = models.BooleanField("dibalik", default=False)
    facet = models.CharField("aspek", max_length=16, choices=Facet.choices)
    position = models.PositiveSmallIntegerField("urutan")

    class Meta:
        ordering = ["version", "position"]
        verbose_name = "butir"
        verbose_name_plural = "butir"
        constraints = [
            models.UniqueConstraint(fields=["version", "code"], name="item_code_unique"),
            models.UniqueConstraint(fields=["version", "position"], name="item_position_unique"),
            models.CheckConstraint(condition=Q(facet__in=Facet.values), name="item_facet_valid"),
            models.CheckConstraint(condition=~Q(code=""), name="item_code_not_empty"),
        ]

    def __str__(self) -> str:
        return self.code


class LinkRelation(models.TextChoices):
    """How an item of version N continues version N-1 (docs/INTERFACE-extensions.md)."""

    # Translators: id: Butir sama
    SAME = "same", _("Same item")
    # Translators: id: Redaksi diubah
    REWORDED = "reworded", _("Reworded item")
    # Translators: id: Butir baru
    NEW = "new", _("New item")
    # Translators: id: Butir dihapus
    DROPPED = "dropped", _("Dropped item")


class ItemLink(models.Model):
    """The link of one item of a version (N >= 2) to version N-1: ``same`` / ``reworded`` (item
    and predecessor set), ``new`` (item only) or ``dropped`` (predecessor only: an item of N-1
    that version N does not continue). Written with the version, never changed after."""

    version = models.ForeignKey(InstrumentVersion, on_delete=models.CASCADE,
                                related_name="item_links")
    item = models.OneToOneField(Item, on_delete=models.CASCADE, null=True, blank=True,
                                related_name="link")
    predecessor = models.ForeignKey(Item, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="successor_links")
    relation = models.CharField("hubungan", max_length=10, choices=LinkRelation.choices)

    class Meta:
        ordering = ["version", "id"]
        verbose_name = "tautan butir"
        verbose_name_plural = "tautan butir"
        constraints = [
            models.CheckConstraint(condition=Q(relation__in=LinkRelation.values),
                                   name="item_link_relation_valid"),
            models.CheckConstraint(
                condition=(Q(relation__in=["same", "reworded"], item__isnull=False,
                             predecessor__isnull=False)
                           | Q(relation="new", item__isnull=False, predecessor__isnull=True)
                           | Q(relation="dropped", item__isnull=True,
                               predecessor__isnull=False)),
                name="item_link_shape"),
            models.UniqueConstraint(fields=["version", "predecessor"],
                                    name="item_link_predecessor_once"),
        ]

    def __str__(self) -> str:
        return f"{self.version} {self.relation}"
