"""`/api/v1/files` and `/api/v1/records/{object}/{id}/attachments`: multipart uploads, downloads,
attachments (files.FileService does the work; see web/file_responses.py for how files are served)."""
from __future__ import annotations

from flask import g, jsonify, request

from ..records.errors import BadQuery, RecordError
from ..security.actor import SYSTEM
from ..files.service import public
from .api import api, services
from .file_responses import file_response

MAX_FILES_PER_REQUEST = 20


def _parts(several: bool):
    """The uploaded `file` parts of a multipart/form-data request (415 for any other body)."""
    if request.mimetype != "multipart/form-data":
        return None
    parts = [p for p in request.files.getlist("file")]
    unknown = sorted(set(request.files) - {"file"})
    if unknown:
        raise BadQuery(f"unknown multipart file part(s): {', '.join(unknown)} (send the content as 'file')")
    if not parts:
        raise BadQuery("send the content as a multipart/form-data part named 'file'")
    if not several and len(parts) > 1:
        raise BadQuery("one file per request here (several at once: POST /records/{object}/{id}/attachments)")
    if len(parts) > MAX_FILES_PER_REQUEST:
        raise BadQuery(f"at most {MAX_FILES_PER_REQUEST} files per request")
    return parts


def _not_multipart():
    return jsonify(error={"code": "unsupported_media_type",
                          "message": "send the file as multipart/form-data with a part named 'file'"}), 415


def _description() -> str | None:
    text = request.form.get("description")
    if text is not None and "\x00" in text:
        raise BadQuery("description must not contain the NUL character")
    return text or None


def _for_field():
    """`field` (object.field): the file field the upload is meant for; its `accept` list is
    checked now rather than when the field is set."""
    text = request.form.get("field")
    if not text:
        return None
    object_name, dot, field = text.partition(".")
    if not dot:
        raise BadQuery("field must be object.field, e.g. opportunity.contract")
    return object_name, field


@api.post("/files")
def upload_file():
    parts = _parts(several=False)
    if parts is None:
        return _not_multipart()
    part = parts[0]
    record = services().files.upload(g.actor, part.stream, part.filename, claimed_type=part.mimetype,
                                     description=_description(), for_field=_for_field())
    response = jsonify(record)
    response.status_code = 201
    response.headers["Location"] = f"/api/v1/files/{record['id']}"
    return response


@api.get("/files/<file_id>")
def file_info(file_id):
    download = services().files.open(g.actor, file_id)
    download.stream.close()
    return jsonify(public(download.record))


@api.get("/files/<file_id>/content")
def file_content(file_id):
    return file_response(services().files.open(g.actor, file_id))


@api.delete("/files/<file_id>")
def delete_file(file_id):
    services().files.delete(g.actor, file_id)
    return "", 204


@api.get("/records/<object_name>/<record_id:record_id>/attachments")
def list_attachments(object_name, record_id):
    return jsonify(attachments=services().files.attachments(g.actor, object_name, record_id))


@api.post("/records/<object_name>/<record_id:record_id>/attachments")
def attach(object_name, record_id):
    """Attach one or several files (all or nothing: a refused file removes the ones before it)."""
    files = services().files
    files.parent_access(g.actor, object_name, record_id, "edit")   # 404/403 before reading a body
    parts = _parts(several=True)
    if parts is None:
        return _not_multipart()
    created = []
    try:
        for part in parts:
            created.append(files.upload(g.actor, part.stream, part.filename, claimed_type=part.mimetype,
                                        attach_to=(object_name, record_id)))
    except RecordError as exc:
        for record in created:
            files.delete(SYSTEM, record["id"])
        if len(parts) > 1:
            exc.details.setdefault("file", parts[len(created)].filename)
        raise
    return jsonify(attachments=created), 201


@api.delete("/records/<object_name>/<record_id:record_id>/attachments/<file_id>")
def detach(object_name, record_id, file_id):
    services().files.detach(g.actor, object_name, record_id, file_id)
    return "", 204
