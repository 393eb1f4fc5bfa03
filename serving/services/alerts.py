"""Alerts out: a ticket that rises to escalate (or executive) is announced to the configured
webhooks, once per ticket and policy version.

The service queues an alert in the store (:mod:`serving.services.store.alerts`: unique per
(ticket_id, policy_version), one delivery per webhook); every worker runs an
:class:`AlertDispatcher` that claims due deliveries in a transaction, posts them and records the
outcome: sent, retried after an exponential back-off, or moved to the dead-letter table after
``alert_max_attempts`` tries. Two bodies: a generic JSON document (the score's answer with the
brief) and a Slack-compatible message (``text`` plus blocks). Every call carries the header
``X-Escalation-Risk-Alert`` (``<alert id>``) so a receiver can drop a repeat: a worker killed
between a successful call and its record leaves the delivery to be sent again when its claim
expires.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import urllib.error
import urllib.request
import uuid

from serving.core.config import Settings
from serving.services.store.alerts import Delivery

log = logging.getLogger(__name__)

ALERT_HEADER = "X-Escalation-Risk-Alert"


def targets(settings: Settings) -> list[tuple[str, str]]:
    """(url, format) of every configured webhook: ``generic`` or ``slack``."""
    return [(u, "generic") for u in settings.alert_webhooks] + [
        (u, "slack") for u in settings.alert_slack_webhooks
    ]


def alert_body(score: dict, account_id: str | None) -> dict:
    """The generic alert: what the desk needs to act, from the score's answer (brief
    included)."""
    d = score["decision"]
    return {
        "type": "escalation-risk.alert",
        "ticket_id": score["ticket_id"],
        "account_id": account_id,
        "action": "executive" if d["executive"] else "escalate",
        "as_of": score["as_of"],
        "probability": score["probability"],
        "band": score["band"],
        "decision": d,
        "severity": score["severity"],
        "escalation_type": score["escalation_type"],
        "triggers": score["triggers"],
        "reasons": score["reasons"],
        "brief": score["brief"],
        "model": score["model"],
    }


def slack_body(alert: dict) -> dict:
    """A Slack-compatible message (``text`` for notifications, blocks for the channel)."""
    d, sev = alert["decision"], alert["severity"]
    head = (
        f"{alert['action'].upper()}: ticket {alert['ticket_id']} "
        f"(p={alert['probability']:.2f}, {sev['level']}, route to {d['route_to']})"
    )
    reasons = "\n".join(f"- {r['text']}" for r in alert["reasons"][:5]) or "- (no reason shown)"
    return {
        "text": head,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{head}*\n{d['why']}"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*Why*\n{reasons}"}},
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"respond by {sev['respond_by']} | model "
                        f"{alert['model']['name']} v{alert['model']['version']}, policy "
                        f"{alert['model']['policy_version']}",
                    }
                ],
            },
        ],
    }


class AlertDispatcher:
    """Claims due deliveries from the store and posts them (one per worker process)."""

    def __init__(self, store, settings: Settings, worker: str | None = None) -> None:
        self.store = store
        self.settings = settings
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def backoff(self, tries: int) -> float:
        """Seconds before the next try after ``tries`` failed ones (1, 2, 4, ... x base)."""
        s = self.settings
        return min(s.alert_backoff_max_seconds, s.alert_backoff_seconds * 2 ** (tries - 1))

    def run_once(self) -> int:
        """Claim and try every due delivery once; returns how many were tried."""
        due = self.store.claim_deliveries(self.worker, self.settings.alert_lease_seconds)
        for d in due:
            self._deliver(d)
        return len(due)

    def loop(self, stop: threading.Event) -> None:
        """Until ``stop``: deliver what is due, then wait ``alert_poll_seconds``."""
        while not stop.is_set():
            try:
                while self.run_once() and not stop.is_set():
                    pass
            except Exception:  # the store may be briefly unavailable: try again later
                log.exception("alert delivery round failed (will retry)")
            stop.wait(self.settings.alert_poll_seconds)

    def _deliver(self, d: Delivery) -> None:
        alert = json.loads(d.body)
        payload = slack_body(alert) if d.format == "slack" else {"alert_id": d.alert_id, **alert}
        error = post(d.target, payload, d.alert_id, self.settings.alert_timeout_seconds)
        if error is None:
            self.store.delivery_sent(d, self.worker)
            log.info("alert %d sent to %s", d.alert_id, d.target)
            return
        tries = d.attempts + 1
        retry = None if tries >= self.settings.alert_max_attempts else self.backoff(tries)
        self.store.delivery_failed(d, self.worker, error, retry)
        if retry is None:
            log.warning(
                "alert %d to %s dead after %d tries: %s", d.alert_id, d.target, tries, error
            )


def post(url: str, payload: dict, alert_id: int, timeout: float) -> str | None:
    """POST ``payload`` as JSON; None on a 2xx answer, else what went wrong (one line)."""
    data = json.dumps(payload, default=str).encode()
    req = urllib.request.Request(
        url,
        data=data,
        method="POST",
        headers={"Content-Type": "application/json", ALERT_HEADER: str(alert_id)},
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - configured URLs
            resp.read(1024)
            return None if 200 <= resp.status < 300 else f"HTTP {resp.status}"
    except urllib.error.HTTPError as err:
        return f"HTTP {err.code}"
    except (urllib.error.URLError, OSError, TimeoutError) as err:
        return f"{type(err).__name__}: {getattr(err, 'reason', err)}"[:500]
