"""The demo shops the tests ask for, each built once a session: writing and importing a demo shop takes seconds
(the import fits the value models), and most test modules want one.

A shop is named by what built it: the CSV's file name (the store keeps it, and the app shows it), the
``write_demo_csv`` arguments, the ``import_file`` currency, and whether the demo's customer list and newsletter
activity (``write_demo_contacts``) were imported after the orders. The built store is never opened by a test:
each test or module gets a copy (``copy``), so no test sees another's writes.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from segmentation.demo.contacts import write_demo_contacts
from segmentation.demo.shop import write_demo_csv
from segmentation.importing.ingest import import_file


class DemoShops:
    """Demo shops built on first use into ``folder``, kept for the session."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._contact_files: dict[Path, list[Path]] = {}

    def _folder(self, name: str, customers: int, seed: int, contacts: bool, currency: str | None) -> Path:
        parts = [Path(name).stem, f"{customers}c", f"seed{seed}", *(["contacts"] if contacts else [])]
        return self.folder / "-".join([*parts, *([currency] if currency else [])])

    def csv(self, *, customers: int, seed: int, name: str = "demo.csv") -> Path:
        """The demo's orders file, written once; read it, never change it (copy it first)."""
        folder = self.folder / f"{Path(name).stem}-{customers}c-seed{seed}-csv"
        path = folder / name
        if not path.exists():
            folder.mkdir()
            write_demo_csv(path, customers=customers, seed=seed)
        return path

    def store(
        self,
        *,
        customers: int,
        seed: int,
        name: str = "demo.csv",
        contacts: bool = False,
        currency: str | None = None,
    ) -> Path:
        """The built store, as ``import_file(db, write_demo_csv(name, customers=, seed=), currency=)`` makes it
        (then the contact files of ``write_demo_contacts(db, folder, seed=seed)`` imported, with ``contacts``).
        Only to copy: a test that opened it could change what the next one sees."""
        folder = self._folder(name, customers, seed, contacts, currency)
        db = folder / "shop.duckdb"
        if not db.exists():
            folder.mkdir()
            import_file(db, self.csv(customers=customers, seed=seed, name=name), currency=currency)
            if contacts:
                self._contact_files[db] = write_demo_contacts(db, folder, seed=seed)
                for extra in self._contact_files[db]:
                    import_file(db, extra)
        return db

    def contact_files(self, *, customers: int, seed: int, name: str = "demo.csv") -> list[Path]:
        """The customer list and newsletter activity imported into ``store(..., contacts=True)``, in that order."""
        return self._contact_files[self.store(customers=customers, seed=seed, name=name, contacts=True)]

    def copy(self, folder: Path, filename: str = "shop.duckdb", **shop) -> Path:
        """A copy of ``store(**shop)`` at ``folder / filename``: the test's own shop, to read or change."""
        target = folder / filename
        shutil.copy(self.store(**shop), target)
        return target
