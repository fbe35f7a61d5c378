"""Files in: an owner's export read, understood, checked and written to the store in one transaction, or refused.

- ``readers``, ``spreadsheet``, ``lines``: any file dropped in becomes rows of text cells within budgets
  (CSV in any encoding and delimiter, Excel, compressed), or one clear refusal.
- ``columns``, ``contact_columns``, ``detect``: which column is which, from the names real exports give them
  and from what the cells hold.
- ``cancellations``: a return filed as an order of its own is matched to the order it undoes.
- ``ingest``: an orders export into the store (``import_file``, ``preview_file``).
- ``contact_ingest``: a customer list or an email activity export into the store.
- ``transaction``: the one transaction both write in: all of a file, or nothing and no empty database left.
- ``isolation``: the import run in a child process with a memory limit, as the app and the command line do.

Nothing here imports the analyses above the store; the analyses read what this writes.
"""

__all__ = [
    "cancellations",
    "columns",
    "contact_columns",
    "contact_ingest",
    "detect",
    "ingest",
    "isolation",
    "lines",
    "readers",
    "spreadsheet",
    "transaction",
]
