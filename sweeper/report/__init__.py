"""Pareto review and the cost report: which configuration to take, and what it costs.

Pure functions over trial records (``_records``): the front, ranks and hypervolume (``_pareto``),
the recommendations (``_recommend``, ``_analysis``), repricing from recorded projections
(``_reprice``; the request read against the catalog in ``_repricing``, the before/after table in
``_reprice_table``), commitment advice (``_commitment``), charts (``_charts``), the assumptions
(``_assumptions``) and the HTML report (``_html``, assembled by ``_build``). ``_study`` and
``_mlflow`` are the edges to Optuna storage and MLflow.
"""

from sweeper.report._analysis import ParetoAnalysis, ReviewOptions, analyze, quality_objective
from sweeper.report._assumptions import assumptions
from sweeper.report._build import build_report
from sweeper.report._charts import (
    breakdown_png,
    chart_files,
    hypervolume_png,
    interactive_html,
    pareto_png,
)
from sweeper.report._commitment import CommitmentAdvice, commitment_advice
from sweeper.report._html import ReportInputs, render_report, report_data
from sweeper.report._mlflow import (
    DOMINATED_COLOR,
    PARETO_COLOR,
    REPORT_ARTIFACT_DIR,
    REVIEW_ARTIFACT_DIR,
    RUN_COLOR_TAG,
    find_parent_run,
    log_report,
    log_review,
    pareto_run_tags,
)
from sweeper.report._pareto import (
    REFERENCE_MARGIN,
    hypervolume,
    hypervolume_history,
    knee,
    pareto_front,
    pareto_ranks,
    reference_box,
)
from sweeper.report._recommend import Recommendation, cost_eur_horizon
from sweeper.report._records import Objective, TrialRecord, records_from_trials
from sweeper.report._reprice import Repriced, TrainingTarget, horizon_ranking, reprice
from sweeper.report._reprice_table import RepriceRow, RepriceTable, reprice_table
from sweeper.report._repricing import RepriceError, repricing, split_instance_label
from sweeper.report._study import analyze_study, study_objectives, study_pareto_ranks, study_records

__all__ = [
    "DOMINATED_COLOR",
    "PARETO_COLOR",
    "RUN_COLOR_TAG",
    "REFERENCE_MARGIN",
    "REPORT_ARTIFACT_DIR",
    "REVIEW_ARTIFACT_DIR",
    "CommitmentAdvice",
    "Objective",
    "ParetoAnalysis",
    "Recommendation",
    "ReportInputs",
    "RepriceError",
    "RepriceRow",
    "RepriceTable",
    "Repriced",
    "ReviewOptions",
    "TrainingTarget",
    "TrialRecord",
    "analyze",
    "analyze_study",
    "assumptions",
    "build_report",
    "chart_files",
    "commitment_advice",
    "cost_eur_horizon",
    "find_parent_run",
    "horizon_ranking",
    "hypervolume",
    "breakdown_png",
    "hypervolume_png",
    "interactive_html",
    "hypervolume_history",
    "knee",
    "log_report",
    "log_review",
    "pareto_front",
    "pareto_png",
    "pareto_ranks",
    "pareto_run_tags",
    "quality_objective",
    "records_from_trials",
    "reference_box",
    "render_report",
    "report_data",
    "reprice",
    "reprice_table",
    "repricing",
    "split_instance_label",
    "study_objectives",
    "study_pareto_ranks",
    "study_records",
]
