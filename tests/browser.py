"""Headless Chromium for the browser tests (Debian's chromium and chromium-driver)."""

from __future__ import annotations

import shutil
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
