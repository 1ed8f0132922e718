"""The report's dashboard routes, added to the ``dashboard`` namespace by surveys/web/urls.py."""

from django.urls import path

from surveys.reports import web

dashboard_patterns = [
    path("report/", web.start, name="report-start"),
    path("report/<int:pk>/", web.status, name="report-status"),
]
