"""`agent acp`: once as an Agent Client Protocol server over stdio, for editors such as Zed.

stdio.py serves it; server.py answers the protocol's methods with once's sessions
(sessions.py); turn.py runs a prompt exactly as `agent run` does, in a worker thread;
updates.py and history.py turn events and stored conversations into `session/update`
payloads (pure); permissions.py asks the client before an edit or a command; files.py reads
and writes files through the client; bridge.py carries calls from the worker thread to the
event loop. The SDK (`agent-client-protocol`, imported as `acp`) is imported only from here.
"""
