"""Name lookup with "Did you mean" suggestions, shared by every table keyed by a name.

A name matches when it is equal after ignoring case, spaces, hyphens and underscores
(``a100 80gb`` finds ``A100-80GB``). Otherwise the error suggests names that start with the
query once look-alike characters are folded (``A10O`` -> ``A100-40GB, A100-80GB``), or failing
that the closest names by edit similarity.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from cost_models.errors import UnknownNameError

_SEPARATORS = str.maketrans("", "", " -_")
# Letters typed for digits: O for 0, l/I for 1. Folding both sides keeps names like MI300X intact.
_LOOKALIKES = str.maketrans({"o": "0", "l": "1", "i": "1"})


def normalize_name(name: str) -> str:
    """The form two names are compared in: lower case, separators removed."""
    return name.strip().lower().translate(_SEPARATORS)


def _folded(name: str) -> str:
    return normalize_name(name).translate(_LOOKALIKES)


def suggest(query: str, choices: Iterable[str], limit: int = 5) -> list[str]:
    """Names in ``choices`` the user probably meant by ``query``, best first."""
    unique = sorted(set(choices))
    folded_query = _folded(query)
    if not folded_query:
        return []
    prefixed = [c for c in unique if _folded(c).startswith(folded_query)]
    if prefixed:
        return prefixed[:limit]
    by_fold = {_folded(c): c for c in unique}
    close = difflib.get_close_matches(folded_query, list(by_fold), n=limit, cutoff=0.6)
    return [by_fold[c] for c in close]


def resolve_name(query: str, choices: Iterable[str], error: type[UnknownNameError]) -> str:
    """The canonical spelling of ``query`` among ``choices``; raise ``error`` with suggestions."""
    unique = sorted(set(choices))
    wanted = normalize_name(query)
    for choice in unique:
        if normalize_name(choice) == wanted:
            return choice
    raise error(query, suggest(query, unique), unique)
