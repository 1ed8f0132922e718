"""Headless Chromium for the browser tests (Debian's chromium and chromium-driver)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

#: module marks of a browser test: slow, skipped (with the reason) without Chromium, and a live
#: server's database (transactions visible to the browser's requests)
BROWSER_MARKS = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists() or not Path(CHROMEDRIVER).exists(),
        reason="needs /usr/bin/chromium and chromedriver",
    ),
    pytest.mark.django_db(transaction=True),
]


def chrome(*flags: str) -> Any:
    """A headless Chromium in Indonesian; ``flags`` are added (e.g. ``--window-size=390,844``)."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                 "--disable-gpu", "--lang=id", *flags):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"intl.accept_languages": "id,id-ID"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def quit_and_settle(driver: Any, *, timeout: float = 10.0) -> None:
    """Close the browser, then wait until the live server has finished what it was still
    serving (a chart image the page was loading, say). The flush that ends a transactional test
    must not meet a request mid-query: on PostgreSQL its TRUNCATE and such a request deadlock,
    the flush fails, and Django leaves the test's database guards in place for later tests.
    PostgreSQL only (pg_stat_activity); SQLite's flush simply waits for the lock."""
    try:
        driver.get("about:blank")
    except Exception:  # noqa: BLE001 - a beforeunload dialog, a browser already gone: quit anyway
        pass
    finally:
        driver.quit()
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    quiet = 0
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while quiet < 3 and time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state <> 'idle'")
            quiet = quiet + 1 if cursor.fetchone()[0] == 0 else 0
            time.sleep(0.05)
