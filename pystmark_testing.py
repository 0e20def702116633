"""A local Postmark for tests and demos: an emulator, an outbox and a pytest plugin.

:class:`LocalPostmark` is a real HTTP server on 127.0.0.1 (standard library
only, one thread per connection) that speaks Postmark's API closely enough for
pystmark, and any other Postmark client, to be pointed at it with ``base_url``
or ``POSTMARK_API_URL``::

    from pystmark_testing import LocalPostmark

    with LocalPostmark() as postmark:
        pystmark.send(message, base_url=postmark.url, api_key=postmark.server_token)
        assert postmark.outbox[0].subject == "Hello"

It stores what it accepts (messages, bounces, suppressions, templates,
webhooks, message streams, inbound messages, servers, domains and sender
signatures) in memory, answers errors with Postmark's ErrorCodes, fires
webhooks for real, and turns mail to Postmark's bounce-testing addresses into
bounces. Installed with pystmark, it is also a pytest plugin: the ``postmark``
fixture. ``python -m pystmark_testing serve`` runs it in the foreground.
Nothing in ``pystmark`` imports this module.
"""

from __future__ import annotations

import base64
import contextlib
import email.policy
import email.utils
import heapq
import http
import itertools
import json
import re
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone, tzinfo
from email.encoders import encode_base64
from email.header import Header
from email.message import EmailMessage, Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import pytest

__all__ = [
    "DEFAULT_ACCOUNT_TOKEN",
    "DEFAULT_PORT",
    "DEFAULT_SERVER_TOKEN",
    "BOUNCE_TESTING_DOMAIN",
    "LocalPostmark",
    "OutboxMessage",
    "TEST_TOKEN",
    "TemplateSyntaxError",
    "WEBHOOK_RETRY_DELAYS",
    "WebhookCall",
    "postmark",
    "render_template",
    "serve_main",
]

# ---- Constants -------------------------------------------------------------

#: The port ``serve`` listens on unless ``--port`` says otherwise.
DEFAULT_PORT = 8625
#: The server token a :class:`LocalPostmark` accepts unless given another.
DEFAULT_SERVER_TOKEN = "local-server-token"
#: The account token a :class:`LocalPostmark` accepts unless given another.
DEFAULT_ACCOUNT_TOKEN = "local-account-token"
#: Postmark's test token: requests are validated, answered, and nothing is stored.
TEST_TOKEN = "POSTMARK_API_TEST"
#: Mail to ``<bouncetype>@`` this domain bounces (Postmark's sandbox black hole).
BOUNCE_TESTING_DOMAIN = "bounce-testing.postmarkapp.com"

# Postmark's limits (postmarkapp.com/developer/api/email-api, support article 1056).
_MAX_RECIPIENTS = 50
_MAX_BATCH = 500
_MAX_BODY_BYTES = 5 * 1024 * 1024
_MAX_MESSAGE_BYTES = 10 * 1024 * 1024
_MAX_REQUEST_BYTES = 50 * 1024 * 1024
_MAX_TAG = 1000
_MAX_PAGE = 500
_MAX_OFFSET = 10_000
_MAX_SUPPRESSIONS = 50

# Postmark's webhook retry schedule (support article "Understanding inbound
# webhook retries"): 1, 5, 10, 10, 10, 15, 30, 60, 120 and 360 minutes after the
# first attempt. The emulator keeps the shape and turns each minute into 10 ms.
_POSTMARK_RETRY_MINUTES = (1, 5, 10, 10, 10, 15, 30, 60, 120, 360)
#: Seconds before each retry of a failed webhook post (Postmark's, 6,000 times faster).
WEBHOOK_RETRY_DELAYS: tuple[float, ...] = tuple(
    minutes / 100 for minutes in _POSTMARK_RETRY_MINUTES
)

# name -> (TypeCode, Description, deactivates the address, can be reactivated)
# (postmarkapp.com/developer/api/bounce-api#bounce-types)
# fmt: off
_BOUNCE_TYPES: dict[str, tuple[int, str, bool, bool]] = {
    "HardBounce": (1, "The server was unable to deliver your message (ex: unknown user, mailbox not found).", True, True),  # noqa: E501
    "Transient": (2, "The server could not temporarily deliver your message (ex: Message is delayed due to network troubles).", False, False),  # noqa: E501
    "Unsubscribe": (16, "Unsubscribe or Remove request.", False, False),
    "Subscribe": (32, "Subscribe request from someone wanting to get added to the mailing list.", False, False),  # noqa: E501
    "AutoResponder": (64, "Automatic email responder (ex: \"Out of Office\" or \"On Vacation\").", False, False),  # noqa: E501
    "AddressChange": (128, "The recipient has requested an address change.", False, False),
    "DnsError": (256, "A temporary DNS error.", False, False),
    "SpamNotification": (512, "The message was delivered, but was either blocked by the user, or classified as spam, bulk mail, or had rejected content.", False, False),  # noqa: E501
    "OpenRelayTest": (1024, "The NDR is actually a test email message to see if the mail server is an open relay.", False, False),  # noqa: E501
    "Unknown": (2048, "Unable to classify the NDR.", False, False),
    "SoftBounce": (4096, "Unable to temporarily deliver message (i.e. mailbox full, account disabled, exceeds quota, out of disk space).", False, False),  # noqa: E501
    "VirusNotification": (8192, "The bounce is actually a virus notification warning about a virus/code infected message.", False, False),  # noqa: E501
    "ChallengeVerification": (16384, "The bounce is a challenge asking for verification you actually sent the email.", False, False),  # noqa: E501
    "BadEmailAddress": (100000, "Invalid email address.", False, False),
    "SpamComplaint": (100001, "The subscriber explicitly marked this message as spam.", True, False),  # noqa: E501
    "ManuallyDeactivated": (100002, "The email was manually deactivated.", True, True),
    "Unconfirmed": (100003, "Registration not confirmed.", False, False),
    "Blocked": (100006, "Blocked from this ISP due to content or blacklisting.", False, False),
    "SMTPApiError": (100007, "An error was returned while attempting to send through the SMTP API.", False, False),  # noqa: E501
    "InboundError": (100008, "Processing failed.", False, False),
    "DMARCPolicy": (100009, "Email rejected due DMARC Policy.", False, False),
    "TemplateRenderingFailed": (100010, "An error occurred while attempting to render your template.", False, False),  # noqa: E501
}
# fmt: on
# The sandbox addresses: every bounce type but SpamComplaint has one
# (postmarkapp.com/developer/user-guide/sandbox-mode/generate-fake-bounces).
_BOUNCE_ADDRESSES = {name.lower(): name for name in _BOUNCE_TYPES if name != "SpamComplaint"}
_SUPPRESSION_REASONS = {"HardBounce": "HardBounce", "SpamComplaint": "SpamComplaint"}

_ADDRESS = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[^@\s<>(),;:\"\[\]]+$")
_STREAM_ID = re.compile(r"^[a-z][a-z0-9_-]{0,29}$")
_TRACK_LINKS = ("None", "HtmlAndText", "HtmlOnly", "TextOnly")
# fmt: off
_FORBIDDEN_EXTENSIONS = frozenset({
    "vbs", "exe", "bin", "bat", "chm", "com", "cpl", "crt", "hlp", "hta", "inf",
    "ins", "isp", "jse", "lnk", "mdb", "pcd", "pif", "reg", "scr", "sct", "shs",
    "vbe", "vba", "wsf", "wsh", "wsl", "msc", "msi", "msp", "mst",
})
# fmt: on


# ---- Time --------------------------------------------------------------------


def _postmark_zone() -> tzinfo:
    """US Eastern time, in which Postmark writes timestamps and reads date filters."""
    try:
        import zoneinfo

        return zoneinfo.ZoneInfo("America/New_York")
    except Exception:  # no time zone database: Eastern standard time all year
        return timezone(timedelta(hours=-5), "EST")


_ZONE = _postmark_zone()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _stamp(moment: datetime) -> str:
    """A timestamp as Postmark writes one: Eastern time with its offset."""
    return moment.astimezone(_ZONE).isoformat()


def _parse_time(value: str, *, end: bool) -> datetime:
    """A ``fromdate``/``todate`` value; a bare date covers its whole day."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime(day.year, day.month, day.day)
            if end:
                moment += timedelta(days=1) - timedelta(microseconds=1)
        else:
            moment = datetime.fromisoformat(text.replace(" ", "T").replace("Z", "+00:00"))
    except ValueError:
        raise _Refusal(422, 0, f"Invalid date: '{value[:40]}'.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_ZONE)
    return moment


# ---- Errors ------------------------------------------------------------------


class _Refusal(Exception):
    """An error answer: HTTP status, Postmark ErrorCode and message."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _invalid(message: str) -> _Refusal:
    return _Refusal(422, 300, message)


