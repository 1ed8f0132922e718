"""POST/PATCH/GET of responses through the real HTTP stack (APIClient -> URLconf -> DRF)."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from datafiles.answers import unpack_answers
from surveys import models as m
from surveys.api import views as api_views
from surveys.api.throttling import SubmissionRateThrottle
from surveys.ingest import layout_for_version
from surveys.models.invitations import RespondentAccount
from tests import api_fixtures as fx
from tests.api_fixtures import ITEM_CODES, client_for, payload, responses_url

world = fx.world
fresh_throttle_counters = fx.fresh_throttle_counters
EN = fx.EN
respondent_client = fx.respondent_client
enumerator_client = fx.enumerator_client



@pytest.fixture(autouse=True)
def _fresh_throttle_counters(fresh_throttle_counters: None) -> None:
    """Every test starts with empty throttle counters (tests.api_fixtures)."""


# ------------------------------------------------------------------------- create


def test_post_creates_response_with_design_defaults(world, respondent_client):
    body = payload()
    r = respondent_client.post(responses_url(world["wave"]), body, format="json")
    assert r.status_code == 201, r.json()
    data = r.json()
    assert data["submission_id"] == body["submission_id"]
    assert data["wave"] == world["wave"].pk
    assert data["respondent"] == "R-0001"
    assert data["region"] == "6401"
    assert data["stratum"] == "6401"
    assert data["psu"] == body["submission_id"]
    assert data["base_weight"] == 1.0
    assert data["probability_sample"] is False
    assert data["status"] == "submitted"
    assert data["answers"] == body["answers"]
    assert data["submitted_at"] is not None
    stored = m.Response.objects.get(submission_id=body["submission_id"])
    assert stored.source == m.ResponseSource.API
    assert stored.created_by.username == "resp1"
    layout = layout_for_version(world["version"])
    assert bytes(stored.answers) == bytes([1, 2, 3, 4, 5, 1])
    assert unpack_answers(layout, bytes(stored.answers)) == body["answers"]


def test_post_with_design_fields_is_a_probability_sample(world, enumerator_client):
    body = payload(stratum="URBAN-6401", psu="EA-17", base_weight=250.5)
    r = enumerator_client.post(responses_url(world["wave"]), body, format="json")
    assert r.status_code == 201, r.json()
    data = r.json()
    assert (data["stratum"], data["psu"], data["base_weight"]) == ("URBAN-6401", "EA-17", 250.5)
    assert data["probability_sample"] is True


def _statements(ctx: CaptureQueriesContext) -> list[str]:
    # the test's own transaction turns the service's atomic() into one savepoint
    return [q["sql"] for q in ctx.captured_queries
            if not q["sql"].startswith(("BEGIN", "SAVEPOINT", "RELEASE"))]


def test_post_is_one_insert_for_the_response(world, enumerator_client):
    url = responses_url(world["wave"])
    with CaptureQueriesContext(connection) as ctx:
        r = enumerator_client.post(url, payload(), format="json")
    assert r.status_code == 201
    inserts = [sql for sql in _statements(ctx) if sql.startswith("INSERT")]
    # the new respondent's panel key and the response itself
    assert len(inserts) == 2
    assert sum('"surveys_response"' in sql for sql in inserts) == 1
    # cold caches: token + user, roles, assignments, the wave with its version, the layout,
    # the region table; then the wave's status inside the transaction and the two inserts
    assert len(_statements(ctx)) == 9

    with CaptureQueriesContext(connection) as ctx:
        r = enumerator_client.post(url, payload(respondent="R-2"), format="json")
    assert r.status_code == 201
    # warm: the wave's status FOR SHARE and the two INSERT ... ON CONFLICT DO NOTHING (inside
    # the test's transaction; in autocommit PostgreSQL does all three in one statement, see
    # test_api_concurrency.py)
    sqls = _statements(ctx)
    assert len(sqls) == 3, sqls
    assert sqls[0].startswith('SELECT status FROM "surveys_wave"')
    assert all("ON CONFLICT DO NOTHING" in sql for sql in sqls[1:])
    assert sum(q["sql"].startswith("SAVEPOINT") for q in ctx.captured_queries) == 1


def test_fast_output_is_what_the_output_serializer_gives(world, enumerator_client):
    from surveys.api.serializers import ResponseOutputSerializer, submission_payload
    from surveys.services.submissions import Submission, layout_for

    url = responses_url(world["wave"])
    body = payload(status="draft", answers={"S1_01": 4}, stratum="S", psu="P", base_weight=2)
    created = enumerator_client.post(url, body, format="json")
    assert created.status_code == 201
    replay = enumerator_client.post(url, body, format="json")
    assert replay.status_code == 200
    assert replay.json() == created.json()
    stored = m.Response.objects.select_related("respondent", "region").get()
    sub = Submission.from_response(stored, created=False, layout=layout_for(world["version"]))
    assert submission_payload(sub) == ResponseOutputSerializer(sub).data
    assert created.json() == ResponseOutputSerializer(sub).data


def test_replay_with_same_content_returns_200_and_stored_response(world, respondent_client):
    body = payload(answers={"S1_01": 5, "S1_02": 4, "S1_03": 3, "S2_01": 2, "S2_02": 1,
                            "S2_03": 5})
    url = responses_url(world["wave"])
    first = respondent_client.post(url, body, format="json")
    assert first.status_code == 201
    # key order differs, explicit nulls for the optional fields, float 5.0 for 5
    replay = {
        "answers": dict(reversed(list(body["answers"].items()))) | {"S2_03": 5.0},
        "age_group": body["age_group"], "sex": body["sex"], "region": body["region"],
        "respondent": body["respondent"], "submission_id": body["submission_id"],
        "stratum": None, "psu": None, "base_weight": None,
    }
    second = respondent_client.post(url, replay, format="json")
    assert second.status_code == 200, second.json()
    assert second.json() == first.json()
    assert m.Response.objects.count() == 1


def test_replay_of_draft_with_null_versus_absent_answers_is_the_same(world, respondent_client):
    url = responses_url(world["wave"])
    body = payload(status="draft", answers={"S1_01": 4, "S1_02": None})
    assert respondent_client.post(url, body, format="json").status_code == 201
    again = dict(body, answers={"S1_01": 4})
    r = respondent_client.post(url, again, format="json")
    assert r.status_code == 200
    assert r.json()["answers"]["S1_02"] is None
    assert m.Response.objects.count() == 1


def test_same_submission_id_with_different_content_is_409(world, respondent_client):
    url = responses_url(world["wave"])
    body = payload()
    assert respondent_client.post(url, body, format="json").status_code == 201
    changed = dict(body, answers=dict(body["answers"], S1_01=5))
    r = respondent_client.post(url, changed, format="json")
    assert r.status_code == 409
    assert r.json() == {
        "detail": f"submission_id {body['submission_id']} sudah dipakai untuk jawaban dengan "
        "isi yang berbeda.",
        "errors": {},
    }
    r = respondent_client.post(url, dict(changed, sex="L"), format="json", **EN)
    assert r.status_code == 409
    assert r.json()["detail"] == (
        f"submission_id {body['submission_id']} was already used for a response with "
        "different content."
    )
    assert m.Response.objects.get().answers == bytes([1, 2, 3, 4, 5, 1])


def test_same_respondent_under_a_new_submission_id_is_409(world, respondent_client):
    url = responses_url(world["wave"])
    assert respondent_client.post(url, payload(), format="json").status_code == 201
    r = respondent_client.post(url, payload(), format="json", **EN)
    assert r.status_code == 409
    assert r.json()["detail"] == (
        "This respondent already has a response in this wave under another submission_id."
    )
    assert m.Response.objects.count() == 1


def test_closed_wave_is_409_in_both_languages(world, respondent_client):
    world["wave"].status = m.WaveStatus.CLOSED
    world["wave"].save()
    url = responses_url(world["wave"])
    r = respondent_client.post(url, payload(), format="json")
    assert r.status_code == 409
    assert r.json()["detail"] == (
        "Gelombang IINP 2025 sudah ditutup; jawaban tidak dapat lagi dikirim atau diubah."
    )
    r = respondent_client.post(url, payload(), format="json", **EN)
    assert r.status_code == 409
    assert r.json()["detail"] == (
        "Wave IINP 2025 is closed; responses can no longer be submitted or changed."
    )
    assert m.Response.objects.count() == 0


def test_replay_after_the_wave_closed_still_returns_the_stored_response(world, respondent_client):
    url = responses_url(world["wave"])
    body = payload()
    assert respondent_client.post(url, body, format="json").status_code == 201
    world["wave"].status = m.WaveStatus.CLOSED
    world["wave"].save()
    assert respondent_client.post(url, body, format="json").status_code == 200
    changed = dict(body, sex="L")
    assert respondent_client.post(url, changed, format="json").status_code == 409


def test_unknown_wave_is_404(world, respondent_client):
    r = respondent_client.post(responses_url(999_999), payload(), format="json", **EN)
    assert r.status_code == 404
    assert r.json() == {"detail": "Wave 999999 not found.", "errors": {}}


# ------------------------------------------------------------------------- validation


def test_answer_errors_are_reported_per_item_code_in_indonesian(world, respondent_client):
    answers = {"S1_01": 9, "S1_02": "tiga", "S1_03": 2.5, "S2_01": 0, "XX_99": 3}
    r = respondent_client.post(
        responses_url(world["wave"]), payload(answers=answers), format="json"
    )
    assert r.status_code == 400
    assert r.json() == {
        "detail": "Data tidak valid.",
        "errors": {
            "answers": {
                "S1_01": ["Jawaban harus di antara 1 dan 5."],
                "S1_02": ["Jawaban harus bilangan bulat atau null."],
                "S1_03": ["Jawaban harus bilangan bulat atau null."],
                "S2_01": ["Jawaban harus di antara 1 dan 5."],
                "XX_99": ["Kode butir tidak dikenal."],
                "S2_02": ["Butir ini wajib dijawab."],
                "S2_03": ["Butir ini wajib dijawab."],
            }
        },
    }
    assert m.Response.objects.count() == 0


def test_answer_errors_are_reported_per_item_code_in_english(world, respondent_client):
    answers = {"S1_01": 6, "S1_02": True, "XX_99": 3}
    r = respondent_client.post(
        responses_url(world["wave"]), payload(answers=answers), format="json", **EN
    )
    assert r.status_code == 400
    assert r.json() == {
        "detail": "Invalid input.",
        "errors": {
            "answers": {
                "S1_01": ["The answer must be between 1 and 5."],
                "S1_02": ["The answer must be an integer or null."],
                "XX_99": ["Unknown item code."],
                "S1_03": ["This item must be answered."],
                "S2_01": ["This item must be answered."],
                "S2_02": ["This item must be answered."],
                "S2_03": ["This item must be answered."],
            }
        },
    }


def test_a_final_submission_needs_every_item_a_draft_does_not(world, respondent_client):
    url = responses_url(world["wave"])
    partial = {"S1_01": 3, "S1_02": None}
    r = respondent_client.post(url, payload(answers=partial), format="json", **EN)
    assert r.status_code == 400
    assert sorted(r.json()["errors"]["answers"]) == sorted(set(ITEM_CODES) - {"S1_01"})
    r = respondent_client.post(url, payload(answers=partial, status="draft"), format="json")
    assert r.status_code == 201
    assert r.json()["status"] == "draft"
    assert r.json()["submitted_at"] is None


def test_field_errors_in_both_languages(world, respondent_client):
    body = payload(sex="X", age_group="10-16", submission_id="not-a-uuid")
    del body["region"]
    r = respondent_client.post(responses_url(world["wave"]), body, format="json")
    assert r.status_code == 400
    data = r.json()
    assert data["detail"] == "Data tidak valid."
    assert set(data["errors"]) == {"sex", "age_group", "submission_id", "region"}
    assert data["errors"]["region"] == ["Bidang ini harus diisi."]
    r = respondent_client.post(responses_url(world["wave"]), body, format="json", **EN)
    data = r.json()
    assert data["detail"] == "Invalid input."
    assert data["errors"]["region"] == ["This field is required."]
    assert data["errors"]["sex"] == ['"X" is not a valid choice.']
    assert data["errors"]["submission_id"] == ["Must be a valid UUID."]


def test_unknown_region_and_bad_weight_are_400(world):
    admin = client_for("admin1", "admin")
    body = payload(region="9999", base_weight=-2)
    r = admin.post(responses_url(world["wave"]), body, format="json", **EN)
    assert r.status_code == 400
    assert r.json()["errors"] == {
        "region": ["Unknown region 9999."],
        "base_weight": ["The base weight -2.0 must be greater than 0."],
    }


def test_nik_like_respondent_id_is_refused(world, respondent_client, settings):
    settings.PANEL_KEY_SECRET = ""
    body = payload(respondent="6401021234560001")
    r = respondent_client.post(responses_url(world["wave"]), body, format="json", **EN)
    assert r.status_code == 400
    assert r.json()["errors"] == {
        "respondent": [
            "The respondent id looks like a NIK or phone number; use a pseudonymous code."
        ]
    }
    r = respondent_client.post(responses_url(world["wave"]), body, format="json")
    assert r.json()["errors"]["respondent"] == [
        "ID responden tampak seperti NIK atau nomor telepon; gunakan kode pseudonim."
    ]
    assert m.Respondent.objects.count() == 0


def test_with_a_panel_secret_the_respondent_id_is_stored_as_hmac(world, respondent_client,
                                                                  settings):
    settings.PANEL_KEY_SECRET = "s3cret"
    r = respondent_client.post(responses_url(world["wave"]), payload(respondent="R-77"),
                               format="json")
    assert r.status_code == 201
    key = m.Respondent.objects.get().panel_key
    assert len(key) == 64 and "R-77" not in key
    assert r.json()["respondent"] == key


# ------------------------------------------------------------------------- roles and regions


def test_enumerator_submits_inside_the_assignment_not_outside(world, enumerator_client):
    url = responses_url(world["wave"])
    r = enumerator_client.post(url, payload(region="6401", respondent="A"), format="json")
    assert r.status_code == 201
    r = enumerator_client.post(url, payload(region="640101", respondent="B"), format="json")
    assert r.status_code == 201, "a district below the assigned regency is inside"
    r = enumerator_client.post(url, payload(region="6402", respondent="C"), format="json")
    assert r.status_code == 403
    assert r.json() == {"detail": "Wilayah 6402 berada di luar wilayah tugas Anda.", "errors": {}}
    r = enumerator_client.post(url, payload(region="6402", respondent="C"), format="json", **EN)
    assert r.json()["detail"] == "Region 6402 is outside your assigned regions."
    assert sorted(m.Response.objects.values_list("region__code", flat=True)) == [
        "6401", "640101"
    ]


def test_enumerator_of_the_province_submits_anywhere_below_it(world):
    client = client_for("enum-prov", "enumerator", ("6400",))
    url = responses_url(world["wave"])
    for i, code in enumerate(["6401", "6402", "640101", "6400"]):
        r = client.post(url, payload(region=code, respondent=f"P{i}"), format="json")
        assert r.status_code == 201, (code, r.json())


def test_enumerator_of_6402_cannot_submit_for_6401(world):
    client = client_for("enum6402", "enumerator", ("6402",))
    url = responses_url(world["wave"])
    assert client.post(url, payload(region="6401"), format="json").status_code == 403
    assert client.post(url, payload(region="6402"), format="json").status_code == 201


@pytest.mark.parametrize("role,regions", [("office", ("6401",)), ("researcher", ())])
def test_roles_that_do_not_collect_cannot_submit(world, role, regions):
    client = client_for(f"u-{role}", role, regions)
    r = client.post(responses_url(world["wave"]), payload(), format="json", **EN)
    assert r.status_code == 403
    assert r.json() == {
        "detail": "You do not have permission to perform this action.", "errors": {}
    }


def test_anonymous_is_401(world):
    from rest_framework.test import APIClient

    r = APIClient().post(responses_url(world["wave"]), payload(), format="json", **EN)
    assert r.status_code == 401
    assert r.json() == {"detail": "Authentication credentials were not provided.", "errors": {}}
    r = APIClient().post(responses_url(world["wave"]), payload(), format="json")
    assert r.json()["detail"] == "Data autentikasi tidak diberikan."


def test_writes_are_throttled_per_token(world, enumerator_client, monkeypatch):
    monkeypatch.setattr(SubmissionRateThrottle, "rate", "2/min", raising=False)
    url = responses_url(world["wave"])
    codes = [
        enumerator_client.post(url, payload(respondent=f"T{i}"), format="json").status_code
        for i in range(3)
    ]
    assert codes == [201, 201, 429]
    other = client_for("resp2", "respondent")
    assert other.post(url, payload(respondent="T9"), format="json").status_code == 201
    r = enumerator_client.post(url, payload(respondent="T3"), format="json", **EN)
    assert r.status_code == 429
    assert r.json()["detail"].startswith("Request was throttled.")
    assert set(r.json()) == {"detail", "errors"}


# ------------------------------------------------------------------------- drafts


def test_draft_patch_merges_then_submit_finalises(world, respondent_client):
    url = responses_url(world["wave"])
    body = payload(status="draft", answers={"S1_01": 2, "S1_02": 3})
    assert respondent_client.post(url, body, format="json").status_code == 201
    detail = f"{url}{body['submission_id']}/"

    r = respondent_client.patch(detail, {"answers": {"S1_02": None, "S1_03": 4}}, format="json")
    assert r.status_code == 200, r.json()
    assert r.json()["answers"] == {
        "S1_01": 2, "S1_02": None, "S1_03": 4, "S2_01": None, "S2_02": None, "S2_03": None
    }
    r = respondent_client.post(f"{detail}submit/", format="json", **EN)
    assert r.status_code == 400
    assert r.json()["errors"]["answers"] == {
        code: ["This item must be answered."] for code in ["S1_02", "S2_01", "S2_02", "S2_03"]
    }
    r = respondent_client.patch(
        detail, {"answers": {"S1_02": 1, "S2_01": 5, "S2_02": 5, "S2_03": 5}, "sex": "L"},
        format="json",
    )
    assert r.status_code == 200
    r = respondent_client.post(f"{detail}submit/", format="json")
    assert r.status_code == 200
    assert r.json()["status"] == "submitted" and r.json()["submitted_at"] is not None
    stored = m.Response.objects.get()
    assert stored.status == m.ResponseStatus.SUBMITTED and stored.sex == "L"
    assert bytes(stored.answers) == bytes([2, 1, 4, 5, 5, 5])

    # final: no more changes; submitting again is harmless
    r = respondent_client.patch(detail, {"answers": {"S1_01": 1}}, format="json", **EN)
    assert r.status_code == 409
    assert r.json()["detail"] == (
        "This response has been submitted and is final; it cannot be changed."
    )
    assert respondent_client.post(f"{detail}submit/").status_code == 200
    assert bytes(m.Response.objects.get().answers) == bytes([2, 1, 4, 5, 5, 5])


def test_patch_validates_answers_per_item(world, respondent_client):
    url = responses_url(world["wave"])
    body = payload(status="draft", answers={})
    respondent_client.post(url, body, format="json")
    r = respondent_client.patch(
        f"{url}{body['submission_id']}/", {"answers": {"S1_01": 7, "ZZ": 1}}, format="json",
    )
    assert r.status_code == 400
    assert r.json()["errors"] == {
        "answers": {"S1_01": ["Jawaban harus di antara 1 dan 5."],
                    "ZZ": ["Kode butir tidak dikenal."]}
    }


def test_a_final_response_cannot_be_patched(world, respondent_client):
    url = responses_url(world["wave"])
    body = payload()
    respondent_client.post(url, body, format="json")
    r = respondent_client.patch(f"{url}{body['submission_id']}/", {"sex": "L"}, format="json")
    assert r.status_code == 409
    assert r.json()["detail"] == "Jawaban ini sudah dikirim final dan tidak dapat diubah."


def test_only_the_author_sees_or_changes_a_response(world, respondent_client):
    url = responses_url(world["wave"])
    body = payload(status="draft", answers={"S1_01": 1})
    respondent_client.post(url, body, format="json")
    detail = f"{url}{body['submission_id']}/"
    assert respondent_client.get(detail).status_code == 200
    assert respondent_client.get(detail).json()["answers"]["S1_01"] == 1
    other = client_for("resp2", "respondent")
    assert other.get(detail).status_code == 404
    assert other.patch(detail, {"answers": {"S1_01": 5}}, format="json").status_code == 404
    assert other.post(f"{detail}submit/").status_code == 404
    assert bytes(m.Response.objects.get().answers)[0] == 1
    missing = f"{url}{uuid.uuid4()}/"
    assert respondent_client.get(missing).status_code == 404


def test_draft_cannot_change_after_the_wave_closes(world, respondent_client):
    url = responses_url(world["wave"])
    body = payload(status="draft", answers={"S1_01": 1})
    respondent_client.post(url, body, format="json")
    world["wave"].status = m.WaveStatus.CLOSED
    world["wave"].save()
    detail = f"{url}{body['submission_id']}/"
    r = respondent_client.patch(detail, {"answers": {"S1_02": 2}}, format="json")
    assert r.status_code == 409
    assert respondent_client.post(f"{detail}submit/").status_code == 409


# ------------------------------------------------------------------------- respondent accounts

FORBIDDEN_ID = (
    "Akun responden ini hanya dapat mengirim jawaban untuk responden yang terikat padanya "
    "(responden pada kiriman pertamanya)."
)
FORBIDDEN_EN = (
    "This respondent account may only submit for the respondent it is bound to (the "
    "respondent of its first submission)."
)

KEY_TAKEN_EN = (
    "This respondent id already belongs to someone else; a respondent account may only use an "
    "id created for it or the one named by its invitation."
)


def _second_wave(world):
    from tests import factories as f

    return f.WaveFactory(version=world["version"], instrument=world["instrument"], year=2026)


def test_respondent_account_is_bound_by_its_first_submission(world, respondent_client):
    url = responses_url(world["wave"])
    assert not RespondentAccount.objects.exists()
    assert respondent_client.post(url, payload(respondent="R-OWN"), format="json").status_code \
        == 201
    binding = RespondentAccount.objects.get()
    assert (binding.user.username, binding.respondent.panel_key) == ("resp1", "R-OWN")

    r = respondent_client.post(url, payload(respondent="R-OTHER"), format="json")
    assert r.status_code == 403
    assert r.json() == {"detail": FORBIDDEN_ID, "errors": {}}
    r = respondent_client.post(
        responses_url(_second_wave(world)), payload(respondent="R-OTHER"), format="json", **EN
    )
    assert r.status_code == 403
    assert r.json() == {"detail": FORBIDDEN_EN, "errors": {}}
    assert not m.Respondent.objects.filter(panel_key="R-OTHER").exists()

    # its own respondent: in the next wave too
    r = respondent_client.post(
        responses_url(m.Wave.objects.get(year=2026)), payload(respondent="R-OWN"), format="json"
    )
    assert r.status_code == 201
    assert m.Response.objects.filter(respondent__panel_key="R-OWN").count() == 2
    assert RespondentAccount.objects.count() == 1


def test_binding_is_checked_by_the_database_not_only_the_cache(world, respondent_client):
    url = responses_url(world["wave"])
    assert respondent_client.post(url, payload(respondent="R-OWN"), format="json").status_code \
        == 201
    # a fresh process would not know the binding: the database still refuses
    api_views.clear_caches()
    r = respondent_client.post(
        responses_url(_second_wave(world)), payload(respondent="R-X"), format="json", **EN
    )
    assert r.status_code == 403
    assert r.json()["detail"] == FORBIDDEN_EN


def test_unbound_cache_entry_is_rechecked_inside_the_write(world, respondent_client):
    from surveys.api import permissions

    url = responses_url(world["wave"])
    # warm the cache while unbound (a 400 binds nothing), then bind through the service
    r = respondent_client.post(url, payload(respondent="R-OWN", sex="X"), format="json")
    assert r.status_code == 400
    assert not RespondentAccount.objects.exists()
    (entry,) = permissions._PRINCIPALS.values()
    assert entry[1].bound is None
    RespondentAccount.objects.create(
        user=entry[1].user, respondent=m.Respondent.objects.create(panel_key="R-ELSEWHERE"),
        bound_at=timezone.now(),
    )
    r = respondent_client.post(url, payload(respondent="R-OWN"), format="json")
    assert r.status_code == 403
    assert not m.Response.objects.exists()
    assert not m.Respondent.objects.filter(panel_key="R-OWN").exists(), "rolled back"


def test_a_refused_first_submission_binds_nothing(world, respondent_client, enumerator_client):
    url = responses_url(world["wave"])
    assert enumerator_client.post(url, payload(respondent="R-TAKEN"), format="json") \
        .status_code == 201
    # 403: R-TAKEN was created by the enumerator (not this account's key); stays unbound
    assert respondent_client.post(url, payload(respondent="R-TAKEN"), format="json") \
        .status_code == 403
    assert respondent_client.post(url, payload(answers={}), format="json").status_code == 400
    assert not RespondentAccount.objects.exists()
    assert respondent_client.post(url, payload(respondent="R-MINE"), format="json") \
        .status_code == 201
    assert RespondentAccount.objects.get().respondent.panel_key == "R-MINE"


def test_a_respondent_key_belongs_to_one_account(world, respondent_client):
    url = responses_url(world["wave"])
    assert respondent_client.post(url, payload(respondent="R-OWN"), format="json").status_code \
        == 201
    other = client_for("resp2", "respondent")
    r = other.post(responses_url(_second_wave(world)), payload(respondent="R-OWN"),
                   format="json", **EN)
    assert r.status_code == 403
    assert r.json()["detail"] == KEY_TAKEN_EN
    assert r.json()["errors"] == {"respondent": [KEY_TAKEN_EN]}
    assert RespondentAccount.objects.count() == 1


def test_replays_and_drafts_of_the_bound_respondent_still_work(world, respondent_client):
    url = responses_url(world["wave"])
    body = payload(respondent="R-OWN", status="draft", answers={"S1_01": 2})
    assert respondent_client.post(url, body, format="json").status_code == 201
    assert respondent_client.post(url, body, format="json").status_code == 200
    detail = f"{url}{body['submission_id']}/"
    r = respondent_client.patch(detail, {"answers": {"S1_02": 3}}, format="json")
    assert r.status_code == 200


def test_binding_compares_the_stored_hmac_key(world, respondent_client, settings):
    settings.PANEL_KEY_SECRET = "s3cret"
    url = responses_url(world["wave"])
    assert respondent_client.post(url, payload(respondent="R-77"), format="json").status_code \
        == 201
    assert RespondentAccount.objects.get().respondent.panel_key != "R-77"
    r = respondent_client.post(responses_url(_second_wave(world)), payload(respondent="R-77"),
                               format="json")
    assert r.status_code == 201
    r = respondent_client.post(responses_url(m.Wave.objects.get(year=2026)),
                               payload(respondent="R-78"), format="json")
    assert r.status_code == 403


def test_enumerators_submit_for_any_respondent_in_their_regions(world, respondent_client,
                                                                enumerator_client):
    url = responses_url(world["wave"])
    assert respondent_client.post(url, payload(respondent="R-OWN"), format="json").status_code \
        == 201
    for key in ("E-1", "E-2", "E-3"):
        r = enumerator_client.post(url, payload(respondent=key), format="json")
        assert r.status_code == 201
    # even a key an account is bound to, in another wave
    r = enumerator_client.post(responses_url(_second_wave(world)), payload(respondent="R-OWN"),
                               format="json")
    assert r.status_code == 201
    assert not RespondentAccount.objects.exclude(user__username="resp1").exists()


def test_an_account_that_is_also_an_enumerator_is_not_bound(world):
    client = client_for("both", "respondent")
    client = client_for("both", "enumerator", ("6401",))
    url = responses_url(world["wave"])
    for key in ("B-1", "B-2"):
        assert client.post(url, payload(respondent=key), format="json").status_code == 201
    assert not RespondentAccount.objects.exists()


@pytest.mark.parametrize(
    "field,value",
    [("sex", ["P"]), ("age_group", {"a": 1}), ("status", ["draft"]), ("respondent", 7.5),
     ("region", None), ("stratum", ""), ("base_weight", "heavy"), ("submission_id", 12)],
)
def test_odd_types_get_the_serializers_messages_not_a_500(world, enumerator_client, field,
                                                           value):
    from surveys.api.serializers import ResponseCreateInputSerializer

    body = payload(**{field: value})
    r = enumerator_client.post(responses_url(world["wave"]), body, format="json", **EN)
    expected = ResponseCreateInputSerializer(data=body)
    if expected.is_valid():
        assert r.status_code in (201, 400), r.json()
    else:
        assert r.status_code == 400, r.json()
        assert r.json()["errors"] == {k: [str(e) for e in v] for k, v in expected.errors.items()}
