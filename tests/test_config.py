"""dossier.toml: one file describes a deployment; every mistake is a FILE: path: message line."""

from __future__ import annotations

import contextlib
import tomllib
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dossier.actors import Actor
from dossier.config import build_deployment, is_secret_key, load_deployment
from dossier.engine import Engine
from dossier.errors import ConfigError, InvalidInput
from dossier.procedure import load_procedure
from dossier.signing.testpki import TEST_PASSPHRASE, shared_test_pki
from dossier.states import Role
from tests.conftest import make_procedure

SECRET = "vnpay-hash-secret-value-123"
ENV = {"VNPAY_SECRET": SECRET, "AUDIT": "audit-key-of-the-province-0123456789",
       "P12_PASS": TEST_PASSPHRASE.decode()}

FULL = """
database = "sqlite:///dossier.db"
audit_key = { env = "AUDIT" }

[[agencies]]
code = "000.00.00.H12"
name = "Ủy ban nhân dân tỉnh Thử Nghiệm"
level = "province"

[[agencies]]
code = "000.00.12.H12"
name = "Ủy ban nhân dân xã Thử Nghiệm"
short_name = "UBND xã Thử Nghiệm"
tax_code = "0101234567"
parent = "000.00.00.H12"
signer = "leader"
terminals = ["vnpay"]
calendar = { extra_days_off = [2026-09-03] }

[gateways.vnpay]
kind = "vnpay"
tmn_code = "DEMO0001"
secret = { env = "VNPAY_SECRET" }

[signers.leader]
kind = "local"
p12_file = "leader.p12"
passphrase = { env = "P12_PASS" }

[worker]
outbox_interval = 2
log_format = "json"
"""