class TemplateSyntaxError(ValueError):
    """A template that cannot be parsed; ``line`` and ``position`` locate it."""

    def __init__(self, message: str, line: int, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.position = position


# ---- Templates: Postmark's Mustachio subset ------------------------------------

_TAG = re.compile(r"\{\{\{\s*(.*?)\s*\}\}\}|\{\{\s*([#^/!]?)\s*(.*?)\s*\}\}", re.S)
_Node = tuple[Any, ...]


def _parse_template(text: str) -> list[_Node]:
    """Parse Mustachio into nodes: ("text", s), ("var", path, escape), ("section", ...)."""
    root: list[_Node] = []
    stack: list[tuple[str, str, list[_Node], int]] = []  # kind, name, parent, start
    current = root
    position = 0

    def locate(index: int) -> tuple[int, int]:
        line = text.count("\n", 0, index) + 1
        return line, index - (text.rfind("\n", 0, index) + 1) + 1

    for match in _TAG.finditer(text):
        if match.start() > position:
            current.append(("text", text[position : match.start()]))
        position = match.end()
        raw, sigil, name = match.group(1), match.group(2), match.group(3)
        if raw is not None:
            if not raw:
                raise TemplateSyntaxError("An empty expression was found.", *locate(match.start()))
            current.append(("var", raw, False))
            continue
        if sigil == "!":
            continue
        if not name:
            raise TemplateSyntaxError("An empty expression was found.", *locate(match.start()))
        if sigil in ("#", "^"):
            kind = "invert" if sigil == "^" else "section"
            if sigil == "#" and (name == "each" or name.startswith("each ")):
                kind, name = "each", name[4:].strip() or "."
            children: list[_Node] = []
            current.append((kind, name, children))
            stack.append((kind, name, current, match.start()))
            current = children
        elif sigil == "/":
            if not stack:
                raise TemplateSyntaxError(
                    f"It appears that a closing tag for '{name}' was found with no "
                    "matching opening tag.",
                    *locate(match.start()),
                )
            kind, opened, parent, _ = stack.pop()
            expected = "each" if kind == "each" else opened
            if name not in (expected, opened):
                raise TemplateSyntaxError(
                    f"It appears that the closing tag '{name}' does not match the "
                    f"opening tag '{opened}'.",
                    *locate(match.start()),
                )
            current = parent
        else:
            current.append(("var", name, True))
    if stack:
        kind, opened, _, start = stack[-1]
        raise TemplateSyntaxError(
            f"It appears that the '{opened}' block was opened but never closed.", *locate(start)
        )
    if position < len(text):
        current.append(("text", text[position:]))
    return root


def _html_escape(text: str) -> str:
    """HTML-encode as Postmark's renderer does (``&``, ``<``, ``>``, ``"`` and ``'``)."""
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


def _display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"  # as .NET writes booleans
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


_MISSING = object()


class _Scope:
    """A context stack for path lookups, with ``..`` and ``@index`` support."""

    def __init__(self, frames: list[Any], index: int | None = None) -> None:
        self.frames = frames
        self.index = index

    def push(self, value: Any, index: int | None = None) -> _Scope:
        return _Scope([*self.frames, value], index)

    def lookup(self, path: str) -> Any:
        if path in (".", "this"):
            return self.frames[-1]
        if path == "@index":
            return self.index
        depth = len(self.frames) - 1
        while path.startswith("../"):
            path, depth = path[3:], max(depth - 1, 0)
        if path.startswith("this."):
            path = path[5:]
        first, *rest = path.split(".")
        # Mustachio looks a name up in the current scope, then in the enclosing ones.
        value: Any = _MISSING
        for frame in reversed(self.frames[: depth + 1]):
            if isinstance(frame, Mapping) and first in frame:
                value = frame[first]
                break
        for part in rest:
            if isinstance(value, Mapping) and part in value:
                value = value[part]
            else:
                return None
        return None if value is _MISSING else value


def _truthy(value: Any) -> bool:
    return value not in (None, False, "", 0) and value != [] and value != {}


def _render_nodes(nodes: list[_Node], scope: _Scope, escape: bool, out: list[str]) -> None:
    for node in nodes:
        kind = node[0]
        if kind == "text":
            out.append(node[1])
        elif kind == "var":
            text = _display(scope.lookup(node[1]))
            out.append(_html_escape(text) if escape and node[2] else text)
        elif kind == "section":
            value = scope.lookup(node[1])
            if _truthy(value):
                _render_nodes(node[2], scope.push(value), escape, out)
        elif kind == "invert":
            if not _truthy(scope.lookup(node[1])):
                _render_nodes(node[2], scope, escape, out)
        else:  # each
            value = scope.lookup(node[1])
            if isinstance(value, list):
                for index, item in enumerate(value):
                    _render_nodes(node[2], scope.push(item, index), escape, out)


def render_template(text: str, model: Mapping[str, Any], *, html: bool = False) -> str:
    """Render a Postmark template (Mustachio subset) with ``model``.

    Supports ``{{name}}``, dotted paths, ``{{{raw}}}``, sections ``{{#x}}``,
    inverted sections ``{{^x}}``, ``{{#each list}}`` (with ``{{.}}``, ``..``
    and ``@index``) and comments. With ``html=True`` values in double braces
    are HTML-encoded. Raises :class:`TemplateSyntaxError` for a broken template.
    """
    out: list[str] = []
    _render_nodes(_parse_template(text), _Scope([model]), html, out)
    return "".join(out)


def _suggest_model(texts: Iterable[str]) -> dict[str, Any]:
    """A model with a placeholder for every name the templates use."""
    suggestion: dict[str, Any] = {}

    def walk(nodes: list[_Node], target: dict[str, Any]) -> None:
        for node in nodes:
            if node[0] == "text" or node[1] in (".", "this", "@index", "@content"):
                continue
            if node[1].startswith("../"):
                continue
            parts = node[1].split(".")
            holder = target
            for part in parts[:-1]:
                existing = holder.get(part)
                holder = existing if isinstance(existing, dict) else holder.setdefault(part, {})
            last = parts[-1]
            if node[0] == "var":
                holder.setdefault(last, f"{last}_Value")
            elif node[0] == "each":
                item: dict[str, Any] = {}
                walk(node[2], item)
                holder[last] = [item]
            elif node[0] == "section":
                inner = holder.get(last)
                inner = inner if isinstance(inner, dict) else {}
                holder[last] = inner
                walk(node[2], inner)
            else:
                holder.setdefault(last, f"{last}_Value")
                walk(node[2], target)

    for text in texts:
        with contextlib.suppress(TemplateSyntaxError):
            walk(_parse_template(text), suggestion)
    return suggestion


# ---- Stored data -------------------------------------------------------------

_HEADER_NAME = re.compile(r"^[!-9;-~]+$")


def _header_text(value: str) -> str:
    """A header value on one line, RFC 2047-encoded when it is not ASCII."""
    value = " ".join(value.splitlines()).replace("\x00", "")
    return value if value.isascii() else Header(value, "utf-8").encode()


def _address_header(addresses: Sequence[str]) -> str:
    pairs = email.utils.getaddresses([" ".join(item.splitlines()) for item in addresses])
    return ", ".join(email.utils.formataddr(pair, charset="utf-8") for pair in pairs if pair[1])


class OutboxMessage:
    """One accepted message, as the local Postmark stored it.

    ``to``, ``cc`` and ``bcc`` are lists of addresses (with display names, as
    sent); ``text`` and ``html`` are the bodies after template rendering;
    ``events`` lists what happened to it (Postmark's ``MessageEvents``).
    """

    def __init__(self, fields: Mapping[str, Any]) -> None:
        self.message_id: str = fields["message_id"]
        self.message_stream: str = fields["message_stream"]
        self.received_at: datetime = fields["received_at"]
        self.sender: str = fields["sender"]
        self.to: list[str] = list(fields.get("to") or [])
        self.cc: list[str] = list(fields.get("cc") or [])
        self.bcc: list[str] = list(fields.get("bcc") or [])
        self.reply_to: str = fields.get("reply_to") or ""
        self.subject: str = fields.get("subject") or ""
        self.text: str | None = fields.get("text")
        self.html: str | None = fields.get("html")
        self.tag: str = fields.get("tag") or ""
        self.metadata: dict[str, Any] = dict(fields.get("metadata") or {})
        self.headers: list[dict[str, str]] = list(fields.get("headers") or [])
        self.attachments: list[dict[str, Any]] = list(fields.get("attachments") or [])
        self.track_opens: bool = bool(fields.get("track_opens"))
        self.track_links: str = fields.get("track_links") or "None"
        self.template_id: int | None = fields.get("template_id")
        self.template_model: dict[str, Any] | None = fields.get("template_model")
        self.bulk_id: str | None = fields.get("bulk_id")
        self.events: list[dict[str, Any]] = []
        self.status = "Sent"
        self._source: str | None = None

    @property
    def recipients(self) -> list[str]:
        """Every address of To, Cc and Bcc, without display names."""
        return [address for _, address in email.utils.getaddresses(self.to + self.cc + self.bcc)]

    def __repr__(self) -> str:
        return (
            f"OutboxMessage(message_id={self.message_id!r}, to={self.to!r}, "
            f"subject={self.subject!r}, message_stream={self.message_stream!r})"
        )

    def as_email(self) -> EmailMessage:
        """The message as an RFC 822 ``EmailMessage``, as Postmark would deliver it."""
        parsed = email.message_from_string(self.source(), policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    def source(self) -> str:
        """The RFC 822 source of the message (what the dump endpoint answers)."""
        if self._source is None:  # a stored message does not change: built once
            self._source = self._build_source()
        return self._source

    def _build_source(self) -> str:
        # email.mime with the compat32 policy: several times faster than
        # EmailMessage's header objects, which matters for 10,000 dumps.
        body: Message
        text = MIMEText(self.text or "", "plain", "utf-8")
        if self.html is None:
            body = text
        else:
            html = MIMEText(self.html, "html", "utf-8")
            body = html if self.text is None else MIMEMultipart("alternative", None, [text, html])
        if self.attachments:
            parts: list[Message] = [body]
            for attachment in self.attachments:
                content_type = str(attachment.get("ContentType") or "application/octet-stream")
                maintype, _, subtype = content_type.partition("/")
                try:
                    data = base64.b64decode(str(attachment.get("Content") or ""))
                except ValueError:
                    data = b""
                part = MIMEBase(maintype or "application", subtype or "octet-stream")
                part.set_payload(data)
                encode_base64(part)
                name = _header_text(str(attachment.get("Name") or "attachment"))
                part.add_header("Content-Disposition", "attachment", filename=name)
                parts.append(part)
            body = MIMEMultipart("mixed", None, parts)
        headers: list[tuple[str, str]] = [
            ("From", _address_header([self.sender])),
            ("To", _address_header(self.to)),
            ("Cc", _address_header(self.cc)),
            ("Reply-To", _address_header([self.reply_to] if self.reply_to else [])),
            ("Subject", _header_text(self.subject)),
            ("Date", email.utils.format_datetime(self.received_at)),
            ("Message-ID", f"<{self.message_id}@mtasv.net>"),
            ("X-PM-Message-Id", self.message_id),
            ("X-PM-Message-Stream", self.message_stream),
            ("X-PM-Tag", _header_text(self.tag)),
            *(
                (f"X-PM-Metadata-{key}", _header_text(str(value)))
                for key, value in self.metadata.items()
            ),
            *(
                (str(item.get("Name")), _header_text(str(item.get("Value", ""))))
                for item in self.headers
            ),
        ]
        content_headers = list(body.items())
        for name in list(body.keys()):
            del body[name]
        for name, value in headers:
            if value and _HEADER_NAME.match(name):
                body[name] = value
        for name, value in content_headers:
            body[name] = value
        return body.as_string()


class WebhookCall:
    """One webhook post the local Postmark made (each retry is another call)."""

    def __init__(
        self, url: str, payload: dict[str, Any], status: int | None, error: str | None
    ) -> None:
        #: The URL posted to, without any user and password.
        self.url = url
        #: The JSON body that was posted.
        self.payload = payload
        #: The HTTP status answered, ``None`` when the connection failed.
        self.status = status
        #: Why the post failed, when it did.
        self.error = error

    @property
    def record_type(self) -> str:
        """The payload's ``RecordType`` (``"Inbound"`` for an inbound message)."""
        return str(self.payload.get("RecordType") or "Inbound")

    @property
    def ok(self) -> bool:
        """True when the receiver answered 200."""
        return self.status == 200

    def __repr__(self) -> str:
        return f"WebhookCall({self.record_type}, {self.url!r}, status={self.status!r})"


class _Server:
    """One Postmark server's data: everything a server token reaches."""

    def __init__(self, server_id: int, name: str, token: str) -> None:
        self.id = server_id
        self.token = token
        self.settings: dict[str, Any] = {
            "ID": server_id,
            "Name": name,
            "ApiTokens": [token],
            "Color": "Blue",
            "SmtpApiActivated": True,
            "RawEmailEnabled": False,
            "DeliveryType": "Sandbox",
            "ServerLink": f"https://account.postmarkapp.com/servers/{server_id}/streams",
            "InboundAddress": f"{token[:8]}@inbound.postmarkapp.com",
            "InboundHookUrl": "",
            "BounceHookUrl": "",
            "OpenHookUrl": "",
            "DeliveryHookUrl": "",
            "ClickHookUrl": "",
            "PostFirstOpenOnly": False,
            "InboundDomain": "",
            "InboundHash": token[:8],
            "InboundSpamThreshold": 0,
            "TrackOpens": False,
            "TrackLinks": "None",
            "IncludeBounceContentInHook": False,
            "EnableSmtpApiErrorHooks": False,
        }
        self.reset()

    def reset(self) -> None:
        """Forget every message, bounce, template, stream and webhook."""
        self.messages: list[OutboxMessage] = []
        self.messages_by_id: dict[str, OutboxMessage] = {}
        self.bounces: list[dict[str, Any]] = []
        self.bounces_by_id: dict[int, dict[str, Any]] = {}
        self.suppressions: dict[str, dict[str, dict[str, Any]]] = {}
        self.templates: dict[int, dict[str, Any]] = {}
        self.webhooks: dict[int, dict[str, Any]] = {}
        self.inbound: list[dict[str, Any]] = []
        self.inbound_by_id: dict[str, dict[str, Any]] = {}
        self.opens: list[dict[str, Any]] = []
        self.clicks: list[dict[str, Any]] = []
        self.inbound_rules: dict[int, dict[str, Any]] = {}
        self.bulk: dict[str, dict[str, Any]] = {}
        created = _stamp(_now())
        self.streams: dict[str, dict[str, Any]] = {}
        for stream_id, name, kind in (
            ("outbound", "Default Transactional Stream", "Transactional"),
            ("inbound", "Default Inbound Stream", "Inbound"),
            ("broadcast", "Default Broadcast Stream", "Broadcasts"),
        ):
            self.streams[stream_id] = _new_stream(self.id, stream_id, name, kind, "", created)


def _new_stream(
    server_id: int, stream_id: str, name: str, kind: str, description: str, created: str
) -> dict[str, Any]:
    return {
        "ID": stream_id,
        "ServerID": server_id,
        "Name": name,
        "Description": description,
        "MessageStreamType": kind,
        "CreatedAt": created,
        "UpdatedAt": None,
        "ArchivedAt": None,
        "ExpectedPurgeDate": None,
        "SubscriptionManagementConfiguration": {"UnsubscribeHandlingType": "Postmark"},
    }


# ---- Webhook delivery --------------------------------------------------------


_Done = Callable[[bool], None] | None


class _Poster:
    """Posts webhooks from one background thread, retrying like Postmark.

    A post that is not answered 200 is tried again after each delay of
    ``delays``; an answer of 403 stops the retries, as at Postmark.
    """

    def __init__(self, delays: Sequence[float], timeout: float) -> None:
        self.delays = tuple(delays)
        self.timeout = timeout
        self.calls: list[WebhookCall] = []
        self._due: list[tuple[float, int, str, dict[str, str], dict[str, Any], int, _Done]] = []
        self._order = itertools.count()
        self._busy = 0
        self._condition = threading.Condition()
        self._stopped = False
        self._thread: threading.Thread | None = None
        # No proxies: the receivers are local.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def post(
        self,
        url: str,
        payload: dict[str, Any],
        headers: Mapping[str, str],
        done: _Done = None,
    ) -> None:
        """Queue one post of ``payload`` to ``url`` (user and password become basic auth).

        ``done(delivered)`` is called once the post is accepted or given up.
        """
        parts = urllib.parse.urlsplit(url)
        all_headers = {"Content-Type": "application/json", "User-Agent": "Postmark", **headers}
        if parts.username is not None:
            user = urllib.parse.unquote(parts.username)
            password = urllib.parse.unquote(parts.password or "")
            token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            all_headers["Authorization"] = f"Basic {token}"
            netloc = parts.hostname or ""
            if ":" in netloc:
                netloc = f"[{netloc}]"
            if parts.port is not None:
                netloc += f":{parts.port}"
            url = urllib.parse.urlunsplit(parts._replace(netloc=netloc))
        with self._condition:
            if self._thread is None or not self._thread.is_alive():
                self._stopped = False
                self._thread = threading.Thread(
                    target=self._run, name="local-postmark-webhooks", daemon=True
                )
                self._thread.start()
            item = (time.monotonic(), next(self._order), url, all_headers, payload, 0, done)
            heapq.heappush(self._due, item)
            self._condition.notify_all()

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._stopped and (not self._due or self._due[0][0] > time.monotonic()):
                    wait = self._due[0][0] - time.monotonic() if self._due else None
                    self._condition.wait(wait)
                if self._stopped:
                    return
                _, _, url, headers, payload, attempt, done = heapq.heappop(self._due)
                self._busy += 1
            status, error = self._attempt(url, headers, payload)
            final = status in (200, 403) or attempt >= len(self.delays)
            if final and done is not None:
                done(status == 200)  # outside the condition: it may take the store's lock
            with self._condition:
                self.calls.append(WebhookCall(url, payload, status, error))
                if not final:
                    due = time.monotonic() + self.delays[attempt]
                    item = (due, next(self._order), url, headers, payload, attempt + 1, done)
                    heapq.heappush(self._due, item)
                self._busy -= 1
                self._condition.notify_all()

    def _attempt(
        self, url: str, headers: dict[str, str], payload: dict[str, Any]
    ) -> tuple[int | None, str | None]:
        body = json.dumps(payload).encode("utf-8")
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with self._opener.open(request, timeout=self.timeout) as answer:
                answer.read()
                return int(answer.status), None
        except urllib.error.HTTPError as error:
            error.close()
            return int(error.code), f"HTTP {error.code}"
        except (OSError, ValueError) as error:
            return None, f"{type(error).__name__}: {error}"

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every queued post (and its retries) is done; False on timeout."""
        end = time.monotonic() + timeout
        with self._condition:
            while self._due or self._busy:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._condition.wait(left)
        return True

    def clear(self) -> None:
        """Drop queued posts, wait for one in flight, and forget the calls made."""
        with self._condition:
            self._due.clear()
            while self._busy:
                self._condition.wait(self.timeout + 1)
            self.calls.clear()
            self._condition.notify_all()

    def stop(self) -> None:
        """Stop the posting thread (queued posts are dropped)."""
        with self._condition:
            self._stopped = True
            self._condition.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout + 1)
            self._thread = None


# ---- The local Postmark ------------------------------------------------------


class _Call:
    """One API request on its way through the router."""

    def __init__(
        self,
        server: _Server | None,
        args: tuple[str, ...],
        query: dict[str, str],
        body: bytes,
        test: bool,
    ) -> None:
        self.server = server
        self.args = args
        self.query = query
        self.body = body
        self.test = test

    @property
    def data(self) -> _Server:
        """The server whose token came with the request."""
        assert self.server is not None
        return self.server

    def json(self) -> Any:
        """The request body decoded as JSON; ErrorCode 402 when it is not."""
        if not self.body.strip():
            raise _Refusal(422, 402, "Invalid JSON: the request body is empty.")
        try:
            return _canonical(json.loads(self.body))
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise _Refusal(
                422, 402, "Invalid JSON: the JSON input you provided is syntactically incorrect."
            ) from None

    def object(self) -> dict[str, Any]:
        """The request body, which must be a JSON object."""
        value = self.json()
        if not isinstance(value, dict):
            raise _invalid("The request body must be a JSON object.")
        return value


# Postmark reads JSON names without regard to case ("htmlbody" is HtmlBody):
# every name the emulator reads, by its lower-case spelling.
# fmt: off
_FIELD_NAMES = {name.lower(): name for name in (
    "From", "To", "Cc", "Bcc", "Subject", "Tag", "HtmlBody", "TextBody", "ReplyTo", "Headers",
    "Name", "Value", "TrackOpens", "TrackLinks", "Metadata", "Attachments", "Content",
    "ContentType", "ContentID", "ContentLength", "MessageStream", "TemplateId", "TemplateAlias",
    "TemplateModel", "InlineCss", "Messages", "Alias", "LayoutTemplate", "TemplateType",
    "TestRenderModel", "Url", "HttpAuth", "Username", "Password", "HttpHeaders", "Triggers",
    "Open", "Click", "Delivery", "Bounce", "SpamComplaint", "SubscriptionChange", "Enabled",
    "PostFirstOpenOnly", "IncludeContent", "Suppressions", "EmailAddress", "ID", "Description",
    "MessageStreamType", "Rule", "FromEmail", "ReplyToEmail", "ReturnPathDomain",
    "ConfirmationPersonalNote", "RequestedBy", "RequestedFor", "NotifyWhenCompleted",
    "SourceServerID", "DestinationServerID", "PerformChanges", "DeliveryType", "Color",
    "RawEmailEnabled", "SmtpApiActivated", "InboundHookUrl", "BounceHookUrl", "OpenHookUrl",
    "DeliveryHookUrl", "ClickHookUrl", "InboundDomain", "InboundSpamThreshold",
    "IncludeBounceContentInHook", "EnableSmtpApiErrorHooks", "SubscriptionManagementConfiguration",
    "UnsubscribeHandlingType",
)}
# fmt: on
# Objects whose names are the user's own, kept as sent.
_OPAQUE_FIELDS = frozenset({"Metadata", "TemplateModel", "TestRenderModel"})


def _canonical(value: Any) -> Any:
    """``value`` with every known JSON name spelled as Postmark documents it."""
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    if not isinstance(value, dict):
        return value
    result: dict[str, Any] = {}
    for key, item in value.items():
        name: str = _FIELD_NAMES.get(str(key).lower(), str(key))
        result[name] = item if name in _OPAQUE_FIELDS else _canonical(item)
    return result


_Handler = Callable[["LocalPostmark", _Call], Any]
_Item = TypeVar("_Item")
_ROUTES: list[tuple[str, re.Pattern[str], _Handler, str]] = []


def _route(method: str, pattern: str, scope: str = "server") -> Callable[[_Handler], _Handler]:
    """Register a handler for ``method`` and a path ``pattern`` (``{}`` is one segment)."""

    def register(handler: _Handler) -> _Handler:
        regex = re.compile("^" + pattern.replace("{}", "([^/]+)") + "/?$", re.I)
        # Fixed paths come first, so ``/templates/push`` is not ``/templates/{}``.
        _ROUTES.insert(0 if "{}" not in pattern else len(_ROUTES), (method, regex, handler, scope))
        return handler

    return register


def _page(
    items: Sequence[Any],
    call: _Call,
    code: int,
    predicate: Callable[[Any], bool] | None = None,
) -> tuple[int, list[Any]]:
    """``(total, items of the requested page)``, newest first, checking count and offset."""
    count, offset = _count_offset(call.query, code)
    if predicate is None:
        total = len(items)
        stop = total - offset
        return total, list(reversed(items[max(stop - count, 0) : max(stop, 0)]))
    matched = [item for item in reversed(items) if predicate(item)]
    return len(matched), matched[offset : offset + count]


def _count_offset(query: Mapping[str, str], code: int) -> tuple[int, int]:
    try:
        count = int(query["count"])
        offset = int(query["offset"])
    except KeyError:
        raise _Refusal(422, code, "The 'count' and 'offset' parameters are required.") from None
    except ValueError:
        raise _Refusal(422, code, "The 'count' and 'offset' parameters must be numbers.") from None
    if not 1 <= count <= _MAX_PAGE:
        raise _Refusal(422, code, f"The 'count' parameter must be between 1 and {_MAX_PAGE}.")
    if offset < 0:
        raise _Refusal(422, code, "The 'offset' parameter must not be negative.")
    if count + offset > _MAX_OFFSET:
        raise _Refusal(422, code, f"Count + Offset cannot exceed {_MAX_OFFSET} messages.")
    return count, offset


def _flag(value: str | None) -> bool | None:
    if value is None or value == "":
        return None
    return value.lower() == "true"


def _date_range(query: Mapping[str, str]) -> Callable[[datetime], bool]:
    low = _parse_time(query["fromdate"], end=False) if query.get("fromdate") else None
    high = _parse_time(query["todate"], end=True) if query.get("todate") else None

    def within(moment: datetime) -> bool:
        return (low is None or moment >= low) and (high is None or moment <= high)

    return within


def _addresses(value: Any, field: str) -> list[str]:
    """The addresses of a To/Cc/Bcc field, each checked; ErrorCode 300 when invalid."""
    if value is None or value == "":
        return []
    if not isinstance(value, str):
        raise _invalid(f"Invalid '{field}' address: the field must be a string.")
    pairs = email.utils.getaddresses([value])
    texts = [part.strip() for part in _split_addresses(value)]
    if len(pairs) > _MAX_RECIPIENTS:
        raise _invalid(
            f"Invalid '{field}' address: you can send to at most {_MAX_RECIPIENTS} recipients "
            "per field."
        )
    for (_, address), text in zip(pairs, texts, strict=False):
        if not _ADDRESS.match(address):
            raise _invalid(f"Invalid '{field}' address: '{text}'.")
    if len(pairs) != len(texts):
        raise _invalid(f"Invalid '{field}' address: '{value}'.")
    return texts


def _split_addresses(value: str) -> list[str]:
    """Split a header value at commas outside quotes and angle brackets."""
    parts, depth, quoted, start = [], 0, False, 0
    for index, char in enumerate(value):
        if char == '"':
            quoted = not quoted
        elif not quoted and char == "<":
            depth += 1
        elif not quoted and char == ">":
            depth = max(depth - 1, 0)
        elif not quoted and depth == 0 and char in ",;":
            parts.append(value[start:index])
            start = index + 1
    parts.append(value[start:])
    return [part for part in parts if part.strip()]


def _bare(address: str) -> str:
    return email.utils.parseaddr(address)[1].lower()


def _full(addresses: Sequence[str]) -> list[dict[str, str]]:
    return [
        {"Email": mail, "Name": name}
        for name, mail in (email.utils.parseaddr(item) for item in addresses)
    ]


class LocalPostmark:
    """A local Postmark: an HTTP server on ``host`` that speaks Postmark's API.

    :param port: 0 picks a free port (see :attr:`url`).
    :param server_token: the server token it accepts (``POSTMARK_API_TEST`` also
        works for sending: validated and answered, nothing stored).
    :param account_token: the account token it accepts.
    :param sender_signatures: From addresses that may send; with these or
        ``sender_domains`` given, any other sender is refused with ErrorCode 400.
        By default every sender is accepted.
    :param sender_domains: domains whose addresses may send.
    :param webhook_retry_delays: seconds before each retry of a failed webhook post.
    :param webhook_timeout: seconds a webhook receiver has to answer.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        server_token: str = DEFAULT_SERVER_TOKEN,
        account_token: str = DEFAULT_ACCOUNT_TOKEN,
        sender_signatures: Iterable[str] = (),
        sender_domains: Iterable[str] = (),
        webhook_retry_delays: Sequence[float] = WEBHOOK_RETRY_DELAYS,
        webhook_timeout: float = 5.0,
    ) -> None:
        if not server_token or server_token == TEST_TOKEN or not account_token:
            raise ValueError(
                "give a server token other than POSTMARK_API_TEST, and an account token"
            )
        self.host = host
        self.port = port
        self.server_token = server_token
        self.account_token = account_token
        self._initial_signatures = [address.lower() for address in sender_signatures]
        self._initial_domains = [domain.lower() for domain in sender_domains]
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._poster = _Poster(webhook_retry_delays, webhook_timeout)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._initial_state()

    def _initial_state(self) -> None:
        self._main = _Server(1, "Local Postmark", self.server_token)
        self._servers: dict[int, _Server] = {1: self._main}
        self._tokens: dict[str, _Server] = {self.server_token: self._main}
        self._server_ids = itertools.count(2)
        self._domains: dict[int, dict[str, Any]] = {}
        self._signatures: dict[int, dict[str, Any]] = {}
        self._removals: dict[int, dict[str, Any]] = {}
        for domain in self._initial_domains:
            _add_domain(self, domain)
        for address in self._initial_signatures:
            _add_signature(self, address, "")

    # -- lifecycle --

    @property
    def url(self) -> str:
        """The API root to give clients as ``base_url`` (``http://127.0.0.1:PORT``)."""
        if self._httpd is None:
            raise RuntimeError("the local Postmark is not running: call start() first")
        host, port = self._httpd.server_address[:2]
        host = str(host)
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._httpd is not None

    def start(self) -> LocalPostmark:
        """Start serving in a background thread; returns ``self``."""
        if self._httpd is not None:
            return self
        self._httpd = _HTTPServer((self.host, self.port), _RequestHandler, self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="local-postmark",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and stop posting webhooks."""
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._poster.stop()

    def __enter__(self) -> LocalPostmark:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget everything stored and every webhook call: back to the start state."""
        self._poster.clear()
        with self._lock:
            self._initial_state()

    # -- what tests read --

    @property
    def outbox(self) -> list[OutboxMessage]:
        """The messages accepted on the server token's server, oldest first."""
        with self._lock:
            return list(self._main.messages)

    @property
    def bounces(self) -> list[dict[str, Any]]:
        """The bounces recorded (Postmark's JSON shape), oldest first."""
        with self._lock:
            return [dict(bounce) for bounce in self._main.bounces]

    @property
    def inbound_messages(self) -> list[dict[str, Any]]:
        """The inbound messages injected with :meth:`inbound`, oldest first."""
        with self._lock:
            return [dict(message) for message in self._main.inbound]

    @property
    def webhook_calls(self) -> list[WebhookCall]:
        """Every webhook post made, after waiting for queued ones (see :meth:`flush_webhooks`)."""
        self.flush_webhooks()
        with self._poster._condition:
            return list(self._poster.calls)

    def flush_webhooks(self, timeout: float = 30.0) -> None:
        """Wait until queued webhook posts, retries included, are done."""
        if not self._poster.flush(timeout):
            raise TimeoutError(f"webhook posts still pending after {timeout} seconds")

    def suppressed(self, address: str, message_stream: str = "outbound") -> bool:
        """True when ``address`` is suppressed (inactive) on ``message_stream``."""
        with self._lock:
            return address.lower() in self._main.suppressions.get(message_stream, {})

    # -- simulating what happens after a send --

    def _find_message(self, message: OutboxMessage | str) -> OutboxMessage:
        message_id = message.message_id if isinstance(message, OutboxMessage) else message
        for server in self._servers.values():
            found = server.messages_by_id.get(message_id)
            if found is not None:
                return found
        raise LookupError(f"no message with MessageID {message_id!r}")

    def bounce(
        self,
        message: OutboxMessage | str,
        type: str = "HardBounce",
        *,
        recipient: str | None = None,
        details: str = "Test bounce details",
    ) -> dict[str, Any]:
        """Make ``message`` (or a MessageID) bounce; returns the bounce record.

        ``type`` is one of Postmark's bounce type names (``"SpamComplaint"`` for
        a spam complaint). A type that deactivates the address (HardBounce,
        SpamComplaint, ManuallyDeactivated) suppresses it on the message's
        stream, so the next send to it is refused with ErrorCode 406. Bounce
        or spam complaint webhooks are posted.
        """
        if type not in _BOUNCE_TYPES:
            raise ValueError(f"unknown bounce type {type!r}; one of {', '.join(_BOUNCE_TYPES)}")
        with self._lock:
            found = self._find_message(message)
            server = self._servers[_server_id_of(found, self._servers)]
            address = recipient or (found.recipients[0] if found.recipients else "")
            return dict(self._record_bounce(server, found, address, type, details))

    def open(
        self,
        message: OutboxMessage | str,
        *,
        recipient: str | None = None,
        platform: str = "Desktop",
        user_agent: str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0",
        read_seconds: int = 5,
    ) -> dict[str, Any]:
        """Record an open of ``message``; posts Open webhooks; returns the open record."""
        with self._lock:
            found = self._find_message(message)
            server = self._servers[_server_id_of(found, self._servers)]
            address = recipient or (_bare(found.to[0]) if found.to else "")
            first = not any(
                item["MessageID"] == found.message_id and item["Recipient"] == address
                for item in server.opens
            )
            record = {
                "RecordType": "Open",
                "MessageStream": found.message_stream,
                "Metadata": dict(found.metadata),
                "FirstOpen": first,
                "Recipient": address,
                "MessageID": found.message_id,
                "ReceivedAt": _stamp(_now()),
                "Platform": platform,
                "ReadSeconds": read_seconds,
                "Tag": found.tag,
                "UserAgent": user_agent,
                **_client_details(),
            }
            server.opens.append(record)
            found.events.append(
                _event(address, "Opened", {"Summary": "Email opened", "Platform": platform})
            )
            self._fire(server, found.message_stream, "Open", record, first_open=first)
            return dict(record)

    def click(
        self,
        message: OutboxMessage | str,
        url: str,
        *,
        recipient: str | None = None,
        location: str = "HTML",
        platform: str = "Desktop",
        user_agent: str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0",
    ) -> dict[str, Any]:
        """Record a click on ``url`` in ``message``; posts Click webhooks; returns the record."""
        with self._lock:
            found = self._find_message(message)
            server = self._servers[_server_id_of(found, self._servers)]
            address = recipient or (_bare(found.to[0]) if found.to else "")
            record = {
                "RecordType": "Click",
                "MessageStream": found.message_stream,
                "Metadata": dict(found.metadata),
                "Recipient": address,
                "MessageID": found.message_id,
                "ReceivedAt": _stamp(_now()),
                "Platform": platform,
                "ClickLocation": location,
                "OriginalLink": url,
                "Tag": found.tag,
                "UserAgent": user_agent,
                **_client_details(),
            }
            server.clicks.append(record)
            found.events.append(
                _event(address, "LinkClicked", {"Summary": "Link clicked", "Link": url})
            )
            self._fire(server, found.message_stream, "Click", record)
            return dict(record)

    def inbound(
        self,
        *,
        sender: str = "someone@example.com",
        to: str | None = None,
        subject: str = "",
        text: str = "",
        html: str = "",
        cc: str = "",
        reply_to: str = "",
        tag: str = "",
        mailbox_hash: str = "",
        headers: Sequence[Mapping[str, str]] = (),
        attachments: Sequence[Mapping[str, Any]] = (),
    ) -> dict[str, Any]:
        """Inject an inbound email: stored, listed by the inbound API, posted to the inbound hook.

        ``to`` defaults to the server's inbound address; returns the message as
        Postmark posts it.
        """
        with self._lock:
            server = self._main
            to = to or server.settings["InboundAddress"]
            name, address = email.utils.parseaddr(sender)
            message_id = str(uuid.uuid4())
            recipients = _split_addresses(to)
            cc_list = _split_addresses(cc) if cc else []
            record: dict[str, Any] = {
                "FromName": name,
                "MessageStream": "inbound",
                "From": address,
                "FromFull": {"Email": address, "Name": name, "MailboxHash": ""},
                "To": to,
                "ToFull": [{**item, "MailboxHash": mailbox_hash} for item in _full(recipients)],
                "Cc": cc,
                "CcFull": [{**item, "MailboxHash": ""} for item in _full(cc_list)],
                "Bcc": "",
                "BccFull": [],
                "OriginalRecipient": _bare(recipients[0]) if recipients else "",
                "Subject": subject,
                "MessageID": message_id,
                "ReplyTo": reply_to,
                "MailboxHash": mailbox_hash,
                "Date": email.utils.format_datetime(_now().astimezone(_ZONE)),
                "TextBody": text,
                "HtmlBody": html,
                "StrippedTextReply": "",
                "Tag": tag,
                "Headers": [{"Name": item["Name"], "Value": item["Value"]} for item in headers],
                "Attachments": [dict(item) for item in attachments],
                "RawEmail": "",
            }
            blocked = any(
                rule["Rule"].lower() in (address.lower(), address.lower().rpartition("@")[2])
                for rule in server.inbound_rules.values()
            )
            status = "Blocked" if blocked else "Processed"
            stored = {**record, "Status": status, "ReceivedAt": _stamp(_now())}
            server.inbound.append(stored)
            server.inbound_by_id[message_id] = stored
            if not blocked:  # mail from an inbound rule's sender is blocked, not posted
                self._post_inbound(server, stored)
            return dict(record)

    def _post_inbound(self, server: _Server, stored: dict[str, Any]) -> None:
        """Post an inbound message to the inbound hook; "Failed" once Postmark would give up."""
        hook = server.settings.get("InboundHookUrl")
        if not hook:
            return
        record = {
            key: value for key, value in stored.items() if key not in ("Status", "ReceivedAt")
        }

        def done(delivered: bool) -> None:
            with self._lock:
                stored["Status"] = "Processed" if delivered else "Failed"

        self._poster.post(hook, record, {}, done)

    # -- the HTTP API, without HTTP --

    def handle(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes = b""
    ) -> tuple[int, Any]:
        """Answer one API request: ``(HTTP status, JSON value)``; never raises."""
        parts = urllib.parse.urlsplit(target)
        query = {
            key.lower(): value
            for key, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        }
        lowered = {key.lower(): value for key, value in headers.items()}
        path = urllib.parse.unquote(parts.path).rstrip("/") or "/"
        allowed: list[str] = []
        for route_method, regex, handler, scope in _ROUTES:
            match = regex.match(path)
            if match is None:
                continue
            if route_method != method.upper():
                allowed.append(route_method)
                continue
            try:
                call = self._authorise(scope, lowered, match.groups(), query, body)
                with self._lock:
                    return 200, handler(self, call)
            except _Refusal as refusal:
                return refusal.status, {"ErrorCode": refusal.code, "Message": refusal.message}
            except Exception as error:  # a defect of the emulator: still a JSON answer
                return 500, {
                    "ErrorCode": 0,
                    "Message": f"The local Postmark failed: {type(error).__name__}: {error}",
                }
        if allowed:
            return 405, {"ErrorCode": 0, "Message": f"The method {method} is not allowed here."}
        return 404, {"ErrorCode": 0, "Message": f"No such endpoint: {method} {path}"}

    def _authorise(
        self,
        scope: str,
        headers: Mapping[str, str],
        args: tuple[str, ...],
        query: dict[str, str],
        body: bytes,
    ) -> _Call:
        if scope == "account":
            if headers.get("x-postmark-account-token") != self.account_token:
                raise _Refusal(
                    401, 10, "Request does not contain a valid Account API token in the header."
                )
            return _Call(None, args, query, body, False)
        token = headers.get("x-postmark-server-token")
        if token == TEST_TOKEN and scope == "send":
            return _Call(self._main, args, query, body, True)
        server = self._tokens.get(token or "")
        if server is None:
            raise _Refusal(
                401, 10, "Request does not contain a valid Server API token in the header."
            )
        return _Call(server, args, query, body, False)

    # -- events and webhooks --

    def _fire(
        self,
        server: _Server,
        stream: str,
        trigger: str,
        payload: dict[str, Any],
        *,
        first_open: bool = True,
        content: Callable[[], str] = str,
    ) -> None:
        """Post ``payload`` to every hook of ``stream`` listening for ``trigger``."""
        payload = {**payload, "ServerID": server.id}
        if stream == "outbound":
            setting = {
                "Delivery": "DeliveryHookUrl",
                "Bounce": "BounceHookUrl",
                "SpamComplaint": "BounceHookUrl",
                "Open": "OpenHookUrl",
                "Click": "ClickHookUrl",
            }[trigger]
            url = server.settings.get(setting)
            if url and (
                trigger != "Open" or first_open or not server.settings["PostFirstOpenOnly"]
            ):
                include = trigger in ("Bounce", "SpamComplaint") and bool(
                    server.settings["IncludeBounceContentInHook"]
                )
                self._poster.post(
                    url, {**payload, "Content": content()} if include else payload, {}
                )
        for hook in server.webhooks.values():
            options = hook["Triggers"].get(trigger) or {}
            if hook["MessageStream"] != stream or not options.get("Enabled"):
                continue
            if trigger == "Open" and options.get("PostFirstOpenOnly") and not first_open:
                continue
            body = {**payload, "Content": content()} if options.get("IncludeContent") else payload
            headers = {item["Name"]: item["Value"] for item in hook.get("HttpHeaders") or []}
            auth = hook.get("HttpAuth") or {}
            url = hook["Url"]
            if auth.get("Username"):
                credentials = f"{auth['Username']}:{auth.get('Password') or ''}"
                token = base64.b64encode(credentials.encode()).decode("ascii")
                headers["Authorization"] = f"Basic {token}"
            self._poster.post(url, body, headers)

    def _record_bounce(
        self, server: _Server, message: OutboxMessage, address: str, kind: str, details: str
    ) -> dict[str, Any]:
        code, description, deactivates, can_activate = _BOUNCE_TYPES[kind]
        address = _bare(address) or address
        bounce: dict[str, Any] = {
            "RecordType": "SpamComplaint" if kind == "SpamComplaint" else "Bounce",
            "ID": next(self._ids),
            "Type": kind,
            "TypeCode": code,
            "Name": _spaced(kind),
            "Tag": message.tag,
            "MessageID": message.message_id,
            "ServerID": server.id,
            "MessageStream": message.message_stream,
            "Description": description,
            "Details": details,
            "Email": address,
            "From": _bare(message.sender),
            "BouncedAt": _stamp(_now()),
            "DumpAvailable": True,
            "Inactive": deactivates,
            "CanActivate": can_activate,
            "Subject": message.subject,
            "Metadata": dict(message.metadata),
        }
        server.bounces.append(bounce)
        server.bounces_by_id[bounce["ID"]] = bounce
        message.events.append(
            _event(address, "Bounced", {"Summary": description, "BounceID": str(bounce["ID"])})
        )
        if deactivates:
            reason = _SUPPRESSION_REASONS.get(kind, "ManualSuppression")
            self._suppress(server, message.message_stream, address, reason, "Recipient")
        trigger = "SpamComplaint" if kind == "SpamComplaint" else "Bounce"
        self._fire(server, message.message_stream, trigger, bounce, content=message.source)
        return bounce

    def _suppress(
        self, server: _Server, stream: str, address: str, reason: str, origin: str
    ) -> None:
        server.suppressions.setdefault(stream, {})[address.lower()] = {
            "EmailAddress": address,
            "SuppressionReason": reason,
            "Origin": origin,
            "CreatedAt": _stamp(_now()),
        }


def _server_id_of(message: OutboxMessage, servers: Mapping[int, _Server]) -> int:
    for server_id, server in servers.items():
        if message.message_id in server.messages_by_id:
            return server_id
    raise LookupError(message.message_id)  # pragma: no cover - found before


def _spaced(name: str) -> str:
    """``"HardBounce"`` -> ``"Hard bounce"``, as Postmark names bounce types."""
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z][a-z]*|[a-z]+", name)
    return " ".join([words[0], *(word.lower() for word in words[1:])]) if words else name


