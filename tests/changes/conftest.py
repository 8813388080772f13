"""Fixtures of the change-pipeline tests (helpers live in changes_helpers.py)."""
import pytest

from changes_helpers import Env


@pytest.fixture
def env(engine, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return Env(engine, tmp_path)
