"""Every archive attack is refused by `tessera install` with the archive, the member and the
reason named, exit 1, and nothing installed. Archives are crafted member by member."""
from __future__ import annotations

import io
import stat
import struct
import tarfile
import zipfile

import pytest
from archive_helpers import MANIFEST, crafted, member, mini_files, run, zip_bytes

from tessera.changes import ChangeService
from tessera.packaging.archive_format import MAX_FILE_BYTES, MAX_FILES, MAX_TOTAL_BYTES, make_manifest
from tessera.storage.engine import make_engine


def _refused(db_url, tmp_path, data: bytes, *expected: str, name="evil.tpkg"):
    path = tmp_path / name
    path.write_bytes(data)
    engine = make_engine(db_url)
    try:
        before = ChangeService(engine).active().number
        r = run("install", path, "--allow-unsigned", "--database", db_url)
        assert r.exit_code == 1, r.output
        for text in expected:
            assert text in r.stderr, r.stderr
        assert "Traceback" not in r.output
        assert ChangeService(engine).active().number == before          # nothing installed
        names = {p["manifest"]["name"] for p in ChangeService(engine).active().snapshot["packages"]}
        assert "mini" not in names
    finally:
        engine.dispose()
    return r.stderr


def _patch_headers(data: bytes, name: str, fmt: str, *, central: int, local: int, value: int) -> bytes:
    """`data` with a field of member `name`'s central directory entry and local header set to
    `value` (what zipfile will not write: lying sizes, flags)."""
    out = bytearray(data)
    for signature, offset, name_len_at, name_at in ((b"PK\x01\x02", central, 28, 46), (b"PK\x03\x04", local, 26, 30)):
        at = out.find(signature)
        while at >= 0:
            length = struct.unpack_from("<H", out, at + name_len_at)[0]
            if bytes(out[at + name_at:at + name_at + length]) == name.encode():
                struct.pack_into(fmt, out, at + offset, value)
            at = out.find(signature, at + 4)
    return bytes(out)


def _with(extra_name: str, data: bytes = b"name: x\n", **kw):
    """The mini package plus one member `extra_name`, listed in the manifest (so only the name or
    type can be why it is refused)."""
    files = mini_files()
    listed = {**files, extra_name: data}
    return crafted(files, listed=listed, extra=[member(extra_name, data, **kw)])


def test_a_crafted_but_honest_archive_installs(testdb, tmp_path):
    """The control: the crafting helpers make archives the installer accepts."""
    path = tmp_path / "mini.tpkg"
    path.write_bytes(crafted(mini_files()))
    r = run("install", path, "--allow-unsigned", "--database", testdb)
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize("name, reason", [
    ("/etc/cron.d/evil.yaml", "is an absolute path"),
    ("C:/Windows/evil.yaml", "is an absolute path"),
    ("objects/../../../tmp/evil.yaml", "has a '..' part (it would point outside the package)"),
    ("../package.yaml", "has a '..' part"),
    ("objects\\..\\..\\evil.yaml", "has a backslash in its name"),
    ("objects/./mini_x.yaml", "has an empty or '.' part"),
    ("objects/evil\x1b.yaml", "has a control character"),
])
def test_paths_escaping_the_package_are_refused(testdb, tmp_path, name, reason):
    _refused(testdb, tmp_path, _with(name), f"evil.tpkg: {name}: {reason}", "nothing was installed")


@pytest.mark.parametrize("mode, reason", [
    (stat.S_IFLNK | 0o777, "is a symbolic link"),
    (stat.S_IFCHR | 0o600, "is a device file"),
    (stat.S_IFBLK | 0o600, "is a device file"),
    (stat.S_IFIFO | 0o600, "is a named pipe"),
    (stat.S_IFSOCK | 0o600, "is a socket"),
])
def test_links_devices_and_pipes_are_refused(testdb, tmp_path, mode, reason):
    _refused(testdb, tmp_path, _with("objects/mini_link.yaml", b"/etc/passwd", mode=mode),
             f"evil.tpkg: objects/mini_link.yaml: {reason}")


