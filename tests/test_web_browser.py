"""The public pages in a real browser (Debian's headless chromium): look a dossier up, rate
it, open the dashboard and see its charts drawn, and the return page after paying, with no
Content-Security-Policy violation on the way.

Each test saves a screenshot under its temporary folder; with ``DOSSIER_SCREENS=DIR`` they
are written to ``DIR`` too (how ``docs/screens/`` is made).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from browser_support import chromium, require_browser, served
from finding_support import advance, staff
from web_support import AGENCY, CITIZEN, NUMBER, Web, build

from dossier.payments.service import instructions
from dossier.testing import FrozenClock

pytestmark = pytest.mark.browser


@dataclass
class Site:
    web: Web
    url: str
    driver: Any
    returned: str
    open: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    require_browser()
    from datetime import UTC, datetime

    folder = tmp_path_factory.mktemp("browser")
    web = build(f"sqlite:///{folder / 'd.db'}", FrozenClock(datetime(2025, 9, 8, 2,
                                                                       tzinfo=UTC)))
    clerk = staff()["clerk"]
    applicant = {"name": "Nguyễn Văn An", "id_number": NUMBER}
    returned = web.engine.submit("9.900101", applicant=applicant, channel="counter",
                                 actor=clerk).code
    advance(web.engine, returned, 5)
    opened = web.engine.submit("9.900101", applicant=applicant, channel="counter",
                               actor=clerk).code
    advance(web.engine, opened, 2)
    try:
        with served(web.app) as url, chromium(width=820, height=1300) as driver:
            yield Site(web=web, url=url, driver=driver, returned=returned, open=opened)
    finally:
        web.engine.close()


def shot(driver: Any, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    assert driver.save_screenshot(str(path))
    assert path.stat().st_size > 1000
    keep = os.environ.get("DOSSIER_SCREENS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(keep) / name))
    return path


def no_csp_violations(driver: Any) -> None:
    logs = driver.get_log("browser")
    assert not [entry for entry in logs if "Content Security Policy" in entry["message"]]


def test_a_citizen_looks_up_a_dossier(site: Site, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    driver = site.driver
    driver.get(f"{site.url}/tra-cuu")
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "vi"
    driver.find_element(By.ID, "code").send_keys(site.open)
    driver.find_element(By.ID, "id_number").send_keys(NUMBER)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    heading = driver.find_element(By.ID, "kq")
    assert heading.text == f"Hồ sơ {site.open}"
    result = driver.find_element(By.CSS_SELECTOR, "section.result")
    assert "Đang giải quyết" in result.text
    assert "Hẹn trả kết quả" in result.text
    assert [li.text.split("\n")[-1] for li in result.find_elements(
        By.CSS_SELECTOR, "ol.timeline li")] == ["Nộp hồ sơ", "Tiếp nhận hồ sơ",
                                                 "Nộp phí, lệ phí"]
    # the stylesheet applied: the header is the brand colour, not the browser's default
    header = driver.find_element(By.CSS_SELECTOR, "header.site")
    assert header.value_of_css_property("background-color") == "rgba(11, 79, 138, 1)"
    no_csp_violations(driver)
    shot(driver, tmp_path, "tra-cuu.png")


def test_a_citizen_rates_a_returned_dossier(site: Site, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver = site.driver
    driver.get(f"{site.url}/tra-cuu?code={site.returned}&id_number={NUMBER}")
    driver.find_element(By.LINK_TEXT, "Đánh giá mức độ hài lòng").click()
    assert driver.current_url.endswith(f"/danh-gia/{site.returned}")
    driver.find_element(By.ID, "id_number").send_keys(NUMBER)
    driver.find_element(By.CSS_SELECTOR, "input[name=level][value=very_satisfied]").click()
    shot(driver, tmp_path, "danh-gia.png")
    driver.find_element(By.TAG_NAME, "summary").click()
    Select(driver.find_element(By.ID, "tc-staff_attitude")).select_by_visible_text(
        "Rất hài lòng")
    driver.find_element(By.ID, "comment").send_keys("Cán bộ hướng dẫn tận tình.")
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    assert driver.find_element(By.ID, "cam-on").text == "Cảm ơn bạn đã đánh giá"
    rating = site.web.engine.rating(site.returned)
    assert rating is not None
    assert rating.level.key == "very_satisfied"
    assert rating.criteria["staff_attitude"].key == "very_satisfied"
    no_csp_violations(driver)


def test_the_dashboard_draws_its_charts(site: Site, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    driver = site.driver
    driver.get(f"{site.url}/chi-so?agency={AGENCY}&from=2025-09-01&to=2025-09-30")
    charts = driver.find_elements(By.CSS_SELECTOR, ".report svg")
    assert len(charts) == 3
    for chart in charts:
        assert chart.is_displayed()
        assert chart.size["width"] > 100
        assert chart.size["height"] > 40
        assert chart.get_attribute("role") == "img"
        # its own size limit kept (a class under the hashed stylesheet, not a style="")
        assert chart.size["width"] <= float(chart.value_of_css_property("max-width")[:-2])
    # the report's own stylesheet applied under the page's hashed CSP
    table = driver.find_element(By.CSS_SELECTOR, ".report table")
    assert table.value_of_css_property("border-collapse") == "collapse"
    no_csp_violations(driver)
    path = shot(driver, tmp_path, "chi-so.png")
    assert path.exists()


def test_the_payer_returns_to_a_page_with_the_outcome(site: Site, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    web = site.web
    code = web.engine.submit("9.900101", applicant={"name": "Lê Thị Hoa"}, channel="online",
                             actor=CITIZEN, agency=AGENCY).code
    web.engine.fire(code, "receive", actor=staff()["clerk"])
    payment = web.engine.request_payment(code, "vnpay", actor=CITIZEN,
                                         return_url=f"{site.url}/payments/vnpay/return")
    web.provider.open(instructions(payment))
    callback = web.provider.success(payment.order_ref, at=web.clock.now())
    assert isinstance(callback.payload, dict)
    from urllib.parse import urlencode

    site.driver.get(f"{site.url}/payments/vnpay/return?{urlencode(callback.payload)}")
    assert site.driver.find_element(By.ID, "tt").text == "Thanh toán thành công"
    no_csp_violations(site.driver)
    shot(site.driver, tmp_path, "thanh-toan.png")
