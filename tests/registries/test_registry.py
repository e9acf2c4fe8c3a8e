"""The generic registry: one module per implementation found by discovery, unknown names answered
with the available ones, duplicates refused, order kept."""

from __future__ import annotations

import pytest

from registries import DuplicateNameError, Registry, UnknownNameError
from user_errors import UserError


def test_discovery_imports_each_public_module_once_and_keeps_the_declared_order() -> None:
    from tests.registries.plugins_demo import THINGS

    assert THINGS.names() == ("alpha", "beta")
    assert THINGS.get("beta").__name__ == "Beta"
    assert "alpha" in THINGS and "gamma" not in THINGS
    assert len(THINGS) == 2 and list(THINGS) == ["alpha", "beta"]


def test_an_unknown_name_lists_the_available_ones_as_a_user_error() -> None:
    reg: Registry[int] = Registry("colour")
    reg.add("red", 1)
    reg.add("blue", 2)
    with pytest.raises(UnknownNameError) as err:
        reg.get("green")
    assert str(err.value) == "Unknown colour 'green'. Available: red, blue"
    assert isinstance(err.value, UserError)


def test_a_domain_error_class_is_raised_for_unknown_names() -> None:
    class MyError(UserError):
        pass

    reg: Registry[int] = Registry("pricing model", error=MyError)
    reg.add("spot", 1)
    with pytest.raises(MyError, match=r"^Unknown pricing model 'x'\. Available: spot$"):
        reg.get("x")


def test_two_entries_under_one_name_are_refused_and_the_same_entry_twice_is_not() -> None:
    reg: Registry[object] = Registry("thing")
    entry = object()
    reg.add("a", entry)
    reg.add("a", entry)  # re-import of the same module
    with pytest.raises(DuplicateNameError, match="'a' is registered twice"):
        reg.add("a", object())
    with pytest.raises(DuplicateNameError):
        reg.add("", object())


def test_order_places_names_and_unordered_names_follow_in_registration_order() -> None:
    reg: Registry[int] = Registry("level")
    reg.add("z", 0)
    reg.add("int4", 4, order=4)
    reg.add("bf16", 1, order=1)
    reg.add("y", 0)
    assert reg.names() == ("bf16", "int4", "z", "y")
