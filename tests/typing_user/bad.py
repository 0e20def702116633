"""A user's mistakes: each marked line must be reported, by each checker, with that code."""

from __future__ import annotations

import pystmark

pystmark.send(42, api_key="token")  # expect: mypy=arg-type pyright=reportArgumentType
response = pystmark.send({"sender": "me@example.com"}, api_key="token")
message_id: str = response.mesage_id  # expect: mypy=attr-defined pyright=reportAttributeAccessIssue
bounce = pystmark.get_bounces(api_key="token").bounces[0]
address: str = bounce.emial  # expect: mypy=attr-defined pyright=reportAttributeAccessIssue
pystmark.Message(sender=["me@example.com"])  # expect: mypy=arg-type pyright=reportArgumentType
pystmark.get_bounces(count="10")  # expect: mypy=arg-type pyright=reportArgumentType
pystmark.get_bounce()  # expect: mypy=call-arg pyright=reportCallIssue
pystmark.edit_server(track_opens="yes")  # expect: mypy=arg-type pyright=reportArgumentType
pystmark.get_domain(1, tiemout=3)  # expect: mypy=call-arg pyright=reportCallIssue
pystmark.delete_template("welcome", 3)  # expect: mypy=call-arg pyright=reportCallIssue
domain: str = pystmark.get_domain(1)  # expect: mypy=assignment pyright=reportAssignmentType
