"""Files: uploads kept in a blob store, `file` records, attachments on any record, file fields.

Modules: blobs (the store interface: directory or database), sniff (content types from bytes),
names (safe file names), errors (413/415 refusals), cleanup (files go with their records: a
DeleteHook of the record service), service (upload, attach, list, download, detach).
"""
from .blobs import DatabaseStore, DirectoryStore, max_upload_bytes, store_for
from .service import Download, FileService

__all__ = ["DatabaseStore", "DirectoryStore", "Download", "FileService", "max_upload_bytes", "store_for"]