def _event(recipient: str, kind: str, details: dict[str, Any]) -> dict[str, Any]:
    return {"Recipient": recipient, "Type": kind, "ReceivedAt": _stamp(_now()), "Details": details}


def _client_details() -> dict[str, Any]:
    return {
        "OS": {"Name": "Windows 10", "Family": "Windows", "Company": "Microsoft Corporation"},
        "Client": {"Name": "Chrome 120.0", "Family": "Chrome", "Company": "Google"},
        "Geo": {
            "CountryISOCode": "US",
            "Country": "United States",
            "RegionISOCode": "NY",
            "Region": "New York",
            "City": "New York",
            "Zip": "10001",
            "Coords": "40.7506,-73.9971",
            "IP": "192.0.2.1",
        },
    }


# ---- Sending -----------------------------------------------------------------


def _prepare(pm: LocalPostmark, call: _Call, raw: Any, *, template: bool) -> dict[str, Any]:
    """Check one message as Postmark does; the fields to store (ErrorCode on refusal)."""
    if not isinstance(raw, dict):
        raise _invalid("Each message must be a JSON object.")
    server = call.data
    if template:
        given = [name for name in ("Subject", "HtmlBody", "TextBody") if raw.get(name)]
        if given:
            raise _Refusal(
                422,
                1123,
                "Neither 'TextBody', 'HtmlBody', or 'Subject' may be specified when using "
                f"a template (found {', '.join(repr(name) for name in given)}).",
            )
    sender = raw.get("From")
    if not isinstance(sender, str) or not sender.strip():
        raise _invalid("Invalid 'From' address: no From address was given.")
    sender_address = email.utils.parseaddr(sender)[1]
    if not _ADDRESS.match(sender_address):
        raise _invalid(f"Invalid 'From' address: '{sender}'.")
    to = _addresses(raw.get("To"), "To")
    cc = _addresses(raw.get("Cc"), "Cc")
    bcc = _addresses(raw.get("Bcc"), "Bcc")
    if not (to or cc or bcc):
        raise _invalid("Zero recipients specified")
    reply_to = raw.get("ReplyTo") or ""
    if reply_to:
        _addresses(reply_to, "ReplyTo")
    tag = raw.get("Tag") or ""
    if not isinstance(tag, str) or len(tag) > _MAX_TAG:
        raise _invalid(f"The 'Tag' must be text of at most {_MAX_TAG} characters.")
    track_links = raw.get("TrackLinks") or "None"
    if track_links not in _TRACK_LINKS:
        raise _invalid(f"Invalid 'TrackLinks' value: '{track_links}'.")
    metadata = raw.get("Metadata") or {}
    if not isinstance(metadata, dict):
        raise _invalid("The 'Metadata' must be an object.")
    headers = raw.get("Headers") or []
    if not isinstance(headers, list) or not all(
        isinstance(item, dict) and isinstance(item.get("Name"), str) for item in headers
    ):
        raise _invalid("The 'Headers' must be a list of objects with a Name and a Value.")
    attachments = raw.get("Attachments") or []
    if not isinstance(attachments, list) or not all(isinstance(item, dict) for item in attachments):
        raise _invalid("The 'Attachments' must be a list of objects.")
    for attachment in attachments:
        name = str(attachment.get("Name") or "")
        if name.rpartition(".")[2].lower() in _FORBIDDEN_EXTENSIONS and "." in name:
            raise _Refusal(422, 411, f"Forbidden attachment type: '{name}'.")
    stream_id = raw.get("MessageStream") or "outbound"
    stream = server.streams.get(stream_id) if isinstance(stream_id, str) else None
    if stream is None or stream["ArchivedAt"]:
        raise _Refusal(
            422, 1235, f"The 'MessageStream' provided does not exist on this server: '{stream_id}'."
        )
    if stream["MessageStreamType"] == "Inbound":
        raise _Refusal(422, 1236, "Sending is not supported on the supplied 'MessageStream'.")
    fields: dict[str, Any] = {}
    if template:
        fields.update(_render_for_send(server, raw))
    else:
        html, text = raw.get("HtmlBody"), raw.get("TextBody")
        if not html and not text:
            raise _invalid("Provide either email TextBody or HtmlBody or both.")
        fields.update(subject=str(raw.get("Subject") or ""), html=html, text=text)
    for name in ("html", "text"):
        body = fields.get(name)
        if body is not None and not isinstance(body, str):
            raise _invalid(f"The '{'HtmlBody' if name == 'html' else 'TextBody'}' must be text.")
        if body and len(body.encode("utf-8")) > _MAX_BODY_BYTES:
            raise _invalid(
                f"The '{'HtmlBody' if name == 'html' else 'TextBody'}' is larger than 5 MB."
            )
    size = sum(len(str(item.get("Content") or "")) for item in attachments)
    if size > _MAX_MESSAGE_BYTES:
        raise _invalid("The message is larger than 10 MB, attachments included.")
    _check_sender(pm, sender_address)
    inactive = [
        address
        for address in (_bare(item) for item in to + cc + bcc)
        if address in server.suppressions.get(stream_id, {})
    ]
    if inactive:
        raise _Refusal(
            422,
            406,
            "You tried to send to recipient(s) that have been marked as inactive. Found "
            f"inactive addresses: {', '.join(inactive)}. Inactive recipients are ones that "
            "have generated a hard bounce, a spam complaint, or a manual suppression.",
        )
    fields.update(
        sender=sender,
        to=to,
        cc=cc,
        bcc=bcc,
        reply_to=reply_to,
        tag=tag,
        metadata=metadata,
        headers=headers,
        attachments=attachments,
        track_opens=bool(raw.get("TrackOpens", server.settings["TrackOpens"])),
        track_links=track_links,
        message_stream=stream_id,
    )
    return fields


