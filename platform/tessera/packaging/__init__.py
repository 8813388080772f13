"""`tessera.packaging`: package archives (`.tpkg`) — build, sign, verify, trust, install, upload.

archive_format.py  the format: zip + manifest, limits, content hash (and why zip)
build.py           check a package directory without a database and write its archive
signing.py         Ed25519 keys and signatures (the `cryptography` library)
reader.py          read an archive from anyone, in memory, refusing every known archive attack
trust.py           the org's trusted signing keys (audited)
installer.py       archives and directories → sources for ChangeService.install_packages
uploads.py         archives uploaded in Setup, and "upgrade available"
"""
