"""Option values converted without pydantic.

typer converts every parameter of the command that runs through a pydantic TypeAdapter, even
one left at its default; importing pydantic and building those adapters is most of what parsing
`agent run` costs. The options here are plain (str, int, float, bool, Path, str enums), so they
are converted directly. Anything else, and any value that does not convert, goes to typer's own
conversion, so its error messages stay the same.

This leans on typer's private parameter hooks; tests/test_cli_startup.py fails when they change.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any

try:  # typer >= 0.26 converts through pydantic; older versions need nothing here
    from typer import _coercion, core
    from typer._param_types import coerce_cli_choice, coerce_cli_path
except ImportError:  # pragma: no cover - depends on the installed typer
    _coercion = core = None  # type: ignore[assignment]

_UNCONVERTED = object()


class PlainParam:
    """Stands in for typer's runtime parameter: plain values here, the rest to typer."""

    def __init__(self, descriptor: Any) -> None:
        self.descriptor = descriptor
        self._typer: Any = None

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        if value is None:  # the default: what typer's own conversion returns for it
            return () if param.multiple or param.nargs == -1 else None
        converted = _convert(self.descriptor, value, param, ctx)
        if converted is not _UNCONVERTED:
            return converted
        if self._typer is None:
            self._typer = _coercion.build_runtime_param(self.descriptor)
        return self._typer.coerce(value, param=param, ctx=ctx)


def _convert(descriptor: Any, value: Any, param: Any, ctx: Any) -> Any:
    """`value` as the annotation's type, or _UNCONVERTED when typer should decide."""
    annotation, info = descriptor.annotation, descriptor.parameter_info
    if info.parser is not None or descriptor.file_annotation is not None or not isinstance(value, (str, bool)):
        return _UNCONVERTED
    if annotation is str or (annotation is bool and isinstance(value, bool)):
        return value if isinstance(value, annotation) else _UNCONVERTED
    if annotation in (int, float) and isinstance(value, str):
        return _number(annotation, value, info)
    if isinstance(annotation, type) and issubclass(annotation, Enum) and isinstance(value, str):
        try:  # typer's own matching (case rules, normalization); only its message differs
            return coerce_cli_choice(value, choices=list(annotation), case_sensitive=info.case_sensitive, ctx=ctx)
        except ValueError:
            return _UNCONVERTED
    if annotation is Path and isinstance(value, str) and info.path_type is None:
        return coerce_cli_path(Path(value), info, path_type=Path, param=param, ctx=ctx)
    return _UNCONVERTED


def _number(annotation: type, value: str, info: Any) -> Any:
    if info.min is not None or info.max is not None:
        return _UNCONVERTED  # bounds and clamping: typer's rules
    try:
        return annotation(value)
    except ValueError:
        return _UNCONVERTED


def use_plain_params() -> None:
    """Make typer's parameters convert plain values here. Set on the class, because the help
    option of each context is made on the fly, after the command tree is built."""
    if core is not None:
        core._TyperParameter.get_runtime_param = _runtime_param


def _runtime_param(param: Any) -> Any:
    if param._runtime_param is None:
        param._runtime_param = PlainParam(param.type_descriptor)
    return param._runtime_param
