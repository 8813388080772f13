"""The OpenAPI description of the file routes (web/api_files.py): multipart upload, metadata,
download, delete, and the attachments of every object that takes them and the caller may read."""
from __future__ import annotations

from .openapi_automation import _error, _json, _ref

_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
_FILE_ID = {"name": "file_id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}


def file_schemas() -> dict:
    nullable = lambda schema: {"anyOf": [schema, {"type": "null"}]}  # noqa: E731
    uploaded = {"type": "object", "required": ["id", "name", "content_type", "size", "checksum"], "properties": {
        "id": {"type": "string", "format": "uuid"},
        "name": {"type": "string", "description": "the uploaded file's name (no path)"},
        "content_type": nullable({"type": "string", "description": "sniffed from the bytes, not the client's claim"}),
        "size": nullable({"type": "integer", "minimum": 0}),
        "checksum": nullable({"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "SHA-256 of the content"}),
        "description": nullable({"type": "string"}),
        "owner": {"type": "string", "format": "uuid"},
        "created_at": {"type": "string", "format": "date-time"}}}
    form = {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary", "description": "the content; its filename is kept (no path)"},
        "description": {"type": "string"},
        "field": {"type": "string", "pattern": "^[a-z][a-z0-9_]*\\.[a-z][a-z0-9_]*$",
                  "description": "object.field: the file field it is for (its accepted types are checked now)"}}}
    several = {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "array", "items": {"type": "string", "format": "binary"}, "minItems": 1, "maxItems": 20}}}
    return {"UploadedFile": uploaded, "FileUpload": form, "AttachmentUpload": several,
            "AttachmentList": {"type": "object", "required": ["attachments"],
                               "properties": {"attachments": {"type": "array", "items": _ref("UploadedFile")}}}}


def file_paths(runtime, access) -> dict:
    errors = {code: _error() for code in ("400", "401", "403", "404")}
    too_large = {"413": {**_error(), "description": "larger than the upload limit (TESSERA_MAX_UPLOAD_BYTES)"},
                 "415": {**_error(), "description": "not multipart/form-data, or the content is not what the "
                                                    "upload claims (an HTML page named photo.png)"},
                 "422": _error()}
    multipart = lambda schema: {"required": True, "content": {"multipart/form-data": {"schema": _ref(schema)}}}  # noqa: E731
    paths = {
        "/files": {"post": {
            "operationId": "upload_file", "summary": "Upload a file (multipart/form-data, part 'file')",
            "tags": ["files"], "requestBody": multipart("FileUpload"),
            "responses": {"201": _json("UploadedFile", "created"), **errors, **too_large}}},
        "/files/{id}": {
            "get": {"operationId": "get_uploaded_file", "summary": "A file's name, sniffed type, size and checksum",
                    "tags": ["files"], "parameters": [_ID], "responses": {"200": _json("UploadedFile"), **errors}},
            "delete": {"operationId": "delete_uploaded_file", "summary": "Delete a file (rights on the file object)",
                       "tags": ["files"], "parameters": [_ID],
                       "responses": {"204": {"description": "deleted"}, **errors, "409": _error()}}},
        "/files/{id}/content": {"get": {
            "operationId": "download_file", "summary": "Download a file's content",
            "description": "Served as the sniffed type with X-Content-Type-Options: nosniff and a restrictive "
                           "Content-Security-Policy; inline for raster images and PDFs, else as an attachment. "
                           "Readable by whoever may read the file, a record it is attached to, or a file field "
                           "holding it.",
            "tags": ["files"], "parameters": [_ID],
            "responses": {"200": {"description": "the content",
                                  "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}},
                          "304": {"description": "not modified (If-None-Match with the checksum)"}, **errors}}},
    }
    for obj in sorted(runtime.metadata.objects.values(), key=lambda o: o.name):
        if not obj.attachments or not access.can(obj.name, "read"):
            continue
        base = f"/records/{obj.name}/{{id}}/attachments"
        ops = {"get": {"operationId": f"list_{obj.name}_attachments", "summary": f"Files attached to a {obj.label}",
                       "tags": [obj.name], "parameters": [_ID],
                       "responses": {"200": _json("AttachmentList"), **errors}}}
        if access.can(obj.name, "edit"):
            ops["post"] = {"operationId": f"attach_to_{obj.name}",
                           "summary": f"Attach files to a {obj.label} (several 'file' parts: all or none)",
                           "tags": [obj.name], "parameters": [_ID], "requestBody": multipart("AttachmentUpload"),
                           "responses": {"201": _json("AttachmentList", "attached"), **errors, **too_large}}
            paths[f"{base}/{{file_id}}"] = {"delete": {
                "operationId": f"detach_from_{obj.name}", "summary": "Remove an attachment (the file goes too "
                                                                     "unless something else uses it)",
                "tags": [obj.name], "parameters": [_ID, _FILE_ID],
                "responses": {"204": {"description": "removed"}, **errors}}}
        paths[base] = ops
    return paths
