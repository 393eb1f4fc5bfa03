"""Request and response bodies of the scoring API (pydantic, strict).

Inputs forbid unknown fields, NaN and Infinity, and bound every string and list. Timestamps must
carry a time zone. Responses name the model version and policy version that produced them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from features.schema import (
    ACTORS,
    ESCALATION_KINDS,
    ESCALATION_TYPES,
    EVENT_REQUIRED_FIELDS,
    EVENT_TYPES,
    PRIORITIES,
    STATUSES,
    TABLES,
    TIERS,
)

_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)
MAX_TEXT = 20_000  # per text; the settings may only lower it


def _in_range(value: datetime) -> datetime:
    if not _EARLIEST <= value < _LATEST:
        raise ValueError("timestamp must be between 2000-01-01 and 2100-01-01")
    return value.astimezone(UTC)


Timestamp = Annotated[AwareDatetime, AfterValidator(_in_range)]
# Ids and labels: printable, bounded. Control characters are never legitimate here.
Id = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")
]
Label = Annotated[str, StringConstraints(max_length=128, pattern=r"^[^\x00-\x1f\x7f]*$")]
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT)]
Priority = Literal[PRIORITIES]  # type: ignore[valid-type]
Tier = Literal[TIERS]  # type: ignore[valid-type]
EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]
Actor = Literal[ACTORS]  # type: ignore[valid-type]
Status = Literal[STATUSES]  # type: ignore[valid-type]
EscalationType = Literal[ESCALATION_TYPES]  # type: ignore[valid-type]
EscalationKind = Literal[ESCALATION_KINDS]  # type: ignore[valid-type]


def _allowed(table: str, column: str) -> tuple:
    """The values the data model allows in a column."""
    allowed = next(c.allowed for c in TABLES[table] if c.name == column)
    if not allowed:
        raise LookupError(f"features.schema: {table}.{column} has no allowed values")
    return allowed


_CSAT = _allowed("events", "csat")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class AccountIn(_In):
    """The ticket's account. Fields left out are taken from the service's store if known."""

    account_id: Id
    arr: float | None = Field(None, ge=0, le=1e12, description="annual recurring revenue, USD")
    plan: Label | None = None
    strategic: bool | None = None
    region: Label | None = None
    industry: Label | None = None
    created_at: Timestamp | None = None
    renewal_date: Timestamp | None = None


class TicketIn(_In):
    ticket_id: Id
    created_at: Timestamp
    priority: Priority = Field(description="initial priority")
    channel: Label | None = None
    product_area: Label | None = None
    subject: Annotated[str, StringConstraints(max_length=1000)] | None = None


class EventIn(_In):
    """One thing that happened on the ticket (see data/README.md, events table)."""

    ts: Timestamp
    event_type: EventType
    actor: Actor
    agent_id: Id | None = None
    team: Label | None = None
    tier: Tier | None = None
    status: Status | None = None
    priority: Priority | None = None
    csat: int | None = Field(None, ge=min(_CSAT), le=max(_CSAT))
    text: Text | None = None

    @model_validator(mode="after")
    def _required_for_type(self) -> EventIn:
        # The data model's rule (features.schema): the API accepts only events that the
        # training data may hold.
        missing = [
            c for c in EVENT_REQUIRED_FIELDS.get(self.event_type, ()) if getattr(self, c) is None
        ]
        if missing:
            raise ValueError(f"a {self.event_type} event needs {', '.join(missing)}")
        return self


class ScoreIn(_In):
    """One ticket snapshot: the ticket, its account, its events so far."""

    ticket: TicketIn
    account: AccountIn
    events: list[EventIn] = Field(default_factory=list, max_length=1000)
    as_of: Timestamp | None = Field(
        None, description="scoring instant (default: now); no event may be later"
    )


class TicketEventIn(EventIn):
    """An event appended to a ticket: an :class:`EventIn` with the client's own id for it
    (sending the same id again is a no-op)."""

    event_id: Id


class EventsIn(_In):
    """New events of one ticket (``POST /v1/tickets/{ticket_id}/events``).

    The first call for a ticket carries its ticket and account; later calls may leave both
    out (sent again, they update what is stored). Events are appended in time order: none may
    be earlier than the ticket's latest logged event.
    """

    ticket: TicketIn | None = None
    account: AccountIn | None = None
    events: list[TicketEventIn] = Field(min_length=1, max_length=1000)
    as_of: Timestamp | None = Field(
        None, description="scoring instant (default: the ticket's latest event); no event later"
    )


class BatchIn(_In):
    items: list[ScoreIn] = Field(min_length=1, max_length=1000)


class FeedbackIn(_In):
    """A ticket's real outcome, stored for monitoring and retraining."""

    ticket_id: Id
    escalated: bool
    escalated_at: Timestamp | None = None
    escalation_type: EscalationType | None = None
    escalation_kind: EscalationKind | None = None
    closed_at: Timestamp | None = None
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None

    @model_validator(mode="after")
    def _time_when_escalated(self) -> FeedbackIn:
        if self.escalated and self.escalated_at is None:
            raise ValueError("escalated_at is required when escalated is true")
        if not self.escalated and (self.escalated_at or self.escalation_type):
            raise ValueError("escalated_at and escalation_type only apply when escalated is true")
        return self