def write(tmp_path: Path, text: str, name: str = "dossier.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def p12(tmp_path: Path) -> Path:
    pki = shared_test_pki()
    path = tmp_path / "leader.p12"
    path.write_bytes(pki.pkcs12(pki.signer))
    return path


def errors_of(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_deployment(write(tmp_path, text), environ=ENV if environ is None else environ)
    return caught.value.lines()


def test_a_full_file_builds_every_part(tmp_path: Path, p12: Path) -> None:
    deployment = load_deployment(write(tmp_path, FULL), environ=ENV)

    assert deployment.database == f"sqlite:///{tmp_path / 'dossier.db'}"  # beside the file
    xa = deployment.agencies["000.00.12.H12"]
    assert (xa.display_name, xa.tax_code, xa.parent) == (
        "UBND xã Thử Nghiệm", "0101234567", "000.00.00.H12")
    assert deployment.agencies.with_descendants("000.00.00.H12") == {
        "000.00.00.H12", "000.00.12.H12"}
    # the agency's terminal binds the gateway to it; the counter is always there
    assert deployment.gateways.agencies_of("vnpay") == {"000.00.12.H12"}
    assert "counter" in deployment.gateways
    assert set(deployment.signers) == {"leader"}
    assert deployment.default_signers == {"000.00.12.H12": "leader"}
    assert not deployment.calendars["000.00.12.H12"].is_working_day(date(2026, 9, 3))
    assert deployment.worker.outbox_interval == 2
    assert deployment.worker.log_format == "json"
    assert deployment.audit_keys == (ENV["AUDIT"],)


def test_the_engine_from_a_file_collects_only_for_its_own_terminal(tmp_path: Path,
                                                                   p12: Path) -> None:
    path = write(tmp_path, FULL.replace('"sqlite:///dossier.db"', '"sqlite://"'))
    engine = Engine.from_config(path, environ=ENV)
    try:
        assert engine.agencies.name_of("000.00.12.H12") == "UBND xã Thử Nghiệm"
        engine.register(make_procedure("9.000001", ["receive", "pay", "process", "return"]))
        citizen = Actor(id="cd01", role=Role.CITIZEN)
        code = engine.submit("9.000001", applicant={"name": "Nguyễn Văn A"}, channel="online",
                             actor=citizen, agency="000.00.00.H12").code
        clerk = Actor(id="nv01", role=Role.CLERK, agency="000.00.00.H12")
        engine.fire(code, "receive", actor=clerk)
        with pytest.raises(InvalidInput, match="another agency's merchant terminal"):
            engine.request_payment(code, "vnpay", actor=citizen, return_url="https://x")
    finally:
        engine.close()


def test_secrets_written_inline_are_refused_without_repeating_them(tmp_path: Path,
                                                                   p12: Path) -> None:
    text = FULL.replace('secret = { env = "VNPAY_SECRET" }', f'secret = "{SECRET}"')
    lines = errors_of(tmp_path, text)
    assert lines == [f"{tmp_path / 'dossier.toml'}: gateways.vnpay.secret: secrets come from "
                     "the environment: give { env = \"NAME\" }, never the value"]
    assert SECRET not in "".join(lines)


@pytest.mark.parametrize("key", ["secret", "passphrase", "pin", "token", "client_secret",
                                 "api_key", "hash_secret", "password"])
def test_secret_names(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize("key", ["tmn_code", "url", "kind", "p12_file", "name", "agencies"])
def test_not_secret_names(key: str) -> None:
    assert not is_secret_key(key)


def test_every_problem_is_listed_at_once(tmp_path: Path, p12: Path) -> None:
    text = FULL.replace('kind = "vnpay"', 'kind = "vnpy"').replace(
        'signer = "leader"', 'signer = "chief"').replace(
        'log_format = "json"', 'log_format = "xml"\ncolour = 1')
    lines = errors_of(tmp_path, text)
    joined = "\n".join(lines)
    assert "worker.log_format" in joined
    assert "worker.colour: unknown key" in joined
    # schema errors come first; adapters are only built from a file that parses
    text = FULL.replace('kind = "vnpay"', 'kind = "vnpy"').replace(
        'signer = "leader"', 'signer = "chief"')
    joined = "\n".join(errors_of(tmp_path, text))
    assert "gateways.vnpay.kind: no installed gateway called 'vnpy'; installed:" in joined
    assert "vnpay" in joined.split("installed:")[1]
    assert "agencies[1].signer: no [signers.chief] in this file" in joined


def test_unset_environment_variables_are_named(tmp_path: Path, p12: Path) -> None:
    lines = errors_of(tmp_path, FULL, environ={"P12_PASS": ENV["P12_PASS"]})
    assert [line.split(": ", 1)[1] for line in lines] == [
        "audit_key: environment variable AUDIT is not set",
        "gateways.vnpay.secret: environment variable VNPAY_SECRET is not set"]


def test_a_factory_names_its_unknown_key(tmp_path: Path, p12: Path) -> None:
    text = FULL.replace('tmn_code = "DEMO0001"', 'tmn_code = "DEMO0001"\ntmn = "X"')
    (line,) = errors_of(tmp_path, text)
    assert line.endswith("gateways.vnpay.tmn: unknown key (check its spelling); known: "
                         "api_url, bank_code, order_type, pay_url, secret, tmn_code")


def test_a_wrong_passphrase_is_the_signer_table_s_problem(tmp_path: Path, p12: Path) -> None:
    (line,) = errors_of(tmp_path, FULL, environ={**ENV, "P12_PASS": "sai-mat-khau-9"})
    assert ": signers.leader: " in line
    assert "sai-mat-khau-9" not in line


def test_bindings_must_name_known_agencies_and_gateways(tmp_path: Path, p12: Path) -> None:
    text = FULL.replace('terminals = ["vnpay"]', 'terminals = ["momo"]').replace(
        'tmn_code = "DEMO0001"', 'tmn_code = "DEMO0001"\nagencies = ["000.00.99.H12"]')
    joined = "\n".join(errors_of(tmp_path, text))
    assert "agencies[1].terminals[0]: no [gateways.momo] in this file" in joined
    assert "gateways.vnpay.agencies: not in [[agencies]]: 000.00.99.H12" in joined


@pytest.mark.parametrize(("text", "message"), [
    ("database = ", "invalid TOML"),
    ("[[agencies]]\ncode = \"X\"\nname = \"A\"\ntax_code = \"12\"", "tax_code must be 10"),
    ("[[agencies]]\ncode = \"X\"\nname = \"A\"\nparent = \"Y\"", "parent Y is not in"),
    ("audit_key = { env = \"A\", file = \"b\" }", "nothing else"),
    ("procedures = [\"nowhere/*.toml\"]", "no file matches"),
    ("[forms]\nsymbols = { receipt = \"BL\" }", "forms.symbols: 'receipt' is not a form use"),
    ("[forms]\nsymbols = { reception = \"G TN\" }", "no spaces"),
    ("[forms]\nat_fire = \"yes\"", "forms.at_fire"),
])
def test_bad_files(tmp_path: Path, text: str, message: str) -> None:
    assert message in "\n".join(errors_of(tmp_path, text))


def test_a_file_that_is_not_there_or_not_text(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read file"):
        load_deployment(tmp_path / "missing.toml")
    path = tmp_path / "binary.toml"
    path.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_deployment(path)


def test_procedures_listed_are_registered_on_start(tmp_path: Path) -> None:
    sample = Path(__file__).parents[1] / "samples"
    text = f'database = "sqlite://"\nprocedures = ["{sample}/*.toml"]\n'
    engine = Engine.from_config(write(tmp_path, text), environ={})
    try:
        for file in sample.glob("*.toml"):
            procedure = load_procedure(file)
            assert engine.procedure(procedure.code, procedure.version) == procedure
    finally:
        engine.close()


_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20),
                     st.dates(), st.floats(allow_nan=False))
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.sampled_from(["env", "kind", "code", "name", "secret", "agencies",
                                     "calendar", "x"]), inner, max_size=4)), max_leaves=12)