def _check_sender(pm: LocalPostmark, address: str) -> None:
    if not pm._signatures and not pm._domains:
        return
    lowered = address.lower()
    domain = lowered.rpartition("@")[2]
    if any(item["EmailAddress"].lower() == lowered for item in pm._signatures.values()) or any(
        item["Name"].lower() == domain for item in pm._domains.values()
    ):
        return
    raise _Refusal(
        422,
        400,
        f"The 'From' address you supplied ({address}) is not a Sender Signature on your "
        "account. Please add and confirm this address in order to be able to use it in the "
        "'From' field of your messages.",
    )


def _find_template(server: _Server, key: Any) -> dict[str, Any] | None:
    if isinstance(key, int) and not isinstance(key, bool):
        return server.templates.get(key)
    if isinstance(key, str):
        if key.isdigit():
            return server.templates.get(int(key))
        for template in server.templates.values():
            if template["Alias"] and template["Alias"].lower() == key.lower():
                return template
    return None


def _render_for_send(server: _Server, raw: Mapping[str, Any]) -> dict[str, Any]:
    key = raw.get("TemplateId") if raw.get("TemplateId") is not None else raw.get("TemplateAlias")
    if key is None or key == "":
        raise _invalid("Either 'TemplateId' or 'TemplateAlias' must be given.")
    template = _find_template(server, key)
    if template is None or template["TemplateType"] != "Standard":
        raise _Refusal(422, 1101, f"The Template's 'id' or 'alias' ({key}) was not found.")
    model = raw.get("TemplateModel") or {}
    if not isinstance(model, dict):
        raise _invalid("The 'TemplateModel' must be an object.")
    layout = None
    if template["LayoutTemplate"]:
        layout = _find_template(server, template["LayoutTemplate"])
        if layout is None:
            raise _Refusal(
                422, 1101, f"The layout template '{template['LayoutTemplate']}' was not found."
            )
    rendered = _render_parts(template, model, layout)
    return {
        "subject": rendered["Subject"] or "",
        "html": rendered["HtmlBody"],
        "text": rendered["TextBody"],
        "template_id": template["TemplateId"],
        "template_model": model,
    }


def _render_parts(
    template: Mapping[str, Any], model: Mapping[str, Any], layout: Mapping[str, Any] | None
) -> dict[str, str | None]:
    """Render a template's Subject, HtmlBody and TextBody, inside its layout if any."""
    parts: dict[str, str | None] = {}
    for name in ("Subject", "HtmlBody", "TextBody"):
        text = template.get(name)
        if not text:
            parts[name] = None
            continue
        html = name == "HtmlBody"
        try:
            content = render_template(text, model, html=html)
            if layout is not None and name != "Subject" and layout.get(name):
                wrapper = str(layout[name]).replace("{{{@content}}}", "\x00content\x00")
                content = render_template(wrapper, model, html=html).replace(
                    "\x00content\x00", content
                )
        except TemplateSyntaxError as error:
            raise _Refusal(
                422, 1122, f"The template's {name} cannot be rendered: {error.message}"
            ) from None
        parts[name] = content
    return parts


def _store(pm: LocalPostmark, server: _Server, fields: dict[str, Any]) -> OutboxMessage:
    """Store an accepted message and play its deliveries and test bounces."""
    message = OutboxMessage({**fields, "message_id": str(uuid.uuid4()), "received_at": _now()})
    server.messages.append(message)
    server.messages_by_id[message.message_id] = message
    for address in message.recipients:
        local, _, domain = address.lower().partition("@")
        kind = _BOUNCE_ADDRESSES.get(local.replace("_", "").replace("-", ""))
        if domain == BOUNCE_TESTING_DOMAIN and kind is not None:
            pm._record_bounce(server, message, address, kind, "Test bounce details")
            continue
        delivered = _event(
            address,
            "Delivered",
            {"DeliveryMessage": "Test delivery by the local Postmark.", "DestinationServer": ""},
        )
        message.events.append(delivered)
        payload = {
            "RecordType": "Delivery",
            "MessageStream": message.message_stream,
            "MessageID": message.message_id,
            "Recipient": address,
            "Tag": message.tag,
            "DeliveredAt": delivered["ReceivedAt"],
            "Details": "Test delivery by the local Postmark.",
            "Metadata": dict(message.metadata),
        }
        pm._fire(server, message.message_stream, "Delivery", payload)
    return message


