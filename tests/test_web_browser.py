"""The web desk in a real browser: headless Chromium from Debian's packages (`chromium`,
`chromium-driver`; `.ci/run` installs them), driven by Selenium. Nothing is downloaded: the
driver and the browser are the system's.

Skipped only where Chromium is missing and CI is not set; under CI=true these must run.
Each page is also photographed at phone (390 px) and desktop (1280 px) widths into
`screenshots-out/` (not committed), for a person to look at.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from bot.core import models as m
from bot.core.db import session_scope
from tests.clerk_seed import seed
from tests.conftest import at
from tests.web_helpers import desk_server, link_from_chat

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver") or (
    "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None
)
SHOTS = Path(__file__).resolve().parent.parent / "screenshots-out"

pytestmark = pytest.mark.skipif(
    (CHROMIUM is None or DRIVER is None) and os.environ.get("CI", "") != "true",
    reason="Chromium and chromium-driver are not installed (apt-get install chromium "
    "chromium-driver); under CI=true this test runs",
)

if (CHROMIUM and DRIVER) or os.environ.get("CI", "") == "true":
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select


@pytest.fixture
def browser(tmp_path) -> Iterator[webdriver.Chrome]:
    assert CHROMIUM and DRIVER, "CI=true: Chromium and chromium-driver must be installed"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,900",
        "--lang=vi",
    ):
        options.add_argument(flag)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    driver.downloads = downloads  # type: ignore[attr-defined]
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def desk(people, monkeypatch):
    seeded = seed(people)
    with desk_server(monkeypatch) as base:
        yield base, seeded


def photograph(driver, name: str) -> None:
    """The whole page at phone and desktop widths, then back to desktop."""
    SHOTS.mkdir(exist_ok=True)
    for width in (390, 1280):
        driver.set_window_size(width, 900)
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(width, min(max(height, 600), 6000))
        driver.save_screenshot(str(SHOTS / f"{name}-{width}.png"))
    driver.set_window_size(1280, 900)


def photograph_print(driver, name: str) -> None:
    """The page as the print stylesheet lays it out (no menus, no forms)."""
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert not driver.find_element(By.CSS_SELECTOR, "header.top").is_displayed()
        driver.save_screenshot(str(SHOTS / f"{name}-print.png"))
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})


def text(driver) -> str:
    return driver.find_element(By.TAG_NAME, "body").text


def seen(driver, words: str, timeout: float = 10) -> bool:
    """The page (the next one, after a click) shows these words, within `timeout`."""
    from selenium.common.exceptions import (
        NoSuchElementException,
        StaleElementReferenceException,
    )

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(StaleElementReferenceException, NoSuchElementException):
            if words in text(driver):  # (the page may be mid-navigation)
                return True
        time.sleep(0.05)
    return False


def sign_in(driver, user_id: str) -> None:
    driver.get(link_from_chat(user_id))  # the page posts the link itself, then redirects
    deadline = time.monotonic() + 10
    while not driver.current_url.endswith("/web/") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert driver.current_url.endswith("/web/"), driver.current_url  # no token left in it


def test_the_clerk_signs_in_filters_searches_accepts_and_downloads(desk, browser):
    base, s = desk
    sign_in(browser, s.clerk.user_id)
    assert "Các đợt" in text(browser) and "Tiếp theo" in text(browser)
    photograph(browser, "campaign")

    browser.find_element(By.LINK_TEXT, "Đơn vị").click()
    assert seen(browser, "Cần gọi điện")
    photograph(browser, "units")
    photograph_print(browser, "units")

    browser.find_element(By.LINK_TEXT, "Báo cáo").click()
    Select(browser.find_element(By.NAME, "unit")).select_by_value("TTRA")
    browser.find_element(By.CSS_SELECTOR, "form.filters button").click()
    assert seen(browser, "tìm thấy 2")
    listed = text(browser)
    assert "BC-2022-0005" in listed and "BC-2022-0001" not in listed

    browser.get(f"{base}/web/reports")
    search = browser.find_element(By.NAME, "q")
    search.send_keys("thanh tich staff cai")  # no diacritics: "Thành tích staff cai-…"
    search.submit()
    assert seen(browser, "tìm thấy 1")
    found = text(browser)
    assert "BC-2022-0002" in found and "BC-2022-0001" not in found
    photograph(browser, "reports")

    browser.find_element(By.LINK_TEXT, "BC-2022-0002").click()
    assert seen(browser, "Thành tích staff cai-cach-hanh-chinh")
    photograph(browser, "report")
    browser.find_element(By.CSS_SELECTOR, "button[value=accept]").click()
    assert seen(browser, "Đã tiếp nhận.")
    with session_scope() as session:
        row = session.exec(select(m.Report).where(m.Report.receipt == "BC-2022-0002")).one()
    assert row.status == "accepted"

    browser.find_element(By.LINK_TEXT, "Đề nghị").click()
    assert seen(browser, "DN-2022-0001")
    photograph(browser, "nominations")
    browser.find_element(By.LINK_TEXT, "DN-2022-0001").click()
    assert seen(browser, "Kiểm tra")
    photograph(browser, "nomination")

    browser.find_element(By.LINK_TEXT, "Tải về").click()
    assert seen(browser, "bảng tổng hợp")
    photograph(browser, "downloads")
    browser.find_element(By.CSS_SELECTOR, "a[href='/web/downloads/xlsx']").click()
    deadline = time.monotonic() + 20
    files: list[Path] = []
    while time.monotonic() < deadline:
        files = [p for p in browser.downloads.iterdir() if p.suffix == ".xlsx"]
        if files:
            break
        time.sleep(0.1)
    assert files and files[0].name.startswith("cong-thuong-ha-tinh-2022-tong-hop")
    assert files[0].read_bytes()[:2] == b"PK"


def test_a_head_cannot_open_another_units_report(desk, browser):
    base, s = desk
    sign_in(browser, s.head.user_id)  # QLCN's head
    browser.get(f"{base}/web/reports")
    assert "BC-2022-0001" in text(browser) and "BC-2022-0005" not in text(browser)
    browser.get(f"{base}/web/reports/BC-2022-0005")  # TTRA's, by URL
    assert "Không tìm thấy" in text(browser)
    assert "Thành tích ttra_staff" not in text(browser)
    photograph(browser, "head-refused")
    browser.get(f"{base}/web/units")
    photograph(browser, "head-units")


def test_a_used_or_expired_link_is_refused(desk, browser):
    _base, s = desk
    link = link_from_chat(s.clerk.user_id)
    browser.get(link)
    deadline = time.monotonic() + 10
    while not browser.current_url.endswith("/web/") and time.monotonic() < deadline:
        time.sleep(0.05)
    browser.delete_all_cookies()
    browser.get(link)  # the same link again
    assert seen(browser, "Không dùng được đường dẫn này")
    photograph(browser, "link-refused")
    late = link_from_chat(s.clerk.user_id)
    at("2022-05-10T09:11:00+07:00")  # 11 minutes on
    browser.get(late)
    assert seen(browser, "Không dùng được đường dẫn này")


def test_a_form_without_its_csrf_token_is_refused(desk, browser):
    base, s = desk
    sign_in(browser, s.clerk.user_id)
    browser.get(f"{base}/web/reports/BC-2022-0001")
    browser.execute_script(
        "document.querySelectorAll('input[name=csrf]').forEach(function (e) { e.remove(); });"
    )
    browser.find_element(By.CSS_SELECTOR, "button[value=accept]").click()
    assert seen(browser, "Biểu mẫu đã hết hiệu lực")
    with session_scope() as session:
        row = session.exec(select(m.Report).where(m.Report.receipt == "BC-2022-0001")).one()
    assert row.status == "submitted"
