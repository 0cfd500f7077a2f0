"""The citizen's rating of the service (đánh giá mức độ hài lòng): levels, criteria, checks.

After a dossier is returned its applicant may rate the service once (see
:meth:`dossier.Engine.rate`). The scheme here is what a form renders and what the quality
report counts. Pure: stdlib only.

Sources, and what is a setting:

- **Levels.** Three, "Rất hài lòng / Hài lòng / Không hài lòng", as one-stop-shop centres
  survey them (Trung tâm Hành chính công thành phố Huế, survey of quý I/2019, huecity.gov.vn).
  Quyết định 766/QĐ-TTg (23/6/2022), group "Mức độ hài lòng", counts only the *dissatisfied*
  ones: its satisfaction rate is (dossiers − dossiers rated "không hài lòng" or complained
  about) / dossiers (formula quoted by lamdong.dcs.vn, 06/7/2022). The three levels are
  therefore all the report needs; whether Nghị định 118/2025/NĐ-CP or a Thông tư of the
  Văn phòng Chính phủ fixes other levels for the national portal was not confirmed, so the
  tuple below is a setting (:data:`RATING_LEVELS`), in one place.
- **Criteria.** The twelve a provincial portal asks about each dossier
  (dichvucong.thuathienhue.gov.vn, "Tỷ lệ đánh giá mức độ hài lòng": the overall service,
  convenience, timeliness, staff attitude, then the criteria of Nghị định 61/2018/NĐ-CP's
  evaluation of the handling of a procedure). Each is optional and answered on the same three
  levels. Not confirmed as the national portal's list under Nghị định 118/2025: a setting
  (:data:`RATING_CRITERIA`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from dossier import text
from dossier.errors import InvalidInput

#: Longest comment kept with a rating (characters): a paragraph, not a letter.
MAX_COMMENT = 2000


@dataclass(frozen=True, kw_only=True)
class RatingLevel:
    """One answer a citizen can give: ``key`` (stored), ``score`` (3 best), ``label``."""

    key: str
    score: int
    label: str


@dataclass(frozen=True, kw_only=True)
class RatingCriterion:
    """One aspect of the service a citizen may rate separately (``key`` stored)."""

    key: str
    label: str


VERY_SATISFIED = RatingLevel(key="very_satisfied", score=3, label="Rất hài lòng")
SATISFIED = RatingLevel(key="satisfied", score=2, label="Hài lòng")
DISSATISFIED = RatingLevel(key="dissatisfied", score=1, label="Không hài lòng")

#: The levels, best first (a setting: see the module's docstring).
RATING_LEVELS: tuple[RatingLevel, ...] = (VERY_SATISFIED, SATISFIED, DISSATISFIED)

#: The optional criteria, in the order a form shows them (a setting: see the docstring).
RATING_CRITERIA: tuple[RatingCriterion, ...] = tuple(
    RatingCriterion(key=key, label=label) for key, label in (
        ("overall", "Đánh giá tổng thể dịch vụ"),
        ("convenience", "Mức độ thuận tiện khi sử dụng dịch vụ"),
        ("timeliness", "Mức độ đúng hạn trong xử lý, trả kết quả"),
        ("staff_attitude", "Thái độ của cán bộ, công chức, viên chức"),
        ("processing_time", "Thời gian giải quyết so với thời gian cho phép theo quy định"),
        ("time_per_step", "Thời gian thực hiện giải quyết so với quy định"),
        ("contacts_needed", "Số lần phải liên hệ để hoàn thiện hồ sơ"),
        ("agencies_contacted", "Số cơ quan, đơn vị phải liên hệ để hoàn thiện hồ sơ"),
        ("one_stop_shop", "Tiếp nhận, giải quyết, trả kết quả tại Bộ phận Một cửa"),
        ("publicity", "Mức độ công khai thủ tục hành chính"),
        ("feedback_handling", "Tiếp thu, giải trình ý kiến phản ánh, kiến nghị"),
        ("online_service", "Tiến độ và chất lượng cung cấp dịch vụ công trực tuyến"),
    ))

_LEVELS: Mapping[str, RatingLevel] = MappingProxyType(
    {**{level.key: level for level in RATING_LEVELS},
     **{level.label.casefold(): level for level in RATING_LEVELS}})
_SCORES: Mapping[int, RatingLevel] = MappingProxyType(
    {level.score: level for level in RATING_LEVELS})
_CRITERIA = frozenset(criterion.key for criterion in RATING_CRITERIA)


@dataclass(frozen=True, kw_only=True)
class Rating:
    """A citizen's rating of one returned dossier, as stored.

    ``actor`` recorded it: the applicant, or a clerk on their behalf (``on_behalf_of`` then
    names the applicant's account, or is None for a counter dossier without one).
    ``comment`` is free text the applicant wrote: kept in the ratings table only, while the
    event in the chain records its SHA-256.
    """

    dossier_code: str
    agency: str
    procedure_code: str
    level: RatingLevel
    criteria: Mapping[str, RatingLevel]
    comment: str | None
    actor: str
    role: str
    on_behalf_of: str | None
    rated_at: datetime


def level_of(value: object, field: str = "level") -> RatingLevel:
    """The level ``value`` names: its score (3, 2, 1), key (``"satisfied"``) or Vietnamese
    label (``"Hài lòng"``, any case)."""
    if isinstance(value, RatingLevel) and value in RATING_LEVELS:
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value in _SCORES:
        return _SCORES[value]
    if isinstance(value, str) and value.strip().casefold() in _LEVELS:
        return _LEVELS[value.strip().casefold()]
    choices = ", ".join(f"{lv.score} / {lv.key!r} / {lv.label!r}" for lv in RATING_LEVELS)
    raise InvalidInput(f"{field} must be one of: {choices}")


def check_criteria(criteria: object) -> dict[str, RatingLevel]:
    """The criteria answered (``{key: level}``), each key one of :data:`RATING_CRITERIA`."""
    if criteria is None:
        return {}
    if not isinstance(criteria, Mapping):
        raise InvalidInput("criteria must map criterion keys to levels")
    clean: dict[str, RatingLevel] = {}
    for key, value in criteria.items():
        if not isinstance(key, str) or key not in _CRITERIA:
            known = ", ".join(c.key for c in RATING_CRITERIA)
            raise InvalidInput(f"unknown rating criterion (expected one of: {known})")
        clean[key] = level_of(value, f"criteria[{key!r}]")
    return clean


def check_comment(comment: object) -> str | None:
    """The comment in NFC, or None when left out or blank."""
    if comment is None:
        return None
    clean = text.clean("comment", comment, text.Kind.FREE_TEXT, blank=True)
    if len(clean) > MAX_COMMENT:
        raise InvalidInput(f"comment must be at most {MAX_COMMENT} characters")
    return clean or None
