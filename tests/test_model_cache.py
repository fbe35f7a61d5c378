"""Value models are fitted once per data version and as-of date: the import warms the cache, reads reuse
it, and a new import invalidates it."""

from __future__ import annotations

from segmentation.demo.shop import write_demo_csv
from segmentation.importing.ingest import import_file
from segmentation.store import connect, data_version
from segmentation.value import clv


def test_import_warms_the_cache_and_a_new_import_invalidates_it(tmp_path, monkeypatch):
    db = tmp_path / "shop.duckdb"
    import_file(db, write_demo_csv(tmp_path / "demo.csv", customers=400, seed=5))
    con = connect(db, read_only=True)
    version = data_version(con)
    assert con.execute("SELECT count(*) FROM model_cache WHERE data_version = ?", [version]).fetchall() == [(1,)]
    fresh = clv.fit_bgnbd(clv.rfm_summary(con, time_unit_days=7.0), time_unit_days=7.0)

    def no_fitting(*args, **kwargs):
        raise AssertionError("refitted although the fits are cached")

    monkeypatch.setattr(clv, "fit_bgnbd", no_fitting)
    cached = clv.fit_models(con)
    assert (cached.bgnbd.r, cached.bgnbd.alpha, cached.bgnbd.a, cached.bgnbd.b) == (
        fresh.r,
        fresh.alpha,
        fresh.a,
        fresh.b,
    )
    con.close()
    monkeypatch.undo()

    more = tmp_path / "more.csv"
    more.write_text("Customer ID,Order Date,Amount\nNEW1,2026-11-20,12\n")
    import_file(db, more)
    con = connect(db, read_only=True)
    assert data_version(con) != version
    assert con.execute("SELECT count(DISTINCT data_version) FROM model_cache").fetchall() == [(2,)]
    con.close()
