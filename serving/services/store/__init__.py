"""The service's own store (embedded SQLite): see :mod:`serving.services.store.core`.

Parts: the tables and the writer (``core``), the ticket event log (``log``), the alert queue
(``alerts``) and retention (``retention``: purge and forget an account).
"""

from serving.services.store.core import TABLES, Store

__all__ = ["TABLES", "Store"]
