"""A small stored-results world shared by the API, chart and dashboard tests.

Province 64 with regencies 6401 (and its district 640101) and 6402; one instrument with waves
2021-2023; estimates for ALL, 6401 and 6402 on INDEX and S1, where 6402's 2022 INDEX estimate is
suppressed (n = 25) but stored WITH numbers, so that a leak of the hidden values would show.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from rest_framework.authtoken.models import Token

from surveys import models as m
from tests import factories as f
from tests.longitudinal_world import add_longitudinal

YEARS = (2021, 2022, 2023)
BASE = {"ALL": 60.0, "6401": 62.0, "6402": 56.0}
HIDDEN_ESTIMATE = 55.123  # 6402 INDEX 2022, suppressed


def estimate_value(region: str, dimension: str, year: int) -> float:
    return BASE[region] + (year - 2021) * 1.5 + (0.25 if dimension == "S1" else 0.0)


@dataclass
class World:
    instrument: m.Instrument
    waves: dict[int, m.Wave]
    run: m.IndexRun
    konflik: m.Indicator
    sosialisasi: m.Indicator
    index_indicator: m.Indicator


def build_world() -> World:
    province = f.RegionFactory(code="64", name="Kalimantan Timur", level=m.RegionLevel.PROVINCE)
    paser = f.RegionFactory(code="6401", name="Paser", parent=province)
    kubar = f.RegionFactory(code="6402", name="Kutai Barat", parent=province)
    f.RegionFactory(code="640101", name="Batu Sopang", level=m.RegionLevel.DISTRICT, parent=paser)
    version = f.InstrumentVersionFactory(instrument=f.InstrumentFactory(code="IINP"))
    s1 = f.DimensionFactory(
        version=version, code="S1", name_id="Ketuhanan", name_en="Belief in God"
    )
    f.ItemFactory(dimension=s1, code="S1_01", position=0)
    # not WaveFactory: its year sequence is session-wide and would leave 1945..2200 after a
    # few hundred waves, breaking unrelated tests that rely on its default year
    waves = {
        year: m.Wave.objects.create(
            instrument=version.instrument, version=version, year=year,
            status=m.WaveStatus.CLOSED,
        )
        for year in YEARS
    }
    run = f.IndexRunFactory()
    for year, wave in waves.items():
        for region in BASE:
            for dimension in ("INDEX", "S1"):
                value = estimate_value(region, dimension, year)
                suppressed = region == "6402" and dimension == "INDEX" and year == 2022
                if suppressed:
                    value = HIDDEN_ESTIMATE
                f.EstimateResultFactory(
                    run=run, wave=wave, region_code=region, dimension=dimension,
                    n=25 if suppressed else 120, n_eff=20.5 if suppressed else 100.0,
                    estimate=value, se=1.25, ci_low=value - 2.5, ci_high=value + 2.5, df=40,
                    suppressed=suppressed, category="sedang" if value < 60 else "tinggi",
                )
        m.ReliabilityResult.objects.create(
            run=run, wave=wave, dimension="S1", n=300, k=6, alpha=0.81, alpha_std=0.82,
            alpha_ci_low=0.78, alpha_ci_high=0.84, omega_total=0.83,
        )
        m.ItemResult.objects.create(
            run=run, wave=wave, dimension="S1", item="S1_01", item_rest_r=0.55,
            alpha_if_deleted=0.79, mean=4.1, sd=0.8,
        )
        m.CfaResult.objects.create(
            run=run, wave=wave, n=290, chisq=410.5, df=395, cfi=0.98, tli=0.97, rmsea=0.02,
            srmr=0.04,
        )
    instrument = version.instrument
    for region in BASE:
        m.TrendResult.objects.create(
            run=run, instrument=instrument, region_code=region, dimension="INDEX",
            n_points=2 if region == "6402" else 3, first_wave=2021, last_wave=2023,
            sen_slope=1.5, kendall_tau=1.0, kendall_p=0.333, direction="none",
        )
    changes = [
        ("6401", 2021, 2022, True), ("6401", 2022, 2023, False), ("ALL", 2021, 2022, False),
        ("6402", 2021, 2023, False),
    ]
    for region, start, end, significant in changes:
        m.ChangeResult.objects.create(
            run=run, instrument=instrument, region_code=region, dimension="INDEX",
            from_wave=start, to_wave=end, delta=1.5 * (end - start), se=0.5 if significant else 1.8,
            z=3.0 if significant else 0.83, p=0.0027 if significant else 0.41,
            significant=significant, mdc=1.4 if significant else 5.04,
        )
    konflik = f.IndicatorFactory(
        code="KONFLIK_SARA", name_id="Insiden konflik SARA", name_en="Conflict incidents",
        polarity=m.Polarity.NEGATIVE, level=m.IndicatorLevel.OUTCOME, unit="per 100k",
        dimension_code="S3",
    )
    sosialisasi = f.IndicatorFactory(
        code="SOSIALISASI", name_id="Kegiatan sosialisasi Pancasila", name_en="Outreach events",
        level=m.IndicatorLevel.OUTPUT, unit="kegiatan",
    )
    index_indicator = f.IndicatorFactory(
        code="INDEX", name_id="Indeks internalisasi Pancasila", name_en="Pancasila index",
        level=m.IndicatorLevel.INDEX, unit="0-100",
    )
    for region, value in ((paser, 5.3), (kubar, 4.4)):
        f.IndicatorValueFactory(indicator=konflik, region=region, year=2021, value=value)
        f.IndicatorValueFactory(indicator=sosialisasi, region=region, year=2021, value=12.0)
        for year in YEARS:
            f.TargetFactory(indicator=index_indicator, region=region, year=year,
                            target=62.0 + (year - 2021))
    m.AchievementResult.objects.create(
        run=run, indicator=index_indicator, region_code="6401", year=2021, target=62.0,
        realisation=62.0, achievement_pct=100.0, met=True, met_with_confidence=False,
    )
    m.AchievementResult.objects.create(
        run=run, indicator=index_indicator, region_code="6402", year=2021, target=62.0,
        realisation=56.0, achievement_pct=56.0 / 62.0 * 100, met=False, met_with_confidence=False,
    )
    m.AchievementResult.objects.create(
        run=run, indicator=konflik, region_code="6401", year=2021, target=5.0, realisation=5.3,
        achievement_pct=94.0, met=False, met_with_confidence=None,
    )
    m.ProxyValidationResult.objects.create(
        run=run, indicator=konflik, n_pairs=20, spearman_rho=-0.52, spearman_p=0.019,
        pearson_r=-0.49, pearson_p=0.028, pearson_ci_low=-0.77, pearson_ci_high=-0.06,
        sign_ok=True, accepted=True,
    )
    _evaluation(run, waves, {"6401": paser, "6402": kubar})
    add_longitudinal(run, waves)
    _bridges(run, waves)
    return World(instrument, waves, run, konflik, sosialisasi, index_indicator)


def _evaluation(run: m.IndexRun, waves: dict[int, m.Wave], regions: dict[str, m.Region]) -> None:
    """Programme evaluation (shared by every reader) and small-area estimates (scoped like the
    estimates): the suppressed 6402 INDEX 2022 cell has a synthetic model estimate and no
    direct one."""
    for code, region in regions.items():
        programme = m.Programme.objects.create(
            code=f"P-{code}", region=region, type="dialog", start_year=2022, end_year=2022,
            name_id=f"Dialog {code}")
        m.ProgrammeEffectResult.objects.create(
            run=run, programme=programme, region_code=code, type="dialog", dimension="INDEX",
            start_year=2022, end_year=2022, pre_wave=2021, post_wave=2023, treated_change=3.5,
            treated_se=1.2, comparison_change=1.5, comparison_se=1.1, n_comparison=1, did=2.0,
            did_se=1.6, did_ci_low=-1.1, did_ci_high=5.1, p=0.21, mde=4.5, significant=False,
            status="ok")
    m.ProgrammeTypeResult.objects.create(run=run, type="dialog", k=2, fe_estimate=2.0, fe_se=1.1,
                                         re_estimate=2.0, re_se=1.1, tau2=0.0, i2=0.0, q=0.0,
                                         q_p=1.0)
    for wave in waves.values():
        for code in regions:
            est = m.EstimateResult.objects.get(wave=wave, region_code=code, dimension="INDEX")
            direct = None if est.suppressed else est.estimate
            m.SmallAreaResult.objects.create(
                run=run, wave=wave, region_code=code, covariate="KONFLIK_SARA", direct=direct,
                direct_se=None if direct is None else est.se,
                model_estimate=(direct if direct is not None else 57.0) + 0.25, model_se=1.5,
                gamma=0.0 if direct is None else 0.6, sigma2_u=3.0,
                method="synthetic" if direct is None else "eblup", n_areas=2, status="ok")


def make_user(username: str, role: str, *region_codes: str, password: str = "") -> AbstractBaseUser:
    user = get_user_model().objects.create_user(username=username, password=password or None)
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    for code in region_codes:
        m.RegionAssignment.objects.create(user=user, region=m.Region.objects.get(code=code))
    return user


def token_for(user: AbstractBaseUser) -> str:
    return Token.objects.create(user=user).key


def _bridges(run: m.IndexRun, waves: dict[int, m.Wave]) -> None:
    """Bridge estimates (issue 12 part 2) beside every estimate, the same numbers + 0.5 and the
    same suppressed cells stored WITH their hidden numbers (6402 INDEX 2022 out of the office's
    scope, 6401 S1 2023 inside it)."""
    for est in m.EstimateResult.objects.filter(wave__in=list(waves.values())):
        shift = 0.0 if est.suppressed else 0.5
        m.BridgeResult.objects.create(
            run=run, wave=est.wave, instrument=est.wave.instrument, region_code=est.region_code,
            dimension=est.dimension, version=1, from_version=1, to_version=2, series=1,
            linked_items=5, items="S1_01,S1_02,S1_03,S1_04,S1_05", n=est.n, n_eff=est.n_eff,
            estimate=est.estimate + shift, se=est.se, ci_low=est.ci_low + shift,
            ci_high=est.ci_high + shift, df=est.df, suppressed=est.suppressed,
            category=est.category)
