"""`manage.py demo`: fresh database to a printed trend table, reproducible from the seed."""

from __future__ import annotations

from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command

from surveys import models as m
from surveys.selectors.weights import weighted_count
from surveys.services import demo

pytestmark = pytest.mark.django_db


def test_demo_end_to_end_prints_trend_table() -> None:
    out = StringIO()
    call_command("demo", "--respondents", "3000", "--seed", "5", stdout=out)
    text = out.getvalue()
    assert m.Wave.objects.filter(instrument__code="IINP").count() == 5
    assert 2950 <= m.Response.objects.count() <= 3000
    run = m.IndexRun.objects.get()
    assert run.status == m.RunStatus.SUCCEEDED
    assert "Wilayah / Region" in text and "KALTIM" in text and "Kota Samarinda" in text
    for year in range(2021, 2026):
        assert str(year) in text
    assert "▲*" in text and "responden < 30" in text
    # the office verdict (METHODS 6): first-to-latest change, never "no trend"
    assert "naik" in text and "tidak ada tren" not in text
    # programmes evaluated (every status), small areas filled by the model, labelled so
    assert "DiD" in text and "tanpa survei sebelum" in text and "tanpa pembanding" in text
    assert "estimasi model / model-based" in text
    statuses = set(m.ProgrammeEffectResult.objects.values_list("status", flat=True))
    assert statuses == {"ok", "no_pre", "no_post", "no_comparison"}
    assert m.SmallAreaResult.objects.filter(method="synthetic", status="ok").exists()
    # the panel (about half of each region's respondents answered the previous wave), its
    # within-person change and the invariance verdict of the version (issue 12)
    kept = m.RetentionResult.objects.filter(variable="all", region_code="ALL")
    assert kept.count() == 4 and all(35 <= r.retention_pct <= 65 for r in kept)
    assert m.PanelChangeResult.objects.filter(region_code="ALL", dimension="INDEX",
                                              suppressed=False).count() == 4
    # the last wave uses instrument version 2 (issue 12 part 2): invariance covers v1's
    # waves; the bridge carries the index across the version boundary on the linked items
    assert m.InvarianceResult.objects.filter(level="scalar", waves="2021,2022,2023,2024"
                                             ).exists()
    assert m.Wave.objects.get(year=2025).version.version == 2
    change = m.ChangeResult.objects.get(region_code="ALL", dimension="INDEX", to_wave=2025)
    assert change.basis == "linked" and change.delta is not None
    assert m.BridgeResult.objects.filter(region_code="ALL", dimension="INDEX").count() == 5
    assert "Jembatan versi / version bridge v1 2024 -> v2 2025" in text
    # both proxies validated, output indicators not; achievements against targets
    assert set(m.ProxyValidationResult.objects.values_list("indicator__code", flat=True)) == {
        "KONFLIK_SARA", "PARTISIPASI_MUSRENBANG"}
    assert m.AchievementResult.objects.filter(indicator__code="INDEX").exists()
    # running it again reuses the data
    again = StringIO()
    call_command("demo", "--respondents", "3000", stdout=again)
    assert "Data demo sudah ada" in again.getvalue()
    assert m.Response.objects.count() == weighted_count()


def test_generator_realism(settings) -> None:
    settings.NILAI_AUTO_RECOMPUTE = False
    demo.load_bundled()
    report = demo.demo_generate(respondents=5000, seed=3)
    # the middle wave of the smallest region is cut below 30 (the publication rule shows)
    assert 4950 <= report.responses <= 5000 and not report.skipped
    # a dozen programmes across the regions, one at the province, one on the overall index
    assert m.Programme.objects.count() == 12
    assert m.Programme.objects.filter(region__level=m.RegionLevel.PROVINCE).count() == 1
    assert m.Programme.objects.filter(dimension_code="").count() == 1
    rs = m.Response.objects.filter(wave__year=2021)
    # women and older people are over-represented against the margins (raking matters)
    share_p = rs.filter(sex="P").count() / rs.count()
    pop = m.PopulationMargin.objects.filter(year=2021)
    pop_p = sum(pop.filter(sex="P").values_list("population", flat=True)) / sum(
        pop.values_list("population", flat=True))
    assert share_p > pop_p + 0.1
    # a panel: about half of 2022's respondents answered in 2021
    keys21 = set(rs.values_list("respondent_id", flat=True))
    keys22 = set(m.Response.objects.filter(wave__year=2022).values_list("respondent_id",
                                                                          flat=True))
    assert 0.3 < len(keys21 & keys22) / len(keys22) < 0.6
    # clusters of about 10, item non-response about 3 %
    psu_sizes = list(rs.values_list("psu", flat=True))
    assert 8 <= len(psu_sizes) / len(set(psu_sizes)) <= 10
    blobs = np.frombuffer(b"".join(rs.values_list("answers", flat=True)), dtype=np.uint8)
    assert 0.02 < np.mean(blobs == 255) < 0.06
    # indicators and targets were loaded through the import services
    assert m.IndicatorValue.objects.filter(indicator__code="PASKIBRAKA_TAHAPAN").count() == 50
    assert m.Target.objects.filter(indicator__code="INDEX").count() == 50


def test_same_seed_same_data(settings) -> None:
    settings.NILAI_AUTO_RECOMPUTE = False
    demo.load_bundled()
    demo.demo_generate(respondents=1000, seed=9, years=(2021, 2022))
    first = list(m.Response.objects.order_by("respondent__panel_key", "wave__year")
                 .values_list("respondent__panel_key", "answers", "base_weight"))
    m.Response.objects.all().delete()
    m.IndicatorValue.objects.all().delete()
    m.Target.objects.all().delete()
    demo.demo_generate(respondents=1000, seed=9, years=(2021, 2022))
    second = list(m.Response.objects.order_by("respondent__panel_key", "wave__year")
                  .values_list("respondent__panel_key", "answers", "base_weight"))
    assert [(k, bytes(a), w) for k, a, w in first] == [(k, bytes(a), w) for k, a, w in second]
