"""How official papers write dates, times, durations, people and steps. Pure.

Dates follow Nghị định 30/2020/NĐ-CP: ``ngày 05 tháng 02 năm 2026`` (a day below 10 and the
months 1 and 2 take a leading zero), in Vietnam's time zone.
"""

from __future__ import annotations

from datetime import date, datetime

from dossier.clock import LOCAL_TZ
from dossier.procedure.model import Duration, TimeUnit

#: Who holds a dossier after someone of this role acted: the unit the control sheet names.
UNITS = {
    "citizen": "Người nộp hồ sơ",
    "clerk": "Bộ phận Một cửa",
    "specialist": "Bộ phận chuyên môn",
    "certifier": "Bộ phận chuyên môn",
    "leader": "Lãnh đạo cơ quan",
    "system": "Hệ thống thông tin giải quyết TTHC",
}
#: A person's part when no name was given (never the account id).
PARTS = {
    "citizen": "Người nộp hồ sơ",
    "clerk": "Công chức tiếp nhận",
    "specialist": "Công chức xử lý",
    "certifier": "Người thực hiện chứng thực",
    "leader": "Lãnh đạo cơ quan",
    "system": "Hệ thống (tự động)",
}
TRIGGER_LABELS = {
    "submit": "Nộp hồ sơ",
    "receive": "Tiếp nhận hồ sơ",
    "digitise": "Số hóa hồ sơ",
    "certify": "Chứng thực",
    "pay": "Thu phí, lệ phí",
    "approve": "Thẩm định, trình ký",
    "sign": "Ký duyệt kết quả",
    "return_result": "Trả kết quả",
    "request_supplement": "Yêu cầu bổ sung, hoàn thiện hồ sơ",
    "supplement": "Bổ sung hồ sơ",
    "refuse": "Từ chối giải quyết",
    "withdraw": "Rút hồ sơ",
    "stop": "Dừng giải quyết",
    "extend": "Xin lỗi, hẹn lại ngày trả kết quả",
    "assign": "Phân công xử lý",
    "rate": "Đánh giá mức độ hài lòng",
}
STATE_LABELS = {
    "returned": "Đã trả kết quả",
    "refused": "Từ chối",
    "withdrawn": "Rút hồ sơ",
    "stopped": "Dừng giải quyết",
}
CHANNEL_RETURN = {
    "counter": "Bộ phận Một cửa (trực tiếp)",
    "online": "Trực tuyến, qua Cổng Dịch vụ công",
    "post": "Qua dịch vụ bưu chính",
}
_UNITS_OF_TIME = {TimeUnit.WORKING_DAYS: "ngày làm việc", TimeUnit.WORKING_HOURS: "giờ làm việc",
                  TimeUnit.CALENDAR_DAYS: "ngày"}


def long_date(day: date | datetime) -> str:
    """``ngày 05 tháng 02 năm 2026`` (for an instant: its date in Vietnam)."""
    if isinstance(day, datetime):
        day = day.astimezone(LOCAL_TZ).date()
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"ngày {day.day:02d} tháng {month} năm {day.year}"


def clock_text(instant: datetime | str | None) -> str:
    """``09 giờ 05 phút, ngày 16 tháng 9 năm 2025``; empty for None."""
    if instant is None:
        return ""
    if isinstance(instant, str):
        instant = datetime.fromisoformat(instant)
    local = instant.astimezone(LOCAL_TZ)
    return f"{local:%H} giờ {local:%M} phút, {long_date(local)}"


def short_date(instant: datetime | None) -> str:
    """``16/09/2025`` (tables); empty for None."""
    return "" if instant is None else instant.astimezone(LOCAL_TZ).strftime("%d/%m/%Y")


def duration_text(duration: Duration) -> str:
    """``10 ngày làm việc``, ``Trong ngày``."""
    if duration.unit is TimeUnit.SAME_DAY:
        return "Trong ngày"
    return f"{duration.amount:02d} {_UNITS_OF_TIME[duration.unit]}"


def person(name: str | None, role: str) -> str:
    """Who acted, as a paper prints it: the name, else the part they played."""
    return name or PARTS.get(role, "")
