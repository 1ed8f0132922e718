"""grant USER ROLE [--region CODE ...]: give a user (created if needed) a role and regions."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from surveys.exceptions import DomainError
from surveys.models import Role
from surveys.services.accounts import user_grant_role


class Command(BaseCommand):
    help = (
        "Give USER the role ROLE (creating the user if needed); --region assigns regions to "
        "enumerators and offices."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("user")
        parser.add_argument("role", help=f"one of: {', '.join(Role.values)}")
        parser.add_argument(
            "--region", action="append", default=[], dest="regions", metavar="CODE",
            help="BPS region code (repeatable); required for enumerator and office",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = user_grant_role(
                username=options["user"], role=options["role"], region_codes=options["regions"]
            )
        except DomainError as exc:
            raise CommandError(exc.message()) from exc
        if options["regions"]:
            # Translators: id: {user}: {role} di {regions}
            self.stdout.write(_("{user}: {role} in {regions}").format(
                user=user.get_username(), role=options["role"],
                regions=", ".join(options["regions"])))
        else:
            self.stdout.write(f"{user.get_username()}: {options['role']}")
        if not user.has_usable_password():
            # Translators: id: belum punya kata sandi: {command}
            self.stdout.write(_("no password yet: {command}").format(
                command=f"python manage.py login_link {user.get_username()}"))
