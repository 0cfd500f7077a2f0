"""The indicators of Quyết định 766/QĐ-TTg (23/6/2022) that a dossier database can measure,
as value types: one :class:`Indicator` (numerator, denominator, rate) per measure, grouped as
766 groups them. Pure.

The five groups and their points (confirmed: sonoivu.namdinh.gov.vn, see
``/work/shared/LEGAL-SOURCES.md``): Công khai, minh bạch 18; Tiến độ, kết quả giải quyết 20;
Số hóa hồ sơ 22; Cung cấp dịch vụ trực tuyến 22; Mức độ hài lòng 18. Attribute names are the
groups' Vietnamese names without diacritics (``cong_khai``, ``tien_do``, ``so_hoa``,
``truc_tuyen``, ``hai_long``) and the indicators' in English.

Each group's docstring gives every indicator's formula, its source and whether the source's
text was read ("confirmed") or the formula is ours, made to fit what 766 names
("unconfirmed"). :data:`SPECS` holds the same, for renderers.

**Scores are estimates.** How 766 turns rates into points inside a group (thresholds,
sub-weights) was not confirmed: a group's score here is its points × the mean of its scored
indicators' rates (those with a denominator), and the total is the sum over the groups that
have one (``QualityScore.points`` says how many of the 100 points were measured).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

#: The groups' points out of 100 (confirmed).
WEIGHTS: dict[str, int] = {"cong_khai": 18, "tien_do": 20, "so_hoa": 22, "truc_tuyen": 22,
                           "hai_long": 18}
GROUP_LABELS: dict[str, str] = {
    "cong_khai": "Công khai, minh bạch", "tien_do": "Tiến độ, kết quả giải quyết",
    "so_hoa": "Số hóa hồ sơ", "truc_tuyen": "Cung cấp dịch vụ trực tuyến",
    "hai_long": "Mức độ hài lòng"}


@dataclass(frozen=True, kw_only=True)
class Indicator:
    """``numerator`` out of ``denominator``; ``rate`` is their ratio (0–1), None when the
    denominator is 0 (nothing to judge) or the indicator is not ``measured`` at all (the data
    it needs is not kept: see its group's docstring)."""

    numerator: int
    denominator: int
    measured: bool = True

    @property
    def rate(self) -> float | None:
        if not self.measured or self.denominator == 0:
            return None
        return self.numerator / self.denominator

    def as_dict(self) -> dict[str, Any]:
        return {"numerator": self.numerator, "denominator": self.denominator,
                "rate": self.rate, "measured": self.measured}


NOT_MEASURED = Indicator(numerator=0, denominator=0, measured=False)


@dataclass(frozen=True, kw_only=True)
class IndicatorSpec:
    """What an indicator is: its Vietnamese label, formula, source, and whether the source's
    text was read (``confirmed``); ``scored``: it counts towards the group's score."""

    label: str
    formula: str
    source: str
    confirmed: bool
    scored: bool


class _Group:
    """Shared behaviour of the five groups (dataclasses of :class:`Indicator` s)."""

    key: str = ""

    def indicators(self) -> dict[str, Indicator]:
        return {f.name: getattr(self, f.name) for f in fields(self)  # type: ignore[arg-type]
                if isinstance(getattr(self, f.name), Indicator)}

    @property
    def weight(self) -> int:
        """The group's points out of 100 (Quyết định 766)."""
        return WEIGHTS[self.key]

    @property
    def score(self) -> float | None:
        """An estimate: the points × the mean rate of the scored indicators that have one."""
        rates = [i.rate for name, i in self.indicators().items()
                 if SPECS[f"{self.key}.{name}"].scored and i.rate is not None]
        return self.weight * sum(rates) / len(rates) if rates else None

    def as_dict(self) -> dict[str, Any]:
        return {"label": GROUP_LABELS[self.key], "weight": self.weight, "score": self.score,
                "indicators": {name: i.as_dict() for name, i in self.indicators().items()}}


@dataclass(frozen=True, kw_only=True)
class CongKhai(_Group):
    """Công khai, minh bạch (18 points).

    - ``portal_synced`` — dossiers submitted in the period whose every status change written
      for the national portal's sync was delivered / dossiers submitted in the period. Counted
      from the outbox: a dossier with an undelivered (pending or dead) row for a portal sink
      is not synced. Delivered rows are pruned after the outbox's retention, which is why a
      dossier counts as synced by having *no undelivered* row rather than by a delivered one
      (a pruned row lowers nothing); a dossier written before the deployment had a portal sink
      therefore counts as synced too. Not measured when the engine has no portal sink.
      Source: 766 names synchronising dossiers with the Cổng Dịch vụ công quốc gia among its
      data (Phụ lục, Mục I); the formula is ours (unconfirmed).

    The other indicators of the group (procedures published on time, publicity of procedures)
    are about the procedure database, not dossiers: not measured here.
    """

    key = "cong_khai"
    portal_synced: Indicator


@dataclass(frozen=True, kw_only=True)
class TienDo(_Group):
    """Tiến độ, kết quả giải quyết (20 points).

    Judged dossiers = returned in the period (their ``timeliness``: trước hạn / đúng hạn /
    quá hạn, :func:`dossier.sla.classify`) + dossiers open at the period's end (or now, if
    earlier) past their due date. Paused dossiers are not judged while paused: waiting for a
    supplement (yêu cầu bổ sung), for a financial obligation (``awaiting_payment``: thực hiện
    nghĩa vụ tài chính) or stopped (dừng xử lý) — see :data:`PAUSED_STATES`. Refused and
    withdrawn dossiers have no result to be on time with, and are not judged either.

    - ``early``, ``on_time``, ``late`` — returned early / on time / late ÷ judged;
    - ``overdue_open`` — open past the due date at the period's end ÷ judged (the due date as
      it is now: a supplement round since then may have moved it);
    - ``on_time_rate`` — (early + on time) ÷ judged: "tỷ lệ hồ sơ xử lý trước hạn, đúng hạn".

    Source: 766, group "Tiến độ, kết quả giải quyết"; the denominator counting open overdue
    dossiers follows provincial practice (motcua.gialai.gov.vn: "Tỉ lệ trễ hạn = (trễ đang xử
    lý + trễ đã xử lý) / cần xử lý"). The annex's own text was not read: unconfirmed.
    """

    key = "tien_do"
    early: Indicator
    on_time: Indicator
    late: Indicator
    overdue_open: Indicator
    on_time_rate: Indicator


@dataclass(frozen=True, kw_only=True)
class SoHoa(_Group):
    """Số hóa hồ sơ (22 points). Counted from the dossiers' digitisation records
    (:mod:`dossier.digitisation`), what "digitised" and "reused" mean in one SQL function
    (:func:`dossier.store.quality_sql.digitisation_sql`).

    - ``digitised`` — dossiers submitted in the period on paper (at the counter or by post)
      with a component digitised here (a ``digitised`` record, written by the ``digitise``
      step) or reused from a store (a ``reused`` record): either way their components are
      now digital ÷ dossiers submitted in the period on paper. Online dossiers are outside
      both: their components came as electronic files, and digitisation (Thông tư
      01/2023/TT-VPCP, as we read it) is of what comes in on paper. Their records could not
      say otherwise: a procedure without a ``digitise`` step writes none for them, and one
      with it records the citizen's uploads as well, so a scan and an upload look alike. In
      the base they would lower the rate as more people file online; counted as digitised
      they would hide whether the counter scans. So the rate is what a province acts on: the
      share of the paper it received that was made digital;
    - ``electronic_result`` — dossiers returned in the period with a digitally signed result
      (a ``result`` document) ÷ dossiers returned;
    - ``reused_data`` — dossiers submitted in the period with a reused component (a
      ``reused`` record: an earlier dossier's result or a document of the citizen's data
      store, its bytes checked against the source's SHA-256) ÷ dossiers submitted in the
      period, on every channel: not the base of ``digitised``, because reuse is as much an
      online act (the citizen picks from the data store) as a counter one, and a paper-only
      base would drop the online reuses;
    - ``certified_copies`` — dossiers submitted in the period with an electronic certified
      copy issued (bản sao điện tử có chứng thực) ÷ those whose certification step was done.

    Source: 766 names these four measures (số hóa thành phần hồ sơ, kết quả điện tử, khai
    thác dữ liệu số hóa, chứng thực điện tử; aita.gov.vn's summary of the decision); the
    formulas and their bases are ours: unconfirmed.
    """

    key = "so_hoa"
    digitised: Indicator
    electronic_result: Indicator
    reused_data: Indicator
    certified_copies: Indicator


@dataclass(frozen=True, kw_only=True)
class TrucTuyen(_Group):
    """Cung cấp dịch vụ trực tuyến (22 points). Over dossiers submitted in the period.

    - ``full_online`` — dossiers submitted online ÷ dossiers, of procedures offered fully
      online (toàn trình: ``service_level = "full_online"``);
    - ``partial_online`` — the same for procedures offered partly online (một phần);
    - ``online_rate`` — the two together: online dossiers ÷ dossiers of procedures offered
      online at all;
    - ``online_payment`` — fee-bearing dossiers (``fee_due > 0``) whose fee was paid online
      (a gateway or a bank transfer, :data:`dossier.payments.service.reports.ONLINE_METHODS`)
      ÷ fee-bearing dossiers;
    - ``procedures_paying_online`` — procedures with at least one dossier paid online ÷
      procedures with a fee-bearing dossier.

    Source: 766, group "Cung cấp dịch vụ trực tuyến" (hồ sơ trực tuyến, thanh toán trực
    tuyến); the split by service level follows Nghị định 42/2022/NĐ-CP's toàn trình / một
    phần. The formulas are ours: unconfirmed.
    """

    key = "truc_tuyen"
    full_online: Indicator
    partial_online: Indicator
    online_rate: Indicator
    online_payment: Indicator
    procedures_paying_online: Indicator


@dataclass(frozen=True, kw_only=True)
class HaiLong(_Group):
    """Mức độ hài lòng (18 points). Over dossiers returned in the period.

    - ``satisfaction`` — (returned − rated "Không hài lòng") ÷ returned: 766's "tỷ lệ hài
      lòng trong tiếp nhận, giải quyết TTHC = (tổng số hồ sơ − số hồ sơ không hài lòng hoặc
      có phản ánh, kiến nghị) / tổng số hồ sơ" (confirmed: lamdong.dcs.vn, 06/7/2022); an
      unrated dossier counts as not dissatisfied, as the formula reads. Complaints are not
      recorded here, so only ratings lower it;
    - ``rated`` — returned dossiers their applicant rated ÷ returned;
    - ``very_satisfied``, ``satisfied``, ``dissatisfied`` — ratings at each level ÷ ratings
      (:data:`dossier.ratings.RATING_LEVELS`);
    - ``complaints_on_time`` — 766's "tỷ lệ phản ánh, kiến nghị xử lý đúng hạn" (confirmed,
      same source): not measured, the engine records no complaints (phản ánh, kiến nghị).
    """

    key = "hai_long"
    satisfaction: Indicator
    rated: Indicator
    very_satisfied: Indicator
    satisfied: Indicator
    dissatisfied: Indicator
    complaints_on_time: Indicator


_U = "ours, fitted to what Quyết định 766/QĐ-TTg names (unconfirmed)"
#: Every indicator by ``group.name``: label, formula and source, for renderers.
SPECS: dict[str, IndicatorSpec] = {
    "cong_khai.portal_synced": IndicatorSpec(
        label="Hồ sơ đồng bộ lên Cổng DVC quốc gia",
        formula="hồ sơ không còn bản tin đồng bộ chưa gửi / hồ sơ nộp trong kỳ",
        source=_U, confirmed=False, scored=True),
    "tien_do.early": IndicatorSpec(
        label="Trả trước hạn", formula="hồ sơ trả trước hạn / hồ sơ được đánh giá",
        source=_U, confirmed=False, scored=False),
    "tien_do.on_time": IndicatorSpec(
        label="Trả đúng hạn", formula="hồ sơ trả đúng hạn / hồ sơ được đánh giá",
        source=_U, confirmed=False, scored=False),
    "tien_do.late": IndicatorSpec(
        label="Trả quá hạn", formula="hồ sơ trả quá hạn / hồ sơ được đánh giá",
        source=_U, confirmed=False, scored=False),
    "tien_do.overdue_open": IndicatorSpec(
        label="Đang giải quyết, đã quá hạn",
        formula="hồ sơ chưa trả, quá hạn cuối kỳ / hồ sơ được đánh giá",
        source=_U, confirmed=False, scored=False),
    "tien_do.on_time_rate": IndicatorSpec(
        label="Tỷ lệ xử lý trước hạn, đúng hạn",
        formula="(trước hạn + đúng hạn) / (đã trả + chưa trả quá hạn), trừ hồ sơ tạm dừng",
        source="Quyết định 766/QĐ-TTg; mẫu số theo motcua.gialai.gov.vn (unconfirmed)",
        confirmed=False, scored=True),
    "so_hoa.digitised": IndicatorSpec(
        label="Hồ sơ có thành phần được số hóa",
        formula="hồ sơ nộp trực tiếp, qua bưu chính có thành phần được số hóa hoặc tái sử "
                "dụng / hồ sơ nộp trực tiếp, qua bưu chính trong kỳ (hồ sơ trực tuyến đã là "
                "tệp điện tử: không tính)",
        source=_U, confirmed=False, scored=True),
    "so_hoa.electronic_result": IndicatorSpec(
        label="Kết quả giải quyết điện tử",
        formula="hồ sơ có kết quả ký số / hồ sơ trả trong kỳ", source=_U, confirmed=False,
        scored=True),
    "so_hoa.reused_data": IndicatorSpec(
        label="Tái sử dụng dữ liệu số hóa",
        formula="hồ sơ có thành phần tái sử dụng từ kết quả giải quyết trước hoặc kho dữ "
                "liệu của công dân / hồ sơ nộp trong kỳ (mọi kênh)", source=_U,
        confirmed=False, scored=True),
    "so_hoa.certified_copies": IndicatorSpec(
        label="Bản sao điện tử có chứng thực",
        formula="hồ sơ có bản sao điện tử chứng thực / hồ sơ đã chứng thực", source=_U,
        confirmed=False, scored=True),
    "truc_tuyen.full_online": IndicatorSpec(
        label="Hồ sơ trực tuyến toàn trình",
        formula="hồ sơ nộp trực tuyến / hồ sơ của TTHC toàn trình", source=_U,
        confirmed=False, scored=False),
    "truc_tuyen.partial_online": IndicatorSpec(
        label="Hồ sơ trực tuyến một phần",
        formula="hồ sơ nộp trực tuyến / hồ sơ của TTHC một phần", source=_U,
        confirmed=False, scored=False),
    "truc_tuyen.online_rate": IndicatorSpec(
        label="Tỷ lệ hồ sơ trực tuyến",
        formula="hồ sơ nộp trực tuyến / hồ sơ của TTHC có DVC trực tuyến", source=_U,
        confirmed=False, scored=True),
    "truc_tuyen.online_payment": IndicatorSpec(
        label="Thanh toán trực tuyến",
        formula="hồ sơ nộp phí trực tuyến / hồ sơ có phí, lệ phí", source=_U,
        confirmed=False, scored=True),
    "truc_tuyen.procedures_paying_online": IndicatorSpec(
        label="TTHC có giao dịch thanh toán trực tuyến",
        formula="TTHC có hồ sơ nộp phí trực tuyến / TTHC có hồ sơ có phí", source=_U,
        confirmed=False, scored=True),
    "hai_long.satisfaction": IndicatorSpec(
        label="Tỷ lệ hài lòng trong tiếp nhận, giải quyết",
        formula="(hồ sơ đã trả − hồ sơ không hài lòng) / hồ sơ đã trả",
        source="Quyết định 766/QĐ-TTg (lamdong.dcs.vn, 06/7/2022)", confirmed=True,
        scored=True),
    "hai_long.rated": IndicatorSpec(
        label="Hồ sơ được đánh giá", formula="hồ sơ được đánh giá / hồ sơ đã trả",
        source=_U, confirmed=False, scored=False),
    "hai_long.very_satisfied": IndicatorSpec(
        label="Rất hài lòng", formula="đánh giá rất hài lòng / số đánh giá", source=_U,
        confirmed=False, scored=False),
    "hai_long.satisfied": IndicatorSpec(
        label="Hài lòng", formula="đánh giá hài lòng / số đánh giá", source=_U,
        confirmed=False, scored=False),
    "hai_long.dissatisfied": IndicatorSpec(
        label="Không hài lòng", formula="đánh giá không hài lòng / số đánh giá", source=_U,
        confirmed=False, scored=False),
    "hai_long.complaints_on_time": IndicatorSpec(
        label="Phản ánh, kiến nghị xử lý đúng hạn",
        formula="phản ánh, kiến nghị xử lý đúng hạn / phản ánh, kiến nghị (không có dữ liệu)",
        source="Quyết định 766/QĐ-TTg (lamdong.dcs.vn, 06/7/2022)", confirmed=True,
        scored=True),
}
