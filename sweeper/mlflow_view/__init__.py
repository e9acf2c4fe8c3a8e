"""The study's Pareto review inside MLflow's own UI: a saved runs-page view named "Pareto"
(``_state``: MLflow's encoding, pure), its link (``_link``), the parent run's description
(``_description``), the study's files as run inputs (``_inputs``), and the edge that keeps them
current during a sweep (``_publish``)."""

from sweeper.mlflow_view._description import DESCRIPTION_TAG, StudySummary, parent_description
from sweeper.mlflow_view._inputs import log_study_inputs_quietly, study_datasets
from sweeper.mlflow_view._link import (
    SAVED_VIEWS_SINCE,
    ViewLink,
    view_key,
    view_link,
    views_supported,
)
from sweeper.mlflow_view._publish import (
    HYPERVOLUME_IMAGE_KEY,
    PARETO_IMAGE_KEY,
    ParetoPublisher,
    stored_view_link,
    write_view,
)
from sweeper.mlflow_view._state import (
    VIEW_NAME,
    VIEW_TAG_PREFIX,
    VIEW_URL_PARAM,
    ParetoViewSpec,
    SavedView,
    ViewObjective,
    decode_view,
    encode_view,
    pareto_view_state,
)

__all__ = [
    "DESCRIPTION_TAG",
    "HYPERVOLUME_IMAGE_KEY",
    "PARETO_IMAGE_KEY",
    "SAVED_VIEWS_SINCE",
    "VIEW_NAME",
    "VIEW_TAG_PREFIX",
    "VIEW_URL_PARAM",
    "ParetoPublisher",
    "ParetoViewSpec",
    "SavedView",
    "StudySummary",
    "ViewLink",
    "ViewObjective",
    "decode_view",
    "encode_view",
    "log_study_inputs_quietly",
    "pareto_view_state",
    "parent_description",
    "stored_view_link",
    "study_datasets",
    "view_key",
    "view_link",
    "views_supported",
    "write_view",
]
