"""Team learning: knowledge entries and their evidence pooled on a shared PostgreSQL.

One person's traffic judges an entry in months; a team's, pooled, in days. What leaves a
machine is generalized, redacted entries and exposures (entry, session, arm, model,
outcome, times), never prompts, code, diffs or paths. Offline first: local changes wait in
an outbox (filled by triggers), and `agent team sync` / `agent learn` push and pull them
idempotently (upserts keyed by stable ids). psycopg is imported only when a team is used.
"""
