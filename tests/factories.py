"""factory-boy factories for every model (one module, as the tests' single source)."""

from __future__ import annotations

import hashlib
import uuid

import factory
from django.utils import timezone

from surveys import models as m


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Region
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda i: f"{6401 + i}")
    name = factory.Sequence(lambda i: f"Kabupaten {i}")
    level = m.RegionLevel.REGENCY
    parent = None


class InstrumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Instrument
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda i: f"INS{i}")
    title_id = "Instrumen uji"
    title_en = "Test instrument"


class InstrumentVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.InstrumentVersion

    instrument = factory.SubFactory(InstrumentFactory)
    version = 1
    title_id = "Instrumen uji"
    title_en = "Test instrument"
    scale_min = 1
    scale_max = 5
    labels_id = ["Sangat tidak setuju", "Tidak setuju", "Netral", "Setuju", "Sangat setuju"]
    labels_en = ["Strongly disagree", "Disagree", "Neutral", "Agree", "Strongly agree"]
    min_valid_share = 2 / 3
    checksum = factory.Sequence(lambda i: hashlib.sha256(str(i).encode()).hexdigest())


class DimensionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Dimension

    version = factory.SubFactory(InstrumentVersionFactory)
    code = factory.Sequence(lambda i: f"S{i + 1}")
    name_id = factory.Sequence(lambda i: f"Sila {i + 1}")
    name_en = factory.Sequence(lambda i: f"Principle {i + 1}")
    weight = 1.0
    position = factory.Sequence(lambda i: i)


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Item

    dimension = factory.SubFactory(DimensionFactory)
    version = factory.SelfAttribute("dimension.version")
    code = factory.Sequence(lambda i: f"X_{i:02d}")
    text_id = factory.Sequence(lambda i: f"Pernyataan {i}")
    text_en = factory.Sequence(lambda i: f"Statement {i}")
    reverse = False
    facet = m.Facet.KOGNITIF
    position = factory.Sequence(lambda i: i)


class WaveFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Wave

    version = factory.SubFactory(InstrumentVersionFactory)
    instrument = factory.SelfAttribute("version.instrument")
    year = factory.Sequence(lambda i: 1950 + i % 250)
    status = m.WaveStatus.OPEN


class RespondentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Respondent

    panel_key = factory.Sequence(lambda i: f"R{i:08d}")


class ResponseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Response

    wave = factory.SubFactory(WaveFactory)
    respondent = factory.SubFactory(RespondentFactory)
    submission_id = factory.LazyFunction(uuid.uuid4)
    status = m.ResponseStatus.SUBMITTED
    source = m.ResponseSource.API
    region = factory.SubFactory(RegionFactory)
    sex = m.Sex.P
    age_group = m.AgeGroup.A25_34
    stratum = factory.SelfAttribute("region.code")
    psu = factory.LazyAttribute(lambda o: str(o.submission_id))
    base_weight = 1.0
    answers = b""
    content_hash = factory.LazyAttribute(lambda o: hashlib.sha256(o.answers).hexdigest())
    submitted_at = factory.LazyFunction(timezone.now)


class PopulationMarginFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.PopulationMargin

    year = 2021
    region = factory.SubFactory(RegionFactory)
    sex = m.Sex.L
    age_group = m.AgeGroup.A17_24
    population = 1000


class IndicatorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Indicator
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda i: f"IND_{i}")
    name_id = factory.Sequence(lambda i: f"Indikator {i}")
    name_en = factory.Sequence(lambda i: f"Indicator {i}")
    polarity = m.Polarity.POSITIVE
    level = m.IndicatorLevel.OUTCOME
    unit = "%"
    source = "Bappeda"


class IndicatorValueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.IndicatorValue

    indicator = factory.SubFactory(IndicatorFactory)
    region = factory.SubFactory(RegionFactory)
    year = 2021
    value = 50.0


class TargetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Target

    indicator = factory.SubFactory(IndicatorFactory)
    region = factory.SubFactory(RegionFactory)
    year = 2021
    target = 60.0


class IndexRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.IndexRun

    status = m.RunStatus.SUCCEEDED
    analysis_version = "test"


class EstimateResultFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.EstimateResult

    run = factory.SubFactory(IndexRunFactory)
    wave = factory.SubFactory(WaveFactory)
    region_code = "6401"
    dimension = "INDEX"
    n = 100
    n_eff = 80.0
    estimate = 62.5
    se = 1.5
    ci_low = 59.5
    ci_high = 65.5
    df = 90
    suppressed = False
    category = "tinggi"
