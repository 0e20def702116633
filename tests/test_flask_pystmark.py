"""Flask-Pystmark (the Flask extension written for pystmark 0.5) works unchanged.

Its main path against this module, offline: the extension initialised on an
app, messages built with its ``Message`` (defaults from the app's config) and
sent through it, answered by ``responses``; no socket is ever opened.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import flask
import flask_pystmark
import pytest
import responses as responses_lib

from tests.conftest import API, TOKEN, ok_result


@pytest.fixture
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def refuse(sock: socket.socket, address: Any) -> None:
        raise AssertionError(f"a request reached a socket: {address!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    yield


@pytest.fixture
def app() -> Any:
    app = flask.Flask("pystmark-test")
    app.config.update(
        PYSTMARK_API_KEY=TOKEN,
        PYSTMARK_DEFAULT_SENDER="me@example.com",
        PYSTMARK_DEFAULT_REPLY_TO="replies@example.com",
        PYSTMARK_DEFAULT_HEADERS=[{"Name": "X-App", "Value": "shop"}],
        PYSTMARK_VERIFY_MESSAGES=True,
    )
    return app


def test_send_through_the_extension(app: Any, no_sockets: None) -> None:
    extension = flask_pystmark.Pystmark(app)
    assert app.pystmark is extension
    with app.app_context(), responses_lib.RequestsMock() as mocked:
        mocked.post(API + "/email", json=ok_result())
        message = flask_pystmark.Message(to="you@example.com", subject="Hi", text="Hello")
        response = extension.send(message)
        request = mocked.calls[0].request
    assert response.message.id == ok_result()["MessageID"]
    assert response.status_code == 200
    assert request.headers["X-Postmark-Server-Token"] == TOKEN
    assert json.loads(request.body) == {
        "From": "me@example.com",
        "To": "you@example.com",
        "ReplyTo": "replies@example.com",
        "Subject": "Hi",
        "TextBody": "Hello",
        "Headers": [{"Name": "X-App", "Value": "shop"}],
    }


def test_test_mode_batch_and_bounce_calls(app: Any, no_sockets: None) -> None:
    app.config["PYSTMARK_TEST_API"] = True
    extension = flask_pystmark.Pystmark()
    extension.init_app(app)
    with app.app_context(), responses_lib.RequestsMock() as mocked:
        mocked.post(API + "/email/batch", json=[ok_result(0), ok_result(1)])
        mocked.get(
            API + "/deliverystats",
            json={"InactiveMails": 3, "Bounces": [{"Name": "All", "Count": 5}]},
        )
        mocked.get(API + "/bounces/tags", json=["welcome"])
        messages = [flask_pystmark.Message(to=f"r{n}@example.com", text="Hello") for n in range(2)]
        batch = extension.send_batch(messages)
        stats = extension.get_delivery_stats()
        tags = extension.get_bounce_tags()
        tokens = {call.request.headers["X-Postmark-Server-Token"] for call in mocked.calls}
    assert [result.message_id for result in batch.messages] == [
        ok_result(0)["MessageID"],
        ok_result(1)["MessageID"],
    ]
    assert (stats.total, stats.inactive) == (5, 3)
    assert tags.tags == ["welcome"]
    assert tokens == {"POSTMARK_API_TEST"}
