"""The "Pareto" saved view of MLflow's runs page, as MLflow's own UI encodes it (pure functions).

MLflow's UI (3.17 and 3.18, read from the bundled ``mlflow/server/js`` code) keeps each saved view
of an experiment's runs page in an experiment tag ``mlflow.sharedViewState.<key>`` and opens it
with ``?viewStateShareKey=<key>``. The tag value is an envelope
``{"name", "createdAt", "updatedAt", "state"}`` (times in epoch milliseconds) whose ``state`` is
the page state as JSON, optionally compressed as ``"deflate;" + base64(zlib(json))``. The state is
the search facets (``searchFilter``, ``orderByKey``, ``orderByAsc``, ...) merged with the UI state
(``selectedColumns``, ``compareRunCharts``, ``compareRunSections``, ``runsHiddenMode``, ...).
The UI ignores what a share cannot carry (``runsExpanded``, ``runsPinned``, ``runsHidden``), so
the view shows the trials uncollapsed by filtering on them (``tags.sweeper.role = 'trial'``): a
child run whose parent is not in the result is listed at the top level.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: Experiment-tag prefix of a saved view, and the URL parameter that opens one.
VIEW_TAG_PREFIX = "mlflow.sharedViewState."
VIEW_URL_PARAM = "viewStateShareKey"
VIEW_NAME = "Pareto"
COMPRESSED_PREFIX = "deflate;"
#: MLflow's UI refuses to save an envelope longer than this.
MAX_ENVELOPE_CHARS = 20_000
PARETO_SECTION = "Pareto"
#: Search facets MLflow's UI reads from a view (the rest of the state is UI state).
SEARCH_FACET_DEFAULTS: dict[str, Any] = {
    "searchFilter": "",
    "orderByKey": "attributes.start_time",
    "orderByAsc": False,
    "startTime": "ALL",
    "lifecycleFilter": "Active",
    "datasetsFilter": [],
    "modelVersionFilter": "All Runs",
}


@dataclass(frozen=True)
class ViewObjective:
    """An objective as the view shows it: metric name and Optuna direction."""

    name: str
    direction: str  # "maximize" | "minimize"


@dataclass(frozen=True)
class ParetoViewSpec:
    """What the Pareto view shows: the quality objective against each cost objective."""

    objectives: tuple[ViewObjective, ...]
    quality: str
    key_params: tuple[str, ...]
    #: Ties the view to one study's trial runs in a shared experiment.
    study_name: str

    @property
    def cost_objectives(self) -> tuple[ViewObjective, ...]:
        return tuple(o for o in self.objectives if o.name != self.quality)


def column_key(kind: str, name: str) -> str:
    """A runs-table column or sort key as MLflow's UI writes it: ``metrics.`quality```."""
    return f"{kind}.`{name}`"


def trial_filter(study_name: str) -> str:
    """MLflow search filter for the study's trial runs (not its parent run)."""
    return f"tags.`sweeper.role` = 'trial' and tags.`sweeper.study_name` = '{study_name}'"


def _scatter_chart(uuid: str, section: str, x_metric: str, y_metric: str) -> dict[str, Any]:
    return {
        "uuid": uuid,
        "type": "SCATTER",
        "runsCountToCompare": 1000,
        "metricSectionId": section,
        "deleted": False,
        "isGenerated": False,
        "displayName": f"{y_metric} vs {x_metric}",
        "xaxis": {"key": x_metric, "type": "METRIC"},
        "yaxis": {"key": y_metric, "type": "METRIC"},
    }


