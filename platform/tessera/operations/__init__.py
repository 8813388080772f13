"""Operating an org: backups and restores (more operator tools join here)."""
from .archive import BackupError, Manifest
from .backup import BackupReport, RestoreReport, create_backup, inspect_backup, restore_backup

__all__ = ["BackupError", "BackupReport", "Manifest", "RestoreReport", "create_backup", "inspect_backup",
           "restore_backup"]
