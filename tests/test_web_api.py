"""The JSON API (/api/v1/): every route, as the people of an agency and a citizen use it,
and the problem+json answer of every refusal."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from finding_support import FREE, PAID
from web_support import AGENCY, CITIZEN, NUMBER, OTHER, TOKENS, Web, build, staff

from dossier.testing import FrozenClock

PROBLEM = "application/problem+json"


@pytest.fixture
def web(sqlite_url: str, clock: FrozenClock) -> Iterator[Web]:
    built = build(sqlite_url, clock)
    yield built
    built.engine.close()


def submit(web: Web, procedure: str = PAID.code, **applicant: str) -> dict[str, object]:
    response = web.clerk().post("/api/v1/dossiers", json={
        "procedure": procedure, "channel": "counter",
        "applicant": {"name": "Nguyễn Văn An", "id_number": NUMBER, **applicant}})
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def test_a_clerk_submits_and_the_answer_points_to_the_new_dossier(web: Web) -> None:
    response = web.clerk().post("/api/v1/dossiers", json={
        "procedure": PAID.code, "channel": "counter",
        "applicant": {"name": "Nguyễn Văn An", "id_number": NUMBER}})
    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == f"/api/v1/dossiers/{body['code']}"
    assert (body["state"], body["agency"], body["version"]) == ("awaiting_reception", AGENCY, 1)
    assert body["applicant"] == {"name": "Nguyễn Văn An"}


def test_no_answer_ever_carries_the_id_number(web: Web) -> None:
    code = submit(web)["code"]
    client = web.clerk()
    for path in (f"/api/v1/dossiers/{code}", f"/api/v1/dossiers/{code}/history",
                 "/api/v1/dossiers", "/api/v1/queue"):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert NUMBER not in answer.text, path


def test_get_returns_the_dossier_to_its_agency_and_403_to_another(web: Web) -> None:
    code = submit(web)["code"]
    assert web.clerk().get(f"/api/v1/dossiers/{code}").json()["code"] == code
    refused = web.client(staff(OTHER)["clerk"]).get(f"/api/v1/dossiers/{code}")
    assert refused.status_code == 403
    assert refused.headers["content-type"] == PROBLEM
    assert refused.json()["title"] == "PermissionDenied"


def test_an_unknown_dossier_is_404_problem(web: Web) -> None:
    answer = web.clerk().get("/api/v1/dossiers/000.00.12.H12-250101-9999")
    assert answer.status_code == 404
    body = answer.json()
    assert body["type"] == "urn:dossier:problem:dossier-not-found"
    assert body["status"] == 404
    assert body["instance"] == "/api/v1/dossiers/000.00.12.H12-250101-9999"


def test_without_a_known_token_the_api_answers_401_with_a_challenge(web: Web) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-token"},
                    {"Authorization": "Basic dXNlcjpwYXNz"}):
        answer = web.client().get("/api/v1/dossiers", headers=headers)
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert answer.headers["content-type"] == PROBLEM


def test_fire_moves_the_dossier_and_history_lists_the_events(web: Web) -> None:
    code = submit(web)["code"]
    clerk = web.clerk()
    received = clerk.post(f"/api/v1/dossiers/{code}/fire/receive", json={})
    assert received.status_code == 200
    assert received.json()["state"] == "awaiting_payment"
    paid = clerk.post(f"/api/v1/dossiers/{code}/fire/pay",
                      json={"data": {"amount": 50_000}, "if_version": 2})
    assert paid.json()["state"] == "processing"
    events = clerk.get(f"/api/v1/dossiers/{code}/history").json()["items"]
    assert [e["trigger"] for e in events] == ["submit", "receive", "pay"]


def test_fire_with_no_body_at_all_takes_no_data(web: Web) -> None:
    code = submit(web)["code"]
    assert web.clerk().post(f"/api/v1/dossiers/{code}/fire/receive").status_code == 200


@pytest.mark.parametrize(("trigger", "body", "status", "title"), [
    ("approve", {}, 409, "TransitionNotAllowed"),
    ("receive", {"if_version": 7}, 409, "ConcurrencyConflict"),
    ("receive", {"data": {"colour": "red"}}, 422, "InvalidInput"),
    ("receive", {"data": {"actor": "x"}}, 422, "InvalidInput"),
    ("receive", {"data": []}, 422, "InvalidInput"),
    ("receive", {"nonsense": 1}, 422, "InvalidInput"),
])
def test_a_refused_trigger_is_a_problem_naming_the_error(web: Web, trigger: str,
                                                         body: dict[str, object], status: int,
                                                         title: str) -> None:
    code = submit(web)["code"]
    answer = web.clerk().post(f"/api/v1/dossiers/{code}/fire/{trigger}", json=body)
    assert (answer.status_code, answer.json()["title"]) == (status, title)
    assert web.engine.get(str(code)).version == 1


def test_a_guard_problem_says_which_guard_and_what_is_missing(web: Web) -> None:
    from conftest import make_procedure

    web.engine.register(make_procedure("9.900103", ["receive", "digitise", "return"]))
    code = submit(web, procedure="9.900103")["code"]
    clerk = web.clerk()
    clerk.post(f"/api/v1/dossiers/{code}/fire/receive")
    answer = clerk.post(f"/api/v1/dossiers/{code}/fire/digitise")
    assert answer.status_code == 409
    assert answer.json()["guard"] == "components_digitised"
    assert answer.json()["missing"] == ["ban_chinh"]


def test_find_pages_through_with_the_cursor(web: Web) -> None:
    codes = [submit(web)["code"] for _ in range(5)]
    submit(web, procedure=FREE.code)
    clerk, seen, after = web.clerk(), [], None
    while True:
        params: dict[str, str | int] = {"procedure": PAID.code, "limit": 2,
                                        "state": "awaiting_reception"}
        if after:
            params["after"] = after
        page = clerk.get("/api/v1/dossiers", params=params).json()
        seen += [d["code"] for d in page["items"]]
        after = page["next"]
        if after is None:
            break
    assert seen == codes


def test_find_refuses_unknown_parameters_and_bad_values(web: Web) -> None:
    clerk = web.clerk()
    for query in ("colour=red", "limit=zero", "overdue=maybe", "state=flying", "limit=0",
                  "after=garbage", "order=sideways"):
        answer = clerk.get(f"/api/v1/dossiers?{query}")
        assert answer.status_code == 422, query
        assert answer.headers["content-type"] == PROBLEM


def test_a_clerk_asking_for_another_agency_is_refused(web: Web) -> None:
    answer = web.clerk().get("/api/v1/dossiers", params={"agency": OTHER})
    assert answer.status_code == 403


def test_assign_then_the_officer_sees_it_first_in_their_queue(web: Web) -> None:
    first, second = submit(web)["code"], submit(web)["code"]
    clerk = web.clerk()
    for code in (first, second):
        clerk.post(f"/api/v1/dossiers/{code}/fire/receive")
        clerk.post(f"/api/v1/dossiers/{code}/fire/pay", json={"data": {"amount": 50_000}})
    leader = web.client(staff()["leader"])
    assigned = leader.post(f"/api/v1/dossiers/{second}/assign",
                           json={"assignee": {"id": "cv01", "role": "specialist"}})
    assert assigned.json()["assignee"] == "cv01"
    queue = web.client(staff()["specialist"]).get("/api/v1/queue").json()
    assert [(i["dossier"]["code"], i["assigned"]) for i in queue["items"]] == [
        (second, True), (first, False)]
    assert queue["items"][0]["remaining_text"].startswith("Còn")
    unassigned = leader.post(f"/api/v1/dossiers/{second}/assign", json={"assignee": None})
    assert unassigned.json()["assignee"] is None


def test_assign_needs_an_assignee_key(web: Web) -> None:
    code = submit(web)["code"]
    answer = web.client(staff()["leader"]).post(f"/api/v1/dossiers/{code}/assign", json={})
    assert answer.status_code == 422


def test_a_citizen_submits_online_and_reads_only_their_own(web: Web) -> None:
    citizen = web.client(CITIZEN)
    mine = citizen.post("/api/v1/dossiers", json={
        "procedure": PAID.code, "channel": "online", "agency": AGENCY,
        "applicant": {"name": "Lê Thị Hoa"}})
    assert mine.status_code == 201
    assert mine.json()["owner"] == "cd01"
    theirs = submit(web)["code"]
    assert citizen.get(f"/api/v1/dossiers/{theirs}").status_code == 403
    assert [d["code"] for d in citizen.get("/api/v1/dossiers").json()["items"]] == [
        mine.json()["code"]]
    assert citizen.get("/api/v1/queue").json()["items"][0]["dossier"]["owner"] == "cd01"


def test_attach_stores_the_body_and_reads_it_back(web: Web) -> None:
    code = submit(web)["code"]
    clerk = web.clerk()
    pdf = b"%PDF-1.4 scanned original"
    stored = clerk.post(f"/api/v1/dossiers/{code}/attachments",
                        params={"component": "ban_chinh", "filename": "ban-chinh.pdf"},
                        content=pdf, headers={"Content-Type": "application/pdf"})
    assert stored.status_code == 201, stored.text
    sha = stored.json()["sha256"]
    listed = clerk.get(f"/api/v1/dossiers/{code}/attachments").json()["items"]
    assert [(a["component"], a["sha256"], a["size"]) for a in listed] == [
        ("ban_chinh", sha, len(pdf))]
    back = clerk.get(f"/api/v1/dossiers/{code}/attachments/{sha}")
    assert (back.content, back.headers["content-type"]) == (pdf, "application/pdf")
    assert clerk.get(f"/api/v1/dossiers/{code}/attachments/{'0' * 64}").status_code == 404


def test_attach_needs_component_and_filename(web: Web) -> None:
    code = submit(web)["code"]
    answer = web.clerk().post(f"/api/v1/dossiers/{code}/attachments", content=b"x")
    assert answer.status_code == 422


def test_documents_lists_the_signed_documents(web: Web) -> None:
    code = submit(web)["code"]
    assert web.clerk().get(f"/api/v1/dossiers/{code}/documents").json() == {"items": []}
    missing = web.clerk().get(f"/api/v1/dossiers/{code}/documents/{'a' * 64}")
    assert missing.status_code == 404


@pytest.mark.parametrize(("body", "headers", "status"), [
    (b"{not json", {"Content-Type": "application/json"}, 400),
    (b"[1, 2]", {"Content-Type": "application/json"}, 400),
    (b"procedure=x", {"Content-Type": "application/x-www-form-urlencoded"}, 400),
    (b"[" * 100_000, {"Content-Type": "application/json"}, 413),
    (b"", {}, 400),
    (b'{"procedure": 7, "channel": "counter", "applicant": {"name": "A"}}', {}, 422),
    (b'{"procedure": "9.900101", "channel": "counter", "applicant": "A"}', {}, 422),
    (b'{"procedure": "9.999999", "channel": "counter", "applicant": {"name": "A"}}', {}, 404),
    (b'{"procedure": "9.900101", "channel": "counter", "applicant": {"name": "A", '
     b'"id_number": "12"}}', {}, 422),
])
def test_a_malformed_submission_is_a_problem(web: Web, body: bytes, headers: dict[str, str],
                                             status: int) -> None:
    answer = web.clerk().post("/api/v1/dossiers", content=body, headers=headers)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM


def test_a_body_over_the_limit_is_refused_before_it_is_read(web: Web) -> None:
    answer = web.clerk().post("/api/v1/dossiers", content=b"{" + b" " * 70_000 + b"}",
                              headers={"Content-Type": "application/json"})
    assert answer.status_code == 413
    assert answer.json()["title"] == "Content too large"


def test_an_upload_over_its_limit_is_refused(sqlite_url: str, clock: FrozenClock) -> None:
    small = build(sqlite_url, clock, max_upload_bytes=1024)
    try:
        code = submit(small)["code"]
        answer = small.clerk().post(f"/api/v1/dossiers/{code}/attachments",
                                    params={"component": "ban_chinh", "filename": "a.pdf"},
                                    content=b"x" * 2048)
        assert answer.status_code == 413
    finally:
        small.engine.close()


def test_a_problem_detail_never_echoes_an_id_number(web: Web) -> None:
    answer = web.clerk().post("/api/v1/dossiers", json={
        "procedure": PAID.code, "channel": "counter",
        "applicant": {"name": "A", "id_number": "0010900123456"}})
    assert answer.status_code == 422
    assert "0010900123456" not in answer.text


def test_a_wrong_method_and_an_unknown_route_are_problems(web: Web) -> None:
    clerk = web.clerk()
    assert clerk.delete("/api/v1/dossiers").status_code == 405
    missing = clerk.get("/api/v1/nothing-here")
    assert (missing.status_code, missing.headers["content-type"]) == (404, PROBLEM)


def test_every_token_of_the_table_is_a_distinct_actor() -> None:
    assert len(set(TOKENS.values())) == len(TOKENS)