def pareto_view_state(spec: ParetoViewSpec, metric_keys: Sequence[str] = ()) -> dict[str, Any]:
    """The runs-page state of the Pareto view.

    Chart mode shows one scatter of quality (y) against each cost objective (x), one point per
    trial run. ``metric_keys`` are the metrics the runs have: MLflow adds a generated bar chart for
    every metric no chart names as its ``metricKey`` (scatter axes do not count), so each gets a
    deleted placeholder.
    """
    section_id = "sweeper-pareto"
    charts = [
        _scatter_chart(f"sweeper-pareto-{o.name}", section_id, o.name, spec.quality)
        for o in spec.cost_objectives
    ]
    for key in sorted(set(metric_keys) | {o.name for o in spec.objectives}):
        charts.append(
            {
                "uuid": f"sweeper-hidden-{key}",
                "type": "BAR",
                "runsCountToCompare": 10,
                "metricSectionId": section_id,
                "deleted": True,
                "isGenerated": True,
                "metricKey": key,
            }
        )
    columns = [column_key("metrics", o.name) for o in spec.objectives]
    columns += [column_key("params", p) for p in spec.key_params]
    columns += [column_key("tags", "pareto"), column_key("tags", "pareto_rank")]
    return SEARCH_FACET_DEFAULTS | {
        "searchFilter": trial_filter(spec.study_name),
        "orderByKey": column_key("metrics", spec.quality),
        "orderByAsc": False,
        "selectedColumns": columns,
        "columnOrder": [],
        "columnWidths": {},
        "runsHiddenMode": "SHOW_ALL",
        "compareRunCharts": charts,
        "compareRunSections": [
            {
                "uuid": section_id,
                "name": PARETO_SECTION,
                "display": True,
                "isReordered": True,
                "deleted": False,
                "isGenerated": False,
                # One scatter per column (MLflow's default is 3 narrow ones), a little taller.
                "columns": max(1, min(3, len(spec.cost_objectives))),
                "cardHeight": 420,
            }
        ],
        "viewMaximized": False,
        "runListHidden": False,
        "isAccordionReordered": True,
        "groupBy": None,
        "groupsExpanded": {},
        "useGroupedValuesInCharts": False,
        "hideEmptyCharts": True,
        "globalLineChartConfig": {
            "xAxisKey": "step",
            "lineSmoothness": 0,
            "selectedXAxisMetricKey": "",
        },
    }


def compress_text(text: str) -> str:
    """MLflow's UI text compression: ``"deflate;"`` + base64 of zlib-deflated UTF-8 (pako)."""
    return COMPRESSED_PREFIX + base64.b64encode(zlib.compress(text.encode(), 9)).decode()


def decompress_text(text: str) -> str:
    if not text.startswith(COMPRESSED_PREFIX):
        return text
    return zlib.decompress(base64.b64decode(text[len(COMPRESSED_PREFIX) :])).decode()


def encode_view(name: str, state: dict[str, Any], created_ms: int, updated_ms: int) -> str:
    """The experiment-tag value of a saved view (MLflow's envelope, state compressed)."""
    envelope = json.dumps(
        {
            "name": name,
            "createdAt": int(created_ms),
            "updatedAt": int(updated_ms),
            "state": compress_text(json.dumps(state, separators=(",", ":"))),
        },
        separators=(",", ":"),
    )
    if len(envelope) > MAX_ENVELOPE_CHARS:
        raise ValueError(
            f"a saved view must encode to at most {MAX_ENVELOPE_CHARS} characters, "
            f"but got {len(envelope)}"
        )
    return envelope


@dataclass(frozen=True)
class SavedView:
    name: str
    created_ms: int
    updated_ms: int
    state: dict[str, Any]


def decode_view(value: str) -> SavedView:
    """Read a saved-view tag value back (the envelope, or a bare state as older UIs wrote it)."""
    data = json.loads(value)
    if isinstance(data, dict) and isinstance(data.get("state"), str) and "name" in data:
        return SavedView(
            name=str(data["name"]),
            created_ms=int(data["createdAt"]),
            updated_ms=int(data.get("updatedAt", data["createdAt"])),
            state=json.loads(decompress_text(data["state"])),
        )
    return SavedView(name="", created_ms=0, updated_ms=0, state=data)
