"""Render a list of events."""

import utils


def render(events):
    lines = [utils.plural(len(events), "event")]
    for event in sorted(events, key=lambda e: e.date):
        lines.append(f"- {utils.fmt_date(*event.date)}: {event.title}")
    return "\n".join(lines)
