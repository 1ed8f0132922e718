"""The respondent web form, included at /isi/ from backend/urls.py."""

from django.urls import path

from surveys.collect import web

app_name = "collect"

urlpatterns = [
    path("", web.form, name="form"),
    path("sw.js", web.service_worker, name="sw"),
]