def _accepted(message: OutboxMessage | None, to: Sequence[str], test: bool) -> dict[str, Any]:
    return {
        "To": ", ".join(to),
        "SubmittedAt": _stamp(message.received_at if message else _now()),
        "MessageID": message.message_id if message else str(uuid.uuid4()),
        "ErrorCode": 0,
        "Message": "Test job accepted" if test else "OK",
    }


def _send_one(pm: LocalPostmark, call: _Call, raw: Any, *, template: bool) -> dict[str, Any]:
    fields = _prepare(pm, call, raw, template=template)
    message = None if call.test else _store(pm, call.data, fields)
    return _accepted(message, fields["to"] or fields["cc"] or fields["bcc"], call.test)


def _send_many(pm: LocalPostmark, call: _Call, items: Any, *, template: bool) -> list[Any]:
    if not isinstance(items, list):
        raise _invalid("The request body must be a JSON array of messages.")
    if len(items) > _MAX_BATCH:
        raise _Refusal(422, 410, f"Too many batch messages: at most {_MAX_BATCH} per request.")
    answers: list[Any] = []
    for raw in items:
        try:
            answers.append(_send_one(pm, call, raw, template=template))
        except _Refusal as refusal:
            answers.append({"ErrorCode": refusal.code, "Message": refusal.message})
    return answers


@_route("POST", "/email", "send")
def _post_email(pm: LocalPostmark, call: _Call) -> Any:
    return _send_one(pm, call, call.object(), template=False)


@_route("POST", "/email/batch", "send")
def _post_batch(pm: LocalPostmark, call: _Call) -> Any:
    return _send_many(pm, call, call.json(), template=False)


@_route("POST", "/email/withTemplate", "send")
def _post_with_template(pm: LocalPostmark, call: _Call) -> Any:
    return _send_one(pm, call, call.object(), template=True)


@_route("POST", "/email/batchWithTemplates", "send")
def _post_batch_with_templates(pm: LocalPostmark, call: _Call) -> Any:
    body = call.object()
    return _send_many(pm, call, body.get("Messages"), template=True)


@_route("POST", "/email/bulk", "send")
def _post_bulk(pm: LocalPostmark, call: _Call) -> Any:
    body = call.object()
    recipients = body.get("Messages")
    if not isinstance(recipients, list) or not recipients:
        raise _invalid("The 'Messages' list of a bulk request must not be empty.")
    bulk_id = str(uuid.uuid4())
    submitted = _now()
    shared = {key: value for key, value in body.items() if key != "Messages"}
    sent = 0
    for item in recipients:
        if not isinstance(item, dict):
            raise _invalid("Each bulk message must be a JSON object.")
        raw = {**shared, **item}
        model = raw.pop("TemplateModel", None) or {}
        try:
            fields = _prepare(pm, call, raw, template=False)
            for name in ("subject", "html", "text"):
                if fields.get(name):
                    fields[name] = render_template(fields[name], model, html=name == "html")
        except (_Refusal, TemplateSyntaxError):
            continue  # Postmark reports failed recipients only through the status
        if not call.test:
            _store(pm, call.data, {**fields, "bulk_id": bulk_id})
        sent += 1
    status = {
        "Id": bulk_id,
        "SubmittedAt": _stamp(submitted),
        "TotalMessages": len(recipients),
        "PercentageCompleted": 100.0,
        "Status": "Completed",
    }
    if not call.test:
        call.data.bulk[bulk_id] = status
    return {"ID": bulk_id, "Status": "Accepted", "SubmittedAt": status["SubmittedAt"]}


@_route("GET", "/email/bulk/{}")
def _get_bulk(pm: LocalPostmark, call: _Call) -> Any:
    status = call.data.bulk.get(call.args[0])
    if status is None:
        raise _Refusal(404, 0, f"No bulk request with the ID '{call.args[0]}'.")
    return status


# ---- Bounces and suppressions -----------------------------------------------

_WEBHOOK_ONLY_BOUNCE_FIELDS = (
    "RecordType",
    "Metadata",
)


def _bounce_json(bounce: Mapping[str, Any], *, content: str | None = None) -> dict[str, Any]:
    shown = {key: value for key, value in bounce.items() if key not in _WEBHOOK_ONLY_BOUNCE_FIELDS}
    if content is not None:
        shown["Content"] = content
    return shown


@_route("GET", "/deliverystats")
def _get_delivery_stats(pm: LocalPostmark, call: _Call) -> Any:
    counts: dict[str, int] = {}
    for bounce in call.data.bounces:
        counts[bounce["Type"]] = counts.get(bounce["Type"], 0) + 1
    inactive = {
        (bounce["Email"].lower(), bounce["MessageStream"])
        for bounce in call.data.bounces
        if bounce["Inactive"]
    }
    return {
        "InactiveMails": len(inactive),
        "Bounces": [
            {"Name": "All", "Count": len(call.data.bounces)},
            *(
                {"Type": kind, "Name": _spaced(kind), "Count": count}
                for kind, count in counts.items()
            ),
        ],
    }


@_route("GET", "/bounces/tags")
def _get_bounce_tags(pm: LocalPostmark, call: _Call) -> Any:
    return sorted({bounce["Tag"] for bounce in call.data.bounces if bounce["Tag"]})


@_route("GET", "/bounces")
def _get_bounces(pm: LocalPostmark, call: _Call) -> Any:
    query = call.query
    kind, inactive = query.get("type") or None, _flag(query.get("inactive"))
    address, tag = (query.get("emailfilter") or "").lower(), query.get("tag") or None
    message_id, stream = query.get("messageid") or None, query.get("messagestream") or None
    within = _date_range(query)
    dated = "fromdate" in query or "todate" in query

    def wanted(bounce: Mapping[str, Any]) -> bool:
        return (
            (kind is None or bounce["Type"] == kind)
            and (inactive is None or bounce["Inactive"] == inactive)
            and (not address or address in bounce["Email"].lower())
            and (tag is None or bounce["Tag"] == tag)
            and (message_id is None or bounce["MessageID"] == message_id)
            and (stream is None or bounce["MessageStream"] == stream)
            and (not dated or within(datetime.fromisoformat(bounce["BouncedAt"])))
        )

    if kind is not None and kind not in _BOUNCE_TYPES:
        raise _Refusal(422, 1000, f"Invalid bounce type: '{kind}'.")
    if message_id is not None and "count" not in query:
        matched = [bounce for bounce in reversed(call.data.bounces) if wanted(bounce)]
        return {"TotalCount": len(matched), "Bounces": [_bounce_json(b) for b in matched]}
    filtered = any((kind, inactive is not None, address, tag, message_id, stream, dated))
    total, page = _page(call.data.bounces, call, 1000, wanted if filtered else None)
    return {"TotalCount": total, "Bounces": [_bounce_json(bounce) for bounce in page]}


def _bounce(call: _Call) -> dict[str, Any]:
    return _by_id(call.data.bounces_by_id, call.args[0], 1001, "Bounce")


@_route("GET", "/bounces/{}")
def _get_bounce(pm: LocalPostmark, call: _Call) -> Any:
    bounce = _bounce(call)
    message = call.data.messages_by_id.get(bounce["MessageID"])
    return _bounce_json(bounce, content=message.source() if message else "")


@_route("GET", "/bounces/{}/dump")
def _get_bounce_dump(pm: LocalPostmark, call: _Call) -> Any:
    bounce = _bounce(call)
    message = call.data.messages_by_id.get(bounce["MessageID"])
    return {"Body": message.source() if message else ""}


@_route("PUT", "/bounces/{}/activate")
def _activate_bounce(pm: LocalPostmark, call: _Call) -> Any:
    bounce = _bounce(call)
    if not bounce["CanActivate"]:
        raise _Refusal(422, 1003, f"Bounce {bounce['ID']} cannot be activated.")
    _reactivate(call.data, bounce["MessageStream"], bounce["Email"])
    return {"Message": "OK", "Bounce": _bounce_json(bounce)}


def _reactivate(server: _Server, stream: str, address: str) -> None:
    server.suppressions.get(stream, {}).pop(address.lower(), None)
    for bounce in server.bounces:
        same = bounce["MessageStream"] == stream and bounce["Email"].lower() == address.lower()
        if same and bounce["Inactive"]:
            bounce["Inactive"] = False


def _stream_of(call: _Call) -> str:
    stream = call.data.streams.get(call.args[0])
    if stream is None:
        raise _Refusal(422, 1226, f"The message stream '{call.args[0]}' was not found.")
    return str(stream["ID"])


@_route("GET", "/message-streams/{}/suppressions/dump")
def _get_suppressions(pm: LocalPostmark, call: _Call) -> Any:
    stream, query = _stream_of(call), call.query
    reason, origin = query.get("suppressionreason"), query.get("origin")
    address = (query.get("emailaddress") or "").lower()
    within = _date_range(query)
    items = [
        item
        for item in call.data.suppressions.get(stream, {}).values()
        if (not reason or item["SuppressionReason"] == reason)
        and (not origin or item["Origin"] == origin)
        and (not address or item["EmailAddress"].lower() == address)
        and within(datetime.fromisoformat(item["CreatedAt"]))
    ]
    return {"Suppressions": list(reversed(items))}


def _suppression_list(call: _Call) -> list[Any]:
    items = call.object().get("Suppressions")
    if not isinstance(items, list):
        raise _invalid("The request must have a 'Suppressions' list.")
    if len(items) > _MAX_SUPPRESSIONS:
        raise _invalid(f"At most {_MAX_SUPPRESSIONS} suppressions may be given per request.")
    return items


def _suppression_addresses(call: _Call, results: list[dict[str, Any]]) -> Iterator[str]:
    """The request's valid addresses; each invalid one is answered "Failed" in ``results``."""
    for item in _suppression_list(call):
        address = item.get("EmailAddress") if isinstance(item, dict) else None
        if isinstance(address, str) and _ADDRESS.match(address):
            yield address
        else:
            results.append(
                {
                    "EmailAddress": address,
                    "Status": "Failed",
                    "Message": "An invalid email address was provided.",
                }
            )


@_route("POST", "/message-streams/{}/suppressions")
def _create_suppressions(pm: LocalPostmark, call: _Call) -> Any:
    stream = _stream_of(call)
    results: list[dict[str, Any]] = []
    for address in _suppression_addresses(call, results):
        if address.lower() not in call.data.suppressions.get(stream, {}):
            pm._suppress(call.data, stream, address, "ManualSuppression", "Customer")
        results.append({"EmailAddress": address, "Status": "Suppressed", "Message": None})
    return {"Suppressions": results}


@_route("POST", "/message-streams/{}/suppressions/delete")
def _delete_suppressions(pm: LocalPostmark, call: _Call) -> Any:
    stream = _stream_of(call)
    results: list[dict[str, Any]] = []
    for address in _suppression_addresses(call, results):
        existing = call.data.suppressions.get(stream, {}).get(address.lower())
        if existing is not None and existing["SuppressionReason"] == "SpamComplaint":
            results.append(
                {
                    "EmailAddress": address,
                    "Status": "Failed",
                    "Message": "You do not have the required authority to change this suppression.",
                }
            )
            continue
        _reactivate(call.data, stream, address)
        results.append({"EmailAddress": address, "Status": "Deleted", "Message": None})
    return {"Suppressions": results}


# ---- Templates ---------------------------------------------------------------


def _template_summary(template: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: template[key]
        for key in ("Active", "TemplateId", "Name", "Alias", "TemplateType", "LayoutTemplate")
    }


def _template_of(call: _Call) -> dict[str, Any]:
    template = _find_template(call.data, call.args[0])
    if template is None:
        raise _Refusal(422, 1101, f"The template '{call.args[0]}' was not found.")
    return template


def _check_template_body(
    server: _Server, fields: dict[str, Any], current: dict[str, Any] | None
) -> None:
    kind = fields.get("TemplateType") or (current or {}).get("TemplateType") or "Standard"
    if kind not in ("Standard", "Layout"):
        raise _Refusal(422, 1122, f"Invalid 'TemplateType': '{kind}'.")
    merged = {**(current or {}), **fields}
    if not merged.get("Name"):
        raise _Refusal(422, 1120, "A required Template field is missing: 'Name'.")
    if kind == "Standard" and not merged.get("Subject"):
        raise _Refusal(422, 1120, "A required Template field is missing: 'Subject'.")
    if not merged.get("HtmlBody") and not merged.get("TextBody"):
        raise _Refusal(422, 1120, "A template needs an 'HtmlBody' or a 'TextBody'.")
    if kind == "Layout" and fields.get("Subject"):
        raise _Refusal(422, 1123, "A layout template may not have a 'Subject'.")
    for name in ("Subject", "HtmlBody", "TextBody"):
        text = merged.get(name)
        if text is not None and not isinstance(text, str):
            raise _Refusal(422, 1122, f"The template's '{name}' must be text.")
        if text:
            placeholders = text.count("{{{@content}}}")
            if kind == "Layout" and name != "Subject" and placeholders != 1:
                raise _Refusal(
                    422,
                    1131,
                    "The layout content placeholder must be present in the layout HTML "
                    "and/or Text body exactly once.",
                )
            if kind == "Standard" and placeholders:
                raise _Refusal(
                    422, 1131, "The content placeholder cannot be used in a standard template."
                )
            try:
                _parse_template(text)
            except TemplateSyntaxError as error:
                raise _Refusal(
                    422, 1122, f"The template's '{name}' has a syntax error: {error.message}"
                ) from None
    alias = merged.get("Alias")
    if alias:
        other = _find_template(server, alias)
        if other is not None and (current is None or other is not current):
            raise _Refusal(422, 1122, f"The alias '{alias}' is already in use.")
    layout = merged.get("LayoutTemplate")
    if layout:
        found = _find_template(server, layout)
        if found is None or found["TemplateType"] != "Layout":
            raise _Refusal(422, 1101, f"The layout template '{layout}' was not found.")


@_route("GET", "/templates")
def _list_templates(pm: LocalPostmark, call: _Call) -> Any:
    kind = call.query.get("templatetype") or "All"
    layout = call.query.get("layouttemplate")
    items = list(call.data.templates.values())
    wanted = [
        template
        for template in items
        if (kind == "All" or template["TemplateType"] == kind)
        and (not layout or template["LayoutTemplate"] == layout)
    ]
    count, offset = _count_offset(call.query, 1100)
    return {
        "TotalCount": len(wanted),
        "Templates": [_template_summary(t) for t in wanted[offset : offset + count]],
    }


@_route("POST", "/templates")
def _create_template(pm: LocalPostmark, call: _Call) -> Any:
    fields = call.object()
    _check_template_body(call.data, fields, None)
    template_id = next(pm._ids)
    template = {
        "TemplateId": template_id,
        "Name": fields["Name"],
        "Alias": fields.get("Alias") or None,
        "Subject": fields.get("Subject") or None,
        "HtmlBody": fields.get("HtmlBody") or None,
        "TextBody": fields.get("TextBody") or None,
        "Active": True,
        "TemplateType": fields.get("TemplateType") or "Standard",
        "LayoutTemplate": fields.get("LayoutTemplate") or None,
        "AssociatedServerId": call.data.id,
    }
    call.data.templates[template_id] = template
    return _template_summary(template)


