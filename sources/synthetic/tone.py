"""How a customer's state shows in a message: tone band, typos, anger and channel framing.

A hidden frustration level in [0, 1] picks the tone band (0 calm, 1 mildly annoyed,
2 frustrated, 3 angry); the band and the channel then decide the surface: typos and lower case
(more on chat and when upset), exclamation marks and capitals (angry), greeting and sign-off
(email), transcript fillers (phone). All randomness comes from the caller's `random.Random`.
"""

from __future__ import annotations

import random
import re

from sources.synthetic.phrasebook import Phrasebook

_SENT_END = re.compile(r"\. ")


def cap(s: str) -> str:
    """The string with its first letter upper-cased (the rest untouched)."""
    return s[:1].upper() + s[1:] if s else s


def tone_band(rng: random.Random, f: float) -> int:
    """The tone band 0-3 of frustration ``f``, with a little noise around the cut points."""
    # Bands sit where most tickets live (frustration 0.1-0.6), so wording tracks the state.
    t = f + (rng.random() - 0.5) * 0.12
    return 0 if t < 0.2 else 1 if t < 0.4 else 2 if t < 0.62 else 3


def clamp_frustration(f: float) -> float:
    """``f`` clamped to [0, 1]; NaN is refused with a ValueError."""
    if f != f:
        raise ValueError(f"frustration must be a number in [0, 1], got {f!r}")
    return 0.0 if f < 0.0 else 1.0 if f > 1.0 else float(f)


def add_typos(rng: random.Random, text: str, f: float, channel: str) -> str:
    """Typos, case and punctuation damage. Probabilities grow with frustration and chat."""
    r = rng.random
    chat = channel == "chat"
    p = 0.04 + 0.4 * f + (0.3 if chat else 0.0)
    if r() < p:
        # Only lower-case pairs: codes and acronyms get pasted, not typed.
        n = 1 + int(r() * (1 + 3 * f + (2 if chat else 0)))
        for _ in range(n):
            L = len(text)
            if L < 6:
                break
            i = int(r() * (L - 1))
            a, b = text[i], text[i + 1]
            if not (a.islower() and b.islower()):
                continue
            op = r()
            if op < 0.45:
                text = text[:i] + b + a + text[i + 2 :]
            elif op < 0.75:
                text = text[:i] + text[i + 1 :]
            else:
                text = text[:i] + a + text[i:]
    if r() < (0.35 if chat else 0.05) + 0.1 * f:
        text = text.lower()
    if r() < (0.3 if chat else 0.03) + 0.15 * f:
        text = text.replace(". ", " ").rstrip(".")
    if r() < (0.25 if chat else 0.04) + 0.15 * f:
        text = text.replace("'", "")
    return text


def add_anger(rng: random.Random, text: str, band: int, f: float) -> str:
    """Exclamation marks and capitals for bands 2 (a little) and 3 (a lot)."""
    if band < 2:
        return text
    r = rng.random
    if band == 3:
        if r() < 0.6:
            text = _SENT_END.sub("! ", text, count=1 + int(r() * 3))
        if r() < 0.5:
            text = text.rstrip(".!") + rng.choice(("!!!", "!!", "!", "!?!", "!!!!"))
        if r() < 0.3 and f > 0.9:
            text = text.upper()
        elif r() < 0.4:
            words = text.split(" ")
            k = int(r() * len(words))
            if len(words[k]) > 2:
                words[k] = words[k].upper()
                text = " ".join(words)
    elif r() < 0.3:
        text = _SENT_END.sub("! ", text, count=1)
    return text


def frame_message(
    rng: random.Random,
    book: Phrasebook,
    body: list[str],
    protected: list[str],
    tail: list[str],
    band: int,
    f: float,
    channel: str,
    greet: bool = True,
    sign: bool = True,
) -> str:
    """Assemble body + protected cues + tail, then the channel's greeting and sign-off.

    Typos touch the body only: the risk cues in ``protected`` stay readable.
    """
    r = rng.random
    text = " ".join(s for s in body if s)
    text = add_typos(rng, text, f, channel)
    if protected:
        text = text + " " + " ".join(protected)
    if tail:
        text = text + " " + " ".join(s for s in tail if s)
    text = add_anger(rng, text.strip(), band, f)
    if channel == "email":
        g = rng.choice(book.greetings[band]) if greet and r() < 0.85 else ""
        s = rng.choice(book.signoffs[band]) if sign and r() < 0.7 else ""
        if s:
            text = text + "\n\n" + s + ("\n" + rng.choice(book.names) if r() < 0.7 else "")
        if g:
            text = g + "\n\n" + text
    elif channel == "phone":
        if r() < 0.6:
            filler = rng.choice(book.phone_fillers)
            lower = text[1:2].islower() and not filler.endswith(". ")
            text = filler + (text[:1].lower() if lower else text[:1]) + text[1:]
    elif channel == "web":
        g = rng.choice(book.greetings[band]) if greet and r() < 0.3 else ""
        if g:
            text = g + "\n" + text
    elif greet and r() < 0.2:
        text = rng.choice(book.chat_greetings) + text
    return text
