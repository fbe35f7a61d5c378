"""Fixtures shared by the AppTest modules: one demo store per module, a copy per test named by SEGMENTS_DB.

Import them into a test module (``from .app_support import db, demo_store``) to use them there.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from segmentation.ingest import import_file
from segmentation.sample import write_demo_csv

APP = str(Path(__file__).resolve().parent.parent / "app.py")


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
