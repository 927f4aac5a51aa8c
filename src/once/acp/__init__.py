"""`agent acp`: once as an Agent Client Protocol server over stdio, for editors such as Zed.

server.py wires the SDK's connection to once's sessions; updates.py and history.py turn
events and stored conversations into `session/update` notifications (pure); permissions.py
asks the client before an edit or a command; files.py reads through the client's buffers;
bridge.py carries calls from the run's worker thread to the event loop. The SDK
(`agent-client-protocol`, imported as `acp`) is imported only from these modules.
"""
