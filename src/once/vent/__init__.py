"""Vent: the agent's reports about tools, docs or an environment in its way; grouped, spike-checked, exported."""
