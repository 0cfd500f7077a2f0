"""The sample procedures, templates and the font shipped with the package.

In a wheel they live in ``dossier/_data/`` (hatch force-includes the top-level ``samples/``
and ``templates/`` there); in a source checkout or editable install they are read from the
top-level folders beside the package.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from dossier.errors import InvalidInput

_CHECKOUT = Path(__file__).resolve().parent.parent


def data_dir(name: str) -> Traversable:
    """The shipped ``samples`` or ``templates`` folder."""
    packaged = files("dossier").joinpath("_data", name)
    if packaged.is_dir():
        return packaged
    return _CHECKOUT / name


def samples() -> list[Path]:
    """Paths of the sample procedure files, sorted by name."""
    folder = data_dir("samples")
    return sorted(Path(str(entry)) for entry in folder.iterdir() if entry.name.endswith(".toml"))


def sample_path(name: str) -> Path:
    """The path of one sample, by file name with or without ``.toml``."""
    wanted = name if name.endswith(".toml") else f"{name}.toml"
    for path in samples():
        if path.name == wanted:
            return path
    raise FileNotFoundError(f"no sample procedure named {wanted!r}")


def template_dir() -> Path:
    """The folder of Jinja2 templates."""
    return Path(str(data_dir("templates")))


#: The bundled font family: Noto Sans (SIL OFL 1.1, see ``dossier/_fonts/OFL.txt``), subset
#: to Latin and Vietnamese, 1000 units per em (the unit pyHanko's glyph widths assume).
_FONTS = {"regular": "NotoSans-Regular.ttf", "bold": "NotoSans-Bold.ttf"}


def font_path(style: str = "regular") -> Path:
    """The TTF file with full Vietnamese coverage shared by stamps and rendered PDFs."""
    try:
        name = _FONTS[style]
    except KeyError:
        raise InvalidInput(f"no bundled font style {style!r}; use one of {sorted(_FONTS)}") \
            from None
    return Path(str(files("dossier").joinpath("_fonts", name)))


#: The serif of official documents: Tinos (SIL OFL 1.1, see ``dossier/_fonts/OFL-Tinos.txt``),
#: metric-compatible with Times New Roman (which Nghị định 30/2020/NĐ-CP names), subset to
#: Latin and Vietnamese.
_SERIF = {"": "Tinos-Regular.ttf", "B": "Tinos-Bold.ttf", "I": "Tinos-Italic.ttf",
          "BI": "Tinos-BoldItalic.ttf"}


def serif_path(style: str = "") -> Path:
    """The bundled serif face for ``style``: ``""``, ``"B"``, ``"I"`` or ``"BI"``."""
    try:
        name = _SERIF[style]
    except KeyError:
        raise InvalidInput(f"no bundled serif style {style!r}; use one of {sorted(_SERIF)}") \
            from None
    return Path(str(files("dossier").joinpath("_fonts", name)))
