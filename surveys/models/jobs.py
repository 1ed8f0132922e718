"""Audit trail of exports and imports (issue 9; UU 27/2022 on personal data protection).

`ExportJob`: one export of one table, requested through the API or by `manage.py export`;
respondent-level tables (microdata, weights) are only ever produced through a job.
`ExportDownload`: one row per file served (a job's file, or an aggregate table streamed
directly). `ImportJob`: one row per run of an import command, failed runs included.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class JobStatus(models.TextChoices):
    # Translators: id: Antre
    QUEUED = "queued", _("Queued")
    # Translators: id: Berjalan
    RUNNING = "running", _("Running")
    # Translators: id: Selesai
    DONE = "done", _("Done")
    # Translators: id: Gagal
    FAILED = "failed", _("Failed")


class JobSource(models.TextChoices):
    API = "api", "API"
    # Translators: id: Baris perintah
    CLI = "cli", _("Command line")


class ExportJob(models.Model):
    """Who exported what, with which filters, when, and what came out (rows, bytes, sha256)."""

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="export_jobs", verbose_name="diminta oleh",
    )
    #: The account's username (API) or the OS user name (CLI); kept if the account is deleted.
    requested_by_name = models.CharField("nama peminta", max_length=150, blank=True)
    source = models.CharField("sumber", max_length=8, choices=JobSource.choices)
    table = models.CharField("tabel", max_length=40)
    format = models.CharField("format", max_length=10)
    #: What was asked for: {"region": [...], "instrument": "..."}.
    filters = models.JSONField("filter", default=dict, blank=True)
    #: The region codes the export was cut to (the caller's scope applied); null = all regions.
    region_scope = models.JSONField("cakupan wilayah", null=True, blank=True)
    k = models.PositiveIntegerField("k-anonimitas", null=True, blank=True)
    language = models.CharField("bahasa", max_length=5, default="id")
    status = models.CharField(
        "status", max_length=8, choices=JobStatus.choices, default=JobStatus.QUEUED
    )
    rows = models.BigIntegerField("baris", null=True, blank=True)
    bytes = models.BigIntegerField("bytes", null=True, blank=True)
    sha256 = models.CharField("sha256", max_length=64, blank=True)
    #: Where the file was written: relative to NILAI_EXPORT_DIR (API), absolute (CLI --output).
    file_path = models.CharField("berkas", max_length=500, blank=True)
    messages = models.JSONField("pesan", default=list, blank=True)
    created_at = models.DateTimeField("dibuat", auto_now_add=True)
    started_at = models.DateTimeField("mulai", null=True, blank=True)
    finished_at = models.DateTimeField("selesai", null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "pekerjaan ekspor"
        verbose_name_plural = "pekerjaan ekspor"
        indexes = [models.Index(fields=["requested_by", "-created_at"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.table}.{self.format} ({self.status})"


class ExportDownload(models.Model):
    """One file served over HTTP: a job's file, or (job null) an aggregate table streamed."""

    job = models.ForeignKey(
        ExportJob, null=True, blank=True, on_delete=models.PROTECT, related_name="downloads",
        verbose_name="pekerjaan",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="export_downloads", verbose_name="pengguna",
    )
    username = models.CharField("nama pengguna", max_length=150, blank=True)
    table = models.CharField("tabel", max_length=40)
    format = models.CharField("format", max_length=10)
    region_scope = models.JSONField("cakupan wilayah", null=True, blank=True)
    ip = models.GenericIPAddressField("alamat IP", null=True, blank=True)
    user_agent = models.CharField("user agent", max_length=300, blank=True)
    downloaded_at = models.DateTimeField("waktu unduh", auto_now_add=True)

    class Meta:
        ordering = ["-downloaded_at", "-id"]
        verbose_name = "unduhan ekspor"
        verbose_name_plural = "unduhan ekspor"

    def __str__(self) -> str:
        return f"{self.username or '-'} {self.table}.{self.format} #{self.pk}"


class ImportJob(models.Model):
    """One run of an import command: who, which file(s), options, outcome and messages."""

    command = models.CharField("perintah", max_length=40)
    os_user = models.CharField("pengguna OS", max_length=150, blank=True)
    source = models.CharField(
        "sumber", max_length=8, choices=JobSource.choices, default=JobSource.CLI
    )
    #: File name(s) as given, separated by ", " when a command reads several.
    file_name = models.CharField("nama berkas", max_length=1000)
    #: SHA-256 of the file (of each file, ", "-separated, in file_name's order).
    file_sha256 = models.CharField("sha256 berkas", max_length=700, blank=True)
    file_size = models.BigIntegerField("ukuran berkas", null=True, blank=True)
    options = models.JSONField("opsi", default=dict, blank=True)
    status = models.CharField(
        "status", max_length=8, choices=JobStatus.choices, default=JobStatus.RUNNING
    )
    rows_inserted = models.BigIntegerField("baris baru", null=True, blank=True)
    rows_updated = models.BigIntegerField("baris diubah", null=True, blank=True)
    rows_unchanged = models.BigIntegerField("baris tetap", null=True, blank=True)
    messages = models.JSONField("pesan", default=list, blank=True)
    started_at = models.DateTimeField("mulai", auto_now_add=True)
    finished_at = models.DateTimeField("selesai", null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = "pekerjaan impor"
        verbose_name_plural = "pekerjaan impor"

    def __str__(self) -> str:
        return f"#{self.pk} {self.command} {self.file_name} ({self.status})"
