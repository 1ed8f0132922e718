"""invite INSTRUMENT YEAR --count N: print N one-time invitation codes for a wave."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from surveys.exceptions import DomainError, Msg
from surveys.models import Wave
from surveys.services.accounts import invitation_create


class Command(BaseCommand):
    help = (
        "Create one-time invitation codes for the wave INSTRUMENT YEAR and print them, one a "
        "line. Only their hashes are stored: this is the only time they are shown."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("instrument")
        parser.add_argument("year", type=int)
        parser.add_argument("--count", type=int, default=1)
        parser.add_argument(
            "--respondent", default=None,
            help="panel follow-up: the respondent id the code is for; redeeming it binds the "
            "new account to that respondent",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        wave = Wave.objects.filter(
            instrument__code=options["instrument"], year=options["year"]
        ).first()
        if wave is None:
            raise CommandError(Msg("unknown_wave", {"instrument": options["instrument"],
                                                    "year": options["year"]}).render())
        try:
            codes = invitation_create(wave=wave, count=options["count"],
                                      respondent=options["respondent"])
        except DomainError as exc:
            raise CommandError(exc.message()) from exc
        self.stdout.write("\n".join(codes))
