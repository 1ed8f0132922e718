"""An office's first login: a one-time link to set a password, then the dashboard.

`grant` creates accounts with no usable password (nobody shares a password over chat). An admin
runs `manage.py login_link USER`, which prints a link carrying Django's password-reset token
(single use: it is bound to the current password hash and to the last login, and it expires after
``PASSWORD_RESET_TIMEOUT``, 3 days by default). The user opens it, chooses a password (Django's
validators apply) and is sent to the dashboard login.
"""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse, reverse_lazy
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from surveys.language import request_language


def password_set_path(user: AbstractBaseUser) -> str:
    """The site-relative one-time path at which ``user`` sets a password."""
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return reverse("dashboard:password-set", kwargs={"uidb64": uidb64, "token": token})


class PasswordSetView(auth_views.PasswordResetConfirmView):
    template_name = "surveys/dashboard/password_set.html"
    success_url = reverse_lazy("dashboard:login")
    post_reset_login = False

    def get_context_data(self, **kwargs: object) -> dict:
        context = super().get_context_data(**kwargs)
        context["lang"] = request_language()
        return context

    def form_valid(self, form):  # type: ignore[no-untyped-def]
        response = super().form_valid(form)
        response["Location"] = f"{reverse('dashboard:login')}?password_set=1"
        return response
