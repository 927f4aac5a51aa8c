"""MCP servers: their tools offered to the model as `mcp__NAME__TOOL`.

config.py (the `[mcp]` table; pure) and config_io.py (writing it), names.py and results.py
(pure), session.py (one connection, async, the SDK imported there only), manager.py (the
background event loop that owns the connections), tools.py (the agent tools over them),
launch.py (which servers a run starts, how). Importing this package imports no SDK:
`agent --help` stays light.
"""
