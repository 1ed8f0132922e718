"""Stored results of index runs. Views, exports and charts only read these tables.

Region columns hold the BPS code, or ``ALL`` for the whole design; dimension columns hold a
dimension code or ``INDEX`` for the overall index. Every row points at the IndexRun that wrote
it; a new run replaces the rows of the waves it covers in one transaction.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

ALL_REGIONS = "ALL"
OVERALL = "INDEX"


class RunStatus(models.TextChoices):
    PENDING = "pending", "Menunggu"
    RUNNING = "running", "Berjalan"
    SUCCEEDED = "succeeded", "Berhasil"
    FAILED = "failed", "Gagal"


class IndexRun(models.Model):
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.PENDING)
    parameters = models.JSONField(default=dict)
    analysis_version = models.CharField(max_length=40, blank=True, default="")
    input_checksum = models.CharField(max_length=64, blank=True, default="")
    timings = models.JSONField(default=dict)
    messages = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "proses perhitungan indeks"
        verbose_name_plural = "proses perhitungan indeks"
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=RunStatus.values), name="index_run_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"run {self.pk} ({self.status})"


class _RunResult(models.Model):
    run = models.ForeignKey(IndexRun, on_delete=models.PROTECT, related_name="+")

    class Meta:
        abstract = True


class WaveWeights(_RunResult):
    """The final (raked) weights of one wave, packed: one row per wave, not one per response.

    ``response_ids`` holds the weighted responses' primary keys as little-endian int64 in
    ascending order and ``final_weights`` their weights as little-endian float64 in the same
    order (8 + 8 bytes per response). A run writes a wave's weights in one INSERT: the earlier
    one-row-per-response table cost 6-11 s per million responses on PostgreSQL (COPY plus
    index upkeep, worse when re-running over the previous run's rows) against ~0.1 s for this,
    and made the index run 5-6x its own analysis time (bench/README.md, docs/DECISIONS.md).
    Readers go through `surveys.selectors.weights`, which joins from the responses: a response
    deleted after the run is simply not found, a response submitted after it has no weight.
    """

    wave = models.OneToOneField("surveys.Wave", on_delete=models.CASCADE,
                                related_name="final_weights")
    n = models.PositiveIntegerField("jumlah responden berbobot")
    response_ids = models.BinaryField("id respons (int64 LE, naik)")
    final_weights = models.BinaryField("bobot akhir (float64 LE)")

    class Meta:
        verbose_name = "bobot akhir gelombang"
        verbose_name_plural = "bobot akhir gelombang"

    def __str__(self) -> str:
        return f"weights of wave {self.wave_id}: {self.n} responses"


class RunPart(models.Model):
    """What one province task of a parallel index run (`surveys.services.compute_parallel`)
    leaves for the chord's body besides its sufficient statistics: its responses' final
    weights, packed like `WaveWeights`, and ``arrays``: the per-response arrays the panel
    stage pairs across waves (respondent ids, scores, the design columns as codes) and the
    task's sufficient statistics (`analysis.estimation.DomainTotals`), as ``.npy`` records
    (`compute_parallel._arrays_bytes`); ``arrays`` is empty when the task left them as a
    file in `NILAI_STAGE_DIR` instead (`NILAI_PART_FILES`, docs/DECISIONS.md 84; its result
    names the file). Held until the body has used them; the body deletes its rows
    (``token``: one per chord), and a later chord deletes rows a failed one left behind. They
    do not travel through the result backend: as base64 JSON they went through Redis three
    times (part result, chord part, body message) and sat in the body's memory all waves at
    once."""

    token = models.UUIDField(db_index=True)
    wave = models.ForeignKey("surveys.Wave", on_delete=models.CASCADE, related_name="+")
    n = models.PositiveIntegerField()
    response_ids = models.BinaryField()
    final_weights = models.BinaryField()
    arrays = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"run part {self.token} wave {self.wave_id}: {self.n}"


class RunWave(models.Model):
    """One wave of a parallel index run (`surveys.services.compute_parallel`): the results
    of its province tasks as they finish (``parts``, ``expected`` of them) and its stage, a
    task queued once its parts and its previous wave's are in (``stage``: "", "queued",
    "running", "done"), which computes what the chord's body would for the wave: its combined output
    (``output``: estimates, reliability, items, CFA, moments, final weights) and its panel
    pair with the previous wave (``pair``: retention and within-person change), both as
    `compute_parallel.encode_stage` blobs. The body takes them instead of computing them; a
    blob that is missing (a stage that failed) is computed by the body from the `RunPart`
    rows as before. ``previous``: the wave the panel pairs it with
    (`longitudinal.previous_wave`), fixed when the chord is queued. Deleted with the chord's
    `RunPart` rows."""

    token = models.UUIDField()
    wave = models.ForeignKey("surveys.Wave", on_delete=models.CASCADE, related_name="+")
    previous = models.ForeignKey("surveys.Wave", on_delete=models.CASCADE, null=True,
                                 related_name="+")
    expected = models.PositiveIntegerField()
    parts = models.JSONField(default=list)
    #: "" (parts still running), "queued" (its stage task is on the queue), "running" (a
    #: worker computes it), "done"
    stage = models.CharField(max_length=8, blank=True, default="")
    output = models.BinaryField(null=True)
    pair = models.BinaryField(null=True)
    #: the wave's final weights, packed like `WaveWeights` (the body copies them over in SQL)
    n = models.PositiveIntegerField(null=True)
    response_ids = models.BinaryField(null=True)
    final_weights = models.BinaryField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["token", "wave"],
                                               name="runwave_token_wave")]

    def __str__(self) -> str:
        return f"run wave {self.token} wave {self.wave_id}: {len(self.parts)}/{self.expected}"


class _DomainEstimate(_RunResult):
    """One domain's estimate as `analysis.estimation.estimate_domains` gives it (the columns
    after region and dimension of ``ESTIMATE_COLUMNS``): the full-instrument estimates and
    the bridge estimates (`BridgeResult`) store the same fields."""

    n = models.PositiveIntegerField()
    n_eff = models.FloatField(null=True)
    estimate = models.FloatField(null=True)
    se = models.FloatField(null=True)
    ci_low = models.FloatField(null=True)
    ci_high = models.FloatField(null=True)
    df = models.IntegerField(null=True)
    suppressed = models.BooleanField()
    category = models.CharField(max_length=20, blank=True, default="")

    class Meta:
        abstract = True


class EstimateResult(_DomainEstimate):
    wave = models.ForeignKey("surveys.Wave", on_delete=models.CASCADE, related_name="+")
    region_code = models.CharField(max_length=20)
    dimension = models.CharField(max_length=20)

    class Meta:
        ordering = ["wave__year", "dimension", "region_code"]
        constraints = [
            models.UniqueConstraint(
                fields=["wave", "region_code", "dimension"], name="estimate_result_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.wave_id} {self.region_code} {self.dimension}: {self.estimate}"


class ReliabilityResult(_RunResult):
    wave = models.ForeignKey("surveys.Wave", on_delete=models.CASCADE, related_name="+")
    dimension = models.CharField(max_length=20)
    n = models.PositiveIntegerField()
    k = models.PositiveSmallIntegerField()
    alpha = models.FloatField(null=True)
    alpha_std = models.FloatField(null=True)
    alpha_ci_low = models.FloatField(null=True)
    alpha_ci_high = models.FloatField(null=True)
    omega_total = models.FloatField(null=True)

    class Meta:
        ordering = ["wave__year", "dimension"]
        constraints = [
            models.UniqueConstraint(fields=["wave", "dimension"], name="reliability_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.wave_id} {self.dimension}: alpha {self.alpha}"


class ItemResult(_RunResult):
    wave = models.ForeignKey("surveys.Wave", on_delete=models.CASCADE, related_name="+")
    dimension = models.CharField(max_length=20)
    item = models.CharField(max_length=40)
    item_rest_r = models.FloatField(null=True)
    alpha_if_deleted = models.FloatField(null=True)
    mean = models.FloatField(null=True)
    sd = models.FloatField(null=True)

    class Meta:
        ordering = ["wave__year", "dimension", "item"]
        constraints = [
            models.UniqueConstraint(fields=["wave", "item"], name="item_result_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.wave_id} {self.item}"


class CfaResult(_RunResult):
    wave = models.OneToOneField("surveys.Wave", on_delete=models.CASCADE, related_name="+")
    n = models.PositiveIntegerField()
    chisq = models.FloatField(null=True)
    df = models.IntegerField(null=True)
    cfi = models.FloatField(null=True)
    tli = models.FloatField(null=True)
    rmsea = models.FloatField(null=True)
    srmr = models.FloatField(null=True)
    converged = models.BooleanField(default=True)

    class Meta:
        ordering = ["wave__year"]

    def __str__(self) -> str:
        return f"CFA {self.wave_id}: CFI {self.cfi}"


class TrendResult(_RunResult):
    instrument = models.ForeignKey("surveys.Instrument", on_delete=models.CASCADE, related_name="+")
    region_code = models.CharField(max_length=20)
    dimension = models.CharField(max_length=20)
    n_points = models.PositiveSmallIntegerField()
    first_wave = models.PositiveSmallIntegerField(null=True)
    last_wave = models.PositiveSmallIntegerField(null=True)
    ols_slope = models.FloatField(null=True)
    ols_slope_se = models.FloatField(null=True)
    ols_ci_low = models.FloatField(null=True)
    ols_ci_high = models.FloatField(null=True)
    ols_p = models.FloatField(null=True)
    sen_slope = models.FloatField(null=True)
    sen_ci_low = models.FloatField(null=True)
    sen_ci_high = models.FloatField(null=True)
    kendall_tau = models.FloatField(null=True)
    kendall_p = models.FloatField(null=True)
    direction = models.CharField(max_length=8, blank=True, default="")
    #: series breaks (analysis.bridges): one row per series of a region x dimension, numbered
    #: from 1; ``linked`` when the series spans instrument versions (bridge estimates)
    series = models.PositiveSmallIntegerField(default=1)
    basis = models.CharField(max_length=8, default="full")
    from_version = models.PositiveIntegerField(null=True)
    to_version = models.PositiveIntegerField(null=True)

    class Meta:
        ordering = ["region_code", "dimension", "series"]
        constraints = [
            models.UniqueConstraint(
                fields=["instrument", "region_code", "dimension", "series"],
                name="trend_result_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"trend {self.region_code} {self.dimension}"


class ChangeResult(_RunResult):
    instrument = models.ForeignKey("surveys.Instrument", on_delete=models.CASCADE, related_name="+")
    region_code = models.CharField(max_length=20)
    dimension = models.CharField(max_length=20)
    from_wave = models.PositiveSmallIntegerField()
    to_wave = models.PositiveSmallIntegerField()
    #: blank (with ``reason``) across a series break or a missing bridge estimate
    delta = models.FloatField(null=True)
    se = models.FloatField(null=True)
    z = models.FloatField(null=True)
    p = models.FloatField(null=True)
    significant = models.BooleanField()
    mdc = models.FloatField(null=True)
    #: ``full`` within a version, ``linked`` across a version boundary (the bridge change)
    basis = models.CharField(max_length=8, blank=True, default="full")
    reason = models.CharField(max_length=20, blank=True, default="")
    from_version = models.PositiveIntegerField(null=True)
    to_version = models.PositiveIntegerField(null=True)

    class Meta:
        ordering = ["region_code", "dimension", "from_wave"]
        constraints = [
            models.UniqueConstraint(
                fields=["instrument", "region_code", "dimension", "from_wave", "to_wave"],
                name="change_result_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.region_code} {self.dimension} {self.from_wave}->{self.to_wave}"


class ProxyValidationResult(_RunResult):
    indicator = models.ForeignKey("surveys.Indicator", on_delete=models.CASCADE, related_name="+")
    n_pairs = models.PositiveIntegerField()
    spearman_rho = models.FloatField(null=True)
    spearman_p = models.FloatField(null=True)
    pearson_r = models.FloatField(null=True)
    pearson_p = models.FloatField(null=True)
    pearson_ci_low = models.FloatField(null=True)
    pearson_ci_high = models.FloatField(null=True)
    sign_ok = models.BooleanField(null=True)
    accepted = models.BooleanField()

    class Meta:
        ordering = ["indicator__code"]
        constraints = [
            models.UniqueConstraint(fields=["indicator"], name="proxy_validation_unique"),
        ]

    def __str__(self) -> str:
        return f"validation {self.indicator_id}: accepted={self.accepted}"


class AchievementResult(_RunResult):
    indicator = models.ForeignKey("surveys.Indicator", on_delete=models.CASCADE, related_name="+")
    region_code = models.CharField(max_length=20)
    year = models.PositiveSmallIntegerField()
    target = models.FloatField()
    realisation = models.FloatField()
    achievement_pct = models.FloatField()
    met = models.BooleanField()
    met_with_confidence = models.BooleanField(null=True)

    class Meta:
        ordering = ["year", "region_code", "indicator__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "region_code", "year"], name="achievement_result_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.indicator_id} {self.region_code} {self.year}: {self.achievement_pct}"
