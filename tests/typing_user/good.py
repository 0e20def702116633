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

# The simple functions are made from their manager methods: the same parameters and results.
assert_type(pystmark.get_bounce(1, api_key="token"), pystmark.BounceResponse)
edited = pystmark.edit_server(track_opens=True, color="red", timeout=5.0, api_key="token")
assert_type(edited, pystmark.ServerConfigurationResponse)
created = pystmark.create_server("Staging", delivery_type="Sandbox", track_opens=True)
assert_type(created, pystmark.AccountServerResponse)
for rule in pystmark.iter_inbound_rules(max_results=5, api_key="token"):
    assert_type(rule, pystmark.InboundRule)
