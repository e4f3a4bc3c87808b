"""Reading an LS-DYNA keyword deck for the simulator: end time, output intervals, scenario.

Deliberately independent of dynagui.core: the simulator stands in for an external
program, so it reads decks with its own code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SCENARIO_PREFIX = "dynagui-sim:"
_FLOAT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


@dataclass
class Scenario:
    """What the simulated run does; set by `$ dynagui-sim: key=value ...` lines in the deck."""

    wall: float = 8.0  # seconds of wall time for the whole run
    crash_at: float | None = None  # fractions of the end time
    error_at: float | None = None  # 0 (or less) = an input error before the first cycle
    hang_at: float | None = None
    dt_drop_at: float | None = None
    licence_fail: bool = False
    ignore_d3kil: bool = False
    buffered: bool = False
    load: bool = False  # burn CPU instead of sleeping between cycles
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class Deck:
    path: str
    end_time: float = 1.0e-2
    dt_hint: float | None = None  # *CONTROL_TIMESTEP DT2MS (negative = mass scaling)
    d3plot_interval: float | None = None
    d3dump_cycles: int | None = None
    keywords: int = 0
    scenario: Scenario = field(default_factory=Scenario)


def _fields(line: str) -> list[str]:
    """The fields of a data card: comma-separated or fixed 10-column format."""
    if "," in line:
        return [f.strip() for f in line.split(",")]
    return [line[i : i + 10].strip() for i in range(0, max(len(line), 10), 10)]


def _number(text: str) -> float | None:
    text = text.strip()
    return float(text) if text and _FLOAT.match(text) else None


def parse_scenario(text: str) -> Scenario:
    sc = Scenario()
    for token in text.split():
        key, _, value = token.partition("=")
        key = key.strip().lower()
        value = value.strip()
        if key in ("wall", "crash_at", "error_at", "hang_at", "dt_drop_at"):
            num = _number(value)
            if num is not None:
                setattr(sc, key, num)
        elif key in ("licence", "license"):
            sc.licence_fail = value.lower() == "fail"
        elif key in ("ignore_d3kil", "buffered", "load"):
            setattr(sc, key, value not in ("0", "", "no", "false"))
        elif key:
            sc.extra[key] = value
    return sc


def read_deck(path: str) -> Deck:
    """Read the keywords the simulator cares about; raises OSError when unreadable."""
    deck = Deck(path=path)
    scenario_text: list[str] = []
    current: str | None = None
    card = 0
    with open(path, encoding="utf-8", errors="replace") as fh:
        for raw in fh:
            line = raw.rstrip("\r\n")
            if line.startswith("$"):
                body = line[1:].strip()
                if body.lower().startswith(SCENARIO_PREFIX):
                    scenario_text.append(body[len(SCENARIO_PREFIX) :])
                continue
            if line.startswith("*"):
                current = line.strip().upper()
                deck.keywords += 1
                card = 0
                continue
            if current is None or not line.strip():
                continue
            card += 1
            values = _fields(line)
            first = _number(values[0]) if values else None
            if current.startswith("*CONTROL_TERMINATION") and card == 1 and first:
                deck.end_time = first
            elif current.startswith("*CONTROL_TIMESTEP") and card == 1 and len(values) > 4:
                dt2ms = _number(values[4])  # DTINIT TSSFAC ISDO TSLIMT DT2MS
                if dt2ms:
                    deck.dt_hint = dt2ms
            elif current.startswith("*DATABASE_BINARY_D3PLOT") and card == 1 and first:
                deck.d3plot_interval = first
            elif current.startswith("*DATABASE_BINARY_D3DUMP") and card == 1 and first:
                deck.d3dump_cycles = int(first)
    deck.scenario = parse_scenario(" ".join(scenario_text))
    return deck
