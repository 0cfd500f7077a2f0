"""Regenerate the pictures of the forms in this folder: ``python docs/forms/regenerate.py``.

Issues every form of both circulars for a sample dossier (the same small world as
``tests/forms_support.py``), plus an e-receipt, and draws page 1 of each with poppler's
``pdftoppm -png -gray -r 60``. ``tests/test_forms_gallery.py`` checks that a picture exists for
every form the circulars define.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "tests"))

from forms_support import AFTER, BEFORE, every_form, world  # noqa: E402

from dossier.documents.circulars import Circular  # noqa: E402


def picture(pdf: bytes, name: str) -> None:
    """Page 1 of ``pdf`` as ``<name>.png`` beside this script."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "form.pdf"
        source.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-png", "-gray", "-r", "60", "-f", "1", "-l", "1",
                        "-singlefile", str(source), str(HERE / name)], check=True)


def main() -> None:
    for at, circular in ((BEFORE, Circular.TT01_2018), (AFTER, Circular.TT03_2025)):
        w = world(at)
        try:
            for kind, pdf in sorted(every_form(w).items()):
                picture(pdf, f"{circular.folder}-{kind}")
            code = w.received()
            w.engine.fire(code, "pay", actor=w.clerk, amount=10_000)
            [receipt] = [d for d in w.engine.documents(code) if d.kind == "receipt"]
            if circular is Circular.TT03_2025:
                picture(w.engine.read_document(code, receipt.sha256), "bien-lai")
        finally:
            w.engine.close()


if __name__ == "__main__":
    main()
