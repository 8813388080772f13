"""Rate limits (Flask-Limiter, counted in the database): per user and per address on the API, per
address and per username on failed sign-ins; 429 with the API's error body and Retry-After;
limits set by the environment, bad values refused. Both databases. (Counting shared by several
gunicorn workers: tests/web/test_serve.py.)"""
from __future__ import annotations

import uuid

import pytest

from tessera.environment import EnvironmentSettingError
from tessera.web.app import create_app

HTML = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}


@pytest.fixture
def limited(services, monkeypatch):
    """An app with small limits: 3 API requests and 2 failed sign-ins a minute."""
    monkeypatch.setenv("TESSERA_RATE_LIMIT_API", "3/minute")
    monkeypatch.setenv("TESSERA_RATE_LIMIT_LOGIN", "2 per minute")
    return create_app(services=services)


def token_for(services, username="admin"):
    user = services.identity.find_user(username)
    return services.identity.tokens.create(uuid.UUID(user["id"]), name="rate")[1]


def api_get(app, token, address="10.1.0.1"):
    return app.test_client().get("/api/v1/records/user?limit=1", headers={"Authorization": f"Bearer {token}"},
                                 environ_base={"REMOTE_ADDR": address})


def assert_rate_limited(response):
    assert response.status_code == 429
    body = response.get_json()
    assert body["error"]["code"] == "rate_limited" and "3 per 1 minute" in body["error"]["message"]
    assert 1 <= body["error"]["retry_after"] <= 61
    assert response.headers["Retry-After"] == str(body["error"]["retry_after"])


def test_api_requests_are_limited_per_user_across_their_tokens(limited, services):
    first, second = token_for(services), token_for(services)
    assert [api_get(limited, first, address=f"10.1.0.{n}").status_code for n in range(2)] == [200, 200]
    assert api_get(limited, second, address="10.1.0.9").status_code == 200       # the same user: 3rd
    assert_rate_limited(api_get(limited, second, address="10.1.0.10"))
    assert_rate_limited(api_get(limited, first, address="10.1.0.11"))


def test_api_requests_are_limited_per_address_across_users(limited, services):
    services.identity.create_user("rita", password="quartz-meadow-81", email="rita@example.com",
                                  last_name="Rep", profile="system_administrator")
    admin, rita = token_for(services), token_for(services, "rita")
    assert [api_get(limited, admin).status_code for _ in range(2)] == [200, 200]
    assert api_get(limited, rita).status_code == 200
    assert_rate_limited(api_get(limited, rita))                          # the address's 4th
    assert api_get(limited, rita, address="10.1.0.2").status_code == 200  # her own 2nd, from elsewhere
    # requests without a valid token count against the address only
    bad = limited.test_client().get("/api/v1/records/user", headers={"Authorization": "Bearer nope"},
                                    environ_base={"REMOTE_ADDR": "10.1.0.2"})
    assert bad.status_code == 401
    assert_rate_limited(api_get(limited, rita, address="10.1.0.2"))


def sign_in(app, username, password, address="10.2.0.1", headers=None):
    client = app.test_client()
    page = client.get("/login", environ_base={"REMOTE_ADDR": address}).get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    return client.post("/login", data={"csrf_token": token, "username": username, "password": password},
                       headers=headers or {}, environ_base={"REMOTE_ADDR": address})


def test_failed_sign_ins_are_limited_per_address_and_per_username(limited):
    assert [sign_in(limited, "admin", "wrong").status_code for _ in range(2)] == [401, 401]
    r = sign_in(limited, "someone-else", "wrong")                      # the same address
    assert r.status_code == 429 and r.get_json()["error"]["code"] == "rate_limited"
    assert 1 <= int(r.headers["Retry-After"]) <= 61
    assert sign_in(limited, "admin", "wrong", address="10.2.0.2").status_code == 429   # admin's 3rd failure
    assert sign_in(limited, "another", "wrong", address="10.2.0.2").status_code == 401
    # a browser gets the sign-in page back, with the wait
    page = sign_in(limited, "admin", "wrong", address="10.2.0.3", headers=HTML)
    assert page.status_code == 429 and "Too many sign-in attempts: try again in" in page.get_data(as_text=True)
    assert "Retry-After" in page.headers


def test_successful_sign_ins_do_not_use_up_the_allowance(limited):
    """An office behind one address signing in in the morning is never refused."""
    assert [sign_in(limited, "admin", "orchid-lantern-42").status_code for _ in range(5)] == [302] * 5


@pytest.mark.parametrize("name", ["TESSERA_RATE_LIMIT_API", "TESSERA_RATE_LIMIT_LOGIN"])
@pytest.mark.parametrize("value", ["lots", "10/fortnight", "-5/minute"])
def test_a_bad_limit_stops_the_app_with_the_setting_named(services, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(EnvironmentSettingError, match=f"{name}: .* is not a rate limit such as 600/minute"):
        create_app(services=services)


def test_limits_can_be_turned_off(services, monkeypatch):
    monkeypatch.setenv("TESSERA_RATE_LIMIT_API", "off")
    monkeypatch.setenv("TESSERA_RATE_LIMIT_LOGIN", "1/minute")
    app = create_app(services=services)
    token = token_for(services)
    assert {api_get(app, token).status_code for _ in range(5)} == {200}
    assert [sign_in(app, "admin", "wrong").status_code for _ in range(2)] == [401, 429]


def test_the_defaults_leave_room_for_normal_use(services, monkeypatch):
    for name in ("TESSERA_RATE_LIMIT_API", "TESSERA_RATE_LIMIT_LOGIN"):
        monkeypatch.delenv(name, raising=False)
    app = create_app(services=services)
    token = token_for(services)
    assert {api_get(app, token).status_code for _ in range(50)} == {200}


def test_the_openapi_document_names_the_429(api):
    doc = api.get("/api/v1/openapi.json").get_json()
    answer = doc["paths"]["/records/company"]["get"]["responses"]["429"]
    assert "Retry-After" in answer["headers"]
