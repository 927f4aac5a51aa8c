"""A warm process for `agent run`: the modules a run needs, imported once and forked per run.

`agent warm start` leaves a process that has imported what `agent run` imports (the SDKs
included) and listens on a socket only its user can reach. While it runs, `agent run` hands it
its arguments, environment, working folder and terminal, and a fork of it does the run; the
client relays signals and exits with the run's exit code. Without it, or when it is stale
(its code changed on disk) or busy with another install, `agent run` runs as before.

The fork is made ahead of the run and warmed up by a run of its own in a scratch repository
(spare.py); a run that comes before it is ready gets a fork made there and then.
"""
