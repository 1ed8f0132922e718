"""The project's URLs plus POST /bench/bare/: parse the JSON body, insert one row, answer 201."""

import json
import uuid

from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from surveys.models import Respondent


@csrf_exempt
def bare_insert(request: HttpRequest) -> JsonResponse:
    body = json.loads(request.body)
    row = Respondent.objects.create(panel_key=uuid.uuid4().hex)
    return JsonResponse({"id": row.pk, "submission_id": body.get("submission_id")}, status=201)


urlpatterns = [
    path("bench/bare/", bare_insert),
    path("", include("backend.urls")),
]
