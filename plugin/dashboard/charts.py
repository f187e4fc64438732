"""The dashboard's charts: SVG drawn on the server with pygal, from the same figures ``/api/metrics`` returns.

No JavaScript and nothing fetched (pygal's tooltips script is switched off: Zendesk's iframe and an
offline install show the same picture), both axes titled, Okabe-Ito colours (distinguishable with
the common colour-vision deficiencies) and a font size that stays legible at 800 px.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pygal
from pygal.style import Style

# Okabe & Ito (2008), "Color Universal Design": safe for protanopia, deuteranopia and tritanopia.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
WIDTH, HEIGHT = 760, 360

STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1f2933",
    foreground_strong="#1f2933",
    foreground_subtle="#c8ced6",
    colors=OKABE_ITO,
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    title_font_size=18,
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=13,
    value_font_size=12,
    tooltip_font_size=12,
    no_data_font_size=18,
)


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    svg: str


def _config(**extra: Any) -> dict[str, Any]:
    return {
        "style": STYLE, "width": WIDTH, "height": HEIGHT, "js": [], "disable_xml_declaration": True,
        "legend_at_bottom": True, "legend_at_bottom_columns": 4, "truncate_legend": -1, "truncate_label": -1,
        "print_values": False, "show_minor_x_labels": False, "x_label_rotation": 0, "margin": 12,
        "no_data_text": "nothing in this period", **extra,
    }  # fmt: skip


def _labels(series: Sequence[Mapping[str, Any]], granularity: str) -> list[str]:
    # Hours: "HH:00"; days: "MM-DD". The axis title says which.
    return [s["start"][11:16] if granularity == "hour" else s["start"][5:10] for s in series]


def _every(n: int) -> int:
    return max(1, n // 8)


# pygal writes its configuration into an inline <script> for its tooltip script, which we do not load:
# dropped, so the page carries no script at all.
_CONFIG_SCRIPT = re.compile(r"<script[^>]*>.*?</script>", re.DOTALL)


def _render(chart: Any) -> str:
    return _CONFIG_SCRIPT.sub("", str(chart.render(is_unicode=True)))


def _time_axis(metrics: Mapping[str, Any]) -> tuple[list[str], str, int]:
    granularity = metrics["filters"]["granularity"]
    labels = _labels(metrics["series"], granularity)
    x_title = "hour of day (UTC)" if granularity == "hour" else "day (UTC, month-day)"
    return labels, x_title, _every(len(labels))


def volume_chart(metrics: Mapping[str, Any]) -> Chart:
    labels, x_title, every = _time_axis(metrics)
    chart = pygal.Bar(**_config(title="Mentions and answers", x_title=x_title, y_title="conversations",
                                x_labels_major_every=every))  # fmt: skip
    chart.x_labels = labels
    chart.add("mentions", [s["mentions"] for s in metrics["series"]])
    chart.add("answered", [s["answered"] for s in metrics["series"]])
    chart.add("resolved", [s["resolved"] for s in metrics["series"]])
    return Chart("volume", "Mentions and answers", _render(chart))


def sla_chart(metrics: Mapping[str, Any]) -> Chart:
    labels, x_title, every = _time_axis(metrics)
    chart = pygal.Line(**_config(title="First response within the SLA", x_title=x_title,
                                 y_title="% answered in time", range=(0, 100), include_x_axis=True,
                                 x_labels_major_every=every, allow_interruptions=True))  # fmt: skip
    chart.x_labels = labels
    for threshold in metrics["totals"]["sla"]:
        key = str(threshold["threshold_minutes"])
        chart.add(f"within {threshold['label']}", [s["sla"].get(key) for s in metrics["series"]])
    return Chart("sla", "First response within the SLA", _render(chart))


def sps_chart(metrics: Mapping[str, Any]) -> Chart:
    labels, x_title, every = _time_axis(metrics)
    chart = pygal.Line(**_config(title="Social Promoter Score and CSAT", x_title=x_title,
                                 y_title="points", range=(-100, 100),
                                 x_labels_major_every=every, allow_interruptions=True))  # fmt: skip
    chart.x_labels = labels
    chart.add("SPS", [s["sps"] for s in metrics["series"]])
    chart.add("CSAT (% rating 4-5)", [s["csat_score"] for s in metrics["series"]])
    return Chart("sps", "Social Promoter Score and CSAT", _render(chart))


def _breakdown(key: str, title: str, counts: Mapping[str, int], category: str, value: str) -> Chart:
    # A horizontal bar chart draws its values along the bottom: that axis gets the value's title.
    chart = pygal.HorizontalBar(**_config(title=title, x_title=value, y_title=category, show_legend=False,
                                          height=max(240, 90 + 34 * len(counts))))  # fmt: skip
    chart.x_labels = list(counts)
    chart.add(value, list(counts.values()))
    return Chart(key, title, _render(chart))


def breakdown_charts(metrics: Mapping[str, Any]) -> list[Chart]:
    totals = metrics["totals"]
    volume = totals["volume"]
    return [
        _breakdown("by_network", "Volume by network", volume["by_network"], "network", "mentions"),
        _breakdown("by_intent", "Volume by intent", volume["by_intent"], "intent", "mentions"),
        _breakdown("by_sentiment", "Volume by sentiment", volume["by_sentiment"], "sentiment", "mentions"),
        _breakdown("backlog", "Open conversations by age", totals["backlog"]["by_age"], "age", "open conversations"),
        _breakdown(
            "csat",
            "Satisfaction ratings",
            {f"{k} of 5": v for k, v in totals["csat"]["ratings"].items()},
            "rating",
            "answers",
        ),
        _breakdown("praise", "Praise per employee", totals["praise"], "employee", "praising mentions"),
    ]


def all_charts(metrics: Mapping[str, Any]) -> list[Chart]:
    return [volume_chart(metrics), sla_chart(metrics), sps_chart(metrics), *breakdown_charts(metrics)]
