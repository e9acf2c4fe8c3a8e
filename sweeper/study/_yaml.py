"""Reading a study file's YAML safely: PyYAML's ``SafeLoader`` with limits and no silent overrides.

``yaml.safe_load`` builds no arbitrary objects, but it still lets a small file expand into a huge
one through aliases ("billion laughs": each alias is a reference, so the parser's memory stays
small, yet everything that walks the result afterwards, validation included, pays the expanded
size), nest deep enough to exhaust Python's recursion limit, refer to itself (a cyclic structure),
and repeat a key with the last value silently winning. ``StudyLoader`` refuses each of those with
a ``StudyYAMLError`` carrying the line:

- a file larger than ``MAX_STUDY_BYTES``;
- a node nested deeper than ``MAX_DEPTH``;
- more than ``MAX_ALIASES`` aliases, or a document whose expanded size (aliases counted as the
  nodes they stand for) exceeds ``MAX_EXPANDED_NODES``;
- an alias to a node that contains it;
- a key that appears twice in one mapping (keys merged in with ``<<`` may still be overridden,
  as YAML intends).
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_STUDY_BYTES = 1_000_000
MAX_DEPTH = 40
MAX_ALIASES = 100
MAX_EXPANDED_NODES = 100_000


class StudyYAMLError(yaml.YAMLError):
    """A study file that is valid YAML but breaks one of ``StudyLoader``'s rules."""

    def __init__(self, problem: str, mark: Any = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


class StudyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` with the limits in the module docstring."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0
        self._open_anchors: set[str] = set()
        self._expanded: dict[int, int] = {}

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise StudyYAMLError(
                    f"more than {MAX_ALIASES} aliases (`*name`); a study file needs few",
                    event.start_mark,
                )
            if event.anchor in self._open_anchors:
                raise StudyYAMLError(
                    f"alias *{event.anchor} refers to a node that contains it (a cycle)",
                    event.start_mark,
                )
            return super().compose_node(parent, index)
        event = self.peek_event()
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise StudyYAMLError(f"nested deeper than {MAX_DEPTH} levels", event.start_mark)
        anchor = event.anchor
        if anchor is not None:
            self._open_anchors.add(anchor)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
            if anchor is not None:
                self._open_anchors.discard(anchor)
        size = self._expanded_size(node)
        if size > MAX_EXPANDED_NODES:
            raise StudyYAMLError(
                f"expands to more than {MAX_EXPANDED_NODES} nodes (aliases counted as what they "
                "stand for)",
                event.start_mark,
            )
        return node

    def _expanded_size(self, node: Node) -> int:
        """1 + the expanded sizes of the children (each already composed, so memoised)."""
        if isinstance(node, ScalarNode):
            children: list[Node] = []
        elif isinstance(node, SequenceNode):
            children = list(node.value)
        elif isinstance(node, MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            children = []
        size = 1 + sum(self._expanded.get(id(child), 1) for child in children)
        self._expanded[id(node)] = size
        return size

    def construct_mapping(self, node: Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _value in node.value:
                if (
                    not isinstance(key_node, ScalarNode)
                    or key_node.tag == "tag:yaml.org,2002:merge"
                ):
                    continue
                key = self.construct_object(key_node, deep=False)
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise StudyYAMLError(
                        f"duplicate key {_shown(key)} (first on line {seen[key]}); each key may "
                        "appear once per mapping",
                        key_node.start_mark,
                    )
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: bytes | str) -> Any:
    """The document in ``text``, read by ``StudyLoader``; raises ``StudyYAMLError`` (or another
    ``yaml.YAMLError``) for what it refuses."""
    if len(text) > MAX_STUDY_BYTES:
        raise StudyYAMLError(f"larger than {MAX_STUDY_BYTES} bytes ({len(text)} bytes)")
    loader = StudyLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _shown(key: Any, limit: int = 60) -> str:
    text = repr(key)
    return text if len(text) <= limit else text[: limit - 3] + "..."
