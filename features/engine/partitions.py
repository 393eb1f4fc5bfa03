"""The support data spread over a cluster: small tables on the client, events in hashed
partitions (all of a ticket's events in one) on the workers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from features.build import EVENT_COLUMNS, escalation_history
from features.context import FeatureContext
from features.engine.texts import (
    ScorerSpec,
    TextScorerPlugin,
    attach_signals,
    part_texts,
    score_part_texts,
)
from features.schema import TABLES, DataValidationError, SupportData, validate_tables
from features.text import SIGNAL_COLUMNS, SignalCache

log = logging.getLogger(__name__)

# The event types FeatureContext.from_data reads (its counters count tickets created and closed,
# assignments held and released, customer messages' sentiment); the identity test fails if the
# context starts reading another type.
CONTEXT_EVENT_TYPES = ("customer_message", "assignment", "status_change")


# -- reading: the small tables on the client, the events in hashed partitions


def partition_of(ticket_ids, n_partitions: int) -> np.ndarray:
    """The partition of each ticket id: a fixed hash (the same in every process) modulo n."""
    ids = np.asarray(ticket_ids, dtype=object)
    return (pd.util.hash_array(ids) % np.uint64(n_partitions)).astype(np.int64)


def _event_pieces(path: Path) -> list[tuple[str, int, int]]:
    """(file, row group, first row) of every row group of events.parquet (a file or a folder of
    part files, read in name order as pandas reads them), with global row offsets."""
    files = sorted(p for p in path.rglob("*.parquet")) if path.is_dir() else [path]
    pieces, offset = [], 0
    for f in files:
        meta = pq.ParquetFile(f).metadata
        for g in range(meta.num_row_groups):
            pieces.append((str(f), g, offset))
            offset += meta.row_group(g).num_rows
    return pieces


def _read_piece(file: str, row_group: int, offset: int, n_partitions: int) -> list[pd.DataFrame]:
    """One row group of events split into the partitions' buckets (file order kept)."""
    df = pq.ParquetFile(file).read_row_group(row_group).to_pandas()
    df["_row"] = offset + np.arange(len(df))
    part = partition_of(df["ticket_id"].to_numpy(dtype=object), n_partitions)
    return [df[part == k] for k in range(n_partitions)]


def _take(items: list, k: int):
    return items[k]


def _assemble(
    buckets: list[pd.DataFrame],
    accounts: pd.DataFrame,
    tickets: pd.DataFrame,
    outcomes: pd.DataFrame | None,
    events_file: str,
) -> SupportData:
    """A partition: its events (all of its tickets') validated with their tickets and outcomes."""
    ev = pd.concat(buckets, ignore_index=True)
    ids = pd.unique(ev["ticket_id"].to_numpy(dtype=object))
    tk = tickets[tickets["ticket_id"].isin(ids)]
    oc = None if outcomes is None else outcomes[outcomes["ticket_id"].isin(ids)]
    rows = ev.pop("_row").to_numpy()
    try:
        return validate_tables(accounts, tk, ev, oc, files={"events": events_file})
    except DataValidationError as err:
        if err.file != events_file or err.row is None:
            raise
        # Name the row of the file, not of the partition.
        message = str(err).split(": ", 1)[1] if ": " in str(err) else str(err)
        raise DataValidationError(events_file, message, int(rows[err.row]), err.column) from None


def _small_tables(root: Path) -> SupportData:
    """accounts, tickets and outcomes read and validated on the client (events: none yet)."""
    if not root.is_dir():
        raise DataValidationError(str(root), "no such data folder")
    tables: dict[str, pd.DataFrame | None] = {}
    for name in TABLES:
        file = root / f"{name}.parquet"
        if not file.exists():
            if name != "outcomes":
                raise DataValidationError(str(file), "required table is missing")
            tables[name] = None
            continue
        try:
            if name == "events":
                tables[name] = pq.read_schema(_event_pieces(file)[0][0]).empty_table().to_pandas()
            else:
                tables[name] = pd.read_parquet(file)
        except (OSError, IndexError, ValueError) as err:
            raise DataValidationError(str(file), f"cannot read Parquet: {err}") from None
    return validate_tables(
        tables["accounts"],  # type: ignore[arg-type]
        tables["tickets"],  # type: ignore[arg-type]
        tables["events"],  # type: ignore[arg-type]
        tables["outcomes"],
        files={name: str(root / f"{name}.parquet") for name in TABLES},
    )


def _context_events(part: SupportData) -> pd.DataFrame:
    ev = part.events
    cols = [c for c in EVENT_COLUMNS if c in ev.columns]
    return ev.loc[ev["event_type"].isin(CONTEXT_EVENT_TYPES).to_numpy(), cols]


def _build_context(
    accounts: pd.DataFrame,
    tickets: pd.DataFrame,
    extracts: list[pd.DataFrame],
    escalations: pd.DataFrame | None,
) -> FeatureContext:
    events = pd.concat(extracts, ignore_index=True)
    return FeatureContext.from_data(accounts, tickets, events, escalations)


