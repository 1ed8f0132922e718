"""Index runs: bookkeeping, atomic replacement, failure handling, --wave, progress, Celery."""

from __future__ import annotations

import io
from io import StringIO

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Sum

from surveys import models as m
from surveys.selectors.weights import wave_weights, weighted_count
from surveys.services import demo
from surveys.services.compute import compute_indices, queue_recompute, run_notices
from surveys.services.exports import iter_export
from surveys.tasks import compute_indices_task
from tests.factories import ResponseFactory

pytestmark = pytest.mark.django_db
YEARS = (2021, 2022, 2023)


@pytest.fixture
def survey(settings) -> None:
    """Bundled regions, instrument and margins, and three small synthetic waves."""
    settings.NILAI_AUTO_RECOMPUTE = False
    demo.load_bundled()
    demo.demo_generate(respondents=3000, seed=7, years=YEARS)


def _run_ids(model: type) -> set[int]:
    return set(model.objects.values_list("run_id", flat=True))


def test_run_stores_every_table_with_bookkeeping(survey: None) -> None:
    run = compute_indices()
    assert run.status == m.RunStatus.SUCCEEDED
    assert run.analysis_version
    assert len(run.input_checksum) == 64
    assert {"2021/read", "2021/weights", "2021/cfa", "trends", "write", "total"} <= set(
        run.timings)
    n_regions = 10
    # every region and ALL x S1..S5 + INDEX per wave
    assert m.EstimateResult.objects.count() == len(YEARS) * (n_regions + 1) * 6
    assert weighted_count() == m.Response.objects.count()
    assert m.WaveWeights.objects.count() == len(YEARS)
    assert m.ReliabilityResult.objects.count() == len(YEARS) * 5
    assert m.ItemResult.objects.count() == len(YEARS) * 30
    assert m.CfaResult.objects.count() == len(YEARS)
    published = set(m.EstimateResult.objects.filter(suppressed=False).values_list(
        "region_code", "dimension"))
    assert len(published) == (n_regions + 1) * 6
    assert m.TrendResult.objects.count() == len(published)
    assert m.ProxyValidationResult.objects.count() == 2
    assert m.AchievementResult.objects.exists()
    assert run.parameters["rows"]["estimates"] == m.EstimateResult.objects.count()
    # the small region-wave is suppressed and reported
    suppressed = m.EstimateResult.objects.filter(suppressed=True, dimension="INDEX")
    assert suppressed.filter(wave__year=2022, region_code="6411").exists()
    assert all(row.n < 30 for row in suppressed)
    assert any("n < 30" in msg["message"] for msg in run.messages)


def test_rerun_replaces_results_and_checksum_is_stable(survey: None) -> None:
    first = compute_indices()
    counts = {model: model.objects.count() for model in (m.EstimateResult, m.WaveWeights,
                                                         m.TrendResult, m.ChangeResult)}
    second = compute_indices()
    for model, count in counts.items():
        assert model.objects.count() == count
        assert _run_ids(model) == {second.pk}
    assert second.input_checksum == first.input_checksum
    # a changed input changes the fingerprint
    response = m.Response.objects.first()
    response.base_weight *= 2
    response.save()
    assert compute_indices().input_checksum != first.input_checksum


def _wave_rows(year: int) -> dict[str, list]:
    """The stored per-wave rows of one wave (ids, numbers and the run that wrote them)."""
    return {
        model.__name__: sorted(model.objects.filter(wave__year=year).values_list(
            *(["id", "run", "n"] + (["estimate"] if model is m.EstimateResult else []))))
        for model in (m.EstimateResult, m.ReliabilityResult, m.CfaResult, m.WaveWeights)
    }


def _skipped(run: m.IndexRun) -> list[dict]:
    return [msg for msg in run.messages if msg.get("skipped")]