_files = st.dictionaries(st.sampled_from([
    "database", "audit_key", "agencies", "gateways", "signers", "sinks", "notifiers",
    "worker", "outbox", "receipts", "forms", "procedures", "other"]), _values, max_size=5)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_files)
def test_any_decoded_file_is_a_deployment_or_a_config_error(data: dict[str, object]) -> None:
    try:
        build_deployment(data, environ={"A": "1"})
    except ConfigError as exc:
        problems = exc.errors
    else:
        problems = [("", "built")]
    assert problems
    assert all(isinstance(path, str) for path, _ in problems)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200))
def test_any_text_is_a_deployment_or_a_config_error(text: str) -> None:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return
    with contextlib.suppress(ConfigError):
        build_deployment(data, environ={})


def test_a_vendor_package_adds_a_sink_by_entry_point(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """An installed distribution declaring `dossier.sinks` is usable by its name, with no
    change to dossier (here: a distribution on sys.path, as pip would leave it)."""
    package = tmp_path / "vendor_sms"
    package.mkdir()
    (package / "__init__.py").write_text(
        "class Sink:\n"
        "    def __init__(self, *, name, gateway_url):\n"
        "        self.name, self.gateway_url = name, gateway_url\n"
        "    def wants(self, message_type):\n"
        "        return message_type == 'dossier.receive'\n"
        "    def deliver(self, message, dossier):\n"
        "        pass\n"
        "def make(*, name, gateway_url):\n"
        "    return Sink(name=name, gateway_url=gateway_url)\n", encoding="utf-8")
    info = tmp_path / "vendor_sms-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: vendor-sms\nVersion: 1.0\n",
                                   encoding="utf-8")
    (info / "entry_points.txt").write_text("[dossier.sinks]\nvendor-sms = vendor_sms:make\n",
                                           encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    path = write(tmp_path, '[sinks.sms]\nkind = "vendor-sms"\n'
                           'gateway_url = "https://sms.example.vn"\n')
    deployment = load_deployment(path, environ={})
    sink = deployment.sinks["sms"]
    assert type(sink).__module__ == "vendor_sms"
    assert sink.wants("dossier.receive")
    assert not sink.wants("dossier.submit")


def test_the_applicant_key_from_the_file_indexes_id_numbers(tmp_path: Path) -> None:
    path = write(tmp_path, 'database = "sqlite://"\napplicant_key = { env = "APPLICANT_KEY" }\n')
    key = "a-province-digest-key-" + "0123456789" * 4
    engine = Engine.from_config(path, environ={"APPLICANT_KEY": key})
    try:
        engine.register(make_procedure("9.000001", ["receive", "process", "return"]))
        clerk = Actor(id="nv01", role=Role.CLERK, agency="000.00.12.H12")
        code = engine.submit("9.000001", channel="counter", actor=clerk,
                             applicant={"name": "Lê Thị C", "id_number": "001090012345"}).code
        assert [d.code for d in engine.find(applicant_id="001090012345").items] == [code]
        assert not engine.find(applicant_id="001090099999").items
    finally:
        engine.close()


def test_forms_settings_from_the_file_reach_the_engine(tmp_path: Path) -> None:
    path = write(tmp_path, 'database = "sqlite://"\n[forms]\nat_fire = false\n'
                           'symbols = { reception = "TN-MC" }\n')
    engine = Engine.from_config(path, environ={})
    try:
        settings = engine._forms.settings
        assert (settings.at_fire, dict(settings.symbols)) == (False, {"reception": "TN-MC"})
    finally:
        engine.close()


def test_the_deployment_never_shows_its_keys(tmp_path: Path, p12: Path) -> None:
    deployment = load_deployment(write(tmp_path, FULL), environ=ENV)
    assert ENV["AUDIT"] not in repr(deployment)
    assert SECRET not in repr(deployment)
