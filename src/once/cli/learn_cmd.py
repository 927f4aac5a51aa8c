"""`agent learn`: detect -> extract -> cluster/merge -> admit -> evaluate -> prune, with a report."""

from __future__ import annotations
