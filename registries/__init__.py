"""Named implementations at an extension point, found by module: one registry class for every
vocabulary that users name in a study file or on the command line (quantization levels, merge
methods, samplers, price fetchers, scorers, pricing models).

A registry owns its vocabulary: the study schema's choices, the CLI's choices, the docs and the
dispatch all read ``names()``/``get()``; nothing else lists the names. A registry given a
``package`` imports every public module of that package (names not starting with ``_``) the
first time it is asked for a name, so a new implementation is one new module that registers
itself, plus its test, touching no other file::

    # objectives/quantization/int8.py
    from objectives.quantization._registry import QUANTIZERS

    @QUANTIZERS.register("int8")
    class Int8: ...

Unknown names are answered as lm-eval and PEFT answer them: ``Unknown quantization level 'int3'.
Available: bf16, fp16, int8, int4``. Like ``user_errors``, this package imports nothing of the
three packages of this distribution, so any of them can use it.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from user_errors import UserError

__all__ = ["DuplicateNameError", "Registry", "UnknownNameError"]

T = TypeVar("T")


class UnknownNameError(UserError, KeyError):
    """A name no implementation is registered under. Its message lists the available names."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class DuplicateNameError(ValueError):
    """Two implementations registered under one name: a programming error, found at import."""


class Registry(Generic[T]):
    """Implementations of one ``kind`` by name, in registration order.

    ``kind`` is the noun used in messages ("quantization level", "merge method"). ``package``
    (a dotted name) is imported module by module on first use (see the module docstring).
    ``error`` is the exception raised for an unknown name; it must accept one message argument
    (a domain's own ``UserError`` subclass, so the CLI prints it as one line with exit 2).
    """

    def __init__(
        self,
        kind: str,
        *,
        package: str | None = None,
        error: type[Exception] = UnknownNameError,
    ) -> None:
        self.kind = kind
        self._package = package
        self._error = error
        self._entries: dict[str, T] = {}
        self._order: dict[str, float] = {}
        self._discovered = package is None
        self._lock = threading.RLock()

    # -- registering ------------------------------------------------------------------------------
    def add(self, name: str, entry: T, *, order: float | None = None) -> T:
        """Registers ``entry`` under ``name``; a second entry under one name is refused.

        ``order`` places the name in ``names()`` (lower first; unordered names follow in
        registration order): discovery imports modules alphabetically, and some vocabularies
        read best in their own order (bf16, fp16, int8, int4)."""
        if not name or not isinstance(name, str):
            raise DuplicateNameError(f"a {self.kind} name must be a non-empty string, got {name!r}")
        with self._lock:
            if name in self._entries and self._entries[name] is not entry:
                raise DuplicateNameError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = entry
            self._order[name] = float("inf") if order is None else float(order)
            ranked = sorted(self._entries, key=lambda n: self._order[n])  # stable
            self._entries = {n: self._entries[n] for n in ranked}
        return entry

    def register(self, name: str, *, order: float | None = None) -> Callable[[T], T]:
        """Decorator form of ``add``: ``@REGISTRY.register("name")``."""

        def decorate(entry: T) -> T:
            return self.add(name, entry, order=order)

        return decorate

    # -- reading ----------------------------------------------------------------------------------
    def get(self, name: str) -> T:
        """The entry registered as ``name``; an unknown name raises ``error`` listing the names."""
        self._discover()
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise self._error(self.unknown_message(name)) from None

    def unknown_message(self, name: object) -> str:
        """``Unknown <kind> '<name>'. Available: a, b, c`` (for validators that raise their own
        error type with this text)."""
        return f"Unknown {self.kind} {name!r}. Available: {', '.join(self.names())}"

    def names(self) -> tuple[str, ...]:
        """Every registered name, in registration order."""
        self._discover()
        return tuple(self._entries)

    def items(self) -> tuple[tuple[str, T], ...]:
        self._discover()
        return tuple(self._entries.items())

    def __contains__(self, name: object) -> bool:
        self._discover()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {list(self._entries)!r})"

    def _discover(self) -> None:
        if self._discovered:
            return
        with self._lock:
            if self._discovered:
                return
            package = importlib.import_module(self._package)  # type: ignore[arg-type]
            for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
                if not info.name.startswith("_"):
                    importlib.import_module(f"{self._package}.{info.name}")
            self._discovered = True
