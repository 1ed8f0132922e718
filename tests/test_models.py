"""Database constraints hold the invariants even when code forgets them."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from surveys import models as m
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_every_factory_builds_a_valid_row():
    for factory in (
        f.RegionFactory, f.InstrumentFactory, f.InstrumentVersionFactory, f.DimensionFactory,
        f.ItemFactory, f.WaveFactory, f.RespondentFactory, f.ResponseFactory,
        f.PopulationMarginFactory, f.IndicatorFactory, f.IndicatorValueFactory, f.TargetFactory,
        f.IndexRunFactory, f.EstimateResultFactory,
    ):
        obj = factory()
        assert type(obj).objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize(
    "overrides",
    [{"base_weight": 0}, {"base_weight": -1.5}, {"sex": "X"}, {"age_group": "10-16"},
     {"psu": ""}, {"status": "submitted", "submitted_at": None}],
)
def test_response_constraints_reject_bad_rows(overrides):
    with pytest.raises(IntegrityError), transaction.atomic():
        f.ResponseFactory(**overrides)


def test_one_response_per_respondent_and_wave():
    first = f.ResponseFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        f.ResponseFactory(wave=first.wave, respondent=first.respondent, region=first.region)


def test_submission_id_is_unique_across_waves():
    first = f.ResponseFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        f.ResponseFactory(submission_id=first.submission_id)


def test_one_wave_per_instrument_and_year():
    wave = f.WaveFactory(year=2024)
    with pytest.raises(IntegrityError), transaction.atomic():
        m.Wave.objects.create(instrument=wave.instrument, version=wave.version, year=2024)


@pytest.mark.parametrize("scale", [(5, 1), (3, 3), (-1, 4)])
def test_scale_must_be_increasing_and_nonnegative(scale):
    with pytest.raises(IntegrityError), transaction.atomic():
        f.InstrumentVersionFactory(scale_min=scale[0], scale_max=scale[1])


def test_dimension_weight_positive_and_code_not_reserved():
    with pytest.raises(IntegrityError), transaction.atomic():
        f.DimensionFactory(weight=0)
    with pytest.raises(IntegrityError), transaction.atomic():
        f.DimensionFactory(code="INDEX")


def test_population_nonnegative_and_unique():
    cell = f.PopulationMarginFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        f.PopulationMarginFactory(population=-1, region=cell.region, year=2030)
    with pytest.raises(IntegrityError), transaction.atomic():
        f.PopulationMarginFactory(region=cell.region)


def test_index_indicator_code_is_reserved_for_the_index_level():
    with pytest.raises(IntegrityError), transaction.atomic():
        f.IndicatorFactory(code="INDEX", level=m.IndicatorLevel.OUTCOME)
    index = f.IndicatorFactory(code="INDEX", level=m.IndicatorLevel.INDEX)
    assert index.pk


def test_region_subtree_codes_walks_every_level():
    prov = f.RegionFactory(code="64", level=m.RegionLevel.PROVINCE)
    kab = f.RegionFactory(code="6401", parent=prov)
    kec = f.RegionFactory(code="640101", parent=kab, level=m.RegionLevel.DISTRICT)
    f.RegionFactory(code="6402", parent=prov)
    assert sorted(m.Region.objects.subtree_codes("6401")) == ["6401", kec.code]
    assert len(m.Region.objects.subtree_codes("64")) == 4
