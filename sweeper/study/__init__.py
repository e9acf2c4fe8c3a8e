"""Study files: schema, loading and validation."""

from sweeper.study._load import (
    LoadedStudy,
    builtin_studies_dir,
    load_study,
    resolve_partner_path,
    resolve_partner_train,
    resolve_study_path,
)
from sweeper.study._schema import (
    CONDITIONAL,
    DENSITY_METHODS,
    SEARCHABLE,
    TARGET_MODULE_PRESETS,
    Choices,
    Fixed,
    Range,
    SearchSpace,
    Study,
)

__all__ = [
    "CONDITIONAL",
    "DENSITY_METHODS",
    "SEARCHABLE",
    "TARGET_MODULE_PRESETS",
    "Choices",
    "Fixed",
    "LoadedStudy",
    "Range",
    "SearchSpace",
    "Study",
    "builtin_studies_dir",
    "load_study",
    "resolve_partner_path",
    "resolve_partner_train",
    "resolve_study_path",
]
