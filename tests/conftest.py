"""Shared fixtures. Tests never reach the internet: only loopback connections are allowed.

A test module's own fixture of the same name (several have a ``db`` or a ``shop`` of their own) overrides these.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from segmentation.importing.ingest import import_file
from segmentation.store import connect

from .support import REPO
from .support.demo_shops import DemoShops


def _shared_data() -> Path:
    """The team's real data (../shared/data beside the checkout; CI clones elsewhere, so also /work)."""
    candidates = [Path(p) for p in (os.environ.get("SEGMENTS_SHARED_DATA"),) if p]
    candidates += [REPO.parent / "shared" / "data", Path("/work/shared/data")]
    return next((c for c in candidates if c.is_dir()), candidates[-1])


SHARED_DATA = _shared_data()
ONLINE_RETAIL = SHARED_DATA / "online_retail.csv.gz"

_real_connect = socket.socket.connect


def _loopback_only(self, address):
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and host not in ("127.0.0.1", "::1", "localhost") and not host.startswith("/"):
        raise RuntimeError(f"tests may not reach the network (tried {address!r})")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_network_no_keys(monkeypatch):
    """Block model requests and any other outbound connection; no test sees a real API key."""
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "SEGMENTS_MODEL", "SEGMENTS_DB"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    """Write a CSV from a dedented literal, exactly as given (no trailing-whitespace cleanup)."""
    import textwrap

    path.write_bytes(textwrap.dedent(text).lstrip("\n").encode(encoding))
    return path


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "shop.duckdb"


@pytest.fixture
def imported(db, tmp_path):
    """Import a CSV literal into a fresh database; returns (db path, report)."""

    def _import(text: str, name: str = "orders.csv", **kwargs):
        path = write_csv(tmp_path / name, text)
        return import_file(db, path, **kwargs)

    return _import


@pytest.fixture
def shop_from(imported, db):
    """Import a CSV literal and open the store read-only, as the analytics see it; closed afterwards."""
    opened = []

    def _open(text: str):
        imported(text)
        con = connect(db, read_only=True)
        opened.append(con)
        return con

    yield _open
    for con in opened:
        con.close()


@pytest.fixture
def empty_memo():
    """The per-process memos (segmentation.memo) empty and switched to their default, before and after."""
    from segmentation import memo

    memo.set_enabled(None)
    memo.clear_all()
    yield
    memo.set_enabled(None)
    memo.clear_all()


# -- the demo shop -------------------------------------------------------------------------------------------------
# The AppTest modules' shop: The Corner Crumb with 600 customers (seed 3), as ``demo_shops.store`` builds it.
APP_DEMO = {"customers": 600, "seed": 3}


@pytest.fixture(scope="session")
def demo_shops(tmp_path_factory) -> DemoShops:
    """Every demo shop the session asks for, built once (tests/support/demo_shops.py); tests take copies."""
    return DemoShops(tmp_path_factory.mktemp("demo_shops"))


@pytest.fixture(scope="module")
def demo_store(demo_shops, tmp_path_factory) -> Path:
    """The module's own copy of the 600-customer demo shop: its tests share it, no other module sees it."""
    return demo_shops.copy(tmp_path_factory.mktemp("demo"), **APP_DEMO)


@pytest.fixture
def app_db(demo_shops, tmp_path, monkeypatch) -> Path:
    """The test's own copy of the 600-customer demo shop, named by SEGMENTS_DB for the app, with no password."""
    copy = demo_shops.copy(tmp_path, **APP_DEMO)
    monkeypatch.setenv("SEGMENTS_DB", str(copy))
    monkeypatch.delenv("SEGMENTS_PASSWORD", raising=False)
    return copy


@pytest.fixture
def fake():
    """The fake OpenAI-compatible server (tests/fake_openai.py) on a free loopback port, for the test."""
    from .fake_openai import FakeOpenAI

    with FakeOpenAI() as server:
        yield server