@pytest.mark.parametrize("breakage", ["no margins", "empty raking cell"])
def test_a_bad_wave_is_skipped_keeps_its_results_and_the_others_update(
        survey: None, breakage: str) -> None:
    first = compute_indices()
    kept = _wave_rows(2022)
    if breakage == "no margins":
        m.PopulationMargin.objects.filter(year=2022).delete()
        reason = "no population margins for 2022 (load_population)"
    else:
        # every 2022 respondent of Kabupaten Paser is a woman: the region x sex cell of its
        # men has a population and no respondent, raking cannot fill it
        m.Response.objects.filter(wave__year=2022, region__code="6401").update(sex=m.Sex.P)
        reason = "population cell ('6401', 'L')"
    m.Response.objects.filter(wave__year=2021).update(base_weight=2.0)  # the good waves move
    run = compute_indices()
    assert run.status == m.RunStatus.SUCCEEDED
    assert run.parameters["skipped_waves"] == ["IINP 2022"]
    (msg,) = _skipped(run)
    assert msg["level"] == "error" and msg["wave"] == 2022 and msg["instrument"] == "IINP"
    assert msg["message"].startswith("IINP 2022: gelombang dilewati, hasil sebelumnya "
                                     "dipertahankan / wave skipped, previous results kept")
    assert reason in msg["message"]
    # the skipped wave keeps every previous row; the good waves were rewritten by this run
    assert _wave_rows(2022) == kept
    assert {row[1] for rows in kept.values() for row in rows} == {first.pk}
    for year in (2021, 2023):
        assert {row[1] for rows in _wave_rows(year).values() for row in rows} == {run.pk}
    # the series use what is stored: 2022's previous estimates take part in trends/changes
    trend = m.TrendResult.objects.get(region_code="ALL", dimension="INDEX")
    assert trend.run_id == run.pk and trend.n_points == 3
    assert m.ChangeResult.objects.filter(region_code="ALL", dimension="INDEX",
                                         to_wave=2022, run=run).exists()
    assert m.ProxyValidationResult.objects.filter(run=run).count() == 2


def test_skipped_waves_in_the_command_output_and_the_notices(survey: None) -> None:
    compute_indices()
    m.PopulationMargin.objects.filter(year=2023).delete()
    out = StringIO()
    call_command("compute_indices", stdout=out)
    text = out.getvalue()
    assert "berhasil" in text and "1 gelombang dilewati, hasil sebelumnya dipertahankan" in text
    assert "[error] IINP 2023: gelombang dilewati" in text and "load_population" in text
    run = m.IndexRun.objects.latest("id")
    (notice,) = run_notices()
    assert notice["wave"] == 2023 and notice["run"] == run.pk and "load_population" in (
        notice["message"])
    assert run_notices(instrument="OTHER") == []
    # a run of another wave decides nothing about 2023; one that computes 2023 clears it
    compute_indices(years=[2021])
    assert [n["wave"] for n in run_notices()] == [2023]
    demo.load_bundled()  # the bundled margins again
    compute_indices(years=[2023])
    assert run_notices() == []


def test_a_new_wave_without_margins_does_not_stop_the_others(survey: None) -> None:
    # a few API responses in a newly opened wave, for a year with no population margins yet
    compute_indices()
    version = m.InstrumentVersion.objects.get(instrument__code="IINP")
    wave = m.Wave.objects.create(instrument=version.instrument, version=version, year=2026)
    region = m.Region.objects.get(code="6472")
    for _ in range(3):
        ResponseFactory(wave=wave, region=region, answers=bytes([4] * 30))
    run = compute_indices()
    assert run.status == m.RunStatus.SUCCEEDED
    (msg,) = _skipped(run)
    assert msg["message"].startswith("IINP 2026: gelombang dilewati, belum ada hasil / wave "
                                     "skipped, no results yet: ")
    assert not m.EstimateResult.objects.filter(wave=wave).exists()
    assert set(m.EstimateResult.objects.values_list("run", flat=True)) == {run.pk}
    # the Celery task of that wave alone: nothing can be computed, the run fails, says why
    result = compute_indices_task.delay(wave_id=wave.pk).get()
    assert result["status"] == "failed"
    assert "no wave could be computed" in result["error"] and "2026" in result["error"]
    assert [n["wave"] for n in run_notices()] == [2026]


def test_missing_margins_of_every_wave_fail_the_command_with_a_clear_message(
        survey: None) -> None:
    m.PopulationMargin.objects.all().delete()
    with pytest.raises(CommandError, match="2021.*load_population"):
        call_command("compute_indices", stdout=StringIO())
    failed = m.IndexRun.objects.latest("id")
    assert failed.status == m.RunStatus.FAILED
    assert len(_skipped(failed)) == len(YEARS)
    assert failed.messages[-1]["level"] == "error"
    assert "no wave could be computed" in failed.messages[-1]["message"]
    assert not m.EstimateResult.objects.exists()
    # a failure for another reason is the dashboard's first notice
    m.IndexRun.objects.create(status=m.RunStatus.FAILED, messages=[
        {"level": "error", "message": "indikator/target: boom"}])
    assert run_notices()[0]["message"] == "indikator/target: boom"


