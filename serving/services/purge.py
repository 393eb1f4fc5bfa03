"""Retention and erasure on a running service: the periodic purge of what is older than
``retention_days``, and erasing one account (``DELETE /v1/admin/accounts/{id}``).

The store does the deleting (:meth:`Store.purge`, :meth:`Store.forget_account`); this module
decides when, and makes the service forget what it holds in memory: the feature context is
rebuilt from the store at once, so the account's tickets stop counting in other tickets'
features.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol

log = logging.getLogger(__name__)


class _Purgeable(Protocol):
    def purge(self, before: datetime) -> dict[str, int]: ...


def retention_cutoff(retention_days: float, now: datetime) -> datetime | None:
    """The instant before which stored data expires (None: retention off, ``days`` 0)."""
    if retention_days <= 0:
        return None
    if now.tzinfo is None:
        raise ValueError("now must carry a time zone")
    return now.astimezone(UTC) - timedelta(days=retention_days)


def purge_expired(store: _Purgeable, retention_days: float, now: datetime) -> dict[str, int]:
    """Delete what went quiet more than ``retention_days`` before ``now``; rows per table."""
    before = retention_cutoff(retention_days, now)
    if before is None:
        return {}
    removed = store.purge(before)
    if any(removed.values()):
        log.info("retention purge before %s: %s", before.isoformat(), _nonzero(removed))
    return removed


def purge_loop(service, stop: threading.Event) -> None:
    """Every ``purge_interval_seconds`` until ``stop``: purge the service's store, then rebuild
    its context if anything went. Errors are logged and retried at the next round."""
    s = service.settings
    if s.retention_days <= 0:
        return
    while not stop.wait(s.purge_interval_seconds):
        store = service.store
        if store is None:  # still booting
            continue
        try:
            removed = purge_expired(store, s.retention_days, datetime.now(UTC))
            if any(removed.values()):
                service.refresh_context(force=True)
        except Exception:
            log.exception("retention purge failed (will retry)")


def start_purge(service) -> threading.Thread | None:
    """Start :func:`purge_loop` in a daemon thread (None when retention is off)."""
    if service.settings.retention_days <= 0:
        return None
    thread = threading.Thread(
        target=purge_loop, args=(service, service.stop), name="retention", daemon=True
    )
    thread.start()
    return thread


def account_ref(account_id: str) -> str:
    """A non-reversible reference to an account for logs (the id itself may be personal)."""
    return hashlib.sha256(account_id.encode("utf-8")).hexdigest()[:12]


def erase_account(service, account_id: str, by: str = "local") -> dict[str, int]:
    """Delete everything the service's store holds of ``account_id`` and rebuild the context;
    rows removed per table (all zero for an unknown account). ``by``: who asked (a key id)."""
    removed = service.store.forget_account(account_id)
    service.refresh_context(force=True)
    log.warning(
        "account %s erased (asked by key %s): %s", account_ref(account_id), by, _nonzero(removed)
    )
    return removed


def _nonzero(counts: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in counts.items() if v}
