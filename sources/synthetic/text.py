"""Wording for the synthetic support desk: customer messages, agent replies and internal notes.

The simulator calls `TextBank` about twenty times per ticket, so every method only draws from
phrase tables loaded once (``phrases/*.json`` via `load_phrasebook`) and joins the picks. All
randomness comes from the `random.Random` the caller passes in: the same arguments and rng state
give the same text.

A hidden frustration level in [0, 1] picks the tone band of every slot: 0 is calm and polite,
about 0.4 mildly annoyed, about 0.7 clearly frustrated, 0.9 and above angry (capitals, "!!!",
blunt wording; see `sources.synthetic.tone`). Cues appear only when the caller asks for them
through `mentions` (see `phrasebook.MENTIONS`): demands (escalate, executive, churn, legal),
topics (security, billing, outage) and harmless uses of the same words (benign_*); the label
must not leak through wording the simulator did not decide on.
"""

from __future__ import annotations

import random

from sources.synthetic.phrasebook import (
    AGENT_KINDS,
    AGENT_TIERS,
    CHANNELS,
    ISSUE_CATEGORIES,
    MENTIONS,
    NOTE_KINDS,
    PRODUCT_AREAS,
    load_phrasebook,
)
from sources.synthetic.tone import cap, clamp_frustration, frame_message, tone_band

__all__ = [
    "AGENT_KINDS",
    "AGENT_TIERS",
    "CHANNELS",
    "ISSUE_CATEGORIES",
    "MENTIONS",
    "NOTE_KINDS",
    "PRODUCT_AREAS",
    "TextBank",
]


def _check(value: object, allowed: tuple, what: str) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; expected one of {allowed}")


def _invoice(rng: random.Random) -> str:
    return f"INV-{2023 + int(rng.random() * 3)}-{int(rng.random() * 100000):05d}"


