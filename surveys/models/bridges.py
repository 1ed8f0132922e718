"""Bridge estimates across instrument versions (issue 12 part 2, docs/DECISIONS.md 53-59).

A `BridgeResult` is the estimate of one region x dimension (or INDEX) of one wave scored on the
items it shares with the other versions of its series (`analysis.bridges`): published beside
the full-instrument estimate of the same wave, with the same estimator and the same
suppression rule (n < 30), and carrying the trend of a series that spans versions and the
change across a version boundary. Rewritten whole by every index run of the instrument.
"""

from __future__ import annotations

from django.db import models

from .results import _DomainEstimate


class BridgeResult(_DomainEstimate):
    wave = models.ForeignKey("surveys.Wave", on_delete=models.CASCADE, related_name="+")
    instrument = models.ForeignKey("surveys.Instrument", on_delete=models.CASCADE,
                                   related_name="+")
    region_code = models.CharField(max_length=20)
    dimension = models.CharField(max_length=20)
    #: the wave's own version, and the first and last version of its series
    version = models.PositiveIntegerField()
    from_version = models.PositiveIntegerField()
    to_version = models.PositiveIntegerField()
    #: the series (segment) of the dimension it belongs to, numbered from 1
    series = models.PositiveSmallIntegerField()
    linked_items = models.PositiveSmallIntegerField()
    #: the wave's linked item codes, comma-separated (INDEX: every dimension's)
    items = models.TextField()

    class Meta:
        ordering = ["wave__year", "dimension", "region_code"]
        constraints = [
            models.UniqueConstraint(fields=["wave", "region_code", "dimension", "series"],
                                    name="bridge_result_unique"),
        ]

    def __str__(self) -> str:
        return f"bridge {self.wave_id} {self.region_code} {self.dimension}: {self.estimate}"
