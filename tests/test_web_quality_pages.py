"""/danh-gia/{code} (the applicant's rating) and /chi-so (the quality dashboard)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from finding_support import advance, staff
from starlette.testclient import TestClient
from web_support import AGENCY, CITIZEN, NUMBER, Web, build

from dossier.testing import FrozenClock
from dossier.web.dashboard import report_fragment
from dossier.web.rating_page import KIOSK_ID
from dossier.web.security import CSRF_FIELD


@pytest.fixture
def web(sqlite_url: str, clock: FrozenClock) -> Iterator[Web]:
    built = build(sqlite_url, clock)
    yield built
    built.engine.close()


def returned(web: Web, *, online: bool = False) -> str:
    applicant = {"name": "Nguyễn Văn An", "id_number": NUMBER}
    if online:
        code = web.engine.submit("9.900101", applicant=applicant, channel="online",
                                 actor=CITIZEN, agency=AGENCY).code
    else:
        code = web.engine.submit("9.900101", applicant=applicant, channel="counter",
                                 actor=staff()["clerk"]).code
    assert advance(web.engine, code, 5).state == "returned"
    return code


def token(page: str) -> str:
    found = re.search(rf'name="{CSRF_FIELD}" value="([0-9a-f]+)"', page)
    assert found is not None
    return found.group(1)


def rate(client: TestClient, code: str, **fields: str) -> tuple[int, str]:
    form = client.get(f"/danh-gia/{code}")
    answer = client.post(f"/danh-gia/{code}", data={CSRF_FIELD: token(form.text),
                                                   "id_number": NUMBER, **fields})
    error = re.search(r'class="error"[^>]*>([^<]+)', answer.text)
    return answer.status_code, error.group(1) if error else answer.text


def test_the_form_asks_the_levels_the_criteria_and_sets_the_csrf_cookie(web: Web) -> None:
    page = web.client().get(f"/danh-gia/{returned(web)}")
    assert page.status_code == 200
    for label in ("Rất hài lòng", "Hài lòng", "Không hài lòng", "Thái độ của cán bộ"):
        assert label in page.text
    assert "HttpOnly" in page.headers["set-cookie"]
    assert '<label for="id_number">' in page.text


def test_a_counter_dossier_is_rated_once_through_the_kiosk(web: Web) -> None:
    code = returned(web)
    client = web.client()
    status, text = rate(client, code, level="satisfied", comment="Cán bộ nhiệt tình",
                        **{"tieu-chi-staff_attitude": "very_satisfied"})
    assert (status, "Cảm ơn bạn đã đánh giá" in text) == (200, True)
    rating = web.engine.rating(code)
    assert rating is not None
    assert (rating.level.key, rating.actor, rating.comment) == ("satisfied", KIOSK_ID,
                                                                "Cán bộ nhiệt tình")
    assert {k: v.key for k, v in rating.criteria.items()} == {"staff_attitude":
                                                              "very_satisfied"}
    assert rate(client, code, level="dissatisfied") == (
        409, "Hồ sơ này đã được đánh giá; mỗi hồ sơ chỉ được đánh giá một lần.")


def test_an_online_dossier_is_rated_as_its_owner(web: Web) -> None:
    code = returned(web, online=True)
    assert rate(web.client(), code, level="very_satisfied")[0] == 200
    rating = web.engine.rating(code)
    assert rating is not None
    assert rating.actor == CITIZEN.id


def test_a_wrong_number_is_refused_like_an_unknown_code(web: Web) -> None:
    code = returned(web)
    client = web.client()
    form = client.get(f"/danh-gia/{code}")
    answers = [client.post(f"/danh-gia/{c}", data={CSRF_FIELD: token(client.get(
        f"/danh-gia/{c}").text), "id_number": n, "level": "satisfied"})
        for c, n in ((code, "001090099999"), (code[:-1] + "9", NUMBER))]
    assert [a.status_code for a in answers] == [404, 404]
    assert form.status_code == 200
    assert web.engine.rating(code) is None


def test_a_dossier_not_yet_returned_cannot_be_rated(web: Web) -> None:
    code = web.engine.submit("9.900101", applicant={"name": "A", "id_number": NUMBER},
                             channel="counter", actor=staff()["clerk"]).code
    status, error = rate(web.client(), code, level="satisfied")
    assert (status, error) == (409, "Hồ sơ chưa được trả kết quả nên chưa thể đánh giá.")


@pytest.mark.parametrize(("fields", "error"), [
    ({}, "Vui lòng chọn mức độ hài lòng."),
    ({"level": "ecstatic"}, "Vui lòng chọn mức độ hài lòng."),
    ({"level": "satisfied", "id_number": "12"}, "Số định danh cá nhân gồm 12 chữ số"),
    ({"level": "satisfied", "comment": "x" * 2001}, "Ý kiến góp ý dài tối đa 2000 ký tự."),
])
def test_an_incomplete_form_comes_back_with_what_to_fix(web: Web, fields: dict[str, str],
                                                        error: str) -> None:
    status, text = rate(web.client(), returned(web), **fields)
    assert status == 422
    assert text.startswith(error)


def test_a_post_without_the_form_s_token_is_refused(web: Web) -> None:
    code = returned(web)
    client = web.client()
    client.get(f"/danh-gia/{code}")
    for data in ({"id_number": NUMBER, "level": "satisfied"},
                 {CSRF_FIELD: "0" * 64, "id_number": NUMBER, "level": "satisfied"}):
        answer = client.post(f"/danh-gia/{code}", data=data, headers={"Accept": "text/html"})
        assert answer.status_code == 403
        assert "text/html" in answer.headers["content-type"]
    assert web.engine.rating(code) is None


def test_a_form_post_over_the_limit_is_refused(web: Web) -> None:
    answer = web.client().post(f"/danh-gia/{returned(web)}", content=b"a=" + b"x" * 20_000,
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 413


def test_the_dashboard_draws_the_report_s_charts_under_a_hashed_style(web: Web) -> None:
    code = returned(web)
    rate(web.client(), code, level="satisfied")
    page = web.client().get("/chi-so", params={"agency": AGENCY, "from": "2025-09-01",
                                               "to": "2025-09-30"})
    assert page.status_code == 200
    assert page.text.count("<svg") == 3
    assert 'style="' not in page.text
    csp = page.headers["content-security-policy"]
    assert "'sha256-" in csp
    assert "unsafe-inline" not in csp
    assert "Bảng chỉ số chất lượng phục vụ" in page.text
    assert f'<option value="{AGENCY}" selected>' not in page.text  # the directory is empty


def test_the_dashboard_defaults_to_the_last_90_days(web: Web) -> None:
    page = web.client().get("/chi-so")
    assert page.status_code == 200
    assert 'value="2025-09-08"' in page.text
    assert 'value="2025-06-11"' in page.text


@pytest.mark.parametrize("query", [{"from": "hôm qua"}, {"from": "2025-09-30",
                                                         "to": "2025-09-01"}])
def test_the_dashboard_explains_a_bad_period(web: Web, query: dict[str, str]) -> None:
    page = web.client().get("/chi-so", params=query)
    assert page.status_code == 422
    assert 'role="alert"' in page.text


def test_the_report_fragment_keeps_its_style_to_itself() -> None:
    css, body = report_fragment('<html><head><style>body{margin:0}h1{x:y}</style></head>'
                                '<body><h1>T</h1><svg style="max-width:9px"></svg></body>'
                                '</html>')
    assert css == ".report{margin:0}h1{x:y}.report .rs0{max-width:9px}"
    assert body == '<h1>T</h1><svg class="rs0"></svg>'
