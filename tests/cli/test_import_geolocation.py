"""`tessera import` of a geolocation column (issue 14 §1): one CSV column holding "latitude,
longitude" (quoted, as CSV quotes any value with a comma); a bad value fails the whole import
naming the line, the field and the part. Both databases."""
from __future__ import annotations


from click.testing import CliRunner

from tessera.cli import _register, cli
from tessera.security.actor import SYSTEM
from tessera.services import Services

_register() if not cli.commands else None



def locations(db_url):
    svc = Services.open(db_url, poll_seconds=0)
    try:
        return {c["name"]: c["location"] for c in svc.records.query(SYSTEM, "company", fields="name,location").records}
    finally:
        svc.engine.dispose()


def test_a_location_column_holds_latitude_comma_longitude(testdb, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text('name,location\nAcme,"48.8566, 2.3522"\nGlobex,"-33.8688,151.2093"\nInitech,\n', encoding="utf-8")
    r = CliRunner().invoke(cli, ["import", "company", str(good), "--database", testdb], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert locations(testdb) == {"Acme": {"latitude": 48.8566, "longitude": 2.3522},
                                 "Globex": {"latitude": -33.8688, "longitude": 151.2093}, "Initech": None}
    bad = tmp_path / "bad.csv"
    bad.write_text('name,location\nOk,"1, 2"\nFar,"91, 2"\nWords,Paris\n', encoding="utf-8")
    r = CliRunner().invoke(cli, ["import", "company", str(bad), "--database", testdb], catch_exceptions=False)
    assert r.exit_code != 0
    assert "latitude must be between -90 and 90" in r.output and "location" in r.output
    assert "'Paris' is not" in r.output
    assert set(locations(testdb)) == {"Acme", "Globex", "Initech"}   # all or nothing
