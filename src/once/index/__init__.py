"""Two-stage file selection: a repo index ranked for a prompt, then a small-model pick."""
