"""Grouping similar escalations: open and recent escalations and at-risk tickets, clustered by
the text of their opening messages, product area, escalation type and time.

One incident (an outage, a bad release, a billing run gone wrong) reaches support as many tickets
from many accounts; grouped, engineering sees its collective impact: the tickets, the accounts,
the ARR at stake, when it started and what the customers say.

How (scikit-learn, no hand-written clustering): each ticket is embedded (subject and first
customer message, L2-normalised MiniLM sentence embedding from
:meth:`models.sentiment.SentimentModel.embed`); tickets of different product areas are never
compared; the cosine distance between two tickets is made unreachable (10, cosine distances lie
in [0, 2]) when they have different known escalation types or were first seen more than
``window_hours`` apart; :class:`~sklearn.cluster.AgglomerativeClustering` (precomputed
distances, average linkage by default) cuts the tree at ``distance_threshold``. With complete
linkage the type and window rules hold for every pair of a group; with average linkage one
unreachable pair lifts the mean of two small clusters far past the threshold, but two large
clusters could still merge over a few such pairs.

Defaults (average linkage, threshold 0.55, 12 h window, groups of 3 or more) were chosen on the
outages of a 3,000-ticket synthetic organisation (seed 11); README "Similar escalations" has
the figures on other seeds.

Each group is labelled with its c-TF-IDF keywords (terms frequent in the group and rare in the
others) and its most central message (the one closest to the group's mean embedding).

Times are UTC. Nothing here reads the store or a data folder: callers pass frames
(:func:`select_tickets` builds the input from the support-data columns).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd

# Escalations and at-risk tickets: the actions a score answer gives a ticket worth watching.
AT_RISK_ACTIONS = ("watch", "escalate")
_UNREACHABLE = 10.0  # a distance no threshold reaches (cosine distances are within [0, 2])


class Embedder(Protocol):
    """Anything that turns texts into L2-normalised embeddings ``(n, d)``, in input order (the
    product uses :class:`models.sentiment.SentimentModel`)."""

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class HashingEmbedder:
    """A deterministic, model-free embedder (hashed word counts, L2-normalised): for tests and
    for quick runs without the transformer; it sees shared words, not meaning."""

    def __init__(self, n_features: int = 2**12) -> None:
        self.n_features = n_features

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        from sklearn.feature_extraction.text import HashingVectorizer

        vec = HashingVectorizer(
            n_features=self.n_features, alternate_sign=False, norm="l2", stop_words="english"
        )
        return vec.transform(list(texts)).toarray().astype(np.float32)


@dataclass(frozen=True)
class GroupingConfig:
    """How tickets are grouped.

    Attributes:
        window_hours: two tickets first seen further apart are never in one group.
        distance_threshold: cosine distance at which the cluster tree is cut.
        linkage: ``complete`` (every pair within the threshold) or ``average``.
        min_size: smallest group reported (smaller clusters are left ungrouped).
        keywords: c-TF-IDF keywords in a group's label.
        max_tickets: most tickets grouped in one call (the newest are kept): the distances are
            a dense matrix per product area.
    """

    window_hours: float = 12.0
    distance_threshold: float = 0.55
    linkage: Literal["complete", "average", "single"] = "average"
    min_size: int = 3
    keywords: int = 4
    max_tickets: int = 5000


# -- input --------------------------------------------------------------------------------------
def ticket_texts(tickets: pd.DataFrame, events: pd.DataFrame) -> pd.Series:
    """The text a ticket is grouped by: its subject and its first customer message.

    Args:
        tickets: ticket_id and, optionally, subject.
        events: ticket_id, ts, event_type and, optionally, text (rows without text are skipped).

    Returns:
        A Series indexed by ticket_id ("" for a ticket with neither).
    """
    ids = tickets["ticket_id"].astype(object)
    first = pd.Series(dtype=object)
    if "text" in events.columns and len(events):
        msgs = events[(events["event_type"] == "customer_message") & events["text"].notna()]
        first = msgs.sort_values(["ticket_id", "ts"], kind="stable").groupby("ticket_id")["text"]
        first = first.first()
    subject = (
        tickets.set_index("ticket_id")["subject"]
        if "subject" in tickets.columns
        else pd.Series(dtype=object)
    )
    parts = pd.DataFrame(
        {"subject": subject.reindex(ids).to_numpy(), "first": first.reindex(ids).to_numpy()},
        index=ids.to_numpy(),
    )
    return parts.apply(
        lambda r: "\n".join(str(v) for v in (r["subject"], r["first"]) if isinstance(v, str)),
        axis=1,
    ).astype(object)


def _lookup(values: pd.Series, keys: pd.Series) -> pd.Series:
    """``values`` at ``keys`` (missing where absent), keeping the dtype, aligned with keys."""
    values = values[~values.index.duplicated(keep="last")]
    return pd.Series(values.reindex(keys.to_numpy()).array, index=keys.index)


def select_tickets(
    tickets: pd.DataFrame,
    events: pd.DataFrame,
    accounts: pd.DataFrame,
    as_of: pd.Timestamp,
    lookback_hours: float,
    escalations: pd.DataFrame | None = None,
    scores: pd.DataFrame | None = None,
    texts: pd.Series | None = None,
    all_tickets: bool = False,
) -> pd.DataFrame:
    """The tickets worth grouping at ``as_of``, with what a group reports about them.

    Selected: tickets that escalated in the ``lookback_hours`` before ``as_of``, escalated
    tickets still open, and open tickets whose latest score's action is watch or escalate; with
    ``all_tickets``, every ticket first seen in the lookback. Only what was known at ``as_of``
    (inclusive) counts: later events, escalations and scores are ignored.

    Args:
        tickets: ticket_id, account_id, created_at, product_area (the support-data columns).
        events: ticket_id, ts, event_type, status (a ``closed`` status closes a ticket).
        accounts: account_id, arr.
        escalations: ticket_id, escalated_at, escalation_type (outcomes or the store's table).
        scores: ticket_id, as_of, probability, action (what the service answered).
        texts: the grouping text per ticket_id (default: :func:`ticket_texts`).

    Returns:
        One row per selected ticket: ticket_id, account_id, product_area, escalation_type,
        first_seen, last_seen, open, escalated, probability, action, arr, text.
    """
    as_of = pd.Timestamp(as_of)
    since = as_of - pd.Timedelta(hours=lookback_hours)
    tk = tickets[tickets["created_at"] <= as_of]
    ev = events[events["ts"] <= as_of]
    last_seen = ev.groupby("ticket_id")["ts"].max()
    closed = ev.loc[
        (ev["event_type"] == "status_change") & (ev["status"] == "closed"), "ticket_id"
    ]
    tk = tk.reset_index(drop=True)
    out = pd.DataFrame(
        {
            "ticket_id": tk["ticket_id"].astype(object),
            "account_id": tk["account_id"].astype(object),
            "product_area": tk["product_area"].astype(object),
            "first_seen": tk["created_at"].astype("datetime64[us, UTC]"),
        }
    )
    last_seen = last_seen.astype("datetime64[us, UTC]")
    seen = _lookup(last_seen, out["ticket_id"])
    out["last_seen"] = seen.where(seen.notna(), out["first_seen"])
    out["open"] = ~out["ticket_id"].isin(set(closed))
    esc_at = pd.Series(dtype="datetime64[us, UTC]")
    esc_type = pd.Series(dtype=object)
    if escalations is not None and len(escalations):
        e = escalations.dropna(subset=["escalated_at"])
        e = e[e["escalated_at"] <= as_of].drop_duplicates("ticket_id", keep="last")
        esc_at = e.set_index("ticket_id")["escalated_at"]
        esc_type = e.set_index("ticket_id")["escalation_type"]
    out["escalated_at"] = _lookup(esc_at.astype("datetime64[us, UTC]"), out["ticket_id"])
    out["escalated"] = out["escalated_at"].notna()
    out["escalation_type"] = _lookup(esc_type.astype(object), out["ticket_id"])
    out["probability"] = np.nan
    out["action"] = None
    if scores is not None and len(scores):
        s = scores[scores["as_of"] <= as_of].sort_values("as_of", kind="stable")
        latest = s.drop_duplicates("ticket_id", keep="last").set_index("ticket_id")
        out["probability"] = _lookup(latest["probability"].astype("float64"), out["ticket_id"])
        out["action"] = _lookup(latest["action"].astype(object), out["ticket_id"])
    recent_escalation = out["escalated_at"] >= since
    open_escalation = out["escalated"] & out["open"]
    at_risk = out["open"] & out["action"].isin(AT_RISK_ACTIONS)
    keep = recent_escalation.fillna(False) | open_escalation | at_risk
    if all_tickets:
        keep |= out["first_seen"] >= since
    out = out[keep.to_numpy(dtype=bool)].reset_index(drop=True)
    arr = accounts.drop_duplicates("account_id").set_index("account_id")["arr"]
    out["arr"] = out["account_id"].map(arr).astype("float64")
    if texts is None:
        texts = ticket_texts(tickets[tickets["ticket_id"].isin(out["ticket_id"])], ev)
    out["text"] = out["ticket_id"].map(texts).fillna("").astype(object)
    return out.drop(columns=["escalated_at"])


# -- clustering ---------------------------------------------------------------------------------
def _distances(emb: np.ndarray, frame: pd.DataFrame, cfg: GroupingConfig) -> np.ndarray:
    """Cosine distances, unreachable across known types and beyond the time window."""
    d = np.clip(1.0 - emb @ emb.T, 0.0, 2.0).astype("float64")
    hours = frame["first_seen"].astype("int64").to_numpy() / 3.6e9  # us since the epoch
    d[np.abs(hours[:, None] - hours[None, :]) > cfg.window_hours] = _UNREACHABLE
    kind, _ = pd.factorize(frame["escalation_type"])  # -1: unknown
    known = kind >= 0
    differs = known[:, None] & known[None, :] & (kind[:, None] != kind[None, :])
    d[differs] = _UNREACHABLE
    np.fill_diagonal(d, 0.0)
    return d


def cluster_tickets(
    frame: pd.DataFrame, embeddings: np.ndarray, cfg: GroupingConfig | None = None
) -> np.ndarray:
    """A cluster number per row of ``frame`` (-1: in no group of ``cfg.min_size`` or more).

    Args:
        frame: product_area, escalation_type (None when unknown), first_seen (UTC).
        embeddings: L2-normalised, one row per row of ``frame``.
    """
    from sklearn.cluster import AgglomerativeClustering

    cfg = cfg or GroupingConfig()
    labels = np.full(len(frame), -1, dtype=np.int64)
    area = frame["product_area"].astype(object).fillna("(none)").to_numpy()
    next_label = 0
    for value in pd.unique(area):
        idx = np.flatnonzero(area == value)
        if len(idx) < max(cfg.min_size, 2):
            continue
        d = _distances(embeddings[idx], frame.iloc[idx], cfg)
        model = AgglomerativeClustering(
            n_clusters=None,
            metric="precomputed",
            linkage=cfg.linkage,
            distance_threshold=cfg.distance_threshold,
        )
        part = model.fit_predict(d)
        for c in np.unique(part):
            members = idx[part == c]
            if len(members) >= cfg.min_size:
                labels[members] = next_label
                next_label += 1
    return labels


# -- labels -------------------------------------------------------------------------------------
_WORD = r"(?u)\b[a-zA-Z][a-zA-Z]{2,}\b"
_ID_LIKE = re.compile(r"\d")


def ctfidf_keywords(texts: Sequence[str], labels: np.ndarray, k: int) -> dict[int, list[str]]:
    """The ``k`` terms with the highest class-based TF-IDF per label (BERTopic's c-TF-IDF:
    term frequency in the class, scaled by ``log(1 + mean words per class / term frequency over
    all classes)``). Label -1 (the ungrouped tickets) counts as one class of background."""
    from sklearn.feature_extraction.text import CountVectorizer

    classes = sorted(set(labels.tolist()))
    docs = [" ".join(t for t, lab in zip(texts, labels, strict=True) if lab == c) for c in classes]
    try:
        vec = CountVectorizer(stop_words="english", token_pattern=_WORD, lowercase=True)
        counts = vec.fit_transform(docs).toarray().astype("float64")
    except ValueError:  # no words at all
        return {c: [] for c in classes if c >= 0}
    terms = vec.get_feature_names_out()
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
    idf = np.log(1.0 + counts.sum(axis=1).mean() / np.maximum(counts.sum(axis=0), 1.0))
    score = tf * idf
    out: dict[int, list[str]] = {}
    for row, c in enumerate(classes):
        if c < 0:
            continue
        order = np.argsort(-score[row], kind="stable")
        out[c] = [str(terms[j]) for j in order[:k] if counts[row, j] > 0]
    return out


def _central(texts: Sequence[str], emb: np.ndarray) -> str:
    centre = emb.mean(axis=0)
    return texts[int(np.argmax(emb @ centre))]


def _group_id(area: str, first_ticket: str) -> str:
    key = f"{area}:{first_ticket}".encode()
    return "g-" + hashlib.blake2b(key, digest_size=5).hexdigest()


# -- the whole step -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Grouping:
    """The groups found (largest ARR at stake first) and the cluster of every input ticket."""

    groups: list[dict[str, Any]]
    assignment: pd.Series  # ticket_id -> group id (None: in no group), every input ticket
    tickets: int  # clustered (with text)
    ungrouped: int  # clustered but in no group of min_size
    without_text: int  # not clustered: no text


def group_tickets(
    frame: pd.DataFrame, embedder: Embedder, cfg: GroupingConfig | None = None
) -> Grouping:
    """Group the tickets of ``frame`` (the columns :func:`select_tickets` returns).

    Each group: id, label (c-TF-IDF keywords), central_message, product_area,
    escalation_types (count per known type), size, tickets (ids, oldest first), accounts,
    arr_at_stake (sum of its distinct accounts' known ARR, USD), accounts_without_arr,
    escalated, open, at_risk (ticket counts), first_seen, last_seen (UTC).
    """
    cfg = cfg or GroupingConfig()
    frame = frame.sort_values("first_seen", kind="stable").tail(cfg.max_tickets)
    everyone = frame["ticket_id"].astype(str).to_numpy()
    # A ticket without text has nothing to be similar by: it is counted, never grouped.
    has_text = frame["text"].fillna("").astype(str).str.strip() != ""
    without_text = int((~has_text).sum())
    frame = frame[has_text.to_numpy()].reset_index(drop=True)
    if frame.empty:
        return Grouping([], pd.Series(None, index=everyone, dtype=object), 0, 0, without_text)
    texts = frame["text"].astype(str).tolist()
    emb = np.asarray(embedder.embed(texts), dtype=np.float32)
    labels = cluster_tickets(frame, emb, cfg)
    keywords = ctfidf_keywords(texts, labels, cfg.keywords)
    groups = []
    ids = np.full(len(frame), None, dtype=object)
    for c in sorted(set(labels.tolist()) - {-1}):
        idx = np.flatnonzero(labels == c)
        g = frame.iloc[idx]
        gid = _group_id(str(g["product_area"].iloc[0]), str(g["ticket_id"].iloc[0]))
        ids[idx] = gid
        acc = g.drop_duplicates("account_id")
        types = g["escalation_type"].dropna().value_counts()
        at_risk = g["open"] & g["action"].isin(AT_RISK_ACTIONS)
        groups.append(
            {
                "id": gid,
                "label": ", ".join(keywords.get(c, [])) or "(no words)",
                "keywords": keywords.get(c, []),
                "central_message": _central([texts[i] for i in idx], emb[idx]),
                "product_area": None
                if pd.isna(g["product_area"].iloc[0])
                else g["product_area"].iloc[0],
                "escalation_types": {str(k): int(v) for k, v in types.items()},
                "size": len(g),
                "tickets": g["ticket_id"].astype(str).tolist(),
                "accounts": acc["account_id"].astype(str).tolist(),
                "arr_at_stake": float(acc["arr"].fillna(0.0).sum()),
                "accounts_without_arr": int(acc["arr"].isna().sum()),
                "escalated": int(g["escalated"].sum()),
                "open": int(g["open"].sum()),
                "at_risk": int(at_risk.sum()),
                "first_seen": g["first_seen"].min(),
                "last_seen": g["last_seen"].max(),
            }
        )
    groups.sort(key=lambda x: (-x["arr_at_stake"], -x["size"], x["id"]))
    assignment = pd.Series(ids, index=frame["ticket_id"].astype(str).to_numpy(), dtype=object)
    assignment = assignment.reindex(everyone)
    return Grouping(groups, assignment, len(frame), int((labels < 0).sum()), without_text)


# -- evaluation ---------------------------------------------------------------------------------
def evaluate_grouping(assignment: pd.Series, truth: pd.Series) -> dict[str, Any]:
    """How well groups recover known incidents (on synthetic data: the outages).

    Scored on the incident tickets and every ticket grouped with one (the others, routine
    tickets grouped among themselves, say nothing about incidents): the class of a ticket is
    its incident, or "none"; its cluster its group, or itself when ungrouped.

    Args:
        assignment: ticket_id -> group id (None: ungrouped), for every ticket grouped.
        truth: ticket_id -> incident id, for the tickets an incident caused (others absent).

    Returns:
        homogeneity and completeness (``sklearn.metrics``: a group holds one incident and no
        routine ticket; an incident lies in one group), ``purity`` (share of those tickets
        whose group's majority class is theirs, ungrouped incident tickets counting as
        misses), ``largest_share`` (per incident, the share of its tickets in its largest
        group, ticket-weighted), and the counts.
    """
    from sklearn.metrics import homogeneity_completeness_v_measure

    tids = assignment.index.astype(str)
    known = {str(k): str(v) for k, v in truth.items()}
    frame = pd.DataFrame(
        {
            "ticket_id": tids,
            "true": [f"incident:{known[t]}" if t in known else "none" for t in tids],
            "group": assignment.to_numpy(dtype=object),
        }
    )
    frame["pred"] = [
        f"group:{g}" if isinstance(g, str) else f"alone:{t}"
        for t, g in zip(frame["ticket_id"], frame["group"], strict=True)
    ]
    frame["incident"] = frame["true"] != "none"
    touched = frame.groupby("pred")["incident"].transform("any")
    sub = frame[touched.to_numpy()]
    inc = sub[sub["incident"]]
    if inc.empty:
        raise ValueError("no ticket of a known incident among the grouped tickets")
    h, c, _ = homogeneity_completeness_v_measure(sub["true"], sub["pred"])
    grouped = sub[sub["pred"].str.startswith("group:")]
    majority = grouped.groupby("pred")["true"].agg(lambda s: s.value_counts().iloc[0]).sum()
    largest = inc.groupby("true")["pred"].agg(
        lambda s: (
            int(s[s.str.startswith("group:")].value_counts().max())
            if s.str.startswith("group:").any()
            else 0
        )
    )
    return {
        "homogeneity": round(float(h), 4),
        "completeness": round(float(c), 4),
        "purity": round(float(majority / len(sub)), 4),
        "largest_share": round(float(largest.sum() / len(inc)), 4),
        "incident_tickets": len(inc),
        "incidents": int(inc["true"].nunique()),
        "incident_groups": int(grouped["pred"].nunique()),
        "routine_tickets_in_incident_groups": int((~grouped["incident"]).sum()),
        "tickets": len(frame),
        "groups": int(frame.loc[frame["pred"].str.startswith("group:"), "pred"].nunique()),
    }
