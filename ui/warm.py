"""Load the analytics' heavy modules in the background, once per server process, after the first page is drawn.

scikit-learn (with SciPy under it) takes 0.7-1.1 s to import on this 2-core machine, and it loads with the first
question that needs it: the first "split my customers into groups" of a server process paid it on top of the
clustering (2.7 s in Chromium at Online Retail's size, against 2 s allowed the first time). Imported in a
thread ``DELAY_S`` after the first page with data is drawn, it is there by the time the owner has typed a
question. Not at the server's start, nor at once: the import holds the interpreter most of its second, and the
first paint (and the server sending it) would wait for it.
"""

from __future__ import annotations

import importlib
import logging
import threading

log = logging.getLogger(__name__)

# The clustering (scikit-learn's KMeans, PCA, IsolationForest, silhouette), and through it SciPy.
MODULES = ("segmentation.clustering",)
DELAY_S = 2.0  # after the first page is drawn: long enough for the browser to have it, shorter than typing a question
_lock = threading.Lock()
_thread: threading.Thread | None = None


def warm_up(delay_s: float = DELAY_S) -> threading.Thread | None:
    """Import ``MODULES`` in a daemon thread, ``delay_s`` from now; the first call in a process only (later: None)."""
    global _thread
    with _lock:
        if _thread is not None:
            return None
        _thread = threading.Timer(delay_s, _import_all)
        _thread.name, _thread.daemon = "segments-warm-up", True
        _thread.start()
        return _thread


def _import_all() -> None:
    for name in MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # the question that needs it will import it again and say what is wrong
            log.warning("warming up %s failed", name, exc_info=True)