@_route("GET", "/templates/{}")
def _get_template(pm: LocalPostmark, call: _Call) -> Any:
    return dict(_template_of(call))


@_route("PUT", "/templates/{}")
def _edit_template(pm: LocalPostmark, call: _Call) -> Any:
    template = _template_of(call)
    fields = call.object()
    if "TemplateType" in fields and fields["TemplateType"] != template["TemplateType"]:
        raise _Refusal(422, 1125, "The type of a template cannot be changed.")
    _check_template_body(call.data, fields, template)
    for key in ("Name", "Alias", "Subject", "HtmlBody", "TextBody", "LayoutTemplate"):
        if key in fields:
            template[key] = fields[key] or None
    return _template_summary(template)


@_route("DELETE", "/templates/{}")
def _delete_template(pm: LocalPostmark, call: _Call) -> Any:
    template = _template_of(call)
    if template["TemplateType"] == "Layout" and any(
        other["LayoutTemplate"] == template["Alias"] for other in call.data.templates.values()
    ):
        raise _Refusal(422, 1130, "The layout template cannot be deleted: templates use it.")
    del call.data.templates[template["TemplateId"]]
    return {"ErrorCode": 0, "Message": f"Template {template['TemplateId']} removed."}


@_route("POST", "/templates/validate")
def _validate_template(pm: LocalPostmark, call: _Call) -> Any:
    fields = call.object()
    model = fields.get("TestRenderModel") or {}
    if not isinstance(model, dict):
        raise _invalid("The 'TestRenderModel' must be an object.")
    layout = None
    if fields.get("LayoutTemplate"):
        layout = _find_template(call.data, fields["LayoutTemplate"])
    answer: dict[str, Any] = {"AllContentIsValid": True}
    for name in ("Subject", "HtmlBody", "TextBody"):
        text = fields.get(name)
        if not text:
            continue
        try:
            rendered = _render_parts({name: text}, model, layout)[name]
            _parse_template(text)
            answer[name] = {
                "ContentIsValid": True,
                "ValidationErrors": [],
                "RenderedContent": rendered,
            }
        except (_Refusal, TemplateSyntaxError):
            error = _syntax_error(text)
            answer["AllContentIsValid"] = False
            answer[name] = {
                "ContentIsValid": False,
                "ValidationErrors": [
                    {
                        "Message": error.message,
                        "Line": error.line,
                        "CharacterPosition": error.position,
                    }
                ],
                "RenderedContent": None,
            }
    texts = [str(fields.get(name) or "") for name in ("Subject", "HtmlBody", "TextBody")]
    answer["SuggestedTemplateModel"] = _suggest_model(texts)
    return answer


def _syntax_error(text: str) -> TemplateSyntaxError:
    try:
        _parse_template(text)
    except TemplateSyntaxError as error:
        return error
    return TemplateSyntaxError("The template cannot be rendered.", 1, 1)  # pragma: no cover


@_route("PUT", "/templates/push", "account")
def _push_templates(pm: LocalPostmark, call: _Call) -> Any:
    body = call.object()
    try:
        source = pm._servers[int(body["SourceServerID"])]
        target = pm._servers[int(body["DestinationServerID"])]
    except (KeyError, TypeError, ValueError):
        raise _Refusal(422, 601, "The source or destination server was not found.") from None
    actions = []
    for template in source.templates.values():
        if not template["Alias"]:
            continue
        existing = _find_template(target, template["Alias"])
        actions.append(
            {
                "Action": "Edit" if existing else "Create",
                "TemplateId": existing["TemplateId"] if existing else None,
                "Alias": template["Alias"],
                "Name": template["Name"],
                "TemplateType": template["TemplateType"],
            }
        )
        if body.get("PerformChanges"):
            copied = {**template, "AssociatedServerId": target.id}
            if existing:
                copied["TemplateId"] = existing["TemplateId"]
            else:
                copied["TemplateId"] = next(pm._ids)
            target.templates[copied["TemplateId"]] = copied
    return {"TotalCount": len(actions), "Templates": actions}


# ---- Messages: outbound, opens, clicks, inbound -------------------------------


def _outbound_json(message: OutboxMessage) -> dict[str, Any]:
    return {
        "Tag": message.tag,
        "MessageID": message.message_id,
        "MessageStream": message.message_stream,
        "To": _full(message.to),
        "Cc": _full(message.cc),
        "Bcc": _full(message.bcc),
        "Recipients": message.recipients,
        "ReceivedAt": _stamp(message.received_at),
        "From": message.sender,
        "Subject": message.subject,
        "Attachments": [str(item.get("Name") or "") for item in message.attachments],
        "Status": message.status,
        "TrackOpens": message.track_opens,
        "TrackLinks": message.track_links,
        "Metadata": dict(message.metadata),
        "Sandboxed": False,
    }


@_route("GET", "/messages/outbound")
def _list_outbound(pm: LocalPostmark, call: _Call) -> Any:
    query = call.query
    recipient = (query.get("recipient") or "").lower()
    sender = (query.get("fromemail") or "").lower()
    tag, status = query.get("tag") or None, (query.get("status") or "").lower()
    subject, stream = query.get("subject") or None, query.get("messagestream") or None
    metadata = {key[9:]: value for key, value in query.items() if key.startswith("metadata_")}
    dated = "fromdate" in query or "todate" in query
    within = _date_range(query)
    if status and status not in ("queued", "sent", "processed"):
        raise _Refusal(422, 700, f"Invalid status: '{status}'.")

    def wanted(message: OutboxMessage) -> bool:
        return (
            (not recipient or any(recipient in item for item in message.recipients))
            and (not sender or sender in message.sender.lower())
            and (tag is None or message.tag == tag)
            and (not status or status in ("sent", "processed"))
            and (subject is None or subject.lower() in message.subject.lower())
            and (stream is None or message.message_stream == stream)
            and all(
                str(message.metadata.get(key, "")).lower() == value.lower()
                for key, value in metadata.items()
                # Postmark lower-cases query names; metadata keys match case-blind
            )
            and (not dated or within(message.received_at))
        )

    filtered = any((recipient, sender, tag, status, subject, stream, metadata, dated))
    total, page = _page(call.data.messages, call, 700, wanted if filtered else None)
    return {"TotalCount": total, "Messages": [_outbound_json(message) for message in page]}


def _message_of(call: _Call) -> OutboxMessage:
    message = call.data.messages_by_id.get(call.args[0])
    if message is None:
        raise _Refusal(422, 701, f"This message was not found: '{call.args[0]}'.")
    return message


@_route("GET", "/messages/outbound/{}/details")
def _outbound_details(pm: LocalPostmark, call: _Call) -> Any:
    message = _message_of(call)
    return {
        **_outbound_json(message),
        "TextBody": message.text or "",
        "HtmlBody": message.html or "",
        "Body": message.source(),
        "MessageEvents": [dict(event) for event in message.events],
    }


@_route("GET", "/messages/outbound/{}/dump")
def _outbound_dump(pm: LocalPostmark, call: _Call) -> Any:
    return {"Body": _message_of(call).source()}


_TRACKING_FILTERS = {
    "client_name": ("Client", "Name"),
    "client_company": ("Client", "Company"),
    "client_family": ("Client", "Family"),
    "os_name": ("OS", "Name"),
    "os_family": ("OS", "Family"),
    "os_company": ("OS", "Company"),
    "country": ("Geo", "Country"),
    "region": ("Geo", "Region"),
    "city": ("Geo", "City"),
}


def _tracking_list(call: _Call, items: list[dict[str, Any]], key: str) -> dict[str, Any]:
    query = call.query
    recipient = (query.get("recipient") or "").lower()
    tag, stream = query.get("tag") or None, query.get("messagestream") or None
    platform = (query.get("platform") or "").lower()
    fields = {
        path: query[name.replace("_", "")] if name.replace("_", "") in query else query[name]
        for name, path in _TRACKING_FILTERS.items()
        if name in query or name.replace("_", "") in query
    }
    dated = "fromdate" in query or "todate" in query
    within = _date_range(query)
    message_id = call.args[0] if call.args else None

    def wanted(item: Mapping[str, Any]) -> bool:
        return (
            (message_id is None or item["MessageID"] == message_id)
            and (not recipient or recipient in item["Recipient"].lower())
            and (tag is None or item["Tag"] == tag)
            and (stream is None or item["MessageStream"] == stream)
            and (not platform or item["Platform"].lower() == platform)
            and all(item[group][name] == value for (group, name), value in fields.items())
            and (not dated or within(datetime.fromisoformat(item["ReceivedAt"])))
        )

    total, page = _page(items, call, 700, wanted)
    return {"TotalCount": total, key: [dict(item) for item in page]}


@_route("GET", "/messages/outbound/opens")
def _list_opens(pm: LocalPostmark, call: _Call) -> Any:
    return _tracking_list(call, call.data.opens, "Opens")


@_route("GET", "/messages/outbound/opens/{}")
def _message_opens(pm: LocalPostmark, call: _Call) -> Any:
    return _tracking_list(call, call.data.opens, "Opens")


@_route("GET", "/messages/outbound/clicks")
def _list_clicks(pm: LocalPostmark, call: _Call) -> Any:
    return _tracking_list(call, call.data.clicks, "Clicks")


@_route("GET", "/messages/outbound/clicks/{}")
def _message_clicks(pm: LocalPostmark, call: _Call) -> Any:
    return _tracking_list(call, call.data.clicks, "Clicks")


_INBOUND_LISTED = (
    "From", "FromName", "FromFull", "To", "ToFull", "Cc", "CcFull", "ReplyTo",
    "OriginalRecipient", "Subject", "Date", "MailboxHash", "MessageID", "Status", "Tag",
    "MessageStream",
)  # fmt: skip


def _inbound_summary(message: Mapping[str, Any]) -> dict[str, Any]:
    summary = {key: message[key] for key in _INBOUND_LISTED}
    summary["Attachments"] = [
        {
            "Name": item.get("Name", ""),
            "ContentType": item.get("ContentType", ""),
            "ContentLength": item.get("ContentLength", len(str(item.get("Content") or ""))),
            "ContentID": item.get("ContentID", ""),
        }
        for item in message["Attachments"]
    ]
    return summary


@_route("GET", "/messages/inbound")
def _list_inbound(pm: LocalPostmark, call: _Call) -> Any:
    query = call.query
    recipient = (query.get("recipient") or "").lower()
    sender = (query.get("fromemail") or "").lower()
    subject, tag = query.get("subject") or None, query.get("tag") or None
    mailbox, status = query.get("mailboxhash") or None, (query.get("status") or "").lower()
    dated = "fromdate" in query or "todate" in query
    within = _date_range(query)

    def wanted(item: Mapping[str, Any]) -> bool:
        return (
            (not recipient or recipient in item["To"].lower())
            and (not sender or sender in item["From"].lower())
            and (subject is None or subject.lower() in item["Subject"].lower())
            and (tag is None or item["Tag"] == tag)
            and (mailbox is None or item["MailboxHash"] == mailbox)
            and (not status or item["Status"].lower() == status)
            and (not dated or within(datetime.fromisoformat(item["ReceivedAt"])))
        )

    total, page = _page(call.data.inbound, call, 700, wanted)
    return {"TotalCount": total, "InboundMessages": [_inbound_summary(item) for item in page]}


def _inbound_of(call: _Call) -> dict[str, Any]:
    message = call.data.inbound_by_id.get(call.args[0])
    if message is None:
        raise _Refusal(422, 701, f"This message was not found: '{call.args[0]}'.")
    return message


@_route("GET", "/messages/inbound/{}/details")
def _inbound_details(pm: LocalPostmark, call: _Call) -> Any:
    message = _inbound_of(call)
    return {
        **_inbound_summary(message),
        **{key: message[key] for key in ("TextBody", "HtmlBody", "Headers", "RawEmail")},
        "BlockedReason": "",
        "Attachments": [dict(item) for item in message["Attachments"]],
    }


@_route("PUT", "/messages/inbound/{}/bypass")
def _bypass_inbound(pm: LocalPostmark, call: _Call) -> Any:
    message = _inbound_of(call)
    if message["Status"] != "Blocked":
        raise _Refusal(422, 702, "This message was not blocked and cannot be bypassed.")
    message["Status"] = "Processed"
    pm._post_inbound(call.data, message)
    return {"ErrorCode": 0, "Message": "Successfully bypassed message: " + message["MessageID"]}


@_route("PUT", "/messages/inbound/{}/retry")
def _retry_inbound(pm: LocalPostmark, call: _Call) -> Any:
    message = _inbound_of(call)
    if message["Status"] != "Failed":
        raise _Refusal(422, 703, "This message has not failed and cannot be retried.")
    message["Status"] = "Queued"
    pm._post_inbound(call.data, message)
    return {
        "ErrorCode": 0,
        "Message": "Successfully rescheduled failed message: " + message["MessageID"],
    }


# ---- Server, message streams, webhooks, stats, inbound rules ------------------

_SERVER_EDITABLE = (
    "Name", "Color", "RawEmailEnabled", "SmtpApiActivated", "InboundHookUrl", "BounceHookUrl",
    "OpenHookUrl", "DeliveryHookUrl", "ClickHookUrl", "PostFirstOpenOnly", "InboundDomain",
    "InboundSpamThreshold", "TrackOpens", "TrackLinks", "IncludeBounceContentInHook",
    "EnableSmtpApiErrorHooks",
)  # fmt: skip
_HOOK_SETTINGS = (
    "InboundHookUrl",
    "BounceHookUrl",
    "OpenHookUrl",
    "DeliveryHookUrl",
    "ClickHookUrl",
)


def _check_hook_url(url: Any) -> None:
    if url in (None, ""):
        return
    parts = urllib.parse.urlsplit(str(url))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _Refusal(422, 606, f"Invalid webhook URL: '{url}'.")


def _edit_server_settings(server: _Server, fields: Mapping[str, Any]) -> dict[str, Any]:
    for name in _HOOK_SETTINGS:
        if name in fields:
            _check_hook_url(fields[name])
    if "TrackLinks" in fields and fields["TrackLinks"] not in _TRACK_LINKS:
        raise _Refusal(422, 600, f"Invalid 'TrackLinks' value: '{fields['TrackLinks']}'.")
    if "InboundSpamThreshold" in fields and fields["InboundSpamThreshold"] not in range(0, 35, 5):
        raise _Refusal(422, 611, "The inbound spam threshold must be 0, 5, 10, ... or 30.")
    for name in _SERVER_EDITABLE:
        if name in fields:
            server.settings[name] = fields[name] if fields[name] is not None else ""
    return dict(server.settings)


@_route("GET", "/server")
def _get_server(pm: LocalPostmark, call: _Call) -> Any:
    return dict(call.data.settings)


@_route("PUT", "/server")
def _edit_server(pm: LocalPostmark, call: _Call) -> Any:
    return _edit_server_settings(call.data, call.object())


@_route("GET", "/message-streams")
def _list_streams(pm: LocalPostmark, call: _Call) -> Any:
    kind = call.query.get("messagestreamtype") or "All"
    archived = _flag(call.query.get("includearchivedstreams")) or False
    streams = [
        stream
        for stream in call.data.streams.values()
        if (kind == "All" or stream["MessageStreamType"] == kind)
        and (archived or not stream["ArchivedAt"])
    ]
    return {"MessageStreams": [dict(s) for s in streams], "TotalCount": len(streams)}


@_route("GET", "/message-streams/{}")
def _get_stream(pm: LocalPostmark, call: _Call) -> Any:
    return dict(call.data.streams[_stream_of(call)])