# ------------------------------------------------------------------------------------- outputs
class Reason(BaseModel):
    feature: str
    value: float | str | None
    contribution: float = Field(description="TreeSHAP contribution to the log-odds (exact)")
    text: str


class DecisionOut(BaseModel):
    action: Literal["none", "watch", "escalate"]
    route_to: Literal["tier1", "tier2", "tier3", "executive"]
    executive: bool
    kind: EscalationKind | None = Field(
        description="hierarchical: up the support chain; functional: to a specialist team; executive: to the executive office"
    )
    team: str | None = Field(description="specialist team for a functional escalation")
    why: str


class SeverityOut(BaseModel):
    level: Priority
    respond_within_minutes: int
    respond_by: datetime
    minutes_left: float


class SlaOut(BaseModel):
    priority: Priority
    first_response_due: datetime
    answered: bool
    breached: bool
    hours_left: float | None = Field(
        description="until the first-response deadline; None once answered"
    )


class TimelineItem(BaseModel):
    ts: datetime
    what: str


class BriefOut(BaseModel):
    customer: dict[str, Any]
    timeline: list[TimelineItem]
    artifacts: list[str]
    risk_indicators: list[str]


class ModelRef(BaseModel):
    name: str
    version: str
    policy_version: str
    source: str


class TriggerOut(BaseModel):
    name: str
    action: Literal["watch", "escalate", "executive"]
    description: str
    route: str | None = Field(description="route hint, e.g. next_tier")


class ScoreOut(BaseModel):
    ticket_id: str
    as_of: datetime
    probability: float = Field(description="calibrated probability that the ticket escalates")
    band: Literal["low", "watch", "high", "critical"]
    decision: DecisionOut
    severity: SeverityOut
    sla: SlaOut
    escalation_type: EscalationType
    escalation_type_confidence: float | None
    triggers: list[TriggerOut] = Field(
        description="every policy trigger that fired on this ticket (they only raise an action)"
    )
    reasons: list[Reason]
    mitigating: list[Reason]
    brief: BriefOut
    model: ModelRef


class BatchOut(BaseModel):
    results: list[ScoreOut]
    model: ModelRef


class FeedbackOut(BaseModel):
    ticket_id: str
    stored: bool


class ModelOut(BaseModel):
    name: str
    version: str
    uri: str
    source: str = Field(description="registry, or the local copy when the registry is unreachable")
    status: str
    feature_set_version: str
    text_model: str | None
    policy_version: str
    policy: dict[str, Any]
    loaded_at: datetime


class GroupOut(BaseModel):
    """One group of similar escalations and at-risk tickets (``GET /v1/groups``)."""

    id: str = Field(description="stable while the group's first ticket stays its first")
    label: str = Field(description="its c-TF-IDF keywords, joined")
    keywords: list[str]
    central_message: str = Field(description="the member text closest to the group's centre")
    product_area: str | None
    escalation_types: dict[str, int] = Field(description="members per known escalation type")
    size: int
    tickets: list[str] = Field(description="ticket ids, oldest first")
    accounts: list[str]
    arr_at_stake: float = Field(description="sum of the distinct accounts' known ARR, USD")
    accounts_without_arr: int
    escalated: int = Field(description="members that escalated")
    open: int = Field(description="members still open")
    at_risk: int = Field(description="open members whose latest answer was watch or escalate")
    first_seen: datetime
    last_seen: datetime


class GroupsOut(BaseModel):
    """Groups of similar escalations at ``as_of``, largest ARR at stake first."""

    as_of: datetime
    since: datetime = Field(description="start of the lookback")
    candidates: int = Field(description="recent escalations and at-risk tickets considered")
    without_text: int = Field(description="candidates the store keeps no text of (not grouped)")
    grouped: int
    groups: list[GroupOut]


class ErrorDetail(BaseModel):
    location: str
    problem: str


class ErrorOut(BaseModel):
    """Every error: a code, a message, and for invalid input where and what (never the input)."""

    error: str
    message: str
    details: list[ErrorDetail] = Field(default_factory=list)
