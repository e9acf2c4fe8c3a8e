"""The link that opens a study's Pareto view, and which MLflow versions have saved views."""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from sweeper.mlflow_view._state import VIEW_URL_PARAM

#: The first MLflow release whose UI reads the saved-view envelope this package writes (checked
#: in the UI code of 3.17.2 and 3.18.0). Older UIs get the runs-page link instead.
SAVED_VIEWS_SINCE = (3, 17)


def version_tuple(version: str) -> tuple[int, ...]:
    """``"3.17.2"`` -> ``(3, 17, 2)``; a pre-release suffix (``"3.18.0rc1"``) is dropped."""
    found = re.match(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?", version)
    return tuple(int(p) for p in found.groups() if p is not None) if found else ()


def views_supported(mlflow_version: str) -> bool:
    return version_tuple(mlflow_version) >= SAVED_VIEWS_SINCE


def view_key(study_name: str, storage_key: str) -> str:
    """A stable share key per study and storage (a UUID, as MLflow's UI makes them)."""
    digest = hashlib.sha256(f"sweeper-pareto:{study_name}:{storage_key}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def is_server(tracking_uri: str) -> bool:
    return tracking_uri.startswith(("http://", "https://"))


@dataclass(frozen=True)
class ViewLink:
    """Where the Pareto view is: ``url`` to open (a full URL for a tracking server, else the
    path after ``mlflow ui``'s address), and ``how`` when a command must run first."""

    url: str
    how: str | None = None
    #: Why this is the plain runs page rather than the saved view (None when it is the view).
    fallback_reason: str | None = None

    def lines(self) -> list[str]:
        """What the CLI prints (one or two lines)."""
        out = []
        if self.fallback_reason:
            out.append(self.fallback_reason)
        if self.how:
            out.append(f"Pareto view: {self.how}, then open {self.url}")
        else:
            out.append(f"Pareto view: {self.url}")
        return out


def public_base(tracking_uri: str) -> str:
    """The server's address as a browser opens it: no credentials, no trailing slash."""
    parts = urlsplit(tracking_uri)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def runs_path(experiment_id: str) -> str:
    return f"/#/experiments/{experiment_id}/runs"


def view_link(
    tracking_uri: str, experiment_id: str, key: str | None, mlflow_version: str
) -> ViewLink:
    """The Pareto view's link; the experiment's runs page where MLflow has no saved views
    (``key`` None or an MLflow older than ``SAVED_VIEWS_SINCE``)."""
    path = runs_path(experiment_id)
    reason = None
    if key is not None and views_supported(mlflow_version):
        path += f"?{VIEW_URL_PARAM}={key}&compareRunsMode=CHART"
    else:
        since = ".".join(map(str, SAVED_VIEWS_SINCE))
        reason = (
            f"MLflow {mlflow_version} has no saved runs-page views (needs >= {since}); "
            "linking the runs page instead"
        )
    if is_server(tracking_uri):
        return ViewLink(public_base(tracking_uri) + path, None, reason)
    return ViewLink(
        f"http://127.0.0.1:5000{path}",
        f"mlflow ui --backend-store-uri {tracking_uri}",
        reason,
    )
