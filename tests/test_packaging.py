"""Packaging: the wheel ships the type marker, the samples, the templates and the migrations,
and works installed away from the checkout; an editable install reads the checkout's files."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

import dossier
from dossier import resources

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # --no-isolation: hatchling is a dev dependency, so no download is needed
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation",
                    "--outdir", str(out), str(ROOT)],
                   check=True, capture_output=True, text=True, timeout=120)
    (built,) = out.glob("dossier-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-compile",
                    "--disable-pip-version-check", "--quiet", "--target", str(target),
                    str(wheel)], check=True, capture_output=True, text=True, timeout=120)
    return target


def _run_installed(target: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run python with only the installed wheel and this environment's dependencies.

    ``-S`` skips site-packages' ``.pth`` files, so the editable install of the checkout
    is invisible; the dependencies come in through PYTHONPATH after the wheel.
    """
    site = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), *sorted(site)])}
    return subprocess.run([sys.executable, "-S", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def test_the_wheel_ships_types_samples_templates_and_migrations(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "dossier/py.typed" in names
    samples = {f"dossier/_data/samples/{p.name}" for p in (ROOT / "samples").glob("*.toml")}
    assert samples
    assert samples <= names
    assert any(n.startswith("dossier/_data/templates/") for n in names)
    notices = {f"dossier/_data/templates/notifications/{p.name}"
               for p in (ROOT / "templates" / "notifications").glob("*.txt.j2")}
    assert len(notices) == 5
    assert notices <= names
    for name in ("versions/0001_initial.py", "env.py", "script.py.mako"):
        assert f"dossier/store/migrations/{name}" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_the_installed_wheel_finds_its_samples_and_migrations(
        installed: Path, tmp_path: Path) -> None:
    shown = _run_installed(installed, tmp_path, "-c",
                           "import dossier; print(dossier.__file__);"
                           " print(*dossier.samples(), sep='\\n')")
    assert shown.returncode == 0, shown.stderr
    module, *paths = shown.stdout.splitlines()
    assert Path(module).is_relative_to(installed)
    assert paths
    assert all(Path(p).parent == installed / "dossier" / "_data" / "samples" for p in paths)

    validated = _run_installed(installed, tmp_path, "-m", "dossier", "validate", paths[0])
    assert validated.returncode == 0, validated.stderr
    assert "ok" in validated.stdout

    created = _run_installed(installed, tmp_path, "-c",
                             "from dossier import Engine; Engine('sqlite:///x.db').close()")
    assert created.returncode == 0, created.stderr
    assert (tmp_path / "x.db").is_file()


def test_an_editable_install_reads_the_checkouts_samples_and_templates() -> None:
    if not Path(dossier.__file__).is_relative_to(ROOT):
        pytest.skip("dossier is not imported from this checkout")
    assert resources.samples() == sorted((ROOT / "samples").glob("*.toml"))
    assert resources.template_dir() == ROOT / "templates"
