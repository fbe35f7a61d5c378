"""The app's server as the benchmarks start and stop it: one way, so every number times the same server.

``streamlit run`` from the repository (its ``.streamlit/config.toml`` applies, as with ``make run``), on
127.0.0.1, headless, output discarded. Stopping kills only the server this started.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def start_app(
    script: str, port: int, env: Mapping[str, str], *, cwd: Path = REPO, extra: Sequence[str] = ()
) -> subprocess.Popen:
    """``streamlit run script`` on ``port`` with ``env``; returns at once (the caller waits for it to listen)."""
    command = [str(BIN / "streamlit"), "run", script, "--server.port", str(port), "--server.address", "127.0.0.1"]
    return subprocess.Popen(
        [*command, "--server.headless", "true", *extra],
        cwd=cwd,
        env=dict(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_app(server: subprocess.Popen) -> None:
    """Ask the server to stop; kill it when it has not within ten seconds."""
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