def test_wave_option_recomputes_one_wave(survey: None) -> None:
    first = compute_indices()
    call_command("compute_indices", "--wave", "2022", stdout=StringIO())
    second = m.IndexRun.objects.latest("id")
    assert second.status == m.RunStatus.SUCCEEDED and second.pk != first.pk
    by_year = dict(m.EstimateResult.objects.values_list("wave__year", "run").distinct())
    assert by_year == {2021: first.pk, 2022: second.pk, 2023: first.pk}
    assert dict(m.WaveWeights.objects.values_list("wave__year", "run")) == by_year
    # cross-wave tables are rebuilt from all stored estimates
    assert _run_ids(m.TrendResult) == {second.pk}
    assert m.TrendResult.objects.filter(region_code="ALL", dimension="INDEX").get().n_points == 3


def test_unknown_wave_is_an_error(survey: None) -> None:
    with pytest.raises(CommandError, match="1999"):
        call_command("compute_indices", "--wave", "1999", stdout=StringIO())


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal(survey: None, capsys: pytest.CaptureFixture) -> None:
    out = StringIO()
    call_command("compute_indices", stdout=out)
    captured = capsys.readouterr()
    assert "\r" not in out.getvalue() and "step" not in out.getvalue()
    assert captured.err == "" and "compute_indices:" not in captured.out
    tty = _Tty()
    call_command("compute_indices", stdout=tty)
    assert "compute_indices" in tty.getvalue() and "\r" in tty.getvalue()


def test_celery_task_runs_the_service_eagerly(survey: None) -> None:
    wave = m.Wave.objects.get(year=2022)
    result = compute_indices_task.delay(wave_id=wave.pk).get()
    run = m.IndexRun.objects.get(pk=result["run"])
    assert result["status"] == m.RunStatus.SUCCEEDED
    assert run.parameters["wave_ids"] == [wave.pk]
    assert set(m.EstimateResult.objects.values_list("wave__year", flat=True)) == {2022}


def test_task_reports_a_failed_run_without_raising(survey: None) -> None:
    m.PopulationMargin.objects.all().delete()
    result = compute_indices_task.delay().get()
    assert result["status"] == "failed" and "population" in result["error"]


def test_queue_recompute_runs_after_commit(survey: None, settings,
                                          django_capture_on_commit_callbacks) -> None:
    settings.NILAI_AUTO_RECOMPUTE = True
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        queue_recompute()
        assert not m.IndexRun.objects.exists()  # nothing runs inside the transaction
    assert len(callbacks) == 1
    assert m.IndexRun.objects.get().status == m.RunStatus.SUCCEEDED
    settings.NILAI_AUTO_RECOMPUTE = False
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        queue_recompute()
    assert callbacks == []


def test_weights_follow_their_responses(survey: None) -> None:
    # weights are stored packed per wave; readers join from the responses, so a response
    # deleted after the run disappears from the weights and one submitted since has none
    compute_indices()
    gone = m.Response.objects.filter(wave__year=2021).first()
    gone.delete()
    wave = m.Wave.objects.get(year=2022)
    late = ResponseFactory(wave=wave, region=m.Region.objects.get(code="6401"),
                           answers=bytes([4] * 30))
    exported = pd.read_csv(io.BytesIO(b"".join(iter_export(table="weights", fmt="csv"))))
    assert len(exported) == m.Response.objects.count() - 1  # all but the late one
    keys = set(exported["respondent"])
    assert late.respondent.panel_key not in keys
    assert gone.respondent.panel_key not in keys or m.Response.objects.filter(
        respondent=gone.respondent, wave__year__in=[2022, 2023]).exists()
    found, weight = wave_weights(wave.pk).lookup(np.array([late.pk]))
    assert not found[0] and np.isnan(weight[0])
    # the next run weights the late response and drops the deleted one
    compute_indices()
    assert weighted_count() == m.Response.objects.count()
    assert wave_weights(wave.pk).lookup(np.array([late.pk]))[0][0]


def test_wave_weights_are_packed_in_response_order(survey: None) -> None:
    compute_indices()
    for wave in m.Wave.objects.all():
        packed = wave_weights(wave.pk)
        ids = list(m.Response.objects.filter(wave=wave).order_by("id").values_list("id",
                                                                                   flat=True))
        assert packed.response_ids.tolist() == ids
        assert (packed.final_weights > 0).all()
        # raked weights reproduce the population of the regions sampled that year
        regions = m.Response.objects.filter(wave=wave).values("region")
        total = m.PopulationMargin.objects.filter(year=wave.year, region__in=regions).aggregate(
            t=Sum("population"))["t"]
        assert packed.final_weights.sum() == pytest.approx(total, rel=1e-9)


