"""A package whose modules register themselves (used by test_registry's discovery test)."""

from registries import Registry

THINGS: Registry[type] = Registry("thing", package=__name__)
