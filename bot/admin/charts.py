"""Chart geometry computed on the server, drawn by the templates as inline SVG or CSS bars."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Bar:
    """One rectangle of a bar chart, in SVG user units, with its tooltip."""

    x: float
    y: float
    width: float
    height: float
    series: int
    title: str


@dataclass(frozen=True, slots=True)
class Tick:
    """A labelled position on an axis."""

    position: float
    label: str


@dataclass(frozen=True, slots=True)
class DailyChart:
    """A grouped bar chart with one group per day."""

    width: int
    height: int
    left: int
    top: int
    plot_width: float
    plot_height: float
    bars: tuple[Bar, ...]
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    series: tuple[str, ...]
    empty: bool


def nice_ceiling(value: float) -> tuple[float, float]:
    """A round axis maximum at or above `value`, and a step that splits it into 4 or 5."""
    if value <= 0:
        return 4.0, 1.0
    raw = value / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * magnitude
        if step >= raw:
            break
    step = max(step, 1.0)
    return math.ceil(value / step) * step, step


def daily_chart(
    days: Sequence[dt.date],
    values: Mapping[str, Sequence[int]],
    width: int = 760,
    height: int = 240,
) -> DailyChart:
    """Lay out one bar per series per day, with y gridlines and at most ~10 day labels."""
    left, top, bottom, right = 44, 12, 28, 8
    plot_w = width - left - right
    plot_h = height - top - bottom
    names = tuple(values)
    peak = max((v for series in values.values() for v in series), default=0)
    top_value, step = nice_ceiling(peak)
    slot = plot_w / max(len(days), 1)
    inner = slot * 0.8 / max(len(names), 1)
    bars = []
    for index, day in enumerate(days):
        for number, name in enumerate(names):
            value = values[name][index]
            h = plot_h * value / top_value
            bars.append(
                Bar(
                    x=round(left + index * slot + slot * 0.1 + number * inner, 2),
                    y=round(top + plot_h - h, 2),
                    width=round(max(inner - 1, 1), 2),
                    height=round(h, 2),
                    series=number,
                    title=f"{day:%d/%m/%Y} · {name}: {value}",
                )
            )
    y_ticks = tuple(
        Tick(round(top + plot_h - plot_h * k * step / top_value, 2), f"{k * step:g}")
        for k in range(int(round(top_value / step)) + 1)
    )
    every = max(1, math.ceil(len(days) / 10))
    x_ticks = tuple(
        Tick(round(left + i * slot + slot / 2, 2), f"{day:%d/%m}")
        for i, day in enumerate(days)
        if i % every == 0
    )
    return DailyChart(
        width, height, left, top, plot_w, plot_h, tuple(bars), y_ticks, x_ticks, names, peak == 0
    )


def shares(counts: Mapping[str, int], keys: Sequence[str]) -> list[dict[str, object]]:
    """Each key's count and percentage of the total of `keys` (0 when there is no data)."""
    total = sum(counts.get(k, 0) for k in keys)
    return [
        {
            "key": k,
            "count": counts.get(k, 0),
            "percent": round(100 * counts.get(k, 0) / total, 1) if total else 0.0,
        }
        for k in keys
    ]
