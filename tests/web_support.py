"""What the web tests share: an engine with two procedures and the fake payment providers,
an application over it with a token per person, and clients that send a token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from finding_support import AGENCY, KEY, OTHER, setup, staff
from starlette.applications import Starlette
from starlette.testclient import TestClient

from dossier import Actor, Engine
from dossier.payments import FakeProviderService, MomoGateway, VnpayGateway
from dossier.payments.fake import demo_momo_config, demo_vnpay_config
from dossier.testing import FrozenClock
from dossier.web import LookupLimit, WebSettings, create_app

NUMBER = "001090012345"
CITIZEN = Actor(id="cd01", role="citizen")
#: token → actor: each person of AGENCY, a clerk of OTHER and a citizen
TOKENS: dict[str, Actor] = {
    **{f"{role}-token-{'x' * 24}": actor for role, actor in staff().items()},
    f"other-clerk-token-{'x' * 24}": staff(OTHER)["clerk"],
    f"citizen-token-{'x' * 24}": CITIZEN,
}


def token_of(actor: Actor) -> str:
    return next(token for token, known in TOKENS.items() if known == actor)


@dataclass
class Web:
    engine: Engine
    app: Starlette
    provider: FakeProviderService
    clock: FrozenClock

    def client(self, as_: Actor | None = None, **kwargs: Any) -> TestClient:
        headers = {} if as_ is None else {"Authorization": f"Bearer {token_of(as_)}"}
        return TestClient(self.app, headers=headers, **kwargs)

    def clerk(self) -> TestClient:
        return self.client(staff()["clerk"])


def build(url: str, clock: FrozenClock, **settings: Any) -> Web:
    provider = FakeProviderService(vnpay_config=demo_vnpay_config(),
                                   momo_config=demo_momo_config())
    assert provider.vnpay_config is not None
    assert provider.momo_config is not None
    engine = setup(Engine(url, clock=clock, applicant_key=KEY, gateways=[
        VnpayGateway(provider.vnpay_config, transport=provider),
        MomoGateway(provider.momo_config, transport=provider)]))
    options: dict[str, Any] = {"tokens": TOKENS, "csrf_secret": b"s" * 32,
                               "lookup": LookupLimit(per_client=50, per_code=50), **settings}
    app = create_app(engine, settings=WebSettings(**options))
    return Web(engine=engine, app=app, provider=provider, clock=clock)


__all__ = ["AGENCY", "CITIZEN", "NUMBER", "OTHER", "TOKENS", "Web", "build", "staff"]
