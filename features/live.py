"""The service's live context: a context kept current ticket by ticket as events arrive.

Kept apart from :mod:`features.context` (whose code is part of the feature-set version): this
module only changes how the same counters are maintained, not what any feature computes, and a
test checks it answers what a context built whole from the same data answers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.arrays import NAT_US, US_PER_H, encode, extend
from features.context import (
    _PER_TICKET,
    FeatureContext,
    _AsOfCounter,
    _column_arrays,
    _context_rows,
    _SumCounter,
)

__all__ = ["LiveContext"]


class _LiveCounter:
    """Signed corrections to a base counter, replaced ticket by ticket (the service's live
    state): each key keeps its own sorted running totals, rebuilt only when a ticket with rows
    under that key changes."""

    def __init__(self) -> None:
        self._of_ticket: dict[object, dict[int, tuple[np.ndarray, np.ndarray]]] = {}
        self._items: dict[int, dict[object, tuple[np.ndarray, np.ndarray]]] = {}
        self._by_key: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def replace(self, ticket_id: object, codes: np.ndarray, t: np.ndarray, v: np.ndarray) -> None:
        """Set everything ``ticket_id`` corrects (codes, times in us, signed values)."""
        ok = (codes >= 0) & (t != NAT_US)
        codes, t, v = codes[ok], t[ok], v[ok]
        new: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for code in np.unique(codes).tolist():
            sel = codes == code
            new[code] = (t[sel], v[sel])
        old = self._of_ticket.pop(ticket_id, {})
        if new:
            self._of_ticket[ticket_id] = new
        for code in set(old) | set(new):
            items = self._items.setdefault(code, {})
            if code in new:
                items[ticket_id] = new[code]
            else:
                items.pop(ticket_id, None)
            self._rebuild(code)

    def _rebuild(self, code: int) -> None:
        items = self._items.get(code)
        if not items:
            self._items.pop(code, None)
            self._by_key.pop(code, None)
            return
        t = np.concatenate([a for a, _ in items.values()])
        v = np.concatenate([b for _, b in items.values()])
        order = np.argsort(t, kind="stable")
        t, cum = t[order], np.cumsum(v[order])
        last = np.append(t[1:] != t[:-1], True)  # the total after the last item at an instant
        self._by_key[code] = (t[last], cum[last])

    def at(self, codes: np.ndarray, t_us: np.ndarray) -> np.ndarray:
        out = np.zeros(len(t_us))
        for i, (key, t) in enumerate(zip(codes, t_us, strict=True)):
            found = self._by_key.get(int(key))
            if found is not None:
                j = np.searchsorted(found[0], t, side="right")
                out[i] = found[1][j - 1] if j > 0 else 0.0
        return out

    def window(self, codes: np.ndarray, t_us: np.ndarray, hours: float) -> np.ndarray:
        return self.at(codes, t_us) - self.at(codes, t_us - int(hours * US_PER_H))


class LiveContext:
    """A context kept current ticket by ticket: a base context plus, for every ticket changed
    since it was built, that ticket's rows now instead of its rows in the base.

    The service's live state: :meth:`update` costs work in the changed ticket's own rows (and
    the other changed tickets under the same keys), never in the size of the base; :meth:`view`
    is what :meth:`FeatureContext.overlay` answers for the same tickets, with every update
    since the base was built included. Answers equal a context built whole from the same data
    (up to float summation order, ~1e-12).
    """

    def __init__(self, base: FeatureContext) -> None:
        self.base = base.index_for_overlays()
        self.vocab = dict(base.vocab)
        self._live = {name: _LiveCounter() for name in _PER_TICKET}
        # Escalations (feedback) enter with the next base: they are kept per account, not per
        # ticket, so a correction here could count one twice.
        self.counters: dict[str, _AsOfCounter | _SumCounter] = dict(base.counters)
        for name, live in self._live.items():
            self.counters[name] = _SumCounter(base.counters[name], live)
        self.changed: set[object] = set()

    def update(self, tickets: pd.DataFrame, events: pd.DataFrame) -> None:
        """Replace what ``tickets`` contribute with their ``events`` so far (columns ticket_id,
        ts, event_type, agent_id, team, status, sentiment; any order)."""
        rows = _context_rows(tickets, events)
        self._extend("account", tickets["account_id"])
        self._extend("area", tickets["product_area"])
        self._extend("agent", rows["held_by_agent"].key)
        self._extend("team", rows["held_by_team"].key)
        ids = tickets["ticket_id"].to_numpy(dtype=object).tolist()
        self.changed.update(ids)
        for name, kind in _PER_TICKET.items():
            new, base_pos = rows[name], self.base._rows_of(name)
            for tid in ids:
                mine = np.flatnonzero(new.ticket_id == tid)
                keys, t, v = new.key[mine], new.t[mine], new.v[mine]
                old_pos = base_pos.get(tid)
                if old_pos is not None:
                    old = self.base.rows[name].take(old_pos)
                    keys = np.concatenate([keys, old.key])
                    t = np.concatenate([t, old.t])
                    v = np.concatenate([v, -old.v])
                self._live[name].replace(tid, encode(self.vocab[kind], keys), t, v)

    def _extend(self, kind: str, keys) -> None:
        self.vocab[kind] = extend(self.vocab[kind], keys)

    def view(self, accounts: pd.DataFrame, tickets: pd.DataFrame) -> FeatureContext:
        """The context as ``tickets`` see it: their rows as last given to :meth:`update` (the
        view answers feature queries; it is not meant to be overlaid)."""
        vocab = dict(self.vocab)
        vocab["account"] = extend(vocab["account"], accounts["account_id"])
        ctx = FeatureContext(
            accounts=accounts, tickets=tickets, vocab=vocab, counters=self.counters, rows={}
        )
        ctx.__dict__["_arrays_"] = _column_arrays(accounts, tickets, vocab)
        return ctx