@_route("POST", "/message-streams")
def _create_stream(pm: LocalPostmark, call: _Call) -> Any:
    fields = call.object()
    stream_id, name = fields.get("ID"), fields.get("Name")
    kind = fields.get("MessageStreamType")
    if not isinstance(stream_id, str) or not _STREAM_ID.match(stream_id):
        raise _Refusal(
            422, 1227, "The 'ID' must start with a letter and hold at most 30 lowercase "
            "letters, digits, '-' and '_'."
        )  # fmt: skip
    if stream_id.startswith("pm-"):
        raise _Refusal(422, 1233, "The 'ID' must not start with the 'pm-' prefix.")
    if stream_id == "all":
        raise _Refusal(422, 1237, "The ID 'all' is reserved.")
    if stream_id in call.data.streams:
        raise _Refusal(422, 1230, f"The 'ID' {stream_id} already exists for this server.")
    if not isinstance(name, str) or not name.strip():
        raise _Refusal(422, 1223, "A valid 'Name' must be provided.")
    if len(name) > 100:
        raise _Refusal(422, 1224, "The 'Name' is too long, it is limited to 100 characters.")
    if kind not in ("Transactional", "Broadcasts"):
        raise _Refusal(
            422, 1228 if kind == "Inbound" else 1221, f"Invalid 'MessageStreamType': '{kind}'."
        )
    description = fields.get("Description") or ""
    if len(description) > 1000:
        raise _Refusal(422, 1231, "The 'Description' is limited to 1000 characters.")
    if "<" in description or ">" in description:
        raise _Refusal(422, 1234, "The 'Description' must not contain HTML tags.")
    if len(call.data.streams) >= 10:
        raise _Refusal(422, 1225, "A server can have up to 10 message streams.")
    stream = _new_stream(call.data.id, stream_id, name, kind, description, _stamp(_now()))
    call.data.streams[stream_id] = stream
    return dict(stream)


@_route("PATCH", "/message-streams/{}")
def _edit_stream(pm: LocalPostmark, call: _Call) -> Any:
    stream = call.data.streams[_stream_of(call)]
    fields = call.object()
    if "Name" in fields:
        if not isinstance(fields["Name"], str) or not fields["Name"].strip():
            raise _Refusal(422, 1223, "A valid 'Name' must be provided.")
        stream["Name"] = fields["Name"]
    if "Description" in fields:
        stream["Description"] = fields["Description"] or ""
    stream["UpdatedAt"] = _stamp(_now())
    return dict(stream)


@_route("POST", "/message-streams/{}/archive")
def _archive_stream(pm: LocalPostmark, call: _Call) -> Any:
    stream = call.data.streams[_stream_of(call)]
    if stream["ID"] in ("outbound", "inbound"):
        raise _Refusal(
            422, 1229, "You cannot archive the default transactional and inbound streams."
        )
    now = _now()
    stream["ArchivedAt"] = _stamp(now)
    stream["ExpectedPurgeDate"] = _stamp(now + timedelta(days=45))
    return {
        "ID": stream["ID"],
        "ServerID": call.data.id,
        "ExpectedPurgeDate": stream["ExpectedPurgeDate"],
    }


@_route("POST", "/message-streams/{}/unarchive")
def _unarchive_stream(pm: LocalPostmark, call: _Call) -> Any:
    stream = call.data.streams[_stream_of(call)]
    if not stream["ArchivedAt"]:
        raise _Refusal(422, 1232, "This message stream is not archived.")
    stream["ArchivedAt"] = stream["ExpectedPurgeDate"] = None
    return dict(stream)


_TRIGGERS: dict[str, dict[str, bool]] = {
    "Open": {"Enabled": False, "PostFirstOpenOnly": False},
    "Click": {"Enabled": False},
    "Delivery": {"Enabled": False},
    "Bounce": {"Enabled": False, "IncludeContent": False},
    "SpamComplaint": {"Enabled": False, "IncludeContent": False},
    "SubscriptionChange": {"Enabled": False},
}


def _apply_webhook(server: _Server, hook: dict[str, Any], fields: Mapping[str, Any]) -> None:
    if "Url" in fields:
        if not fields["Url"]:
            raise _Refusal(422, 606, "A webhook needs a 'Url'.")
        _check_hook_url(fields["Url"])
        hook["Url"] = fields["Url"]
    if "MessageStream" in fields and fields["MessageStream"] is not None:
        if fields["MessageStream"] not in server.streams:
            raise _Refusal(
                422, 1226, f"The message stream '{fields['MessageStream']}' was not found."
            )
        hook["MessageStream"] = fields["MessageStream"]
    if "HttpAuth" in fields:
        auth = fields["HttpAuth"] or {}
        hook["HttpAuth"] = {
            "Username": auth.get("Username", ""),
            "Password": auth.get("Password", ""),
        }
    if "HttpHeaders" in fields:
        hook["HttpHeaders"] = [
            {"Name": item.get("Name", ""), "Value": item.get("Value", "")}
            for item in fields["HttpHeaders"] or []
        ]
    for name, given in (fields.get("Triggers") or {}).items():
        if name in _TRIGGERS and isinstance(given, dict):
            hook["Triggers"][name].update(
                (key, bool(value)) for key, value in given.items() if key in _TRIGGERS[name]
            )


def _webhook_of(call: _Call) -> dict[str, Any]:
    return _by_id(call.data.webhooks, call.args[0], 0, "Webhook", status=404)


@_route("GET", "/webhooks")
def _list_webhooks(pm: LocalPostmark, call: _Call) -> Any:
    stream = call.query.get("messagestream")
    hooks = [h for h in call.data.webhooks.values() if not stream or h["MessageStream"] == stream]
    return {"Webhooks": [json.loads(json.dumps(hook)) for hook in hooks]}


@_route("POST", "/webhooks")
def _create_webhook(pm: LocalPostmark, call: _Call) -> Any:
    fields = call.object()
    if not fields.get("Url"):
        raise _Refusal(422, 606, "A webhook needs a 'Url'.")
    hook: dict[str, Any] = {
        "ID": next(pm._ids),
        "Url": "",
        "MessageStream": "outbound",
        "HttpAuth": {"Username": "", "Password": ""},
        "HttpHeaders": [],
        "Triggers": json.loads(json.dumps(_TRIGGERS)),
    }
    _apply_webhook(call.data, hook, fields)
    call.data.webhooks[hook["ID"]] = hook
    return json.loads(json.dumps(hook))


@_route("GET", "/webhooks/{}")
def _get_webhook(pm: LocalPostmark, call: _Call) -> Any:
    return json.loads(json.dumps(_webhook_of(call)))


@_route("PUT", "/webhooks/{}")
def _edit_webhook(pm: LocalPostmark, call: _Call) -> Any:
    hook = _webhook_of(call)
    fields = {key: value for key, value in call.object().items() if key != "MessageStream"}
    _apply_webhook(call.data, hook, fields)
    return json.loads(json.dumps(hook))


@_route("DELETE", "/webhooks/{}")
def _delete_webhook(pm: LocalPostmark, call: _Call) -> Any:
    hook = _webhook_of(call)
    del call.data.webhooks[hook["ID"]]
    return {"ErrorCode": 0, "Message": f"Webhook {hook['ID']} removed."}


def _stats_scope(call: _Call) -> tuple[list[OutboxMessage], Callable[[Mapping[str, Any]], bool]]:
    """The messages the stats filters select, and a test for bounces, opens and clicks."""
    tag, stream = call.query.get("tag") or None, call.query.get("messagestream") or None
    within = _date_range(call.query)
    messages = [
        message
        for message in call.data.messages
        if (tag is None or message.tag == tag)
        and (stream is None or message.message_stream == stream)
        and within(message.received_at)
    ]

    def chosen(item: Mapping[str, Any]) -> bool:
        at = item.get("BouncedAt") or item.get("ReceivedAt")
        return (
            (tag is None or item["Tag"] == tag)
            and (stream is None or item["MessageStream"] == stream)
            and within(datetime.fromisoformat(str(at)))
        )

    return messages, chosen


