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
    SEARCHABLE,
    TARGET_MODULE_PRESETS,
    Choices,
    Fixed,
    Range,
    Study,
)

__all__ = [
    "SEARCHABLE",
    "TARGET_MODULE_PRESETS",
    "Choices",
    "Fixed",
    "LoadedStudy",
    "Range",
    "Study",
    "builtin_studies_dir",
    "load_study",
    "resolve_partner_path",
    "resolve_partner_train",
    "resolve_study_path",
]
