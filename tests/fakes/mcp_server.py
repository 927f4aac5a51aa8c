"""A real MCP server written with the official SDK, for tests: `python mcp_server.py stdio`
or `python mcp_server.py http PORT` (streamable HTTP on 127.0.0.1).

`NOTES_FILE` (environment) is where `write_note` appends; `lookup`, `big` and `leak` are
annotated read-only.
"""

from __future__ import annotations

import os
import sys
import time

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

server = MCPServer("notes")
READ_ONLY = ToolAnnotations(readOnlyHint=True)
LEAKED_KEY = "AKIA" + "QYLPMN5HGT3XBWKZ"  # an AWS access key id shape; not a real key


@server.tool(annotations=READ_ONLY)
def lookup(word: str) -> str:
    """Look a word up in the notes."""
    return f"definition of {word}: a thing that happens one time"


@server.tool()
def write_note(text: str) -> str:
    """Append a note to the notes file."""
    with open(os.environ["NOTES_FILE"], "a", encoding="utf-8") as file:
        file.write(text + "\n")
    return "noted"


@server.tool(annotations=READ_ONLY)
def big() -> str:
    """Return five megabytes of text."""
    line = "0123456789" * 9 + "abcdefghi\n"
    return line * 50_000


@server.tool(annotations=READ_ONLY)
def leak() -> str:
    """Return a credential."""
    return f"aws_access_key_id = {LEAKED_KEY}"


@server.tool(annotations=READ_ONLY)
def pid() -> str:
    """The server's process id."""
    return str(os.getpid())


@server.tool(annotations=READ_ONLY)
def wait(seconds: float) -> str:
    """Sleep, then answer."""
    time.sleep(seconds)
    return "woke"


@server.tool(annotations=READ_ONLY)
def crash() -> str:
    """Exit the server process in the middle of the call."""
    os._exit(3)


if __name__ == "__main__":
    if sys.argv[1:2] == ["http"]:
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
