"""Every command of the ``sweeper`` app and its options, read from typer's own declarations.

Read from the functions typer registered (their annotations and ``typer.Option``/``Argument``
infos), not from the click objects typer builds: those differ between typer versions (typer 0.26+
builds its own vendored click's), and the usage-error tests must run unchanged against any of them.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from types import NoneType, UnionType

import typer
from typer.models import ArgumentInfo, ParameterInfo


@dataclass(frozen=True)
class Param:
    """One option or argument of a command."""

    command: tuple[str, ...]
    name: str
    #: The first long flag (``--trials``); for an argument, its metavar or name.
    flag: str
    argument: bool
    required: bool
    #: int, float, bool, str, Path or an Enum class.
    kind: type
    minimum: float | None
    multiple: bool

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(str(m.value) for m in self.kind) if issubclass(self.kind, Enum) else ()

    def valid_value(self) -> str:
        """A value the command line parser accepts for it."""
        if self.choices:
            return self.choices[0]
        if self.kind in (int, float):
            return str(int(max(self.minimum or 1, 1)))
        return "x"

    def valid_argv(self) -> list[str]:
        return [self.valid_value()] if self.argument else [self.flag, self.valid_value()]


@dataclass(frozen=True)
class Command:
    path: tuple[str, ...]
    params: tuple[Param, ...]

    @property
    def id(self) -> str:
        return " ".join(self.path)

    def required_argv(self, *, without: Param | None = None) -> list[str]:
        """Valid values for every required parameter but ``without``, arguments first."""
        needed = [p for p in self.params if p.required and p != without]
        argv: list[str] = []
        for p in sorted(needed, key=lambda p: not p.argument):
            argv += p.valid_argv()
        return argv


def commands(app: typer.Typer, path: tuple[str, ...] = ()) -> Iterator[Command]:
    """Every leaf command of ``app`` and its sub-apps."""
    for info in app.registered_commands:
        name = info.name or info.callback.__name__.lower().replace("_", "-")
        yield Command((*path, name), tuple(_params((*path, name), info.callback)))
    for group in app.registered_groups:
        yield from commands(group.typer_instance, (*path, group.name))


def _params(command: tuple[str, ...], callback) -> Iterator[Param]:
    hints = typing.get_type_hints(callback, include_extras=True)
    for p in inspect.signature(callback).parameters.values():
        annotation = hints[p.name]
        info: ParameterInfo | None = None
        default = p.default
        if typing.get_origin(annotation) is typing.Annotated:
            annotation, *extras = typing.get_args(annotation)
            info = next(e for e in extras if isinstance(e, ParameterInfo))
        if isinstance(default, ParameterInfo):
            info, default = default, default.default
        assert info is not None, f"{command} {p.name}: not a typer parameter"
        kind, multiple = _base_type(annotation)
        argument = isinstance(info, ArgumentInfo)
        long_flags = [d.split("/")[0] for d in (info.param_decls or ()) if d.startswith("--")] or [
            f"--{p.name.replace('_', '-')}"
        ]
        yield Param(
            command=command,
            name=p.name,
            flag=(getattr(info, "metavar", None) or p.name) if argument else long_flags[0],
            argument=argument,
            required=default is inspect.Parameter.empty or default is ...,
            kind=kind,
            minimum=getattr(info, "min", None),
            multiple=multiple,
        )


def _base_type(annotation) -> tuple[type, bool]:
    """(the value's type, whether the option repeats): ``int | None`` -> int, ``list[str]`` ->
    (str, True)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, UnionType):
        inner = [a for a in typing.get_args(annotation) if a is not NoneType]
        return _base_type(inner[0])
    if origin is list:
        return _base_type(typing.get_args(annotation)[0])[0], True
    if isinstance(annotation, type) and issubclass(annotation, Path):
        return Path, False
    return annotation, False