def _by_day(
    items: Iterable[tuple[datetime, dict[str, int]]],
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    days: dict[str, dict[str, int]] = {}
    totals: dict[str, int] = {}
    for moment, counts in items:
        day = days.setdefault(moment.astimezone(_ZONE).date().isoformat(), {})
        for key, value in counts.items():
            day[key] = day.get(key, 0) + value
            totals[key] = totals.get(key, 0) + value
    return [{"Date": key, **value} for key, value in sorted(days.items())], totals


def _moment(item: Mapping[str, Any]) -> datetime:
    return datetime.fromisoformat(str(item.get("BouncedAt") or item.get("ReceivedAt")))


@_route("GET", "/stats/outbound/{}")
def _stats_one(pm: LocalPostmark, call: _Call) -> Any:
    return _stats(call, call.args[0].lower())


@_route("GET", "/stats/outbound/{}/{}")
def _stats_two(pm: LocalPostmark, call: _Call) -> Any:
    return _stats(call, "/".join(call.args).lower())


@_route("GET", "/stats/outbound")
def _stats_overview(pm: LocalPostmark, call: _Call) -> Any:
    messages, chosen = _stats_scope(call)
    bounces = [b for b in call.data.bounces if chosen(b)]
    opens = [item for item in call.data.opens if chosen(item)]
    clicks = [item for item in call.data.clicks if chosen(item)]
    sent = len(messages)
    spam = sum(1 for b in bounces if b["Type"] == "SpamComplaint")
    hard = len(bounces) - spam
    tracked = sum(1 for message in messages if message.track_opens)
    linked = sum(1 for message in messages if message.track_links != "None")
    return {
        "Sent": sent,
        "Bounced": hard,
        "SMTPApiErrors": 0,
        "BounceRate": round(100 * hard / sent, 3) if sent else 0.0,
        "SpamComplaints": spam,
        "SpamComplaintsRate": round(100 * spam / sent, 3) if sent else 0.0,
        "Opens": len(opens),
        "UniqueOpens": sum(1 for item in opens if item["FirstOpen"]),
        "Tracked": tracked,
        "WithClientRecorded": len(opens),
        "WithPlatformRecorded": len(opens),
        "WithReadTimeRecorded": len(opens),
        "TotalClicks": len(clicks),
        "UniqueLinksClicked": len({(c["MessageID"], c["OriginalLink"]) for c in clicks}),
        "TotalTrackedLinksSent": linked,
        "WithLinkTracking": linked,
        "WithOpenTracking": tracked,
    }


def _stats(call: _Call, kind: str) -> dict[str, Any]:
    messages, chosen = _stats_scope(call)
    bounces = [b for b in call.data.bounces if chosen(b)]
    opens = [item for item in call.data.opens if chosen(item)]
    clicks = [item for item in call.data.clicks if chosen(item)]
    rows: list[tuple[datetime, dict[str, int]]]
    if kind == "sends":
        rows = [(m.received_at, {"Sent": 1}) for m in messages]
    elif kind == "bounces":
        rows = [(_moment(b), {b["Type"]: 1}) for b in bounces if b["Type"] != "SpamComplaint"]
    elif kind == "spam":
        rows = [(_moment(b), {"SpamComplaint": 1}) for b in bounces if b["Type"] == "SpamComplaint"]
    elif kind == "tracked":
        rows = [(m.received_at, {"Tracked": 1}) for m in messages if m.track_opens]
    elif kind == "opens":
        rows = [(_moment(o), {"Opens": 1, "Unique": int(o["FirstOpen"])}) for o in opens]
    elif kind == "opens/platforms":
        rows = [(_moment(o), {o["Platform"]: 1}) for o in opens]
    elif kind == "opens/emailclients":
        rows = [(_moment(o), {o["Client"]["Family"]: 1}) for o in opens]
    elif kind == "opens/readtimes":
        rows = [(_moment(o), {f"{o['ReadSeconds']}s": 1}) for o in opens]
    elif kind == "clicks":
        rows = [(_moment(c), {"Clicks": 1, "Unique": 1}) for c in clicks]
    elif kind == "clicks/browserfamilies":
        rows = [(_moment(c), {c["Client"]["Family"]: 1}) for c in clicks]
    elif kind == "clicks/platforms":
        rows = [(_moment(c), {c["Platform"]: 1}) for c in clicks]
    elif kind == "clicks/location":
        rows = [(_moment(c), {c["ClickLocation"]: 1}) for c in clicks]
    else:
        raise _Refusal(404, 0, f"No such statistic: '{kind}'.")
    days, totals = _by_day(rows)
    return {"Days": days, **totals}


@_route("GET", "/triggers/inboundrules")
def _list_rules(pm: LocalPostmark, call: _Call) -> Any:
    count, offset = _count_offset(call.query, 800)
    rules = list(call.data.inbound_rules.values())
    return {
        "TotalCount": len(rules),
        "InboundRules": [dict(r) for r in rules[offset : offset + count]],
    }


@_route("POST", "/triggers/inboundrules")
def _create_rule(pm: LocalPostmark, call: _Call) -> Any:
    rule = call.object().get("Rule")
    if not isinstance(rule, str) or not rule.strip():
        raise _Refusal(422, 808, "A 'Rule' (an email address or a domain) is required.")
    if any(item["Rule"].lower() == rule.lower() for item in call.data.inbound_rules.values()):
        raise _Refusal(422, 809, f"The inbound rule '{rule}' already exists.")
    created: dict[str, Any] = {"ID": next(pm._ids), "Rule": rule}
    call.data.inbound_rules[created["ID"]] = created
    return dict(created)


@_route("DELETE", "/triggers/inboundrules/{}")
def _delete_rule(pm: LocalPostmark, call: _Call) -> Any:
    try:
        rule = call.data.inbound_rules.pop(int(call.args[0]))
    except (KeyError, ValueError):
        raise _Refusal(422, 810, f"Inbound rule {call.args[0]} was not found.") from None
    return {"ErrorCode": 0, "Message": f"Rule {rule['ID']} removed."}


# ---- Account API: servers, domains, sender signatures, data removals ---------


def _add_domain(pm: LocalPostmark, name: str) -> dict[str, Any]:
    domain: dict[str, Any] = {
        "ID": next(pm._ids),
        "Name": name,
        "SPFVerified": True,
        "DKIMVerified": True,
        "WeakDKIM": False,
        "ReturnPathDomainVerified": True,
        "ReturnPathDomain": f"pm-bounces.{name}",
        "ReturnPathDomainCNAMEValue": "pm.mtasv.net",
        "DKIMHost": f"20240101._domainkey.{name}",
        "DKIMTextValue": "k=rsa;p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQ",
        "DKIMPendingHost": "",
        "DKIMPendingTextValue": "",
        "DKIMRevokedHost": "",
        "DKIMRevokedTextValue": "",
        "SafeToRemoveRevokedKeyFromDNS": False,
        "DKIMUpdateStatus": "Verified",
        "SPFHost": name,
        "SPFTextValue": "v=spf1 a mx include:spf.mtasv.net ~all",
        "CustomTrackingDomain": None,
    }
    pm._domains[domain["ID"]] = domain
    return domain


def _add_signature(pm: LocalPostmark, address: str, name: str) -> dict[str, Any]:
    domain = address.rpartition("@")[2]
    signature: dict[str, Any] = {
        "ID": next(pm._ids),
        "Domain": domain,
        "EmailAddress": address,
        "ReplyToEmailAddress": "",
        "Name": name,
        "Confirmed": True,
        "SPFVerified": True,
        "DKIMVerified": True,
        "WeakDKIM": False,
        "ReturnPathDomainVerified": True,
        "ReturnPathDomain": f"pm-bounces.{domain}",
        "ReturnPathDomainCNAMEValue": "pm.mtasv.net",
        "DKIMHost": "",
        "DKIMTextValue": "",
        "DKIMPendingHost": "",
        "DKIMPendingTextValue": "",
        "DKIMRevokedHost": "",
        "DKIMRevokedTextValue": "",
        "SafeToRemoveRevokedKeyFromDNS": False,
        "DKIMUpdateStatus": "Verified",
        "SPFHost": domain,
        "SPFTextValue": "v=spf1 a mx include:spf.mtasv.net ~all",
        "ConfirmationPersonalNote": "",
    }
    pm._signatures[signature["ID"]] = signature
    return signature


def _by_id(
    items: Mapping[int, _Item], key: str, code: int, what: str, *, status: int = 422
) -> _Item:
    """The item whose numeric id is the path's ``key``; else Postmark's "not found" answer."""
    try:
        found = items.get(int(key))
    except ValueError:
        found = None
    if found is None:
        raise _Refusal(status, code, f"{what} {key} was not found.")
    return found


def _listing(
    items: Sequence[dict[str, Any]],
    call: _Call,
    code: int,
    key: str,
    shown: Callable[[dict[str, Any]], Any],
) -> Any:
    count, offset = _count_offset(call.query, code)
    return {"TotalCount": len(items), key: [shown(item) for item in items[offset : offset + count]]}


@_route("GET", "/servers", "account")
def _list_servers(pm: LocalPostmark, call: _Call) -> Any:
    name = (call.query.get("name") or "").lower()
    servers = [s.settings for s in pm._servers.values() if name in s.settings["Name"].lower()]
    return _listing(servers, call, 600, "Servers", dict)


@_route("POST", "/servers", "account")
def _create_server(pm: LocalPostmark, call: _Call) -> Any:
    fields = call.object()
    name = fields.get("Name")
    if not isinstance(name, str) or not name.strip():
        raise _Refusal(422, 602, "A server needs a 'Name'.")
    if any(s.settings["Name"].lower() == name.lower() for s in pm._servers.values()):
        raise _Refusal(422, 603, f"A server named '{name}' already exists.")
    server_id = next(pm._server_ids)
    server = _Server(server_id, name, str(uuid.uuid4()))
    _edit_server_settings(server, fields)
    if fields.get("DeliveryType") in ("Live", "Sandbox"):
        server.settings["DeliveryType"] = fields["DeliveryType"]
    pm._servers[server_id] = server
    pm._tokens[server.token] = server
    return dict(server.settings)


def _server_of(pm: LocalPostmark, call: _Call) -> _Server:
    return _by_id(pm._servers, call.args[0], 601, "Server")


@_route("GET", "/servers/{}", "account")
def _get_account_server(pm: LocalPostmark, call: _Call) -> Any:
    return dict(_server_of(pm, call).settings)


@_route("PUT", "/servers/{}", "account")
def _edit_account_server(pm: LocalPostmark, call: _Call) -> Any:
    server, fields = _server_of(pm, call), call.object()
    name = fields.get("Name")
    if name and any(
        s is not server and s.settings["Name"].lower() == str(name).lower()
        for s in pm._servers.values()
    ):
        raise _Refusal(422, 603, f"A server named '{name}' already exists.")
    return _edit_server_settings(server, fields)


@_route("DELETE", "/servers/{}", "account")
def _delete_server(pm: LocalPostmark, call: _Call) -> Any:
    server = _server_of(pm, call)
    if server is pm._main:
        raise _Refusal(422, 600, "The local Postmark's own server cannot be deleted.")
    del pm._servers[server.id]
    pm._tokens.pop(server.token, None)
    return {"ErrorCode": 0, "Message": f"Server {server.id} removed."}


def _domain_summary(domain: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("Name", "SPFVerified", "DKIMVerified", "WeakDKIM", "ReturnPathDomainVerified", "ID")
    return {key: domain[key] for key in keys}


@_route("GET", "/domains", "account")
def _list_domains(pm: LocalPostmark, call: _Call) -> Any:
    return _listing(list(pm._domains.values()), call, 511, "Domains", _domain_summary)


@_route("POST", "/domains", "account")
def _create_domain(pm: LocalPostmark, call: _Call) -> Any:
    name = call.object().get("Name")
    if not isinstance(name, str) or "." not in name or "@" in name:
        raise _Refusal(422, 511, "A domain needs a valid 'Name'.")
    if any(item["Name"].lower() == name.lower() for item in pm._domains.values()):
        raise _Refusal(422, 512, f"The domain '{name}' already exists.")
    return dict(_add_domain(pm, name.lower()))


@_route("GET", "/domains/{}", "account")
def _get_domain(pm: LocalPostmark, call: _Call) -> Any:
    return dict(_by_id(pm._domains, call.args[0], 510, "Domain"))


@_route("PUT", "/domains/{}", "account")
def _edit_domain(pm: LocalPostmark, call: _Call) -> Any:
    domain = _by_id(pm._domains, call.args[0], 510, "Domain")
    fields = call.object()
    if fields.get("ReturnPathDomain"):
        domain["ReturnPathDomain"] = fields["ReturnPathDomain"]
    return dict(domain)


@_route("DELETE", "/domains/{}", "account")
def _delete_domain(pm: LocalPostmark, call: _Call) -> Any:
    domain = _by_id(pm._domains, call.args[0], 510, "Domain")
    del pm._domains[domain["ID"]]
    return {"ErrorCode": 0, "Message": f"Domain {domain['Name']} removed."}


@_route("PUT", "/domains/{}/verifyDkim", "account")
def _verify_dkim(pm: LocalPostmark, call: _Call) -> Any:
    return dict(_by_id(pm._domains, call.args[0], 510, "Domain"))


@_route("PUT", "/domains/{}/verifyReturnPath", "account")
def _verify_return_path(pm: LocalPostmark, call: _Call) -> Any:
    return dict(_by_id(pm._domains, call.args[0], 510, "Domain"))


@_route("POST", "/domains/{}/verifyspf", "account")
def _verify_spf(pm: LocalPostmark, call: _Call) -> Any:
    return dict(_by_id(pm._domains, call.args[0], 510, "Domain"))


@_route("POST", "/domains/{}/rotatedkim", "account")
def _rotate_dkim(pm: LocalPostmark, call: _Call) -> Any:
    domain = _by_id(pm._domains, call.args[0], 510, "Domain")
    return {key: domain[key] for key in ("Name", "DKIMHost", "DKIMUpdateStatus", "ID")}


def _signature_summary(signature: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("Domain", "EmailAddress", "ReplyToEmailAddress", "Name", "Confirmed", "ID")
    return {key: signature[key] for key in keys}


@_route("GET", "/senders", "account")
def _list_signatures(pm: LocalPostmark, call: _Call) -> Any:
    return _listing(
        list(pm._signatures.values()), call, 500, "SenderSignatures", _signature_summary
    )


@_route("POST", "/senders", "account")
def _create_signature(pm: LocalPostmark, call: _Call) -> Any:
    fields = call.object()
    address = fields.get("FromEmail")
    if not isinstance(address, str) or not _ADDRESS.match(address):
        raise _invalid(f"Invalid 'FromEmail' address: '{address}'.")
    if any(s["EmailAddress"].lower() == address.lower() for s in pm._signatures.values()):
        raise _Refusal(422, 504, "This Sender Signature already exists.")
    signature = _add_signature(pm, address, str(fields.get("Name") or ""))
    signature["ReplyToEmailAddress"] = fields.get("ReplyToEmail") or ""
    signature["ConfirmationPersonalNote"] = fields.get("ConfirmationPersonalNote") or ""
    return dict(signature)


@_route("GET", "/senders/{}", "account")
def _get_signature(pm: LocalPostmark, call: _Call) -> Any:
    return dict(_by_id(pm._signatures, call.args[0], 501, "Sender signature"))


@_route("PUT", "/senders/{}", "account")
def _edit_signature(pm: LocalPostmark, call: _Call) -> Any:
    signature = _by_id(pm._signatures, call.args[0], 501, "Sender signature")
    fields = call.object()
    for source, target in (("Name", "Name"), ("ReplyToEmail", "ReplyToEmailAddress"),
                           ("ReturnPathDomain", "ReturnPathDomain"),
                           ("ConfirmationPersonalNote", "ConfirmationPersonalNote")):  # fmt: skip
        if source in fields:
            signature[target] = fields[source] or ""
    return dict(signature)


@_route("DELETE", "/senders/{}", "account")
def _delete_signature(pm: LocalPostmark, call: _Call) -> Any:
    signature = _by_id(pm._signatures, call.args[0], 501, "Sender signature")
    del pm._signatures[signature["ID"]]
    return {"ErrorCode": 0, "Message": f"Signature {signature['EmailAddress']} removed."}


@_route("POST", "/senders/{}/resend", "account")
def _resend_confirmation(pm: LocalPostmark, call: _Call) -> Any:
    signature = _by_id(pm._signatures, call.args[0], 501, "Sender signature")
    if signature["Confirmed"]:
        raise _Refusal(422, 506, "This Sender Signature is already confirmed.")
    return {"ErrorCode": 0, "Message": "Confirmation email resent."}  # pragma: no cover


@_route("POST", "/data-removals", "account")
def _create_removal(pm: LocalPostmark, call: _Call) -> Any:
    fields = call.object()
    for name in ("RequestedBy", "RequestedFor"):
        if not isinstance(fields.get(name), str) or not _ADDRESS.match(fields[name]):
            raise _Refusal(422, 1300, f"Invalid '{name}' address.")
    removal: dict[str, Any] = {"ID": next(pm._ids), "Status": "Done"}
    pm._removals[removal["ID"]] = removal
    return dict(removal)


@_route("GET", "/data-removals/{}", "account")
def _get_removal(pm: LocalPostmark, call: _Call) -> Any:
    return dict(_by_id(pm._removals, call.args[0], 1302, "Data removal"))


# ---- HTTP ----------------------------------------------------------------------


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], pm: LocalPostmark
    ) -> None:
        self.postmark = pm
        super().__init__(address, handler)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "LocalPostmark"
    # Headers and body go out in separate writes: without this, Nagle's
    # algorithm and the client's delayed ACK hold every answer for ~40 ms.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def _serve(self) -> None:
        try:
            body, too_large = self._read_body()
        except (ValueError, OSError):
            self._answer(400, {"ErrorCode": 0, "Message": "The request body could not be read."})
            self.close_connection = True
            return
        if too_large:
            status, payload = (
                413,
                {
                    "ErrorCode": 300,
                    "Message": f"The request is larger than {_MAX_REQUEST_BYTES >> 20} MB.",
                },
            )
        else:
            headers = {key: value for key, value in self.headers.items()}
            status, payload = self.server.postmark.handle(self.command, self.path, headers, body)
        self._answer(status, payload)

    def _read_body(self) -> tuple[bytes, bool]:
        """The body, read in full (a body over the limit is read and dropped)."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks, size = [], 0
            while True:
                line = self.rfile.readline(65537)
                length = int(line.split(b";")[0].strip() or b"0", 16)
                if length == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                data = self.rfile.read(length)
                self.rfile.readline(65537)
                size += length
                if size <= _MAX_REQUEST_BYTES:
                    chunks.append(data)
            return (b"", True) if size > _MAX_REQUEST_BYTES else (b"".join(chunks), False)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        if length > _MAX_REQUEST_BYTES:
            left = length
            while left > 0:
                data = self.rfile.read(min(left, 1 << 20))
                if not data:
                    break
                left -= len(data)
            return b"", True
        return self.rfile.read(length), False

    def _answer(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answer a malformed request (bad request line, unknown method...) in JSON too."""
        self.close_connection = True
        if self.request_version == "HTTP/0.9":  # an unparsed line: answer in HTTP/1.0
            self.request_version = "HTTP/1.0"
        text = message or http.HTTPStatus(code).phrase
        self._answer(code, {"ErrorCode": 0, "Message": text})

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the local Postmark does not log requests."""


# ---- Command line ------------------------------------------------------------


def serve_main(argv: Sequence[str] | None = None) -> int:
    """Run the local Postmark in the foreground: ``python -m pystmark serve ...``.

    Prints the URL and the tokens, serves until Ctrl-C, then stops and returns 0.
    """
    import argparse
    import signal

    parser = argparse.ArgumentParser(
        prog="python -m pystmark serve",
        description="Run a local Postmark (an emulator of Postmark's API) in the foreground.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port, 0 for any free one ({DEFAULT_PORT})"
    )
    parser.add_argument("--server-token", default=DEFAULT_SERVER_TOKEN, help="server API token")
    parser.add_argument("--account-token", default=DEFAULT_ACCOUNT_TOKEN, help="account API token")
    arguments = parser.parse_args(argv)
    try:
        postmark = LocalPostmark(
            host=arguments.host,
            port=arguments.port,
            server_token=arguments.server_token,
            account_token=arguments.account_token,
        ).start()
    except (OSError, ValueError) as error:
        print(f"Cannot start the local Postmark: {error}", file=sys.stderr)
        return 1
    stop = threading.Event()
    previous = (
        signal.getsignal(signal.SIGTERM)
        if threading.current_thread() is threading.main_thread()
        else None
    )
    if previous is not None:
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"Local Postmark running at {postmark.url}", flush=True)
    print(f"  server token:  {postmark.server_token}")
    print(f"  account token: {postmark.account_token}")
    print(f"  POSTMARK_API_URL={postmark.url} POSTMARK_SERVER_TOKEN={postmark.server_token}")
    print("Press Ctrl-C to stop.", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        postmark.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    print("Local Postmark stopped.", flush=True)
    return 0


def _main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments or arguments[0] != "serve":
        print("usage: python -m pystmark_testing serve [--host H] [--port N] "
              "[--server-token T] [--account-token T]", file=sys.stderr)  # fmt: skip
        return 2
    return serve_main(arguments[1:])


# ---- pytest plugin -------------------------------------------------------------

_session_postmark: list[LocalPostmark] = []


def _shared_postmark() -> LocalPostmark:
    if not _session_postmark:
        _session_postmark.append(LocalPostmark(webhook_retry_delays=(0.01, 0.02, 0.05)).start())
    return _session_postmark[0]


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the session's local Postmark, if a test started it."""
    while _session_postmark:
        _session_postmark.pop().stop()


def _fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalPostmark]:
    """A running local Postmark, with pystmark's settings pointed at it for one test.

    pystmark's process-wide defaults (``configure``) and the ``POSTMARK_*``
    environment variables (for code that reads them, and child processes) name
    its URL and tokens; afterwards the variables are restored and the
    ``configure`` defaults removed. Its data is cleared before and after.
    """
    import pystmark

    postmark = _shared_postmark()
    postmark.reset()
    monkeypatch.setenv("POSTMARK_API_URL", postmark.url)
    monkeypatch.setenv("POSTMARK_SERVER_TOKEN", postmark.server_token)
    monkeypatch.setenv("POSTMARK_ACCOUNT_TOKEN", postmark.account_token)
    pystmark.configure(
        base_url=postmark.url,
        api_key=postmark.server_token,
        account_api_key=postmark.account_token,
        test=False,
    )
    try:
        yield postmark
    finally:
        # pystmark cannot report earlier configure() values, so they are removed.
        pystmark.configure(base_url=None, api_key=None, account_api_key=None, test=None)
        postmark.reset()


def _make_fixture() -> Any:
    # Only under pytest: importing this module elsewhere must not import pytest.
    if "pytest" not in sys.modules:
        return None
    import pytest

    return pytest.fixture(name="postmark")(_fixture)


#: The pytest fixture: a running :class:`LocalPostmark`, with pystmark pointed at it.
postmark = _make_fixture()


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(_main())
