"""Dashboard pages, included at /dashboard/ from backend/urls.py."""

from django.urls import path

from surveys.reports import urls as report_urls
from surveys.web import account, views

app_name = "dashboard"

urlpatterns = [
    path("", views.dashboard, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path(
        "password/<uidb64>/<token>/", account.PasswordSetView.as_view(), name="password-set"
    ),
    *report_urls.dashboard_patterns,  # "Unduh laporan / Download report" (surveys.reports.web)
]
