"""export_xlsform INSTRUMENT [--instrument-version N] [--year YEAR] --output FILE.xlsx"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from surveys.collect.xlsform import write_xlsform
from surveys.models.waves import YEAR_MAX, YEAR_MIN
from surveys.services.instruments import InstrumentNotFound, instrument_version_get


class Command(BaseCommand):
    help = (
        "Tulis instrumen sebagai XLSForm untuk ODK Collect / KoboCollect / write the instrument "
        "as an XLSForm (survey, choices, settings; labels in Indonesian and English)"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("instrument", help="instrument code, e.g. IINP")
        parser.add_argument("--instrument-version", type=int, default=None,
                            help="default: the latest published version")
        parser.add_argument("--year", type=int, default=None,
                            help="the wave the form collects for (kept in a hidden wave field; "
                                 "without it the import needs --wave)")
        parser.add_argument("--output", type=Path, required=True, help="FILE.xlsx")

    def handle(self, *args: Any, **options: Any) -> None:
        output: Path = options["output"]
        if output.suffix.lower() != ".xlsx":
            # Translators: id: --output harus berakhiran .xlsx: {output}
            raise CommandError(_("--output must end in .xlsx: {output}").format(output=output))
        if not output.parent.is_dir():
            # Translators: id: folder tidak ada: {folder}
            raise CommandError(_("folder does not exist: {folder}").format(folder=output.parent))
        year = options["year"]
        if year is not None and not YEAR_MIN <= year <= YEAR_MAX:
            # Translators: id: --year di luar {min}-{max}: {year}
            raise CommandError(_("--year outside {min}-{max}: {year}").format(
                min=YEAR_MIN, max=YEAR_MAX, year=year))
        try:
            version = instrument_version_get(code=options["instrument"],
                                             version=options["instrument_version"])
        except InstrumentNotFound as exc:
            raise CommandError(str(exc)) from exc
        sheets = write_xlsform(version, output, year=year)
        questions = sum(1 for row in sheets["survey"] if row["type"].startswith("select_one skala"))
        self.stdout.write(self.style.SUCCESS(
            # Translators: id: {output}: XLSForm {instrument} v{version}, {questions} pertanyaan
            _("{output}: XLSForm {instrument} v{version}, {questions} questions").format(
                output=output, instrument=version.instrument.code, version=version.version,
                questions=questions)))
