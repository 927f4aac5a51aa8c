"""The prompt queue: persisted per repository, drained one item at a time under a lease."""
