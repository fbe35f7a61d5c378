"""Fixtures shared by the AppTest modules: one demo store per module, a copy per test named by SEGMENTS_DB.

Import them into a test module (``from .app_support import db, demo_store``) to use them there.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from segmentation.demo.shop import write_demo_csv
from segmentation.importing.ingest import import_file

REPO = Path(__file__).resolve().parent.parent
APP = str(REPO / "app.py")
# Debian's chromium: Playwright never downloads a browser here.
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")


def launch_chromium(playwright):
    """A headless Debian chromium through ``sync_playwright()``'s ``playwright``; close it when done."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    db = folder / "shop.duckdb"
    import_file(db, write_demo_csv(folder / "demo.csv", customers=600, seed=3))
    return db


@pytest.fixture
def db(demo_store, tmp_path, monkeypatch) -> Path:
    copy = tmp_path / "shop.duckdb"
    shutil.copy(demo_store, copy)
    monkeypatch.setenv("SEGMENTS_DB", str(copy))
    monkeypatch.delenv("SEGMENTS_PASSWORD", raising=False)
    return copy


@contextmanager
def streamlit_server(script: str, port: int, env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """``streamlit run script`` on 127.0.0.1:``port`` with ``env``, handed over once its health check answers, and
    stopped afterwards (terminated, killed if it will not go)."""
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(REPO / script),
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("streamlit did not start within 60 s")
        yield server
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