def test_wave_data_follows_its_column_contract(survey: None) -> None:
    from surveys.selectors.responses import wave_data

    wave = m.Wave.objects.get(year=2021)
    data = wave_data(wave_id=wave.pk)
    responses = list(m.Response.objects.filter(wave=wave).order_by("id"))
    assert data.n == len(responses)
    assert list(data.response_id) == [r.pk for r in responses]
    first = responses[0]
    assert data.region[0] == first.region.code and data.sex[0] == first.sex
    assert data.respondent[0] == first.respondent.panel_key
    assert data.base_weight[0] == first.base_weight
    # answers in spec order (dimension by dimension), NaN for the missing byte
    items = {i.code: i.position for i in m.Item.objects.filter(version=wave.version)}
    for j, code in enumerate(data.spec.item_codes):
        byte = first.answers[items[code]]
        assert (np.isnan(data.answers[0, j]) if byte == 255 else data.answers[0, j] == byte)
    assert data.spec.dimension_codes == ("S1", "S2", "S3", "S4", "S5")
    assert data.frame().columns[:8].tolist() == ["response_id", "respondent", "region", "sex",
                                                  "age_group", "stratum", "psu", "base_weight"]


def _fast_read(wave_id: int, layout, with_respondent: bool):
    from django.db import connection

    from surveys.selectors import responses as sel

    if connection.vendor == "postgresql":
        return sel._read_pg(wave_id, layout, with_respondent, connection)
    return sel._read_sqlite(wave_id, layout, with_respondent, connection)


def test_read_paths_agree_bit_for_bit(survey: None) -> None:
    from surveys.selectors import responses as sel

    wave = m.Wave.objects.get(year=2022)
    layout = sel.version_layout(wave.version)
    # base weights over the whole positive range a double can hold (not only the demo's few
    # distinct values): the SQLite path sends each as an integer mantissa and exponent
    rng = np.random.default_rng(3)
    special = [0.1, 1 / 3, 2.0 ** -1000, 1.7976931348623157e308, 2.0 ** 53 + 1, 1.0, 4.0,
               np.nextafter(4.0, 0), np.nextafter(4.0, 8), 1e-300, 123456.789]
    responses = list(m.Response.objects.filter(wave=wave).order_by("id"))
    for i, r in enumerate(responses):
        r.base_weight = special[i] if i < len(special) else float(
            rng.lognormal(0, 30) if i % 2 else rng.random() * 10.0 ** rng.integers(-200, 200))
        r.stratum = f"Kutai Kartanegara — strata {i % 7}, ü"
    m.Response.objects.bulk_update(responses, ["base_weight", "stratum"])
    for with_respondent in (True, False):
        portable = sel._read_cursor(wave.pk, layout, with_respondent)
        fast = _fast_read(wave.pk, layout, with_respondent)
        assert fast is not None
        names = ["ids", "region_id", "sex", "age", "stratum", "psu", "weight", "raw"]
        for name in names + (["keys"] if with_respondent else []):
            np.testing.assert_array_equal(getattr(fast, name), getattr(portable, name), name)
        assert fast.weight.tobytes() == portable.weight.tobytes()  # bit for bit


def test_sqlite_read_falls_back_where_its_encoding_cannot_hold(survey: None) -> None:
    from django.db import connection

    from surveys.selectors import responses as sel

    if connection.vendor != "sqlite":
        pytest.skip("the aggregated SQLite read path")
    wave = m.Wave.objects.get(year=2021)
    layout = sel.version_layout(wave.version)
    assert sel._read_sqlite(wave.pk, layout, False, connection) is not None
    first = m.Response.objects.filter(wave=wave).order_by("id").first()
    first.base_weight = 5e-324  # the smallest double: 2^e underflows
    first.save()
    assert sel._read_sqlite(wave.pk, layout, False, connection) is None
    data = sel.wave_data(wave_id=wave.pk)  # the portable path takes over
    assert data.base_weight[0] == 5e-324
    first.base_weight = 1.0
    first.psu = "a\x1fb"  # the unit separator inside a text
    first.save()
    assert sel._read_sqlite(wave.pk, layout, False, connection) is None
    assert sel.wave_data(wave_id=wave.pk).psu[0] == "a\x1fb"


