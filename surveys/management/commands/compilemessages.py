"""``manage.py compilemessages``: Nilai's catalogues compiled with polib (surveys/i18n.py), so
no GNU gettext (msgfmt) is needed; Django's own command is used only for other locale folders."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from surveys.i18n import ROOT, compile_catalogues


class Command(BaseCommand):
    help = "Compile locale/<lang>/LC_MESSAGES/django.po into .mo files (polib; no msgfmt)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true",
                            help="compile even when the .mo is newer than its .po")

    def handle(self, *args: Any, **options: Any) -> None:
        written = compile_catalogues(force=options["force"])
        for path in written:
            # Translators: id: dikompilasi: {path}
            self.stdout.write(_("compiled {path}").format(path=path.relative_to(ROOT)))
        if not written:
            # Translators: id: Semua katalog terjemahan sudah mutakhir.
            self.stdout.write(_("All translation catalogues are up to date."))