def _row_hashes(part: SupportData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ticket ids in order, their event counts, row hashes) for the data digest."""
    ev = part.events
    ids, counts = np.unique(ev["ticket_id"].to_numpy(dtype=object), return_counts=True)
    return ids, counts, pd.util.hash_pandas_object(ev, index=False).to_numpy()


class PartitionedData:
    """A support-data folder spread over a cluster: the small tables on the client, the events
    as ``n_partitions`` validated partitions (futures of SupportData) on the workers.

    Args:
        client: a distributed Client.
        root: the data folder (accounts/tickets/events[/outcomes].parquet; events may be a folder
            of part files). Workers read the events themselves: on a real cluster the folder must
            be on storage every worker sees.
        n_partitions: default: 4 per worker thread.
    """

    def __init__(self, client, root: str | Path, n_partitions: int | None = None) -> None:
        self.client = client
        self.root = Path(root)
        self.small = _small_tables(self.root)
        threads = sum(client.nthreads().values()) or 1
        self.n_partitions = n_partitions or 4 * threads
        events_file = str(self.root / "events.parquet")
        self._accounts = client.scatter(self.small.accounts, broadcast=True)
        self._tickets = client.scatter(self.small.tickets, broadcast=True)
        self._outcomes = (
            None
            if self.small.outcomes is None
            else client.scatter(self.small.outcomes, broadcast=True)
        )
        n = self.n_partitions
        reads = [
            client.submit(_read_piece, f, g, off, n, pure=False)
            for f, g, off in _event_pieces(self.root / "events.parquet")
        ]
        self.parts = [
            client.submit(
                _assemble,
                [client.submit(_take, r, k) for r in reads],
                self._accounts,
                self._tickets,
                self._outcomes,
                events_file,
            )
            for k in range(n)
        ]
        # The digest's row hashes, of the events as read (before text signals are attached).
        self._hashes = self.map(_row_hashes)
        self.text_model: str | None = None
        self.texts_scored = 0
        self._context = None

    @property
    def accounts(self) -> pd.DataFrame:
        return self.small.accounts

    @property
    def tickets(self) -> pd.DataFrame:
        return self.small.tickets

    @property
    def outcomes(self) -> pd.DataFrame | None:
        return self.small.outcomes

    def parts_events(self) -> list[Any]:
        """Futures of each partition's events table (text signals attached once attach_text ran)."""
        return self.map(_events_of)

    def map(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> list[Any]:
        """``fn(part, *args)`` on every partition, where it lives; a list of futures."""
        return [self.client.submit(fn, p, *args, **kwargs) for p in self.parts]

    def attach_text(
        self, spec: ScorerSpec | None, cache: SignalCache | None = None, batch_size: int = 512
    ) -> None:
        """Text signals on every partition's events: each distinct text the cache lacks is
        scored once, on the worker holding it, by that worker's one scorer; new signals go
        into ``cache`` (the client's, persisted where it has a path)."""
        if spec is None:
            self.parts = self.map(attach_signals, None)
            return
        cache = cache or SignalCache(None)
        self.text_model = spec.version
        self.client.register_plugin(TextScorerPlugin(spec), name=spec.plugin_name)
        texts = self.map(part_texts)
        keys = self.client.gather([self.client.submit(_keys_of, t) for t in texts])
        all_keys = pd.Series(np.concatenate(keys) if keys else [], dtype=object)
        known = cache.lookup(all_keys)["sentiment"].notna().to_numpy()
        # Each missing text is scored by the first partition holding it.
        todo = pd.DataFrame(
            {
                "key": all_keys.to_numpy(),
                "part": np.repeat(np.arange(len(keys)), [len(k) for k in keys]),
            }
        )[~known].drop_duplicates("key")
        log.info(
            "scoring %d new customer messages on the workers (%d cached)", len(todo), known.sum()
        )
        assigned = dict(iter(todo.groupby("part")["key"]))
        scored = [
            self.client.submit(
                score_part_texts,
                texts[k],
                assigned[k].to_numpy(),
                spec.plugin_name,
                batch_size,
                pure=False,
            )
            for k in sorted(assigned)
        ]
        new = self.client.gather(scored)
        if new:
            signals = pd.concat(new, ignore_index=True)
            cache.add(signals["key"].tolist(), signals[list(SIGNAL_COLUMNS)])
            self.texts_scored = len(signals)
        table = cache.lookup(all_keys.drop_duplicates())
        table = table.rename_axis("key").reset_index()
        futures = []
        for k, part in enumerate(self.parts):
            mine = table[table["key"].isin(keys[k])] if len(keys[k]) else table.iloc[:0]
            futures.append(self.client.submit(attach_signals, part, self.client.scatter(mine)))
        self.parts = futures

    def escalations(self) -> pd.DataFrame | None:
        return escalation_history(self.outcomes, self.tickets)

    def context(self):
        """The cross-ticket FeatureContext (a future, replicated to every worker; built once)."""
        if self._context is None:
            extracts = self.map(_context_events)
            ctx = self.client.submit(
                _build_context, self._accounts, self._tickets, extracts, self.escalations()
            )
            self.client.replicate([ctx])
            self._context = ctx
        return self._context

    def digest(self) -> str:
        """SupportData.digest of the whole folder, computed from the partitions' row hashes."""
        import hashlib

        parts = self.client.gather(self._hashes)
        h = hashlib.sha256()
        for name in ("accounts", "tickets", "events", "outcomes"):
            if name == "events":
                ids = np.concatenate([p[0] for p in parts])
                counts = np.concatenate([p[1] for p in parts])
                rows = np.concatenate([p[2] for p in parts])
                start = np.concatenate(([0], np.cumsum(counts)[:-1]))
                # Tickets never straddle partitions: order their blocks as the local sort does.
                order = np.argsort(ids, kind="stable")
                take = (
                    np.concatenate([np.arange(start[i], start[i] + counts[i]) for i in order])
                    if len(order)
                    else np.zeros(0, dtype=np.int64)
                )
                h.update(b"events")
                h.update(rows[take].tobytes())
                continue
            df = getattr(self.small, name)
            if df is None:
                continue
            h.update(name.encode())
            h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
        return h.hexdigest()[:16]


def _events_of(part: SupportData) -> pd.DataFrame:
    return part.events


def _keys_of(texts: pd.DataFrame) -> np.ndarray:
    return texts["key"].to_numpy(dtype=object)
