"""Score reports for the quiz app."""


def summary_line(name, scores):
    """'ana: 90, 85, 77 (avg 84.0)'."""
    joined = ", ".join(scores)
    average = sum(scores) / len(scores)
    return f"{name}: {joined} (avg {average:.1f})"


def report(rows):
    """One summary line per (name, scores) row."""
    return "\n".join(summary_line(name, scores) for name, scores in rows)
