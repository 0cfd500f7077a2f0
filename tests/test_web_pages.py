"""The public pages: the lookup (tra cứu) answers the same for a wrong ID number as for an
unknown code, is rate-limited, and every page is Vietnamese, accessible and script-free
under a strict Content-Security-Policy."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from finding_support import advance, staff
from starlette.requests import Request
from starlette.responses import Response
from web_support import NUMBER, Web, build

from dossier.testing import FrozenClock
from dossier.web import LookupLimit
from dossier.web.ratelimit import RateLimiter
from dossier.web.security import CSRF_COOKIE, Csrf

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "web"


@pytest.fixture
def web(sqlite_url: str, clock: FrozenClock) -> Iterator[Web]:
    built = build(sqlite_url, clock)
    yield built
    built.engine.close()


def submitted(web: Web, number: str | None = NUMBER) -> str:
    applicant = {"name": "Nguyễn Văn An"} | ({"id_number": number} if number else {})
    return web.engine.submit("9.900101", applicant=applicant, channel="counter",
                             actor=staff()["clerk"]).code


def test_the_form_is_in_vietnamese_with_a_label_for_each_field(web: Web) -> None:
    page = web.client().get("/tra-cuu")
    assert page.status_code == 200
    assert '<html lang="vi">' in page.text
    assert "Tra cứu tình trạng hồ sơ" in page.text
    for field in ("code", "id_number"):
        assert f'<label for="{field}">' in page.text
        assert f'id="{field}"' in page.text


def test_the_right_id_number_shows_status_appointment_and_timeline(web: Web) -> None:
    code = submitted(web)
    advance(web.engine, code, 2)
    page = web.client().get("/tra-cuu", params={"code": code, "id_number": NUMBER})
    assert page.status_code == 200
    assert "Đang giải quyết" in page.text
    assert "Hẹn trả kết quả" in page.text
    assert "Nguyễn V** A**" in page.text
    assert [label for label in ("Nộp hồ sơ", "Tiếp nhận hồ sơ", "Nộp phí, lệ phí")
            if label in page.text] == ["Nộp hồ sơ", "Tiếp nhận hồ sơ", "Nộp phí, lệ phí"]
    assert NUMBER not in page.text
    assert page.headers["cache-control"] == "no-store"


def test_a_wrong_number_and_an_unknown_code_get_the_same_page(web: Web) -> None:
    code = submitted(web)
    without = submitted(web, None)
    client = web.client()
    answers = [client.get("/tra-cuu", params={"code": c, "id_number": n})
               for c, n in ((code, "001090099999"), (without, NUMBER),
                            (code[:-1] + "9", NUMBER))]
    assert {a.status_code for a in answers} == {404}
    bodies = {re.sub(r'value="[^"]*"', "", a.text) for a in answers}
    assert len(bodies) == 1
    assert "Không tìm thấy hồ sơ" in answers[0].text


@pytest.mark.parametrize(("query", "status", "says"), [
    ({"code": "X"}, 400, "Vui lòng nhập cả"),
    ({"code": "X", "id_number": "12ab"}, 422, "12 chữ số"),
    ({"code": "X" * 200, "id_number": NUMBER}, 404, "Không tìm thấy"),
])
def test_incomplete_or_malformed_input_is_said_in_vietnamese(
        web: Web, query: dict[str, str], status: int, says: str) -> None:
    page = web.client().get("/tra-cuu", params=query)
    assert (page.status_code, says in page.text) == (status, True)
    assert "12ab" not in page.text


def test_tries_are_limited_per_client_then_429_with_retry_after(
        sqlite_url: str, clock: FrozenClock) -> None:
    tight = build(sqlite_url, clock, lookup=LookupLimit(per_client=3, per_code=100))
    try:
        client = tight.client()
        statuses = [client.get("/tra-cuu", params={"code": f"C-{i}", "id_number": NUMBER},
                               headers={"Accept": "text/html"}).status_code
                    for i in range(4)]
        assert statuses == [404, 404, 404, 429]
        blocked = client.get("/tra-cuu", params={"code": "C-9", "id_number": NUMBER},
                             headers={"Accept": "text/html"})
        assert int(blocked.headers["retry-after"]) > 0
        assert "quá nhiều lần" in blocked.text
        assert blocked.headers["content-type"].startswith("text/html")
        assert client.get("/tra-cuu").status_code == 200   # the form itself is never limited
    finally:
        tight.engine.close()


def test_one_code_is_limited_across_clients(sqlite_url: str, clock: FrozenClock) -> None:
    tight = build(sqlite_url, clock, lookup=LookupLimit(per_client=100, per_code=2))
    try:
        statuses = [tight.client(client=(f"10.0.0.{i}", 5000)).get(
            "/tra-cuu", params={"code": "SAME", "id_number": NUMBER}).status_code
            for i in range(3)]
        assert statuses == [404, 404, 429]
    finally:
        tight.engine.close()


def test_the_limiter_opens_again_after_its_window() -> None:
    now = [0.0]
    limiter = RateLimiter(2, 60, clock=lambda: now[0])
    assert [limiter.hit("a"), limiter.hit("a"), limiter.hit("a")] == [0, 0, 60]
    now[0] = 59.5
    assert limiter.hit("a") == 1
    now[0] = 60.0
    assert limiter.hit("a") == 0


def test_the_limiter_forgets_the_oldest_keys_past_its_size() -> None:
    limiter = RateLimiter(1, 60, max_keys=2, clock=lambda: 0.0)
    for key in ("a", "b", "c"):
        limiter.hit(key)
    assert limiter.hit("c") > 0
    assert limiter.hit("a") == 0    # forgotten, so counted afresh


def test_every_page_has_the_security_headers(web: Web) -> None:
    for path in ("/tra-cuu", "/healthz", "/api/v1/dossiers", "/static/dossier.css",
                 "/payments/vnpay/return"):
        headers = web.client().get(path).headers
        csp = headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_no_template_has_a_script_an_inline_style_or_an_outside_resource() -> None:
    for template in TEMPLATES.glob("*.j2"):
        text = template.read_text(encoding="utf-8")
        parser = _Tags()
        parser.feed(text)
        for tag, attrs in parser.tags:
            assert tag != "script", template.name
            # only the dashboard has one: the report's own stylesheet, allowed by its hash
            assert tag != "style" or template.name == "chi-so.html.j2", template.name
            assert "style" not in attrs, template.name
            assert not any(k.startswith("on") for k in attrs), template.name
            for key in ("src", "href"):
                value = attrs.get(key) or ""
                assert not value.startswith(("http:", "https:", "//")), (template.name, value)


def test_unknown_pages_answer_a_page_to_a_browser(web: Web) -> None:
    page = web.client().get("/khong-co", headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert "Không tìm thấy trang" in page.text


def test_the_root_sends_to_the_lookup(web: Web) -> None:
    answer = web.client().get("/", follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, "/tra-cuu")


def test_the_health_check_says_ok(web: Web) -> None:
    assert web.client().get("/healthz").json() == {"status": "ok"}


# --- CSRF ----------------------------------------------------------------------------------

def _request(path: str, cookie: str | None = None) -> Request:
    headers = [(b"cookie", f"{CSRF_COOKIE}={cookie}".encode())] if cookie else []
    return Request({"type": "http", "method": "POST", "path": path, "headers": headers,
                    "scheme": "http", "server": ("testserver", 80), "query_string": b""})


def test_a_csrf_token_is_good_for_its_cookie_and_its_form_only() -> None:
    csrf = Csrf(b"k" * 32)
    nonce, token = csrf.issue(_request("/danh-gia/A"))
    csrf.check(_request("/danh-gia/A", nonce), token)
    from dossier.web.problems import CsrfFailed

    for path, cookie, given in (("/danh-gia/A", None, token),          # no cookie
                                ("/danh-gia/A", "f" * 32, token),      # another browser
                                ("/danh-gia/B", nonce, token),         # another form
                                ("/danh-gia/A", nonce, "tampered"),
                                ("/danh-gia/A", nonce, "ký")):
        with pytest.raises(CsrfFailed):
            Csrf(b"k" * 32).check(_request(path, cookie), given)
    with pytest.raises(CsrfFailed):
        Csrf(b"x" * 32).check(_request("/danh-gia/A", nonce), token)   # another secret


def test_the_csrf_cookie_is_httponly_and_strict() -> None:
    csrf = Csrf(b"k" * 32)
    request = _request("/danh-gia/A")
    nonce, _ = csrf.issue(request)
    response = Response()
    csrf.set_cookie(response, request, nonce)
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "samesite=strict" in cookie.lower()

