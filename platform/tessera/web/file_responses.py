"""Serving stored files (API and /app alike): never as something a browser would run.

  * Content-Type: the type sniffed on upload (files/sniff.py), never the uploader's claim;
  * Content-Disposition: attachment, except raster images and PDFs (inline, for previews);
  * X-Content-Type-Options: nosniff, so a browser keeps to that type;
  * a Content-Security-Policy of the download's own that allows nothing to run (sandboxed, no
    scripts, no connections); PDFs keep a plugin-friendly policy without `sandbox`, which would
    stop Chromium's viewer, and may be framed by our own pages for the preview only.
"""
from __future__ import annotations

from flask import request, send_file

from ..files.sniff import OCTET

CSP_FILE = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'; sandbox"
CSP_PDF = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; object-src 'self'; frame-ancestors 'self'"


def file_response(download):
    record = download.record
    content_type = record.get("content_type") or OCTET
    if not download.inline and content_type.startswith("text/"):
        content_type += "; charset=utf-8" if "charset" not in content_type else ""
    response = send_file(download.stream, mimetype=content_type, as_attachment=not download.inline,
                         download_name=record.get("name") or "file", conditional=True,
                         etag=record.get("checksum") or False, max_age=0)
    if response.status_code == 200 and record.get("size") is not None and request.method != "HEAD":
        response.headers["Content-Length"] = str(record["size"])
    headers = response.headers
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Content-Security-Policy"] = CSP_PDF if content_type == "application/pdf" else CSP_FILE
    headers["X-Frame-Options"] = "SAMEORIGIN"
    headers["Cache-Control"] = "private, no-cache"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return response
