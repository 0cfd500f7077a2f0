"""The public surface, pinned: a change to an exported name or to a public Engine method's
signature fails here, so that it is made on purpose (and noted in CHANGELOG.md).

After a deliberate change, rewrite the snapshot with ``python tests/test_public_api.py``
and review the diff.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path

SNAPSHOT = Path(__file__).parent / "data" / "public-api.txt"
MODULES = ("dossier", "dossier.payments", "dossier.signing", "dossier.sinks", "dossier.testing",
           "dossier.engine", "dossier.payments.service", "dossier.signing.service",
           "dossier.web")


def surface() -> str:
    """Every exported name of the public modules, and every public Engine member with its
    signature, one per line."""
    lines: list[str] = []
    for name in MODULES:
        module = importlib.import_module(name)
        lines += [f"{name}.{export}" for export in sorted(module.__all__)]
    from dossier import Engine

    members = [(k, v) for cls in Engine.__mro__[:-1] for k, v in vars(cls).items()]
    for member, value in members:
        if member.startswith("_") and member != "__init__":
            continue
        if isinstance(value, property):
            lines.append(f"Engine.{member} (property)")
        elif isinstance(value, classmethod | staticmethod):
            lines.append(f"Engine.{member}{inspect.signature(value.__func__)}")
        elif callable(value):
            lines.append(f"Engine.{member}{inspect.signature(value)}")
    return "\n".join(sorted(set(lines))) + "\n"


def test_every_export_resolves() -> None:
    for name in MODULES:
        module = importlib.import_module(name)
        for export in module.__all__:
            assert getattr(module, export) is not None, f"{name}.{export}"


def test_the_public_surface_matches_the_snapshot() -> None:
    assert surface() == SNAPSHOT.read_text(encoding="utf-8"), (
        "the public API changed; if that is deliberate, run `python tests/test_public_api.py`"
        " and note the change in CHANGELOG.md")


def test_the_whole_error_tree_is_exported_from_the_top() -> None:
    import dossier
    from dossier import errors

    tree = {name for name, value in vars(errors).items()
            if inspect.isclass(value) and issubclass(value, errors.DossierError)}
    assert tree <= set(dossier.__all__)


def test_old_import_paths_still_work() -> None:
    from dossier import policy
    from dossier.authorise import check_party
    from dossier.billing import ReceiptSettings, instructions
    from dossier.engine import Engine
    from dossier.payments import service
    from dossier.signatures import DEFAULT_CERTIFIER_TITLE, Signatures
    from dossier.signing.service import SigningService

    assert check_party is policy.check_party
    assert (ReceiptSettings, instructions) == (service.ReceiptSettings, service.instructions)
    assert Engine is __import__("dossier").Engine
    assert Signatures is SigningService
    assert DEFAULT_CERTIFIER_TITLE == "Công chức tư pháp - hộ tịch"


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    SNAPSHOT.write_text(surface(), encoding="utf-8")
    print(f"wrote {SNAPSHOT}")
