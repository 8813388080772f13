"""Metadata deploys from a sandbox (or an export) into an org: validated, recorded, undoable."""
from .service import DeployOutcome, DeployService
from .sources import DeployError, DeploySource, merged_org, read_source

__all__ = ["DeployError", "DeployOutcome", "DeployService", "DeploySource", "merged_org", "read_source"]
