"""Helpers the tests share that are not fixtures (the fixtures are in tests/conftest.py): where the app is, the
browser and Streamlit server of the browser tests, and the demo shops built once a session."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
APP = str(REPO / "app.py")  # what Streamlit's AppTest runs
