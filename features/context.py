"""The as-of context of a snapshot: everything beyond the ticket's own events, indexed in time.

Accounts, other tickets (open counts, recent volume, backlogs of agents and teams), the
account's recent sentiment and past escalations. Every query is inclusive of as_of and blind to
anything later. :meth:`FeatureContext.overlay` is the serving view: one ticket's latest state
over a context built earlier.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.arrays import NAT_US, US_PER_H, encode, extend, positions, to_us, vocabulary
from features.calendar import to_epoch_hours


class _AsOfCounter:
    """Cumulative count (or sum) of coded, timed items, queried at any (code, instant).

    Codes are integers from a shared vocabulary (-1: unknown, counts zero).
    """

    def __init__(self, codes: np.ndarray, t_us: np.ndarray, values: np.ndarray | None = None):
        codes, t_us = np.asarray(codes), np.asarray(t_us)
        ok = (codes >= 0) & (t_us != NAT_US)
        k, t = codes[ok].astype(np.int64), t_us[ok].astype(np.int64)
        v = np.ones(len(k)) if values is None else np.asarray(values, dtype="float64")[ok]
        order = np.lexsort((t, k))  # by key, then time; stable
        k, t, v = k[order], t[order], v[order]
        first = np.concatenate(([True], k[1:] != k[:-1])) if len(k) else np.zeros(0, bool)
        starts = np.flatnonzero(first)
        # Running total within each key: per-segment cumulative sums.
        cum = np.empty(len(v))
        ends = np.append(starts[1:], len(v))[: len(starts)]
        for lo, hi in zip(starts, ends, strict=True):
            np.cumsum(v[lo:hi], out=cum[lo:hi])
        # Several items at one instant: keep the total after the last of them.
        last = np.append((k[1:] != k[:-1]) | (t[1:] != t[:-1]), True) if len(k) else first
        k, t, cum = k[last], t[last], cum[last]
        bounds = (
            np.flatnonzero(np.concatenate(([True], k[1:] != k[:-1], [True]))) if len(k) else [0]
        )
        # Per-key arrays answer a few queries (the serving path) without a join.
        self._by_key = {
            int(k[lo]): (t[lo:hi], cum[lo:hi])
            for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
        }
        self._kt = (k, t, cum)
        self._table_: pd.DataFrame | None = None

    @property
    def _table(self) -> pd.DataFrame:
        """All (key, t, cum) rows sorted by time, for as-of joins of many queries (built once)."""
        if self._table_ is None:
            k, t, cum = self._kt
            frame = pd.DataFrame({"key": k, "t": t, "cum": cum})
            self._table_ = frame.sort_values("t", kind="stable")
        return self._table_

    def at(self, codes: np.ndarray, t_us: np.ndarray) -> np.ndarray:
        """Total of items with code == codes[i] and time <= t_us[i]; 0 when none."""
        out = np.zeros(len(t_us))
        if len(t_us) <= 32:
            for i, (key, t) in enumerate(zip(codes, t_us, strict=True)):
                found = self._by_key.get(int(key))
                if found is not None:
                    j = np.searchsorted(found[0], t, side="right")
                    out[i] = found[1][j - 1] if j > 0 else 0.0
            return out
        has_key = codes >= 0
        if not has_key.any():
            return out
        q = pd.DataFrame(
            {"key": codes[has_key], "t": np.asarray(t_us)[has_key], "pos": np.flatnonzero(has_key)}
        ).sort_values("t", kind="stable")
        m = pd.merge_asof(q, self._table, on="t", by="key", direction="backward")
        out[m["pos"].to_numpy()] = m["cum"].fillna(0.0).to_numpy()
        return out

    def window(self, codes: np.ndarray, t_us: np.ndarray, hours: float) -> np.ndarray:
        """Total of items in (t - hours, t]."""
        return self.at(codes, t_us) - self.at(codes, t_us - int(hours * US_PER_H))


# Counters fed by each ticket's own rows (the serving overlay replaces a ticket's rows).
_PER_TICKET = {
    "created_by_account": "account",
    "closed_by_account": "account",
    "created_by_area": "area",
    "closed_by_area": "area",
    "sentiment_sum_by_account": "account",
    "sentiment_n_by_account": "account",
    "held_by_agent": "agent",
    "released_by_agent": "agent",
    "held_by_team": "team",
    "released_by_team": "team",
}


class _Rows:
    """What tickets contribute to one counter: arrays ticket_id, key, t (us; NAT_US never), v."""

    __slots__ = ("ticket_id", "key", "t", "v")

    def __init__(self, ticket_id, key, t, v=None) -> None:
        self.ticket_id = np.asarray(ticket_id, dtype=object)
        self.key = np.asarray(key, dtype=object)
        self.t = np.asarray(t, dtype=np.int64)
        self.v = np.ones(len(self.t)) if v is None else np.asarray(v, dtype="float64")

    def take(self, pos: np.ndarray) -> _Rows:
        return _Rows(self.ticket_id[pos], self.key[pos], self.t[pos], self.v[pos])


def _context_rows(tickets: pd.DataFrame, events: pd.DataFrame) -> dict[str, _Rows]:
    """What each ticket contributes to each per-ticket counter (NumPy; events in any order)."""
    ids = tickets["ticket_id"].to_numpy(dtype=object)

    acc = tickets["account_id"].to_numpy(dtype=object, na_value=None)
    area = tickets["product_area"].to_numpy(dtype=object, na_value=None)
    created_us = to_us(tickets["created_at"])

    ev_code = positions(ids, events["ticket_id"].to_numpy(dtype=object))
    ev_us = to_us(events["ts"])
    order = np.lexsort((ev_us, ev_code))  # by ticket, then time (stable: no-op when sorted)
    ev_code, ev_us = ev_code[order], ev_us[order]
    etype = events["event_type"].to_numpy(dtype=object)[order]
    status = events["status"].to_numpy(dtype=object, na_value=None)[order]
    sentiment = events["sentiment"].to_numpy(dtype="float64", na_value=np.nan)[order]
    ev_ids = np.where(ev_code >= 0, ids[np.maximum(ev_code, 0)] if len(ids) else None, None)

    # A ticket's close: its first "closed" status (never: NAT_US).
    closing = (etype == "status_change") & (status == "closed") & (ev_code >= 0)
    close_us = np.full(len(ids), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(close_us, ev_code[closing], ev_us[closing])
    close_us[close_us == np.iinfo(np.int64).max] = NAT_US

    cust = (etype == "customer_message") & ~np.isnan(sentiment) & (ev_code >= 0)
    cust_acc = acc[ev_code[cust]] if len(ids) else np.array([], dtype=object)

    # Who holds the ticket: from each assignment until the next one or the first close at or
    # after it (an assignment after a close is a reopen); a later event never moves a release.
    is_asg = (etype == "assignment") & (ev_code >= 0)
    a_code, a_us = ev_code[is_asg], ev_us[is_asg]
    same_next = np.append(a_code[1:] == a_code[:-1], False) if len(a_code) else a_code.astype(bool)
    nxt_us = np.where(same_next, np.append(a_us[1:], NAT_US)[: len(a_us)], NAT_US)
    c_code, c_us = ev_code[closing], ev_us[closing]
    times, inverse = np.unique(np.concatenate((a_us, c_us)), return_inverse=True)
    n_t = np.int64(len(times) + 1)
    a_key = a_code.astype(np.int64) * n_t + inverse[: len(a_us)]
    c_key = c_code.astype(np.int64) * n_t + inverse[len(a_us) :]
    c_order = np.argsort(c_key, kind="stable")
    j = np.searchsorted(c_key[c_order], a_key, side="left")
    hit = j < len(c_key)
    jj = c_order[np.minimum(j, max(len(c_key) - 1, 0))] if len(c_key) else j
    hit &= (c_code[jj] == a_code) if len(c_key) else hit
    close_of = np.where(hit, c_us[jj] if len(c_key) else NAT_US, NAT_US)
    end_us = np.where(
        nxt_us == NAT_US,
        close_of,
        np.where(close_of == NAT_US, nxt_us, np.minimum(nxt_us, close_of)),
    )
    a_ids = ev_ids[is_asg]
    agents = events["agent_id"].to_numpy(dtype=object, na_value=None)[order][is_asg]
    teams = events["team"].to_numpy(dtype=object, na_value=None)[order][is_asg]
    c_ids = ev_ids[cust]
    return {
        "created_by_account": _Rows(ids, acc, created_us),
        "closed_by_account": _Rows(ids, acc, close_us),
        "created_by_area": _Rows(ids, area, created_us),
        "closed_by_area": _Rows(ids, area, close_us),
        "sentiment_sum_by_account": _Rows(c_ids, cust_acc, ev_us[cust], sentiment[cust]),
        "sentiment_n_by_account": _Rows(c_ids, cust_acc, ev_us[cust]),
        "held_by_agent": _Rows(a_ids, agents, a_us),
        "released_by_agent": _Rows(a_ids, agents, end_us),
        "held_by_team": _Rows(a_ids, teams, a_us),
        "released_by_team": _Rows(a_ids, teams, end_us),
    }


def _column_arrays(
    accounts: pd.DataFrame, tickets: pd.DataFrame, vocab: dict[str, pd.Index]
) -> dict[str, np.ndarray | pd.Index]:
    """The ticket and account columns features read, as arrays with their id indexes."""
    account_id = tickets["account_id"].to_numpy(dtype=object, na_value=None)
    area = tickets["product_area"].to_numpy(dtype=object, na_value=None)
    return {
        "ticket_index": pd.Index(tickets["ticket_id"].to_numpy(dtype=object), dtype=object),
        "acc_code": encode(vocab["account"], account_id),
        "area_code": encode(vocab["area"], area),
        "account_id": account_id,
        "channel": tickets["channel"].to_numpy(dtype=object, na_value=None),
        "product_area": area,
        "account_index": pd.Index(accounts["account_id"].to_numpy(dtype=object), dtype=object),
        "arr": accounts["arr"].to_numpy(dtype="float64", na_value=np.nan),
        "strategic": accounts["strategic"].to_numpy(dtype="float64", na_value=np.nan),
        "plan": accounts["plan"].to_numpy(dtype=object, na_value=None),
        "renewal_h": to_epoch_hours(accounts["renewal_date"]),
        "created_h": to_epoch_hours(accounts["created_at"]),
    }


class _SumCounter:
    """A base counter plus a signed correction (the serving overlay of one ticket)."""

    def __init__(self, base: _AsOfCounter, delta: _AsOfCounter) -> None:
        self.base, self.delta = base, delta

    def at(self, codes: np.ndarray, t_us: np.ndarray) -> np.ndarray:
        return self.base.at(codes, t_us) + self.delta.at(codes, t_us)

    def window(self, codes: np.ndarray, t_us: np.ndarray, hours: float) -> np.ndarray:
        return self.at(codes, t_us) - self.at(codes, t_us - int(hours * US_PER_H))


@dataclass
class FeatureContext:
    """Everything beyond one ticket's own events that its features read, indexed for as-of use.

    Built once from a data set (the batch job) or from the service's store; queried with
    snapshots. All queries are inclusive of as_of and blind to anything later.
    """

    accounts: pd.DataFrame
    tickets: pd.DataFrame
    vocab: dict[str, pd.Index]  # account, area, agent, team
    counters: dict[str, _AsOfCounter | _SumCounter]
    rows: dict[str, _Rows]  # per-ticket counter rows (for overlays)

    @classmethod
    def from_data(
        cls,
        accounts: pd.DataFrame,
        tickets: pd.DataFrame,
        events: pd.DataFrame,
        escalations: pd.DataFrame | None = None,
    ) -> FeatureContext:
        """Index a data set.

        Args:
            accounts, tickets: validated tables.
            events: sorted events with text signals attached.
            escalations: account_id, escalated_at of past escalations (any time: queries only
                count those at or before as_of). None when outcomes are unknown.
        """
        rows = _context_rows(tickets, events)
        vocab = {
            "account": vocabulary(accounts["account_id"]),
            "area": vocabulary(tickets["product_area"]),
            "agent": vocabulary(rows["held_by_agent"].key),
            "team": vocabulary(rows["held_by_team"].key),
        }
        counters: dict[str, _AsOfCounter | _SumCounter] = {
            name: _AsOfCounter(encode(vocab[kind], rows[name].key), rows[name].t, rows[name].v)
            for name, kind in _PER_TICKET.items()
        }
        if escalations is None:
            esc_acc, esc_us = np.array([], dtype=object), np.array([], dtype=np.int64)
        else:
            esc_acc, esc_us = escalations["account_id"], to_us(escalations["escalated_at"])
        counters["escalations_by_account"] = _AsOfCounter(
            encode(vocab["account"], esc_acc), esc_us
        )
        return cls(
            accounts=accounts.set_index("account_id"),
            tickets=tickets.set_index("ticket_id"),
            vocab=vocab,
            counters=counters,
            rows=rows,
        )

    def index_for_overlays(self) -> FeatureContext:
        """Index every ticket's rows now (the service does this before swapping a context in,
        so no request pays for it); returns self."""
        for name in _PER_TICKET:
            self._rows_of(name)
        return self

    def _rows_of(self, name: str) -> dict[object, np.ndarray]:
        """ticket_id -> positions of its rows in ``rows[name]`` (indexed on first overlay: the
        batch job never needs it)."""
        cache = self.__dict__.setdefault("_rows_of_", {})
        if name not in cache:
            r = self.rows[name]
            groups = pd.Series(np.arange(len(r.t))).groupby(r.ticket_id).indices
            cache[name] = {tid: np.asarray(pos) for tid, pos in groups.items()}
        return cache[name]

    def overlay(
        self, accounts: pd.DataFrame, tickets: pd.DataFrame, events: pd.DataFrame
    ) -> FeatureContext:
        """This context with ``tickets`` as given (their events so far) instead of as indexed.

        The serving path: a request carries the ticket's latest state, which replaces whatever
        the store held for it; every other ticket stays as indexed. The result answers queries
        for ``tickets`` only (it holds only their ticket and account rows).

        Args:
            accounts: the accounts of ``tickets``.
            tickets, events: as for :meth:`from_data` (events with text signals attached).
        """
        new_rows = _context_rows(tickets, events)
        ids = tickets["ticket_id"].to_numpy(dtype=object)
        vocab = {
            "account": extend(self.vocab["account"], accounts["account_id"]),
            "area": extend(self.vocab["area"], tickets["product_area"]),
            "agent": extend(self.vocab["agent"], new_rows["held_by_agent"].key),
            "team": extend(self.vocab["team"], new_rows["held_by_team"].key),
        }
        counters: dict[str, _AsOfCounter | _SumCounter] = dict(self.counters)
        for name, kind in _PER_TICKET.items():
            found = [self._rows_of(name).get(tid) for tid in ids]
            pos = [p for p in found if p is not None]
            new = new_rows[name]
            old = self.rows[name].take(np.concatenate(pos)) if pos else None
            if old is None and not len(new.t):
                continue
            keys, t, v = new.key, new.t, new.v
            if old is not None:
                keys = np.concatenate([keys, old.key])
                t = np.concatenate([t, old.t])
                v = np.concatenate([v, -old.v])
            delta = _AsOfCounter(encode(vocab[kind], keys), t, v)
            counters[name] = _SumCounter(self.counters[name], delta)
        ctx = FeatureContext(
            accounts=accounts,
            tickets=tickets,
            vocab=vocab,
            counters=counters,
            rows=new_rows,
        )
        ctx.__dict__["_arrays_"] = _column_arrays(accounts, tickets, vocab)
        return ctx

    def _arrays(self) -> dict[str, np.ndarray | pd.Index]:
        """Ticket and account columns as arrays with their indexes (built on first use)."""
        a = self.__dict__.get("_arrays_")
        if a is None:
            a = _column_arrays(self.accounts.reset_index(), self.tickets.reset_index(), self.vocab)
            self.__dict__["_arrays_"] = a
        return a

    def lookup(self, ticket_ids) -> ContextLookup:
        """The context as seen by snapshots of ``ticket_ids`` (their ticket and account rows)."""
        return ContextLookup(self, ticket_ids)


class ContextLookup:
    """A context's answers for a batch of snapshots: ticket and account columns by snapshot,
    key codes, and the as-of counters (positions found once, on construction)."""

    def __init__(self, context: FeatureContext, ticket_ids) -> None:
        self.context = context
        a = self._a = context._arrays()
        pos = a["ticket_index"].get_indexer(np.asarray(ticket_ids, dtype=object))
        self._n, self._found, self._p = len(pos), pos >= 0, np.maximum(pos, 0)
        apos = a["account_index"].get_indexer(self.ticket("account_id", None))
        self._afound, self._ap = apos >= 0, np.maximum(apos, 0)
        self.account_code = self.ticket("acc_code", -1).astype(np.int64)
        self.area_code = self.ticket("area_code", -1).astype(np.int64)

    def ticket(self, name: str, missing) -> np.ndarray:
        """A tickets-table column per snapshot (``missing`` where the context lacks the ticket);
        also ``acc_code`` and ``area_code``, the ticket's account and area codes."""
        col = self._a[name]
        if len(col) == 0:
            return np.full(self._n, missing, dtype=object if missing is None else None)
        return np.where(self._found, col[self._p], missing)

    def account(self, name: str, missing) -> np.ndarray:
        """An accounts-table column per snapshot (``renewal_h`` and ``created_h`` in epoch
        hours); ``missing`` where the account is unknown."""
        col = self._a[name]
        if len(col) == 0:
            return np.full(self._n, missing, dtype=object if missing is None else "float64")
        return np.where(self._afound, col[self._ap], missing)

    def codes(self, kind: str, keys) -> np.ndarray:
        """Codes of account, area, agent or team keys (-1: unknown or missing)."""
        return encode(self.context.vocab[kind], keys)

    def counter(self, name: str) -> _AsOfCounter | _SumCounter:
        """An as-of counter by name: ``created_by_*``, ``closed_by_*`` (account, area),
        ``sentiment_sum_by_account``, ``sentiment_n_by_account``, ``held_by_*``,
        ``released_by_*`` (agent, team) or ``escalations_by_account``."""
        return self.context.counters[name]
