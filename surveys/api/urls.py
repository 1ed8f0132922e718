from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from surveys.api import programmes, views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("regions", views.RegionViewSet, basename="region")
router.register("instruments", views.InstrumentViewSet, basename="instrument")
router.register("waves", views.WaveViewSet, basename="wave")
router.register("programmes", programmes.ProgrammeViewSet, basename="programme")

api_v1 = [
    path(
        "waves/<int:wave_id>/responses/",
        views.ResponseCreateView.as_view(),
        name="wave-response-create",
    ),
    path(
        "waves/<int:wave_id>/responses/<uuid:submission_id>/",
        views.ResponseDetailView.as_view(),
        name="wave-response-detail",
    ),
    path(
        "waves/<int:wave_id>/responses/<uuid:submission_id>/submit/",
        views.ResponseSubmitView.as_view(),
        name="wave-response-submit",
    ),
    path(
        "invitations/redeem/", views.InvitationRedeemView.as_view(), name="invitation-redeem"
    ),
    *router.urls,
]

urlpatterns = [
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # the split view serves its init script as a file: no inline script (Content-Security-Policy)
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/v1/", include(api_v1)),
    path("api/v1/", include("surveys.api.results_urls")),
]
