from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("dashboard/", include("surveys.web.urls")),
    path("isi/", include("surveys.collect.urls")),
    path("", include("surveys.api.urls")),
]