def test_postgres_read_falls_back_when_a_text_holds_the_separator(survey: None) -> None:
    """A label stored before the contract refused control characters: the aggregated read
    would split it apart, so the portable path reads the wave (rows and labels aligned)."""
    from django.db import connection

    from surveys.selectors import responses as sel

    if connection.vendor != "postgresql":
        pytest.skip("the aggregated PostgreSQL read path")
    wave = m.Wave.objects.get(year=2021)
    layout = sel.version_layout(wave.version)
    assert sel._read_pg(wave.pk, layout, True, connection) is not None
    first, second = m.Response.objects.filter(wave=wave).order_by("id")[:2]
    m.Response.objects.filter(pk=first.pk).update(psu="a\x1fb")  # past the contract
    assert sel._read_pg(wave.pk, layout, True, connection) is None
    data = sel.wave_data(wave_id=wave.pk)
    assert (data.psu[0], data.psu[1]) == ("a\x1fb", second.psu)
    assert data.n == m.Response.objects.filter(wave=wave).count()


def test_an_import_that_changes_data_queues_one_recompute_and_a_noop_none(
    kaltim_dir, settings, django_capture_on_commit_callbacks
) -> None:
    from django.core.management import call_command

    call_command("load_regions", str(kaltim_dir / "regions.csv"))
    call_command("load_instrument", str(kaltim_dir / "instrument.json"))
    call_command("load_population", str(kaltim_dir / "population.csv"))
    settings.NILAI_AUTO_RECOMPUTE = True
    responses = str(kaltim_dir / "responses.csv")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        call_command("import_responses", responses, "--instrument", "IINP")
    assert len(callbacks) == 1
    run = m.IndexRun.objects.get()
    assert run.status == m.RunStatus.SUCCEEDED
    assert m.EstimateResult.objects.filter(run=run).count() == 330
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        call_command("import_responses", responses, "--instrument", "IINP")
    assert callbacks == []
    assert m.IndexRun.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_waves_read_ahead_in_a_thread_give_the_same_results(
        survey: None, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from surveys.services import compute

    readers: list[str] = []
    original = compute._read_wave

    def spy(wave_id: int, **kwargs: object) -> object:
        readers.append(threading.current_thread().name)
        return original(wave_id, **kwargs)

    monkeypatch.setattr(compute, "_read_wave", spy)

    def results() -> tuple[list, dict]:
        est = sorted(m.EstimateResult.objects.values_list(
            "wave__year", "region_code", "dimension", "estimate", "se", "n"))
        weights = {w.wave_id: (bytes(w.response_ids), bytes(w.final_weights))
                   for w in m.WaveWeights.objects.all()}
        return est, weights

    in_line = compute_indices(prefetch=False)
    assert readers == ["MainThread"] * len(YEARS)
    before = results()
    readers.clear()
    ahead = compute_indices()
    assert len(readers) == len(YEARS)
    assert all(name.startswith("nilai-read") for name in readers)
    assert ahead.input_checksum == in_line.input_checksum
    assert results() == before
    assert {f"{y}/read" for y in YEARS} <= set(ahead.timings)


def test_a_series_too_short_for_a_direction_stores_it_blank(survey: None) -> None:
    """Regions with two waves (the last wave's responses of half the regions removed) have
    series without a direction (Mann-Kendall needs 3 points) beside regions whose series
    have one: stored as "" (published blank), never as the text "nan"."""
    regions = sorted(m.Response.objects.filter(wave__year=YEARS[-1])
                     .values_list("region__code", flat=True).distinct())
    short = regions[: len(regions) // 2]
    m.Response.objects.filter(wave__year=YEARS[-1], region__code__in=short).delete()
    run = compute_indices()
    assert run.status == m.RunStatus.SUCCEEDED, run.messages
    trends = m.TrendResult.objects.filter(run=run)
    directions = dict(trends.filter(dimension="INDEX").values_list("region_code", "direction"))
    assert {directions[r] for r in short} == {""}
    # (a region of the other half may be suppressed in a wave: two points, blank too)
    longer = {directions[r] for r in regions if r not in short} - {""}
    assert longer and longer <= {"up", "down", "none"}
    assert "nan" not in set(trends.values_list("direction", flat=True))
    text = b"".join(iter_export(table="trends", fmt="csv")).decode()
    assert "nan" not in text.lower()
