"""`GET|POST /api/v1/records/{object}/{id}/convert`: a record's conversion (tessera/conversion).

GET previews it: what each target would get and the existing records the duplicate rules match.
POST converts, in one transaction. Body (every part optional):

    {"conversion": "lead_conversion",           # when the object has several
     "targets": {"account": {"id": "…"},          # an existing record instead of a new one
                 "contact": {"values": {…}},      # a new one, with these values over the mapped ones
                 "opportunity": {"skip": true}},  # left out (targets that are not required)
     "allow_duplicates": true}                    # create despite block rules that allow an override
"""
from __future__ import annotations

from flask import g, jsonify, request

from ..conversion import ConversionService
from .api import _json_body, api, services


def _service() -> ConversionService:
    return ConversionService(services().records)


@api.get("/records/<object_name>/<record_id:record_id>/convert")
def conversion_preview(object_name, record_id):
    return jsonify(_service().preview(g.actor, object_name, record_id, request.args.get("conversion")))


@api.post("/records/<object_name>/<record_id:record_id>/convert")
def convert_record(object_name, record_id):
    body = _json_body(dict) if request.get_data(cache=True).strip() else {}
    return jsonify(_service().convert(g.actor, object_name, record_id, body)), 201
