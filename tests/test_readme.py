"""The README's code blocks run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _block(marker: str) -> str:
    match = re.search(rf"<!-- {marker}:.*?-->\n```python\n(.*?)```", README, re.S)
    assert match, f"README has no python block marked {marker}"
    return match.group(1)


def test_quickstart_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code = _block("quickstart")
    assert len(code.strip().splitlines()) <= 15
    exec(compile(code, "README.md quickstart", "exec"), {})
    assert (tmp_path / "dossiers.db").exists()


def test_agency_test_example_passes() -> None:
    namespace: dict[str, object] = {}
    exec(compile(_block("agency-test"), "README.md agency test", "exec"), namespace)
    test = namespace["test_certified_copy_is_returned_after_payment"]
    assert callable(test)
    test()


def test_deadlines_example_runs_as_written() -> None:
    exec(compile(_block("deadlines"), "README.md deadlines", "exec"), {})


def test_finding_work_example_runs_as_written() -> None:
    exec(compile(_block("finding"), "README.md finding work", "exec"), {})
