"""``docs/forms/`` shows every form without running anything: one picture per form of each
circular and one of the e-receipt, made by ``docs/forms/regenerate.py``."""

from __future__ import annotations

from pathlib import Path

from dossier.documents.circulars import FORMS

GALLERY = Path(__file__).resolve().parent.parent / "docs" / "forms"


def test_every_form_has_a_picture() -> None:
    expected = {f"{circular.folder}-{spec.kind}.png"
                for circular, forms in FORMS.items() for spec in forms.values()}
    expected.add("bien-lai.png")
    assert {p.name for p in GALLERY.glob("*.png")} == expected


def test_the_pictures_stay_small() -> None:
    assert all(p.stat().st_size < 120_000 for p in GALLERY.glob("*.png"))
