"""`agent acp`: serve editors over the Agent Client Protocol on stdin/stdout."""

from __future__ import annotations

from once.cli.run_options import (
    BaseUrlOpt, DbOpt, DirtyOpt, MaxCostOpt, MaxTurnsOpt, ModelOpt, PermissionOpt, ProviderOpt, RecordOpt, ReplayOpt,
    ReplaySmallOpt, RunOptions, SmallModelOpt,
)


def acp(
    provider: ProviderOpt = None, model: ModelOpt = None, small_model: SmallModelOpt = None,
    base_url: BaseUrlOpt = None, replay: ReplayOpt = None, replay_small: ReplaySmallOpt = None,
    record: RecordOpt = None, max_turns: MaxTurnsOpt = None, max_cost: MaxCostOpt = None, dirty: DirtyOpt = None,
    permission_mode: PermissionOpt = None, db: DbOpt = None,
) -> None:
    """Run as an ACP agent for an editor (Zed and others): JSON-RPC on stdin/stdout.

    Each editor session is a once session in the folder the editor opens; every prompt runs
    as `agent run` would, with the editor answering permission requests (mode ask by default;
    plan, ask and auto-edit are the session's modes). Logs go to stderr.

    Example Zed setting (agent_servers): {"once": {"command": "agent", "args": ["acp"]}}
    """
    import asyncio

    from once.acp.stdio import serve
    from once.cli.executor import check_flags

    options = RunOptions(provider=provider, model=model, small_model=small_model, base_url=base_url, replay=replay,
                         replay_small=replay_small, record=record, max_turns=max_turns, max_cost=max_cost, dirty=dirty,
                         permission_mode=permission_mode, db=db)
    check_flags(options)
    asyncio.run(serve(options))
