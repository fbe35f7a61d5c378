"""The background warm-up loads scikit-learn once per process, so the first clustering does not wait for it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_warm_up_imports_the_clustering_once_per_process():
    # A fresh interpreter: this one has scikit-learn loaded already.
    code = (
        "import sys; from ui.warm import warm_up; assert 'sklearn' not in sys.modules; "
        "first = warm_up(0.5); again = warm_up(0); waiting = 'sklearn' not in sys.modules; first.join(60); "
        "print(again is None, waiting, 'segmentation.clustering' in sys.modules, 'sklearn.cluster' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "True", "True", "True"]