def test_tar_archives_with_hard_links_and_devices_are_not_package_archives(testdb, tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        data = mini_files()["package.yaml"]
        info = tarfile.TarInfo("package.yaml")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("objects/mini_note.yaml")
        link.type, link.linkname = tarfile.LNKTYPE, "/etc/passwd"
        tar.addfile(link)
        device = tarfile.TarInfo("objects/dev.yaml")
        device.type, device.devmajor, device.devminor = tarfile.CHRTYPE, 1, 3
        tar.addfile(device)
    _refused(testdb, tmp_path, buffer.getvalue(), "evil.tpkg: is not a package archive (not a zip file")


def test_duplicate_names_are_refused(testdb, tmp_path):
    files = mini_files()
    data = crafted(files, extra=[member("objects/mini_note.yaml", b"name: mini_note\nlabel: Evil\nfields: {}\n")])
    _refused(testdb, tmp_path, data, "evil.tpkg: objects/mini_note.yaml: appears twice in the archive")


def test_names_differing_only_in_case_are_refused(testdb, tmp_path):
    _refused(testdb, tmp_path, _with("objects/MINI_NOTE.yaml"),
             "evil.tpkg: objects/MINI_NOTE.yaml: differs from 'objects/mini_note.yaml' only in letter case")


def test_too_many_files_are_refused_before_reading_any(testdb, tmp_path):
    files = mini_files()
    extra = [member(f"objects/o{i}.yaml", b"") for i in range(MAX_FILES + 1)]
    _refused(testdb, tmp_path, crafted(files, extra=extra), f"evil.tpkg: has more than {MAX_FILES} files")


def test_a_zip_bomb_is_refused_by_its_declared_total(testdb, tmp_path):
    zeros = b"\0" * MAX_FILE_BYTES       # each member at the per-file limit, deflated to ~1 KiB
    count = MAX_TOTAL_BYTES // MAX_FILE_BYTES + 1
    extra = [member(f"objects/bomb{i}.yaml", zeros) for i in range(count)]
    data = crafted(mini_files(), extra=extra)
    assert len(data) < MAX_FILE_BYTES     # a small download
    _refused(testdb, tmp_path, data, f"its files declare more than {MAX_TOTAL_BYTES} bytes in all")


def test_a_single_oversized_file_is_refused(testdb, tmp_path):
    _refused(testdb, tmp_path, _with("objects/big.yaml", b" " * (MAX_FILE_BYTES + 1)),
             f"evil.tpkg: objects/big.yaml: declares {MAX_FILE_BYTES + 1} bytes; a file may have at most {MAX_FILE_BYTES}")


def test_a_member_holding_more_than_it_declares_is_refused_while_reading(testdb, tmp_path):
    """The central directory says 10 bytes; the stored data is 200 KiB. Counting while reading
    stops at the declared size and the member is refused (its checksum cannot match)."""
    files = mini_files()
    big = b"a" * (200 * 1024)
    info, _ = member("objects/liar.yaml", big)
    info.compress_type = zipfile.ZIP_STORED
    data = crafted(files, listed={**files, "objects/liar.yaml": big}, extra=[(info, big)])
    data = _patch_headers(data, "objects/liar.yaml", "<I", central=24, local=22, value=10)   # uncompressed size
    _refused(testdb, tmp_path, data, "evil.tpkg: objects/liar.yaml: is damaged")


def test_an_encrypted_member_is_refused(testdb, tmp_path):
    data = _patch_headers(_with("objects/secret.yaml"), "objects/secret.yaml", "<H", central=8, local=6, value=0x1)
    _refused(testdb, tmp_path, data, "objects/secret.yaml: is encrypted")


def test_a_file_not_in_the_manifest_is_refused(testdb, tmp_path):
    files = mini_files()
    data = crafted(files, extra=[member("objects/smuggled.yaml", b"name: smuggled\n")])
    _refused(testdb, tmp_path, data, "evil.tpkg: objects/smuggled.yaml: is not in the manifest")


def test_a_file_missing_from_the_archive_is_refused(testdb, tmp_path):
    files = mini_files()
    data = crafted(files, listed={**files, "objects/gone.yaml": b"name: gone\n"})
    _refused(testdb, tmp_path, data, "evil.tpkg: objects/gone.yaml: is in the manifest but missing from the archive")


def test_no_manifest_and_foreign_members_are_refused(testdb, tmp_path):
    plain = zip_bytes([member(p, d) for p, d in mini_files().items()])
    _refused(testdb, tmp_path, plain, "evil.tpkg: has no manifest (.tpkg/manifest.json)")
    _refused(testdb, tmp_path, _with("scripts/postinstall.sh", b"rm -rf /"),
             "evil.tpkg: scripts/postinstall.sh: is not a package file")
    _refused(testdb, tmp_path, _with(".tpkg/hooks.json", b"{}"), "evil.tpkg: .tpkg/hooks.json: is not part of the archive format")
    _refused(testdb, tmp_path, zip_bytes([member(MANIFEST, b'{"format": 1, "format": 2}')]),
             "evil.tpkg: .tpkg/manifest.json: duplicate key 'format'")


def test_a_wrong_content_hash_is_refused(testdb, tmp_path):
    files = mini_files()
    manifest = make_manifest("mini", "1.0.0", files).replace(b'"content_hash":"', b'"content_hash":"0')
    data = zip_bytes([member(MANIFEST, manifest), *(member(p, d) for p, d in files.items())])
    _refused(testdb, tmp_path, data, ".tpkg/manifest.json: the content hash does not match the files it lists")


def test_package_yaml_must_agree_with_the_manifest(testdb, tmp_path):
    _refused(testdb, tmp_path, crafted(mini_files(), version="9.9.9"),
             "evil.tpkg: package.yaml: package.yaml says mini 1.0.0 but the manifest says mini 9.9.9")


def test_yaml_anchors_and_aliases_are_refused(testdb, tmp_path):
    """A "billion laughs" object: refused at the first anchor, before anything is expanded."""
    laughs = ("name: mini_note\nlabel: &a Laugh\nplural_label: *a\nfields:\n"
              "  name: {type: text}\nx: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\ny: [*b, *b, *b, *b, *b, *b, *b, *b]\n")
    _refused(testdb, tmp_path, crafted(mini_files(object_doc=laughs)),
             "evil.tpkg/objects/mini_note.yaml: invalid YAML at line 2, column 8: anchors (&name) are not allowed")
    alias_only = "name: mini_note\nlabel: Note\nplural_label: Notes\nfields: *x\n"
    _refused(testdb, tmp_path, crafted(mini_files(object_doc=alias_only)),
             "evil.tpkg/objects/mini_note.yaml: invalid YAML at line 4, column 9: aliases (*name) are not allowed")


def test_one_component_in_two_files_is_refused(testdb, tmp_path):
    files = mini_files()
    files["objects/mini_note.yml"] = files["objects/mini_note.yaml"].replace(b"Mini Note", b"Shadow")
    _refused(testdb, tmp_path, crafted(files),
             "evil.tpkg/objects/mini_note.yml: 'mini_note' is also defined by evil.tpkg/objects/mini_note.yaml")
