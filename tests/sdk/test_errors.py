"""The error hierarchy: one line, what went wrong and what to do next."""

from __future__ import annotations

import pytest

from agavepy import errors


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, errors.BadRequestError),
        (401, errors.AuthenticationError),
        (403, errors.PermissionDeniedError),
        (404, errors.NotFoundError),
        (409, errors.ConflictError),
        (413, errors.BadRequestError),
        (422, errors.BadRequestError),
        (500, errors.ServerError),
        (503, errors.ServerError),
    ],
)
def test_status_maps_to_class(status, cls):
    assert errors.error_class_for_status(status) is cls
    assert issubclass(cls, errors.AgaveError)


def test_str_is_one_line_with_server_message_status_and_hint():
    err = errors.NotFoundError(
        "deleting client 'x' failed", status=404, server_message="No client\nnamed x"
    )
    text = str(err)
    assert "\n" not in text
    assert text.startswith("deleting client 'x' failed: No client named x (HTTP 404); ")
    assert err.hint in text


def test_missing_value_names_parameter_and_environment():
    err = errors.MissingValueError("API password", "password", "AGAVE_PASSWORD")
    assert "API password" in str(err)
    assert "password=" in str(err) and "AGAVE_PASSWORD" in str(err)


def test_no_client_says_what_to_do():
    assert "clients_create(name, description)" in str(errors.NoClientError())


def test_rate_limited_carries_retry_after():
    err = errors.RateLimitedError("x failed", retry_after=3, status=429)
    assert err.retry_after == 3 and "wait 3 seconds" in str(err)


def test_prompts_need_a_terminal_or_a_front_end(monkeypatch):
    import getpass
    import io

    from agavepy import prompts

    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert not prompts.can_prompt()
    with pytest.raises(errors.MissingValueError, match="AGAVE_PASSWORD"):
        prompts.ask_password()

    def kernel_getpass(prompt: str = "") -> str:  # what a Jupyter kernel installs
        return "typed-in-a-notebook"

    kernel_getpass.__module__ = "ipykernel.kernelbase"
    monkeypatch.setattr(getpass, "getpass", kernel_getpass)
    assert prompts.can_prompt()
    assert prompts.ask_password() == "typed-in-a-notebook"
    with pytest.raises(errors.MissingValueError):
        prompts.ask_password(allowed=False)


@pytest.mark.parametrize("url", ["localhost:8000", "ftp://host", "http://", "not a url"])
def test_bad_urls_are_refused_up_front(url, monkeypatch):
    from agavepy.agave import Agave
    from agavepy.token import Token

    with pytest.raises(errors.BadRequestError, match="invalid api_server"):
        Agave(api_server=url)
    with pytest.raises(errors.BadRequestError, match="invalid tenants_url"):
        Agave(tenants_url=url)
    with pytest.raises(errors.BadRequestError, match="invalid api_server"):
        Token(url, "key", "secret")
    monkeypatch.setenv("AGAVE_TENANTS_API_BASEURL", url)
    with pytest.raises(errors.BadRequestError, match="invalid AGAVE_TENANTS_API_BASEURL"):
        Agave(tenant_id="sd2e").init()
