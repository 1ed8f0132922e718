"""issue_token USER: print the user's API token (alone on the last line)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from surveys.exceptions import DomainError
from surveys.services.accounts import token_issue


class Command(BaseCommand):
    help = "Print USER's API token (created if missing) alone on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("user")
        parser.add_argument(
            "--rotate", action="store_true", help="replace the existing token with a new one"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            key = token_issue(username=options["user"], rotate=options["rotate"])
        except DomainError as exc:
            raise CommandError(exc.message()) from exc
        self.stdout.write(key)
