"""``dossier list``: a readable table or JSON of one page of ``find``, read-only."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from finding_support import AGENCY, OTHER, advance, setup, staff, submit

from dossier import Engine
from dossier.cli import main
from dossier.testing import FrozenClock


@pytest.fixture(autouse=True)
def _no_deployment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOSSIER_CONFIG", raising=False)
    monkeypatch.delenv("DOSSIER_DATABASE_URL", raising=False)


@pytest.fixture
def filled(tmp_path: Path, clock: FrozenClock) -> tuple[str, list[str]]:
    """A SQLite file with four dossiers of September 2025: two being processed (one
    assigned), one waiting for reception, one of another agency. The command runs on the
    system clock, long after: the received ones are overdue."""
    url = f"sqlite:///{tmp_path / 'list.db'}"
    engine = setup(Engine(url, clock=clock))
    people = staff()
    codes = []
    for _i in range(2):
        code = submit(engine).code
        advance(engine, code, 2)
        codes.append(code)
        clock.advance(timedelta(hours=1))
    engine.assign(codes[1], people["specialist"], actor=people["leader"])
    codes.append(submit(engine, name="Phạm Thị Dung").code)
    codes.append(submit(engine, agency=OTHER).code)
    engine.close()
    return url, codes


def test_list_prints_a_table_of_the_dossiers_found(
        filled: tuple[str, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    url, codes = filled
    assert main(["list", "--database", url, "--agency", AGENCY,
                 "--state", "processing", "awaiting_reception"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["code", "procedure", "state", "assignee", "due", "remaining"]
    assert [line.split()[0] for line in lines[1:4]] == codes[:3]
    assert lines[2].split()[3] == "cv01"
    assert lines[3].split()[3:] == ["-", "-", "-"]  # not received: no due date yet
    assert "Phạm" not in "\n".join(lines)  # no applicant data
    assert lines[-1] == "3 dossier(s)"


def test_list_json_has_the_rows_and_the_next_cursor(
        filled: tuple[str, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    url, codes = filled
    assert main(["list", "--database", url, "--overdue", "--limit", "1", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert [row["code"] for row in first["items"]] == [codes[0]]
    assert first["items"][0]["remaining"].startswith("Quá")
    assert first["next"]
    assert main(["list", "--database", url, "--overdue", "--limit", "1", "--json",
                 "--after", first["next"]]) == 0
    second = json.loads(capsys.readouterr().out)
    assert [row["code"] for row in second["items"]] == [codes[1]]
    assert second["next"] is None
    assert main(["list", "--database", url, "--assignee", "cv01", "--json"]) == 0
    assert [r["assignee"] for r in json.loads(capsys.readouterr().out)["items"]] == ["cv01"]


def test_list_reports_bad_input_in_one_line(
        filled: tuple[str, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    url, _ = filled
    assert main(["list", "--database", url, "--limit", "0"]) == 1
    assert capsys.readouterr().err.startswith("dossier: error: limit must be")
    assert main(["list", "--database", url, "--after", "garbage"]) == 1
    assert "not a cursor" in capsys.readouterr().err


def test_list_creates_no_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "none.db"
    assert main(["list", "--database", f"sqlite:///{missing}"]) == 1
    assert "no database at" in capsys.readouterr().err
    assert not missing.exists()