class TextBank:
    """The composer of every message the simulator writes, over the loaded phrase tables.

    Methods take the caller's `random.Random`; they never touch the global random state.
    Frustration is clamped to [0, 1] (NaN is refused). Customer methods accept an optional
    keyword `channel` in CHANNELS: chat is shorter with more typos and lower case, phone
    reads like a transcript, web forms skip greetings, email (the default) has greeting and
    sign-off.
    """

    def __init__(self) -> None:
        p = load_phrasebook()
        self._p = p
        self._howto = {
            area: tuple(
                frame.replace("{task}", task) for frame in p.howto_frames for task in tasks
            )
            for area, tasks in p.howto_tasks.items()
        }
        self._teams = {
            (c, a): p.category_teams[c] + p.area_teams[a]
            for c in ISSUE_CATEGORIES
            for a in PRODUCT_AREAS
        }
        self._mention_set = frozenset(MENTIONS)
        self._agent_kinds = frozenset(AGENT_KINDS)
        self._note_kinds = frozenset(NOTE_KINDS)

    # -- small helpers -------------------------------------------------------------------------

    def _validate(
        self,
        category: str | None,
        product_area: str | None,
        mentions: tuple[str, ...] = (),
        channel: str | None = None,
    ) -> None:
        if category is not None and category not in self._p.category_labels:
            _check(category, ISSUE_CATEGORIES, "category")
        if product_area is not None and product_area not in self._p.things:
            _check(product_area, PRODUCT_AREAS, "product_area")
        for m in mentions:
            if m not in self._mention_set:
                _check(m, MENTIONS, "mention")
        if channel is not None and channel not in CHANNELS:
            _check(channel, CHANNELS, "channel")

    def _voice(
        self,
        rng: random.Random,
        category: str,
        product_area: str,
        frustration: float,
        mentions: tuple[str, ...],
        channel: str,
        lift: float = 0.0,
    ) -> tuple[float, int, tuple[str, bool], list[str]]:
        """What every customer message about a problem starts from: the checked inputs, the
        clamped frustration, the tone band (frustration + ``lift``), the thing concerned and the
        mention cues, drawn in this order."""
        self._validate(category, product_area, mentions, channel)
        f = clamp_frustration(frustration)
        band = tone_band(rng, min(1.0, f + lift))
        thing = self._thing(rng, product_area)
        cues = self._mention_parts(rng, mentions, band)
        return f, band, thing, cues

    def _thing(self, rng: random.Random, area: str) -> tuple[str, bool]:
        return rng.choice(self._p.things[area])

    @staticmethod
    def _num(rng: random.Random, lo: int, hi: int) -> int:
        return lo + int(rng.random() * (hi - lo + 1))

    def _artifact(self, rng: random.Random, category: str) -> str:
        p = self._p
        kind = rng.choice(p.category_artifacts[category])
        frame = rng.choice(p.artifact_frames[kind])
        r = rng.random
        if kind == "err":
            x = f"{rng.choice(p.error_prefixes)}-{1000 + int(r() * 9000)}"
        elif kind == "http":
            x = rng.choice(p.http_codes)
        elif kind == "inv":
            x = _invoice(rng)
        elif kind == "ver":
            x = f"v{1 + int(r() * 5)}.{int(r() * 20)}.{int(r() * 10)}"
        elif kind == "req":
            x = f"req_{int(r() * 0xFFFFFFFFFFFF):012x}"
        elif kind == "env":
            x = rng.choice(p.environments)
        elif kind == "quote":
            x = f"Q-{2023 + int(r() * 3)}-{int(r() * 10000):04d}"
        else:
            return frame
        return frame.replace("{x}", x)

    def _mention_parts(
        self, rng: random.Random, mentions: tuple[str, ...], band: int
    ) -> list[str]:
        out = []
        for m in mentions:
            polite, blunt = self._p.mentions[m]
            # Mostly the register of the band, sometimes the other one: people vary.
            pool = blunt if (band >= 2) != (rng.random() < 0.15) else polite
            s = rng.choice(pool)
            if "{inv}" in s:
                s = s.replace("{inv}", _invoice(rng))
            out.append(s)
        return out

    def _fill(
        self, rng: random.Random, s: str, thing: tuple[str, bool], area: str, band: int = 0
    ) -> str:
        if "{" not in s:
            return s
        p = self._p
        t, plural = thing
        if "{pred" in s:
            pred = self._predicate(rng, band, plural)
            s = s.replace("{pred}", pred).replace("{pred2}", rng.choice(p.tech_predicates)[0])
        if "{T}" in s:
            s = s.replace("{T}", cap(t) if band < 3 or rng.random() < 0.7 else t.upper())
        s = s.replace("{t}", t)
        if "{a}" in s or "{A}" in s:
            a = rng.choice(p.area_labels[area])
            s = s.replace("{a}", a).replace("{A}", cap(a))
        if "{an}" in s or "{AN}" in s:
            a = rng.choice(p.area_noun_phrases[area])
            s = s.replace("{an}", a).replace("{AN}", cap(a))
        if "{w" in s:
            s = s.replace("{w}", rng.choice(p.when)).replace("{w0}", rng.choice(p.return_when))
        if "{n}" in s or "{m}" in s:
            m = self._num(rng, 8, 400)
            s = s.replace("{n}", str(self._num(rng, 2, max(3, m // 2)))).replace("{m}", str(m))
        if "{day}" in s:
            s = s.replace("{day}", rng.choice(p.days))
        return s

    def _predicate(self, rng: random.Random, band: int, plural: bool) -> str:
        p = self._p
        angry = band >= 3 and rng.random() < 0.5
        return rng.choice(p.tech_predicates_angry if angry else p.tech_predicates)[plural]

    def _problem(
        self,
        rng: random.Random,
        category: str,
        area: str,
        band: int,
        outage: bool,
        thing: tuple[str, bool],
    ) -> str:
        p = self._p
        if outage:
            t, plural = thing
            pred = rng.choice(p.outage_predicates)[plural]
            if rng.random() < 0.5:
                return f"{cap(t)} {pred} {rng.choice(p.when)}."
            return f"{cap(t)} {pred}."
        if category == "technical" or (category == "howto" and rng.random() < 0.15):
            if rng.random() < 0.35:
                return self._fill(rng, rng.choice(p.area_symptoms[area]), thing, area, band)
            t, plural = thing
            pred = self._predicate(rng, band, plural)
            if rng.random() < 0.6:
                return f"{cap(t)} {pred} {rng.choice(p.when)}."
            return f"{cap(t)} {pred}."
        if category == "howto":
            return rng.choice(self._howto[area])
        if category == "security":
            return self._fill(rng, rng.choice(p.security_problems), thing, area, band)
        # Money and contract wording names the billing screens whatever area the ticket has.
        pool = p.billing_problems if category == "billing" else p.contract_problems
        s = rng.choice(pool)
        if "{t}" in s:
            thing = rng.choice(p.things["billing_portal"])
        return self._fill(rng, s, thing, area, band)

    def _wrap(
        self,
        rng: random.Random,
        body: list[str],
        protected: list[str],
        tail: list[str],
        band: int,
        f: float,
        channel: str,
        greet: bool = True,
        sign: bool = True,
    ) -> str:
        return frame_message(rng, self._p, body, protected, tail, band, f, channel, greet, sign)

    # -- customer side -------------------------------------------------------------------------

    def subject(self, rng: random.Random, category: str, product_area: str, outage: bool) -> str:
        """Ticket subject line; tone-neutral because customers rarely rage in subjects."""
        self._validate(category, product_area)
        p = self._p
        thing = self._thing(rng, product_area)
        pool = p.outage_subjects if outage else p.subjects[category]
        s = self._fill(rng, rng.choice(pool), thing, product_area)
        if "{inv}" in s:
            s = s.replace("{inv}", _invoice(rng))
        if rng.random() < 0.1:
            s = rng.choice(p.subject_prefixes) + s
        return cap(s)

    def opening(
        self,
        rng: random.Random,
        category: str,
        product_area: str,
        frustration: float,
        outage: bool,
        mentions: tuple[str, ...] = (),
        *,
        channel: str = "email",
    ) -> str:
        """First customer message of a ticket, describing the problem."""
        f, band, thing, cues = self._voice(
            rng, category, product_area, frustration, mentions, channel
        )
        p = self._p
        r = rng.random
        # One-liners: chat and angry customers write less.
        short_p = (0.45 if channel == "chat" else 0.08) + 0.15 * (band >= 3)
        if r() < short_p:
            if channel == "chat" or r() < 0.5:
                line = self._fill(rng, rng.choice(p.chat_short[band]), thing, product_area, band)
                if outage and r() < 0.5:
                    line = line + " " + rng.choice(p.outage_scope)
            else:
                line = self._problem(rng, category, product_area, band, outage, thing)
            return self._wrap(rng, [line], cues, [], band, f, channel, greet=False, sign=False)
        body: list[str] = []
        if r() < 0.55:
            body.append(self._fill(rng, rng.choice(p.openers[band]), thing, product_area, band))
        body.append(self._problem(rng, category, product_area, band, outage, thing))
        if r() < 0.25 and category in ("technical", "security"):
            symptom = rng.choice(p.area_symptoms[product_area])
            body.append(self._fill(rng, symptom, thing, product_area, band))
        if r() >= 0.4:
            art = self._artifact(rng, category)
            body.append(art)
            if r() < 0.3:
                art2 = self._artifact(rng, category)
                if art2[:6] != art[:6]:
                    body.append(art2)
        if r() < 0.3 + 0.4 * f or outage:
            body.append(self._fill(rng, rng.choice(p.impacts[band]), thing, product_area, band))
        tail = [rng.choice(p.requests[band])] if r() < 0.75 else []
        return self._wrap(rng, body, cues, tail, band, f, channel)

    def customer_reply(
        self,
        rng: random.Random,
        category: str,
        product_area: str,
        frustration: float,
        mentions: tuple[str, ...] = (),
        *,
        channel: str = "email",
    ) -> str:
        """Customer answers an agent's question or reports how a suggestion went."""
        f, band, thing, cues = self._voice(
            rng, category, product_area, frustration, mentions, channel
        )
        p = self._p
        r = rng.random
        body: list[str] = []
        if r() < 0.6:
            body.append(rng.choice(p.reply_leads[band]))
        mode = r()
        if mode < 0.45:
            for _ in range(1 + (r() < 0.35)):
                s = rng.choice(p.reply_answers)
                if "{ver}" in s:
                    s = s.replace("{ver}", f"v{1 + int(r() * 5)}.{int(r() * 20)}.{int(r() * 10)}")
                elif "{env}" in s:
                    s = s.replace("{env}", rng.choice(p.environments))
                elif "{req}" in s:
                    s = s.replace("{req}", f"req_{int(r() * 0xFFFFFFFFFFFF):012x}")
                elif "{err}" in s:
                    s = s.replace("{err}", f"ERR-{1000 + int(r() * 9000)}")
                elif "{time}" in s:
                    s = s.replace("{time}", f"{int(r() * 24):02d}:{int(r() * 60):02d}")
                elif "{ws}" in s:
                    s = s.replace("{ws}", str(10000 + int(r() * 90000)))
                body.append(self._fill(rng, s, thing, product_area, band))
        else:
            outcome = rng.choice(p.reply_outcomes[band])
            body.append(self._fill(rng, outcome, thing, product_area, band))
            if mode > 0.8:
                body.append(self._artifact(rng, category))
        if r() < 0.15 + 0.35 * f:
            body.append(self._fill(rng, rng.choice(p.impacts[band]), thing, product_area, band))
        tail = [rng.choice(p.requests[band])] if r() < 0.4 + 0.3 * f else []
        return self._wrap(rng, body, cues, tail, band, f, channel, greet=r() < 0.4)

    def follow_up(
        self,
        rng: random.Random,
        frustration: float,
        n_unanswered: int,
        mentions: tuple[str, ...] = (),
        *,
        channel: str = "email",
    ) -> str:
        """Chaser on an unanswered ticket; wording hardens with n_unanswered (1, 2, 3+)."""
        self._validate(None, None, mentions, channel)
        p = self._p
        f = clamp_frustration(frustration)
        n = max(1, int(n_unanswered))
        level = 3 if n >= 3 else n
        # Being ignored pushes the tone up even for a patient customer.
        band = tone_band(rng, min(1.0, f + 0.08 * (level - 1)))
        r = rng.random
        cues = self._mention_parts(rng, mentions, band)
        core = rng.choice(p.follow_ups[level - 1])
        if level == 3:
            core = (
                core.replace("{ord}", p.ordinals[n] if n < len(p.ordinals) else f"{n}th")
                .replace("{N}", str(n))
                .replace("{n}", str(n))
            )
        body = [core]
        if r() < 0.35:
            body.insert(0, rng.choice(p.follow_up_leads))
        if r() < 0.3 + 0.3 * f:
            body.append(
                rng.choice(p.impacts[band])
                .replace("{n}", str(self._num(rng, 3, 60)))
                .replace("{day}", rng.choice(p.days))
            )
        tail = [rng.choice(p.follow_up_tails[band])]
        if r() < 0.25 * level * f:
            tail.append(rng.choice(p.requests[band]))
        return self._wrap(rng, body, cues, tail, band, f, channel, greet=r() < 0.5, sign=r() < 0.5)

    def reopen(
        self,
        rng: random.Random,
        category: str,
        product_area: str,
        frustration: float,
        mentions: tuple[str, ...] = (),
        *,
        channel: str = "email",
    ) -> str:
        """Customer reopens a ticket that was marked resolved: the problem is back."""
        # A problem that came back sounds a little angrier.
        f, band, thing, cues = self._voice(
            rng, category, product_area, frustration, mentions, channel, lift=0.05
        )
        p = self._p
        r = rng.random
        body = [self._fill(rng, rng.choice(p.reopen_core), thing, product_area, band)]
        if r() < 0.5:
            body.append(rng.choice(p.reopen_tone[band]))
        if r() < 0.3:
            body.append(self._artifact(rng, category))
        if r() < 0.2 + 0.3 * f:
            body.append(self._fill(rng, rng.choice(p.impacts[band]), thing, product_area, band))
        tail = [rng.choice(p.requests[band])] if r() < 0.5 else []
        return self._wrap(rng, body, cues, tail, band, f, channel)

    def closing(
        self, rng: random.Random, frustration: float, resolved: bool, *, channel: str = "email"
    ) -> str:
        """Customer's last word: thanks, grudging acceptance, or giving up."""
        self._validate(None, None, (), channel)
        p = self._p
        f = clamp_frustration(frustration)
        band = tone_band(rng, f)
        text = rng.choice(p.closing[bool(resolved)][band])
        if rng.random() < 0.25 and band < 2:
            text += " " + rng.choice(p.closing_extras)
        return self._wrap(
            rng, [text], [], [], band, f, channel, greet=False, sign=rng.random() < 0.4
        )

    # -- agent side ----------------------------------------------------------------------------

    def _agent_fill(self, rng: random.Random, s: str, category: str, area: str) -> str:
        if "{" not in s:
            return s
        p = self._p
        r = rng.random
        if "{team}" in s:
            s = s.replace("{team}", rng.choice(self._teams[(category, area)]))
        if "{t}" in s or "{pred}" in s or "{T}" in s:
            s = self._fill(rng, s, self._thing(rng, area), area)
        if "{a}" in s:
            s = s.replace("{a}", rng.choice(p.area_labels[area]))
        if "{an}" in s:
            s = s.replace("{an}", rng.choice(p.area_noun_phrases[area]))
        if "{ver}" in s:
            s = s.replace("{ver}", f"v{1 + int(r() * 5)}.{int(r() * 20)}.{int(r() * 10)}")
        if "{eta}" in s:
            s = s.replace("{eta}", rng.choice(p.etas))
        if "{http}" in s:
            s = s.replace("{http}", rng.choice(p.http_codes))
        if "{err}" in s:
            s = s.replace("{err}", f"ERR-{1000 + int(r() * 9000)}")
        if "{req}" in s:
            s = s.replace("{req}", f"req_{int(r() * 0xFFFFFFFFFFFF):012x}")
        if "{inc}" in s:
            s = s.replace("{inc}", str(1000 + int(r() * 9000)))
        if "{eng}" in s:
            s = s.replace("{eng}", str(10000 + int(r() * 90000)))
        if "{sev}" in s:
            s = s.replace("{sev}", str(1 + int(r() * 2)))
        if "{w}" in s:
            s = s.replace("{w}", rng.choice(p.when))
        if "{n}" in s:
            s = s.replace("{n}", str(5 + int(r() * 500)))
        return s

    def agent_message(
        self, rng: random.Random, kind: str, category: str, product_area: str, tier: int
    ) -> str:
        """Support agent's public reply. Tier 1 frontline, 2 specialist, 3 engineering, 4 exec/CS."""
        if kind not in self._agent_kinds:
            _check(kind, AGENT_KINDS, "agent message kind")
        self._validate(category, product_area)
        if tier not in AGENT_TIERS:
            _check(tier, AGENT_TIERS, "tier")
        p = self._p
        r = rng.random
        pools = p.agent_bodies[kind]
        # Higher tiers sometimes borrow the plainer wording of the tier below.
        ti = tier - 1 if r() < 0.75 or tier == 1 else tier - 2
        body = self._agent_fill(rng, rng.choice(pools[ti]), category, product_area)
        parts = []
        if kind not in ("apology", "ack") and r() < 0.2:
            apology = rng.choice(p.agent_bodies["apology"][ti])
            parts.append(self._agent_fill(rng, apology, category, product_area))
        parts.append(body)
        extra = rng.choice(p.agent_extras[ti])
        if extra:
            parts.append(extra)
        text = " ".join(parts)
        g = rng.choice(p.agent_greetings)
        if g:
            text = g.replace("{name}", rng.choice(p.names)) + "\n\n" + text
        if r() < 0.6:
            text += "\n\n" + rng.choice(p.agent_signoffs) + "\n" + rng.choice(p.agent_names)
        return text

    def internal_note(
        self, rng: random.Random, kind: str, category: str, product_area: str, tier: int
    ) -> str:
        """Private note between support staff (handoffs, findings, incident links)."""
        if kind not in self._note_kinds:
            _check(kind, NOTE_KINDS, "internal note kind")
        self._validate(category, product_area)
        if tier not in AGENT_TIERS:
            _check(tier, AGENT_TIERS, "tier")
        label = self._p.category_labels[category]
        s = rng.choice(self._p.note_templates[kind])
        s = s.replace("{tier}", str(tier)).replace("{Cat}", cap(label))
        s = s.replace("{cat}", label)
        return self._agent_fill(rng, s, category, product_area)
