"""login_link USER [--base-url URL]: print a one-time link at which USER sets a password.

The first login of an office (or researcher) account made by `grant`: send the link to the person;
it works once and expires after PASSWORD_RESET_TIMEOUT (3 days by default).
"""

from __future__ import annotations

import os
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from surveys.web.account import password_set_path


class Command(BaseCommand):
    help = (
        "Tautan sekali pakai untuk membuat kata sandi / print a one-time link at which USER "
        "sets a password (then logs in at /dashboard/)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("user")
        parser.add_argument(
            "--base-url", default=os.environ.get("NILAI_BASE_URL", "http://localhost:8000"),
            help="the site's address as users reach it (default: $NILAI_BASE_URL or "
                 "http://localhost:8000)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            # Translators: id: pengguna tidak dikenal: {user}
            raise CommandError(_("unknown user: {user}").format(user=options["user"]))
        if not user.is_active:
            # Translators: id: akun nonaktif: {user}
            raise CommandError(_("inactive account: {user}").format(user=options["user"]))
        self.stdout.write(options["base_url"].rstrip("/") + password_set_path(user))
