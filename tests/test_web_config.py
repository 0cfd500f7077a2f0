"""dossier.toml's [web] table: tokens by env reference mapped to actors, and the limits."""

from __future__ import annotations

import pytest

from dossier import Actor
from dossier.config import build_deployment
from dossier.errors import ConfigError
from dossier.web import WebSettings

AGENCIES = [{"code": "000.00.12.H12", "name": "UBND xã Thử Nghiệm"}]
TOKEN = "t" * 40
ENV = {"CLERK_TOKEN": TOKEN, "LEADER_TOKEN": "l" * 40, "CSRF": "c" * 32, "SHORT": "abc"}


def web(**table: object) -> dict[str, object]:
    return {"agencies": AGENCIES, "web": table}


def clerk_entry(env: str = "CLERK_TOKEN", **actor: object) -> dict[str, object]:
    return {"token": {"env": env},
            "actor": {"id": "nv01", "role": "clerk", "agency": "000.00.12.H12", **actor}}


def problems(data: dict[str, object]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        build_deployment(data, source="dossier.toml", environ=ENV)
    return caught.value.lines()


def test_tokens_come_from_the_environment_and_name_their_actor() -> None:
    deployment = build_deployment(web(tokens=[clerk_entry(), {
        "token": {"env": "LEADER_TOKEN"},
        "actor": {"id": "ld01", "role": "leader", "agency": "000.00.12.H12"}}],
        port=8080, csrf_secret={"env": "CSRF"}, lookup={"per_client": 5}),
        environ=ENV)
    assert deployment.web_tokens[TOKEN] == Actor(id="nv01", role="clerk", agency="000.00.12.H12")
    assert len(deployment.web_tokens) == 2
    settings = WebSettings.from_deployment(deployment)
    assert settings.csrf_secret == b"c" * 32
    assert (settings.lookup.per_client, settings.lookup.per_code) == (5, 10)
    assert deployment.web.port == 8080
    for shown in (repr(settings), repr(deployment)):
        assert TOKEN not in shown
        assert "c" * 32 not in shown


def test_without_a_web_table_there_is_no_token_and_a_random_csrf_secret() -> None:
    deployment = build_deployment({}, environ={})
    settings = WebSettings.from_deployment(deployment)
    assert settings.tokens == {}
    assert len(settings.csrf_secret) == 32
    assert (deployment.web.host, deployment.web.port) == ("127.0.0.1", 8000)


def test_an_inline_token_is_refused_without_repeating_it() -> None:
    lines = problems(web(tokens=[{"token": TOKEN, "actor": {"id": "x", "role": "citizen"}}]))
    assert lines == ["dossier.toml: web.tokens[0].token: secrets come from the environment: "
                     "give { env = \"NAME\" }, never the value"]
    assert TOKEN not in "".join(lines)


def test_an_inline_csrf_secret_is_refused() -> None:
    assert problems(web(csrf_secret="c" * 32))[0].startswith(
        "dossier.toml: web.csrf_secret: secrets come from the environment")


@pytest.mark.parametrize(("entry", "line"), [
    (clerk_entry("SHORT"), "web.tokens[0].token: a token must be at least 32 characters"),
    (clerk_entry(role="janitor"), "web.tokens[0].actor: unknown role 'janitor'"),
    (clerk_entry(agency=None), "web.tokens[0].actor: a clerk actor must name the agency"),
    (clerk_entry(agency="000.00.99.H99"),
     "web.tokens[0].actor.agency: not in [[agencies]]: 000.00.99.H99"),
    (clerk_entry("UNSET"), "web.tokens[0].token: environment variable UNSET is not set"),
    ({"token": {"env": "CLERK_TOKEN"}}, "web.tokens[0].actor: Field required"),
])
def test_a_bad_token_entry_is_one_line(entry: dict[str, object], line: str) -> None:
    [found] = problems(web(tokens=[entry]))
    assert found.startswith(f"dossier.toml: {line}")


def test_the_same_token_twice_is_refused() -> None:
    lines = problems(web(tokens=[clerk_entry(), clerk_entry(id="nv02")]))
    assert lines == ["dossier.toml: web.tokens[1].token: the same token is given twice; each "
                     "actor needs its own"]


@pytest.mark.parametrize(("table", "path"), [
    ({"port": 70000}, "web.port"),
    ({"lookup": {"per_code": 0}}, "web.lookup.per_code"),
    ({"max_json_bytes": 10}, "web.max_json_bytes"),
    ({"colour": "blue"}, "web.colour"),
])
def test_limits_out_of_range_are_named(table: dict[str, object], path: str) -> None:
    assert problems(web(**table))[0].startswith(f"dossier.toml: {path}: ")
