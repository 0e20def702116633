"""A user's script: must type-check cleanly under mypy --strict and pyright strict."""

from __future__ import annotations

from datetime import datetime

from typing_extensions import assert_type

import pystmark
from pystmark import Bounce, Message, SendResponse

response = pystmark.send(
    {"sender": "me@example.com", "to": "you@example.com", "text": "Hi"}, api_key="token"
)
assert_type(response, SendResponse)
assert_type(response.message_id, str)
assert_type(response.submitted_at, datetime | None)

message = Message(sender="me@example.com", to=["a@example.com"], subject="Hi", text="Hello")
assert_type(message.validate(), Message)

bounces = pystmark.get_bounces(count=10, api_key="token")
first = bounces.bounces[0]
assert_type(first, Bounce)
assert_type(first.id, int)
assert_type(first.email, str)

try:
    pystmark.send_batch([message], api_key="token").raise_for_errors()
except pystmark.MessageError as error:
    assert_type(error.field, str | None)
