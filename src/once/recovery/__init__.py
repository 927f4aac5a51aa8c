"""After kill -9: the journal of a run's landed edits, and committing what a killed run left behind."""
