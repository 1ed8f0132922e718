"""`manage.py compute_indices [--wave YEAR] [--instrument CODE]`: recompute and store results.

Output is in the process language (Indonesian; NILAI_LANGUAGE=en for English). A wave that
cannot be computed yet (no population margins, an empty raking cell...) is skipped
and keeps its previous results; the run still succeeds, says how many waves it skipped and
prints each one's reason (level ``error``). Only a run that computes no wave at all fails.

``--parallel`` with a broker hands the planning to a worker (`surveys.compute_indices_parallel`)
and waits for the chord: the command itself then imports neither the analysis stack nor the
index run (1 s of its start; the workers have them loaded, backend.celery).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as _noop

from surveys.models import RunStatus

#: a run's status in words (msgids)
STATUS = {
    # Translators: id: berhasil
    RunStatus.SUCCEEDED: _noop("succeeded"),
    # Translators: id: gagal
    RunStatus.FAILED: _noop("failed"),
    # Translators: id: berjalan
    RunStatus.RUNNING: _noop("running"),
    # Translators: id: menunggu
    RunStatus.PENDING: _noop("pending"),
}


class Command(BaseCommand):
    # the system checks import the URLconf, and with it the web views, the reports and the
    # analysis stack (1 s); a batch command that reads and writes results needs none of
    # them (`manage.py check --deploy` checks a deployment)
    requires_system_checks: list[str] = []
    help = ("Hitung bobot, estimasi, reliabilitas, CFA, tren, perubahan, validasi proksi dan "
            "capaian / compute weights, estimates, reliability, CFA, trends, changes, proxy "
            "validation and achievements")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--wave", type=int, action="append", metavar="YEAR",
                            help="hanya gelombang tahun ini (boleh diulang) / only this wave's "
                                 "year (repeatable)")
        parser.add_argument("--instrument", metavar="CODE",
                            help="kode instrumen / instrument code (default: all)")
        parser.add_argument("--lonely-psu", default="certainty",
                            choices=["certainty", "remove", "average", "fail"])
        parser.add_argument("--trim", action="store_true",
                            help="pangkas bobot ekstrem lalu rake ulang / trim weights, re-rake")
        parser.add_argument("--no-progress", action="store_true")
        parser.add_argument("--parallel", action="store_true",
                            help="per provinsi di worker Celery (chord) / per province on Celery "
                                 "workers (a chord; needs CELERY_RESULT_BACKEND with a broker)")
        parser.add_argument("--shards", type=int, default=None,
                            help="tugas per gelombang / tasks per wave (default "
                                 "NILAI_COMPUTE_SHARDS)")
        # accepted as by every other command; this one runs no system checks anyway
        parser.add_argument("--skip-checks", action="store_true", help="(tanpa efek / no effect)")
        parser.add_argument("--queue", default=None,
                            help="antrean Celery untuk tugas-tugasnya / the Celery queue of its "
                                 "tasks (default: Celery's default queue)")

    def handle(self, *args: Any, **options: Any) -> None:
        progress = self.stdout.isatty() and not options["no_progress"]
        if options["parallel"]:
            run = self._parallel(options)
        else:
            run = self._single(options, progress)
        self._report(run, options["verbosity"])

    def _single(self, options: dict[str, Any], progress: bool) -> Any:
        from surveys.services.compute import ComputeError, compute_indices

        try:
            return compute_indices(instrument=options["instrument"], years=options["wave"],
                                   lonely_psu=options["lonely_psu"], trim=options["trim"],
                                   progress=progress, progress_file=self.stdout._out)
        except ComputeError as exc:
            raise self._failed(str(exc)) from exc

    @staticmethod
    def _failed(error: str) -> CommandError:
        # Translators: id: perhitungan gagal: {error}
        return CommandError(_("run failed: {error}").format(error=error))

    def _report(self, run: Any, verbosity: int) -> None:
        rows = run.parameters.get("rows", {})
        skipped = len(run.parameters.get("skipped_waves") or [])
        status = gettext(STATUS.get(run.status, run.status))
        if skipped:
            # Translators: id: {n} gelombang dilewati, hasil sebelumnya dipertahankan
            status += " (" + ngettext("{n} wave skipped, previous results kept",
                                      "{n} waves skipped, previous results kept",
                                      skipped).format(n=skipped) + ")"
        # Translators: id: perhitungan {run}: {status}; {rows} ({seconds} s)
        self.stdout.write(_("run {run}: {status}; {rows} ({seconds} s)").format(
            run=run.pk, status=status, rows=", ".join(f"{k} {v}" for k, v in rows.items()),
            seconds=f"{run.timings.get('total', 0):.1f}"))
        if verbosity >= 1:
            for msg in run.messages:
                if msg["level"] != "info" or verbosity >= 2:
                    self.stdout.write(f"  [{msg['level']}] {msg['message']}")

    def _parallel(self, options: dict[str, Any]) -> Any:
        from celery.result import AsyncResult
        from django.conf import settings

        from surveys import models as m

        params = {"instrument": options["instrument"], "years": options["wave"],
                  "lonely_psu": options["lonely_psu"], "trim": options["trim"],
                  "shards": options["shards"], "queue": options["queue"]}
        if settings.CELERY_TASK_ALWAYS_EAGER:  # no workers: everything runs here
            from surveys.services.compute import ComputeError
            from surveys.services.compute_parallel import compute_indices_parallel

            try:
                result = compute_indices_parallel(**params)
            except ComputeError as exc:
                raise self._failed(str(exc)) from exc
        else:
            from surveys.tasks import compute_indices_parallel_task

            queued = compute_indices_parallel_task.apply_async(
                kwargs=params, **({"queue": options["queue"]} if options["queue"] else {})
            ).get(disable_sync_subtasks=False)
            if queued.get("status") != "queued":
                raise self._failed(str(queued.get("error", "failed")))
            result = AsyncResult(queued["chord"])
        outcome = result.get(disable_sync_subtasks=False)
        if outcome.get("status") == "failed" and "run" not in outcome:
            raise self._failed(str(outcome.get("error", "failed")))
        return m.IndexRun.objects.get(pk=outcome["run"])
