"""Read-only result endpoints under /api/v1/ (included from surveys/api/urls.py)."""

from django.urls import path

from surveys.api import jobs as j
from surveys.api import results as r
from surveys.reports import api as report_api

urlpatterns = [
    path("estimates/", r.EstimateList.as_view(), name="results-estimate-list"),
    path("trends/", r.TrendList.as_view(), name="results-trend-list"),
    path("changes/", r.ChangeList.as_view(), name="results-change-list"),
    path("reliability/", r.ReliabilityList.as_view(), name="results-reliability-list"),
    path("items/", r.ItemList.as_view(), name="results-item-list"),
    path("cfa/", r.CfaList.as_view(), name="results-cfa-list"),
    path("proxy-validation/", r.ProxyValidationList.as_view(), name="results-proxy-list"),
    path("indicators/", r.IndicatorList.as_view(), name="results-indicator-list"),
    path("achievements/", r.AchievementList.as_view(), name="results-achievement-list"),
    path("programme-effects/", r.ProgrammeEffectList.as_view(),
         name="results-programme-effect-list"),
    path("programme-types/", r.ProgrammeTypeList.as_view(), name="results-programme-type-list"),
    path("small-area/", r.SmallAreaList.as_view(), name="results-small-area-list"),
    path("retention/", r.RetentionList.as_view(), name="results-retention-list"),
    path("panel-changes/", r.PanelChangeList.as_view(), name="results-panel-change-list"),
    path("invariance/", r.InvarianceList.as_view(), name="results-invariance-list"),
    path("bridges/", r.BridgeList.as_view(), name="results-bridge-list"),
    path("exports/jobs/", j.ExportJobListCreate.as_view(), name="export-job-list"),
    path("exports/jobs/<int:pk>/", j.ExportJobDetail.as_view(), name="export-job-detail"),
    path("exports/jobs/<int:pk>/file", j.ExportJobFile.as_view(), name="export-job-file"),
    path("reports/", report_api.ReportCreate.as_view(), name="report-create"),
    path("exports/<slug:table>.<slug:fmt>", r.ExportDownload.as_view(), name="results-export"),
    path("charts/trend.<slug:fmt>", r.TrendChart.as_view(), name="results-trend-chart"),
]
