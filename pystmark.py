"""pystmark: a complete, typed Python client for the Postmark email API.

Simple API -- one call per Postmark operation::

    import pystmark

    pystmark.send(
        {"sender": "me@example.com", "to": "you@example.com",
         "subject": "Hi", "text": "Hello"},
        api_key="server-token",
    )

Advanced API -- configurable classes that the functions wrap::

    with pystmark.Sender(message={"sender": "me@example.com"}, api_key=K) as s:
        s.send(pystmark.Message(to="you@example.com", subject="Hi", text="Hello"))

Every class and function takes the same settings (:class:`Options`): a call's
value wins over the instance's, which wins over :func:`configure`, which wins
over the environment (``POSTMARK_SERVER_TOKEN``, ``POSTMARK_ACCOUNT_TOKEN``,
``POSTMARK_API_URL``), which wins over the built-in default.

Exceptions::

    PystmarkError
    ├── MessageError (ValueError)          bad message, found before any I/O
    ├── ConfigurationError (ValueError)    bad settings, found before any I/O
    ├── DataError (ValueError)             Postmark data of an unexpected shape
    ├── BatchSendError                     some messages of a batch not accepted
    ├── SendOutcomeUnknownError            a send that may or may not have arrived
    ├── TransportError                     the network failed (nothing sent twice)
    │   ├── ConnectionFailedError
    │   ├── RequestTimeoutError
    │   ├── DeadlineExceededError
    │   └── TLSVerificationError
    └── APIError (requests.HTTPError)      Postmark answered with an error
        ├── UnauthorizedError              HTTP 401, ErrorCode 10
        ├── NotFoundError                  HTTP 404
        ├── PayloadTooLargeError           HTTP 413
        ├── UnprocessableEntityError       HTTP 422
        │   ├── InvalidEmailRequestError       ErrorCode 300
        │   ├── SenderSignatureError           ErrorCode 400, 401
        │   └── InactiveRecipientError         ErrorCode 406
        ├── RateLimitError                 HTTP 429
        ├── ServerError                    HTTP 500, 503, ErrorCode 100
        │   ├── InternalServerError            HTTP 500
        │   └── ServiceUnavailableError        HTTP 503, ErrorCode 100
        └── UnexpectedResponseError        anything else, non-JSON bodies

``ResponseError`` is the pystmark 0.5 name of :class:`APIError`.
"""

from __future__ import annotations

import base64
import email.utils
import enum
import io
import ipaddress
import json
import logging
import math
import os
import random
import re
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypedDict, TypeVar, cast, overload
from urllib.parse import quote, urlsplit

import requests
import requests.adapters
import urllib3.exceptions

if TYPE_CHECKING:
    from typing_extensions import Self, Unpack

__version__ = "1.0.0.dev0"

__all__ = [
    # simple API: sending
    "send",
    "send_with_template",
    "send_batch",
    "send_batch_with_templates",
    "send_bulk",
    "get_bulk_status",
    "configure",
    "close",
    # simple API: bounces and webhooks (bounces issue)
    # simple API: messages (messages issue)
    # simple API: templates, server, streams, webhooks, suppressions, stats, rules
    # simple API: account
    # advanced API
    "Interface",
    "Sender",
    "TemplateSender",
    "BatchSender",
    "BatchTemplateSender",
    "BulkSender",
    "Options",
    # advanced API: bounces and webhooks
    # advanced API: messages
    # advanced API: templates, server, streams, webhooks, suppressions, stats, rules
    # advanced API: account
    # messages
    "Message",
    "Attachment",
    "TrackLinks",
    # responses and records
    "Response",
    "SendResponse",
    "BatchSendResponse",
    "BulkSendResponse",
    "BulkStatusResponse",
    "MessageConfirmation",
    "Record",
    "SendResult",
    "BulkStatus",
    # errors
    "PystmarkError",
    "MessageError",
    "ConfigurationError",
    "DataError",
    "BatchSendError",
    "SendOutcomeUnknownError",
    "TransportError",
    "ConnectionFailedError",
    "RequestTimeoutError",
    "DeadlineExceededError",
    "TLSVerificationError",
    "APIError",
    "ResponseError",
    "UnauthorizedError",
    "NotFoundError",
    "PayloadTooLargeError",
    "UnprocessableEntityError",
    "InvalidEmailRequestError",
    "SenderSignatureError",
    "InactiveRecipientError",
    "RateLimitError",
    "ServerError",
    "InternalServerError",
    "ServiceUnavailableError",
    "UnexpectedResponseError",
    # constants
    "API_URL",
    "TEST_API_KEY",
]

logger = logging.getLogger("pystmark")

T = TypeVar("T")


# ---- Constants -------------------------------------------------------------

API_URL = "https://api.postmarkapp.com"
#: Postmark accepts this server token, validates the request and delivers nothing.
TEST_API_KEY = "POSTMARK_API_TEST"

SERVER_TOKEN_HEADER = "X-Postmark-Server-Token"
ACCOUNT_TOKEN_HEADER = "X-Postmark-Account-Token"

_MIB = 1024 * 1024
# Limits from postmarkapp.com/developer/api/email-api and support article 1056
# ("What are the attachment and email size limits?"); sizes are after base64.
MAX_RECIPIENTS = 50  # per To, Cc and Bcc field
MAX_BATCH_MESSAGES = 500
MAX_BATCH_BYTES = 50 * _MIB
MAX_MESSAGE_BYTES = 10 * _MIB
MAX_BODY_BYTES = 5 * _MIB  # each of TextBody and HtmlBody
MAX_TAG_LENGTH = 1000

#: (connect, read) seconds for every request unless ``timeout`` says otherwise.
DEFAULT_TIMEOUT = (5.0, 30.0)
#: Seconds one call may take in all, retries and their waits included.
DEFAULT_DEADLINE = 60.0
DEFAULT_MAX_RETRIES = 2
DEFAULT_BACKOFF_BASE = 0.5
DEFAULT_BACKOFF_CAP = 8.0
DEFAULT_MAX_RETRY_AFTER = 30.0

USER_AGENT = f"pystmark/{__version__} python-requests/{requests.__version__}"

# Postmark's list of forbidden attachment file types
# (postmarkapp.com/developer/api/email-api, "Attachments").
# fmt: off
FORBIDDEN_EXTENSIONS = frozenset({
    "vbs", "exe", "bin", "bat", "chm", "com", "cpl", "crt", "hlp", "hta", "inf",
    "ins", "isp", "jse", "lnk", "mdb", "pcd", "pif", "reg", "scr", "sct", "shs",
    "vbe", "vba", "wsf", "wsh", "wsl", "msc", "msi", "msp", "mst",
})
# fmt: on

_HEADER_UNSAFE = re.compile(r"[\r\n\x00]")
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_INACTIVE_ADDRESSES = re.compile(
    r"inactive addresses:\s*(.*?)\.(?:\s|$)", re.IGNORECASE | re.DOTALL
)


# ---- Exceptions ------------------------------------------------------------


class PystmarkError(Exception):
    """Base class of every error pystmark raises."""

    #: How many times the request was tried before this error (1 without retries).
    attempts: int = 1


class MessageError(PystmarkError, ValueError):
    """A message is not valid; raised before anything is sent."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        #: The message field at fault, as named in Python (``to``, ``subject``...).
        self.field = field
        self.problem = problem


class ConfigurationError(PystmarkError, ValueError):
    """A setting is missing or invalid; raised before any network I/O."""


class DataError(PystmarkError, ValueError):
    """Data from Postmark (or a webhook) did not have the documented shape."""


class TransportError(PystmarkError):
    """The request could not be completed on the network.

    Raised only where resending was safe and retries ran out, or where nothing
    can have reached Postmark; the cause is chained as ``__cause__``.
    """

    def __init__(self, message: str, *, attempts: int = 1) -> None:
        super().__init__(message)
        #: How many times the request was tried.
        self.attempts = attempts


class ConnectionFailedError(TransportError):
    """No connection to Postmark could be made, or it broke mid-request."""


class RequestTimeoutError(TransportError):
    """Postmark did not answer within the read timeout."""


class DeadlineExceededError(TransportError):
    """The call's total ``deadline`` passed before it could finish."""


class TLSVerificationError(TransportError):
    """The server's TLS certificate could not be verified (never retried)."""


class SendOutcomeUnknownError(PystmarkError):
    """A send may or may not have been accepted by Postmark.

    The request was written, but no usable answer came back (a timeout, a reset
    connection, a 5xx). Postmark has no idempotency key, so pystmark never sends
    it again: look the message up (for example by a Metadata value) before
    resending by hand.
    """

    def __init__(self, message: str, *, attempts: int = 1) -> None:
        super().__init__(message + _UNKNOWN_OUTCOME)
        self.attempts = attempts


_UNKNOWN_OUTCOME = "; the message may or may not have been accepted, and it was not sent again"


class APIError(PystmarkError, requests.HTTPError):
    """Postmark answered with an error status (or with an unusable body)."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        error_code: int | None = None,
        response: requests.Response | None = None,
        data: Any = None,
    ) -> None:
        # Not super(): the send-outcome classes below also derive from
        # SendOutcomeUnknownError, whose __init__ takes other arguments.
        requests.HTTPError.__init__(self, message, response=response)
        #: The HTTP status of the answer.
        self.status_code = status_code
        #: Postmark's ``ErrorCode`` from the body, when there was one.
        self.error_code = error_code
        #: Postmark's ``Message`` from the body (or a description of the problem).
        self.message = message
        #: The decoded JSON body, when there was one.
        self.data = data

    def __str__(self) -> str:
        code = "" if self.error_code is None else f"[ErrorCode {self.error_code}] "
        status = "" if self.status_code is None else f" (HTTP {self.status_code})"
        return f"{code}{self.message}{status}"

    @property
    def retryable(self) -> bool:
        """True for rejections that a later identical request may pass."""
        return False


#: The pystmark 0.5 name of :class:`APIError`.
ResponseError = APIError


class UnauthorizedError(APIError):
    """The API token is missing or wrong (HTTP 401, ErrorCode 10)."""


class NotFoundError(APIError):
    """The requested entity does not exist (HTTP 404)."""


class PayloadTooLargeError(APIError):
    """The request was too large for Postmark (HTTP 413)."""


class UnprocessableEntityError(APIError):
    """Postmark refused the request (HTTP 422); ``error_code`` says why."""


class InvalidEmailRequestError(UnprocessableEntityError):
    """The message was refused as invalid (ErrorCode 300)."""


class SenderSignatureError(UnprocessableEntityError):
    """The From address has no confirmed sender signature (ErrorCode 400, 401)."""


class InactiveRecipientError(UnprocessableEntityError):
    """Every recipient is inactive (ErrorCode 406); see ``recipients``."""

    @property
    def recipients(self) -> list[str]:
        """The inactive addresses Postmark named in its message."""
        return _inactive_addresses(self.message)


class RateLimitError(APIError):
    """Too many requests (HTTP 429); retried automatically."""

    @property
    def retryable(self) -> bool:
        """Always true: the request was refused, so it may be repeated."""
        return True


class ServerError(APIError):
    """Postmark failed or is unavailable (HTTP 5xx, ErrorCode 100)."""


class InternalServerError(ServerError):
    """Postmark failed while handling the request (HTTP 500)."""


class ServiceUnavailableError(ServerError):
    """Postmark is down for maintenance (HTTP 503, ErrorCode 100)."""

    @property
    def retryable(self) -> bool:
        """Always true: the request was refused, so it may be repeated."""
        return True


class UnexpectedResponseError(APIError):
    """An answer pystmark cannot interpret: another status, or no JSON body."""


class _SendInternalServerError(InternalServerError, SendOutcomeUnknownError):
    """A send answered by HTTP 500: Postmark may have accepted it anyway."""

    def __str__(self) -> str:
        return super().__str__() + _UNKNOWN_OUTCOME


class _SendUnexpectedResponseError(UnexpectedResponseError, SendOutcomeUnknownError):
    """A send answered by a gateway error or an unreadable body."""

    def __str__(self) -> str:
        return super().__str__() + _UNKNOWN_OUTCOME


class BatchSendError(PystmarkError):
    """Some messages of a batch were not accepted.

    ``results`` holds a :class:`SendResult` for every message that got an
    answer, in input order; ``failed`` the ones among them that Postmark
    refused; ``unsent`` the input positions of messages never sent because an
    earlier request of the batch failed (then ``__cause__`` is that error).
    """

    def __init__(
        self, message: str, *, results: list[SendResult], unsent: Sequence[int] = ()
    ) -> None:
        super().__init__(message)
        self.results = results
        self.failed = [result for result in results if not result.ok]
        self.unsent = list(unsent)


_STATUS_ERRORS: dict[int, type[APIError]] = {
    401: UnauthorizedError,
    404: NotFoundError,
    413: PayloadTooLargeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    500: InternalServerError,
    503: ServiceUnavailableError,
}

#: ErrorCode -> error class, consulted for HTTP 422 answers (and batch items).
_ERROR_CODE_ERRORS: dict[int, type[APIError]] = {
    10: UnauthorizedError,
    100: ServiceUnavailableError,
    300: InvalidEmailRequestError,
    400: SenderSignatureError,
    401: SenderSignatureError,
    406: InactiveRecipientError,
    429: RateLimitError,
}


def _inactive_addresses(text: str) -> list[str]:
    match = _INACTIVE_ADDRESSES.search(text or "")
    if not match:
        return []
    return [address.strip() for address in match.group(1).split(",") if address.strip()]


def _error_class(status: int, error_code: int | None) -> type[APIError]:
    if status == 422 and error_code is not None and error_code in _ERROR_CODE_ERRORS:
        return _ERROR_CODE_ERRORS[error_code]
    return _STATUS_ERRORS.get(status, UnexpectedResponseError)


# ---- Settings --------------------------------------------------------------

Timeout = float | tuple[float, float]


class Options(TypedDict, total=False):
    """Settings that every class and function accepts as keyword arguments.

    A call's value wins over the instance's, which wins over :func:`configure`,
    the environment, and the built-in default. ``None`` means "not given".
    """

    #: Server API token (environment: ``POSTMARK_SERVER_TOKEN``).
    api_key: str | None
    #: Account API token for account endpoints (``POSTMARK_ACCOUNT_TOKEN``).
    account_api_key: str | None
    #: Send with Postmark's test token: validated, never delivered.
    test: bool | None
    #: Seconds: one number for connect and read, or ``(connect, read)``.
    timeout: Timeout | None
    #: Total seconds one call may take, retries included.
    deadline: float | None
    #: A ``requests.Session`` to use (never closed by pystmark).
    session: requests.Session | None
    #: API root; ``https://`` only, ``http://`` for loopback hosts (``POSTMARK_API_URL``).
    base_url: str | None
    #: Retries after a failure that is safe to retry; 0 turns retries off.
    max_retries: int | None
    #: First backoff step in seconds (full jitter, doubling each retry).
    backoff_base: float | None
    #: Largest backoff in seconds.
    backoff_cap: float | None
    #: Largest ``Retry-After`` honoured, in seconds; longer waits fail at once.
    max_retry_after: float | None
    #: pystmark 0.5 setting; Postmark requires TLS, so only ``True`` is accepted.
    secure: bool | None
    # Passed through to requests:
    #: Proxies, as for ``requests``.
    proxies: Mapping[str, str] | None
    #: A CA bundle path (``False`` is refused except on loopback hosts).
    verify: bool | str | None
    #: A client certificate, as for ``requests``.
    cert: str | tuple[str, str] | None
    #: Extra HTTP headers.
    headers: Mapping[str, str] | None
    #: Cookies, as for ``requests``.
    cookies: Mapping[str, str] | None
    #: Response hooks, as for ``requests``.
    hooks: Mapping[str, Any] | None


# fmt: off
_SETTING_NAMES = frozenset({
    "api_key", "account_api_key", "test", "timeout", "deadline", "session", "base_url",
    "max_retries", "backoff_base", "backoff_cap", "max_retry_after", "secure",
})
# fmt: on
# fmt: off
_REQUEST_ARG_NAMES = frozenset({
    "proxies", "verify", "cert", "headers", "cookies", "hooks",
})
# fmt: on
_OPTION_NAMES = _SETTING_NAMES | _REQUEST_ARG_NAMES

_configured: dict[str, Any] = {}


def _check_options(options: Mapping[str, Any]) -> None:
    unknown = set(options) - _OPTION_NAMES
    if unknown:
        raise TypeError(f"unknown option(s): {', '.join(sorted(unknown))}")


def configure(**options: Unpack[Options]) -> None:
    """Set process-wide defaults, below per-instance and per-call settings.

    ``configure(api_key=None)`` removes a default again.
    """
    _check_options(options)
    for name, value in options.items():
        if value is None:
            _configured.pop(name, None)
        else:
            _configured[name] = value


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _mask(options: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: ("***" if name in ("api_key", "account_api_key") and value else value)
        for name, value in options.items()
    }


class _Settings:
    """The settings in force for one call, resolved from every layer."""

    __slots__ = (
        "_extra_headers",
        "account_api_key",
        "api_key",
        "backoff_base",
        "backoff_cap",
        "base_url",
        "deadline",
        "max_retries",
        "max_retry_after",
        "request_args",
        "session",
        "test",
        "timeout",
    )

    def __init__(self, instance: Mapping[str, Any], call: Mapping[str, Any]) -> None:
        environ = os.environ
        merged: dict[str, Any] = {
            "api_key": environ.get("POSTMARK_SERVER_TOKEN"),
            "account_api_key": environ.get("POSTMARK_ACCOUNT_TOKEN"),
            "base_url": environ.get("POSTMARK_API_URL"),
        }
        headers: dict[str, str] = {}
        for layer in (_configured, instance, call):
            for name, value in layer.items():
                if value is None:
                    continue
                if name == "headers":
                    headers.update(value)
                else:
                    merged[name] = value
        self.api_key: str | None = merged.get("api_key") or None
        self.account_api_key: str | None = merged.get("account_api_key") or None
        self.test = bool(merged.get("test", False))
        self.session: requests.Session | None = merged.get("session")
        self.base_url = _check_base_url(merged.get("base_url") or API_URL)
        if merged.get("secure", True) is not True:
            raise ConfigurationError(
                "secure=False is not supported: Postmark requires TLS "
                "(use base_url='http://127.0.0.1:...' for a local test server)"
            )
        self.timeout = _check_timeout(merged.get("timeout", DEFAULT_TIMEOUT))
        self.deadline = _check_number("deadline", merged.get("deadline", DEFAULT_DEADLINE))
        self.max_retries = int(
            _check_number("max_retries", merged.get("max_retries", DEFAULT_MAX_RETRIES))
        )
        self.backoff_base = _check_number(
            "backoff_base", merged.get("backoff_base", DEFAULT_BACKOFF_BASE)
        )
        self.backoff_cap = _check_number(
            "backoff_cap", merged.get("backoff_cap", DEFAULT_BACKOFF_CAP)
        )
        self.max_retry_after = _check_number(
            "max_retry_after", merged.get("max_retry_after", DEFAULT_MAX_RETRY_AFTER)
        )
        request_args = {
            name: merged[name] for name in _REQUEST_ARG_NAMES if merged.get(name) is not None
        }
        if request_args.get("verify") is False and not _is_loopback(
            urlsplit(self.base_url).hostname
        ):
            raise ConfigurationError("verify=False is only accepted for loopback hosts")
        request_args.pop("headers", None)
        self.request_args: dict[str, Any] = request_args
        for name, value in headers.items():
            _check_header_text("headers", name, value)
        self._extra_headers: dict[str, str] = headers

    def headers(self, token_kind: str) -> dict[str, str]:
        """The HTTP headers of a request to an endpoint using ``token_kind``."""
        if token_kind == "account":
            token = self.account_api_key
            if not token:
                raise ConfigurationError(
                    "no account token: pass account_api_key=..., call "
                    "configure(account_api_key=...), or set POSTMARK_ACCOUNT_TOKEN"
                )
            header = ACCOUNT_TOKEN_HEADER
        else:
            token = TEST_API_KEY if self.test else self.api_key
            if not token:
                raise ConfigurationError(
                    "no server token: pass api_key=..., call configure(api_key=...), "
                    "set POSTMARK_SERVER_TOKEN, or use test=True"
                )
            header = SERVER_TOKEN_HEADER
        if not isinstance(token, str) or not token.isprintable() or token != token.strip():
            # Never echo the value: requests' own error would print it.
            raise ConfigurationError(
                f"the {token_kind} token contains whitespace or control characters"
            )
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }
        headers.update(self._extra_headers)
        headers[header] = token
        return headers


def _check_base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url.rstrip("/")
    if parts.scheme == "http" and _is_loopback(parts.hostname):
        return url.rstrip("/")
    raise ConfigurationError(
        f"base_url must be an https:// URL (http:// only for loopback hosts), not {url!r}"
    )


def _check_number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigurationError(f"{name} must be a number >= 0, not {value!r}")
    return float(value)


def _check_timeout(value: Any) -> tuple[float, float]:
    if isinstance(value, tuple | list) and len(value) == 2:
        connect, read = value
    else:
        connect = read = value
    connect = _check_number("timeout", connect)
    read = _check_number("timeout", read)
    if connect == 0 or read == 0:
        raise ConfigurationError("timeout must be greater than 0")
    return connect, read


# ---- Messages --------------------------------------------------------------


class TrackLinks(str, enum.Enum):
    """Link tracking modes for :attr:`Message.track_links`."""

    NONE = "None"
    HTML_AND_TEXT = "HtmlAndText"
    HTML_ONLY = "HtmlOnly"
    TEXT_ONLY = "TextOnly"


def _check_header_text(field: str, name: str, value: Any) -> None:
    """Refuse CR, LF and NUL (header injection) and non-token header names."""
    if not isinstance(name, str) or not _HEADER_NAME.match(name):
        raise MessageError(field, f"invalid header name {name!r}")
    _check_line(f"{field}[{name!r}]", value)


def _check_line(field: str, value: Any) -> None:
    if not isinstance(value, str):
        raise MessageError(field, f"must be a string, not {type(value).__name__}")
    if _HEADER_UNSAFE.search(value):
        raise MessageError(field, "must not contain CR, LF or NUL characters")


def _base64_size(raw_size: int) -> int:
    return 4 * math.ceil(raw_size / 3)


class Attachment:
    """A file attached to a message; inline when it has a ``content_id``.

    Give the raw bytes as ``data`` or Postmark's base64 text as ``content``.
    The name is reduced to its last path component.
    """

    __slots__ = ("_content", "_data", "content_id", "content_type", "name")

    def __init__(
        self,
        name: str,
        data: bytes | None = None,
        content_type: str | None = None,
        content_id: str | None = None,
        *,
        content: str | None = None,
    ) -> None:
        if (data is None) == (content is None):
            raise MessageError("attachments", "give exactly one of data and content")
        if not isinstance(name, str):
            raise MessageError("attachments", "the name must be a string")
        base_name = re.split(r"[/\\]", name)[-1]
        self.name = base_name
        if not content_type:
            import mimetypes  # lazy: rarely needed, and slow to import

            content_type = mimetypes.guess_type(base_name)[0] or "application/octet-stream"
        self.content_type = content_type
        if content_id and not content_id.startswith("cid:"):
            content_id = "cid:" + content_id
        self.content_id = content_id
        self._data = None if data is None else bytes(data)
        self._content = content

    @property
    def data(self) -> bytes:
        """The raw bytes of the file."""
        if self._data is not None:
            return self._data
        return base64.b64decode(cast(str, self._content))

    @property
    def content(self) -> str:
        """The file as base64 text, as Postmark carries it."""
        if self._content is not None:
            return self._content
        return base64.b64encode(cast(bytes, self._data)).decode("ascii")

    @property
    def encoded_size(self) -> int:
        """Length of the base64 text, computed without encoding."""
        if self._content is not None:
            return len(self._content)
        return _base64_size(len(cast(bytes, self._data)))

    def _encoded(self) -> bytes:
        if self._content is not None:
            return self._content.encode("ascii")
        return base64.b64encode(cast(bytes, self._data))

    def _write_encoded(self, out: io.BytesIO) -> None:
        """Write the base64 text to ``out`` a slice at a time (no full-size copy)."""
        step = _ENCODE_STEP
        if self._content is not None:
            content = self._content
            for start in range(0, len(content), step):
                out.write(content[start : start + step].encode("ascii"))
            return
        data = memoryview(cast(bytes, self._data))
        for start in range(0, len(data), step):
            out.write(base64.b64encode(data[start : start + step]))

    def validate(self) -> None:
        """Raise :class:`MessageError` for a forbidden or malformed attachment."""
        field = f"attachments[{self.name!r}]"
        if not self.name:
            raise MessageError("attachments", "an attachment needs a file name")
        _check_line(field, self.name)
        _check_line(f"{field}.content_type", self.content_type)
        if self.content_id is not None:
            _check_line(f"{field}.content_id", self.content_id)
        extension = self.name.rsplit(".", 1)[-1].lower() if "." in self.name else ""
        if extension in FORBIDDEN_EXTENSIONS:
            raise MessageError(field, f"Postmark refuses .{extension} attachments")
        if self._content is not None and not isinstance(self._content, str):
            raise MessageError(f"{field}.content", "must be base64 text")

    def to_payload(self) -> dict[str, Any]:
        """Postmark's JSON for this attachment."""
        return self._payload(self.content)

    def _payload(self, content: Any) -> dict[str, Any]:
        payload = {"Name": self.name, "Content": content, "ContentType": self.content_type}
        if self.content_id:
            payload["ContentID"] = self.content_id
        return payload

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Attachment:
        """Build from Postmark's ``{"Name", "Content", ...}`` or snake_case keys."""
        keys = {_ATTACHMENT_KEYS.get(key, key): value for key, value in data.items()}
        unknown = set(keys) - {"name", "data", "content", "content_type", "content_id"}
        if unknown:
            raise MessageError("attachments", f"unknown key(s) {sorted(unknown)}")
        return cls(
            keys.get("name", ""),
            keys.get("data"),
            keys.get("content_type"),
            keys.get("content_id"),
            content=keys.get("content"),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Attachment):
            return NotImplemented
        return (self.name, self.content_type, self.content_id, self.data) == (
            other.name,
            other.content_type,
            other.content_id,
            other.data,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Attachment(name={self.name!r}, content_type={self.content_type!r}, "
            f"content_id={self.content_id!r}, size={self.encoded_size})"
        )


_ATTACHMENT_KEYS = {
    "Name": "name",
    "Content": "content",
    "ContentType": "content_type",
    "ContentID": "content_id",
    "ContentId": "content_id",
}

#: Message attribute -> Postmark JSON key, in Postmark's documented order.
_MESSAGE_KEYS: dict[str, str] = {
    "sender": "From",
    "to": "To",
    "cc": "Cc",
    "bcc": "Bcc",
    "reply_to": "ReplyTo",
    "subject": "Subject",
    "tag": "Tag",
    "html": "HtmlBody",
    "text": "TextBody",
    "headers": "Headers",
    "track_opens": "TrackOpens",
    "track_links": "TrackLinks",
    "metadata": "Metadata",
    "message_stream": "MessageStream",
    "attachments": "Attachments",
    "template_id": "TemplateId",
    "template_alias": "TemplateAlias",
    "template_model": "TemplateModel",
    "inline_css": "InlineCss",
}
_MESSAGE_NAMES = {key: name for name, key in _MESSAGE_KEYS.items()}
_MESSAGE_NAMES.update({"TemplateID": "template_id", "html_body": "html", "text_body": "text"})

Addresses = str | Sequence[str]
HeadersLike = Mapping[str, str] | Iterable[tuple[str, str]] | Iterable[Mapping[str, str]]


class Message:
    """One email, as Postmark's send endpoints take it.

    Build it with keyword arguments, or from a dict with :meth:`from_dict` (in
    snake_case or in Postmark's own CamelCase). Recipients are a string with
    commas or a list; ``"Name <a@b.c>"`` display names are allowed. Nothing is
    checked until :meth:`validate`, which every send calls before any I/O.
    """

    sender: str | None
    to: Addresses | None
    cc: Addresses | None
    bcc: Addresses | None
    reply_to: str | None
    subject: str | None
    tag: str | None
    html: str | None
    text: str | None
    headers: list[tuple[str, str]]
    metadata: dict[str, str]
    track_opens: bool | None
    track_links: TrackLinks | str | None
    message_stream: str | None
    attachments: list[Attachment]
    template_id: int | None
    template_alias: str | None
    template_model: dict[str, Any] | None
    inline_css: bool | None

    def __init__(
        self,
        sender: str | None = None,
        to: Addresses | None = None,
        cc: Addresses | None = None,
        bcc: Addresses | None = None,
        reply_to: str | None = None,
        subject: str | None = None,
        tag: str | None = None,
        html: str | None = None,
        text: str | None = None,
        headers: HeadersLike | None = None,
        metadata: Mapping[str, str] | None = None,
        track_opens: bool | None = None,
        track_links: TrackLinks | str | None = None,
        message_stream: str | None = None,
        attachments: Iterable[Attachment | Mapping[str, Any]] | None = None,
        template_id: int | None = None,
        template_alias: str | None = None,
        template_model: Mapping[str, Any] | None = None,
        inline_css: bool | None = None,
        verify: bool = False,
    ) -> None:
        self.sender = sender
        self.to = to
        self.cc = cc
        self.bcc = bcc
        self.reply_to = reply_to
        self.subject = subject
        self.tag = tag
        self.html = html
        self.text = text
        self.headers = []
        for name, value in _header_pairs(headers):
            self.add_header(name, value)
        self.metadata = dict(metadata or {})
        self.track_opens = track_opens
        self.track_links = track_links
        self.message_stream = message_stream
        self.attachments = [
            item if isinstance(item, Attachment) else Attachment.from_dict(item)
            for item in attachments or ()
        ]
        self.template_id = template_id
        self.template_alias = template_alias
        self.template_model = None if template_model is None else dict(template_model)
        self.inline_css = inline_css
        if verify:
            self.validate()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Message:
        """Build a message from snake_case or Postmark CamelCase keys."""
        if not isinstance(data, Mapping):
            raise MessageError(
                "message", f"expected a Message or a dict, not {type(data).__name__}"
            )
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            name = key if key in _MESSAGE_KEYS else _MESSAGE_NAMES.get(key)
            if name is None:
                raise MessageError(str(key), "unknown message field")
            kwargs[name] = value
        return cls(**kwargs)

    #: The pystmark 0.5 name of :meth:`from_dict`.
    load_message = from_dict

    @classmethod
    def _coerce(cls, message: MessageLike | None) -> Message:
        if message is None:
            return cls()
        if isinstance(message, Message):
            return message
        return cls.from_dict(message)

    def add_header(self, name: str, value: str) -> None:
        """Add a custom email header (checked for header injection when sent)."""
        self.headers.append((name, value))

    def attach_binary(
        self,
        data: bytes,
        filename: str,
        content_type: str | None = None,
        content_id: str | None = None,
    ) -> Attachment:
        """Attach bytes; a ``content_id`` makes it inline (``<img src="cid:...">``)."""
        attachment = Attachment(filename, data, content_type, content_id)
        self.attachments.append(attachment)
        return attachment

    def attach_file(
        self,
        path: str | os.PathLike[str],
        content_type: str | None = None,
        content_id: str | None = None,
    ) -> Attachment:
        """Attach a file from disk; the content type is guessed from its name."""
        with open(path, "rb") as handle:
            data = handle.read()
        return self.attach_binary(data, os.path.basename(os.fspath(path)), content_type, content_id)

    @property
    def recipients(self) -> list[str]:
        """Every To, Cc and Bcc address, display names removed."""
        return [
            address
            for field in (self.to, self.cc, self.bcc)
            for _, address in email.utils.getaddresses([_join_addresses(field) or ""])
            if address
        ]

    def validate(self, *, template: bool | None = None, require_recipient: bool = True) -> Message:
        """Check the message as Postmark would; raise :class:`MessageError`.

        ``template=True`` requires a template, ``False`` forbids one, ``None``
        accepts either. Returns the message.
        """
        if not self.sender:
            raise MessageError("sender", "a message needs a sender (From)")
        self._check_recipients(require_recipient)
        for field in ("sender", "reply_to", "subject", "tag", "message_stream"):
            value = getattr(self, field)
            if value is not None:
                _check_line(field, value)
        if self.tag is not None and len(self.tag) > MAX_TAG_LENGTH:
            raise MessageError("tag", f"longer than {MAX_TAG_LENGTH} characters")
        self._check_headers_and_metadata()
        for field in ("html", "text"):
            body = getattr(self, field)
            if body is None:
                continue
            if not isinstance(body, str):
                raise MessageError(field, "must be a string")
            if len(body) * 4 > MAX_BODY_BYTES and len(body.encode("utf-8")) > MAX_BODY_BYTES:
                raise MessageError(field, f"larger than {MAX_BODY_BYTES // _MIB} MB")
        self._validate_content(template)
        if self.track_links is not None:
            try:
                TrackLinks(self.track_links)
            except ValueError:
                choices = ", ".join(mode.value for mode in TrackLinks)
                raise MessageError("track_links", f"must be one of {choices}") from None
        for field in ("track_opens", "inline_css"):
            if getattr(self, field) not in (None, True, False):
                raise MessageError(field, "must be True, False or None")
        if self.template_model is not None and not isinstance(self.template_model, Mapping):
            raise MessageError("template_model", "must be a dict")
        size = 0
        for attachment in self.attachments:
            attachment.validate()
            size += attachment.encoded_size
        if size > MAX_MESSAGE_BYTES:
            raise MessageError("attachments", f"over {MAX_MESSAGE_BYTES // _MIB} MB after base64")
        return self

    #: The pystmark 0.5 name of :meth:`validate`.
    verify = validate

    def _check_recipients(self, require_recipient: bool) -> None:
        total = 0
        for field in ("to", "cc", "bcc"):
            count = _count_addresses(field, getattr(self, field))
            if count > MAX_RECIPIENTS:
                raise MessageError(field, f"{count} recipients; Postmark takes {MAX_RECIPIENTS}")
            total += count
        if require_recipient and not total:
            raise MessageError("to", "a message needs at least one recipient")

    def _check_headers_and_metadata(self) -> None:
        for name, value in self.headers:
            _check_header_text("headers", name, value)
        if not isinstance(self.metadata, Mapping):
            raise MessageError("metadata", "must be a dict of strings")
        for key, value in self.metadata.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise MessageError("metadata", "keys and values must be strings")

    def _validate_content(self, template: bool | None) -> None:
        has_body = bool(self.html or self.text)
        has_template = self.template_id is not None or bool(self.template_alias)
        if self.template_id is not None and self.template_alias:
            raise MessageError("template_id", "give template_id or template_alias, not both")
        if has_template:
            if template is False:
                raise MessageError(
                    "template_id", "a template message is sent with send_with_template"
                )
            for field in ("html", "text", "subject"):
                if getattr(self, field):
                    # Postmark refuses this with ErrorCode 1123.
                    raise MessageError(field, "not allowed together with a template")
        elif template:
            raise MessageError("template_id", "give template_id or template_alias")
        elif not has_body:
            raise MessageError("text", "a message needs html or text (or a template)")

    def _payload(self, attachment_content: Callable[[Attachment], Any]) -> dict[str, Any]:
        payload: dict[str, Any] = {}
        for name, key in _MESSAGE_KEYS.items():
            value = getattr(self, name)
            if value is None or (name in _LIST_FIELDS and not value):
                continue
            if name in ("to", "cc", "bcc"):
                value = _join_addresses(value)
            elif name == "headers":
                value = [{"Name": header, "Value": text} for header, text in value]
            elif name == "attachments":
                value = [item._payload(attachment_content(item)) for item in value]
            elif name == "track_links":
                value = TrackLinks(value).value
            payload[key] = value
        return payload

    def to_payload(self) -> dict[str, Any]:
        """Postmark's JSON object for this message (attachments as base64)."""
        return self._payload(lambda attachment: attachment.content)

    #: The pystmark 0.5 name of :meth:`to_payload`.
    data = to_payload

    def to_json(self) -> str:
        """The message as Postmark's JSON text."""
        return _encode_json(self.to_payload()).decode("utf-8")

    #: The pystmark 0.5 name of :meth:`to_json`.
    json = to_json

    def _encode(self, *, template: bool | None, require_recipient: bool = True) -> bytes:
        """Validate and serialise to request bytes, splicing attachments in once."""
        self.validate(template=template, require_recipient=require_recipient)
        body = _encode_with_attachments(self._payload, self.attachments)
        if len(body) > MAX_MESSAGE_BYTES:
            raise MessageError("message", f"over {MAX_MESSAGE_BYTES // _MIB} MB after base64")
        return body

    def merged_with(self, defaults: Message) -> Message:
        """A new message: this one's fields over ``defaults``.

        Headers, metadata and template models are merged (this message wins);
        attachments are the defaults' followed by this message's.
        """
        merged = Message()
        for name in _MESSAGE_KEYS:
            own, default = getattr(self, name), getattr(defaults, name)
            if name == "headers":
                names = {header.lower() for header, _ in own}
                value: Any = [pair for pair in default if pair[0].lower() not in names] + own
            elif name in ("metadata", "template_model") and (own or default):
                value = {**(default or {}), **(own or {})}
            elif name == "attachments":
                value = [*default, *own]
            else:
                value = default if own is None else own
            setattr(merged, name, value)
        return merged

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in _MESSAGE_KEYS)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = []
        for name in _MESSAGE_KEYS:
            value = getattr(self, name)
            if value is None or (name in _LIST_FIELDS and not value):
                continue
            if isinstance(value, str) and len(value) > 60:
                value = value[:57] + "..."
            fields.append(f"{name}={value!r}")
        return f"Message({', '.join(fields)})"


_LIST_FIELDS = frozenset({"headers", "metadata", "attachments"})

#: A :class:`Message` or a dict that :meth:`Message.from_dict` accepts.
MessageLike = Message | Mapping[str, Any]


def _header_pairs(headers: HeadersLike | None) -> Iterator[tuple[str, str]]:
    if headers is None:
        return
    if isinstance(headers, Mapping):
        yield from headers.items()
        return
    for item in headers:
        if isinstance(item, Mapping):
            if set(item) != {"Name", "Value"}:
                raise MessageError("headers", "each header needs exactly Name and Value")
            yield item["Name"], item["Value"]
        else:
            name, value = item
            yield name, value


def _join_addresses(value: Addresses | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return ", ".join(value)


def _count_addresses(field: str, value: Addresses | None) -> int:
    if value is None:
        return 0
    items = [value] if isinstance(value, str) else list(value)
    for item in items:
        _check_line(field, item)
    if all(_SIMPLE_ADDRESS.match(item) for item in items):
        return len(items)  # plain user@host addresses: nothing for the parser to find
    return sum(1 for _, address in email.utils.getaddresses(items) if address)


# One bare address: no display name, quoting, comments, groups or separators.
_SIMPLE_ADDRESS = re.compile(r"[^\s,;:\"<>()\[\]\\@]+@[^\s,;:\"<>()\[\]\\@]+\Z")


def _encode_json(payload: Any) -> bytes:
    return _JSON_ENCODER.encode(payload).encode("utf-8")


# One encoder, made once: json.dumps() builds a new one per call for these options.
_JSON_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _encode_with_attachments(
    build: Callable[[Callable[[Attachment], Any]], Any], attachments: Sequence[Attachment]
) -> bytes:
    """JSON bytes of ``build(placeholder)`` with each attachment's base64 spliced in.

    The base64 text is made once, as bytes, and joined into the body: no str or
    JSON-escaped copies of large attachments are ever held.
    """
    try:
        if not attachments:
            return _encode_json(build(lambda attachment: ""))
        marker = f"@@pystmark-{os.urandom(16).hex()}-"
        positions = {id(attachment): index for index, attachment in enumerate(attachments)}
        text = _encode_json(build(lambda item: f"{marker}{positions[id(item)]}@@"))
    except (TypeError, ValueError) as error:
        raise MessageError("template_model", f"not JSON serialisable: {error}") from None
    pieces = re.split(re.escape(marker.encode()) + rb"(\d+)@@", text)
    # Written into one buffer whose getvalue() hands over its bytes without a
    # copy: the body is the only full-size copy of the base64 text.
    out = io.BytesIO()
    for index, piece in enumerate(pieces):
        if index % 2:
            attachments[int(piece)]._write_encoded(out)
        else:
            out.write(piece)
    return out.getvalue()


#: Raw bytes base64-encoded per slice (a multiple of 3, so slices join cleanly).
_ENCODE_STEP = 3 * 64 * 1024


# ---- Records: typed views of Postmark's JSON -------------------------------

_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d+))?)?)?\s*(Z|[+-]\d\d:?\d\d)?$"
)


def parse_datetime(value: Any, naive_tz: timezone = timezone.utc) -> datetime | None:
    """Parse one of Postmark's timestamps into an aware datetime.

    Postmark writes up to seven fractional digits and an offset
    (``2010-11-26T12:01:05.1794748-05:00``); a timestamp without an offset is
    taken to be in ``naive_tz``. ``None`` and ``""`` give ``None``.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise DataError(f"expected a timestamp string, not {type(value).__name__}")
    match = _TIMESTAMP.match(value.strip())
    if not match:
        raise DataError(f"not a timestamp: {value[:40]!r}")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    tz: timezone = naive_tz
    if offset == "Z":
        tz = timezone.utc
    elif offset:
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        return datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0),
            int(second or 0), micro, tzinfo=tz,
        )  # fmt: skip
    except ValueError as error:
        raise DataError(f"not a timestamp: {value[:40]!r}") from error


def _as_str(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise DataError(f"expected a string, not {type(value).__name__}")
    return value


def _as_optional_str(value: Any) -> str | None:
    return None if value is None else _as_str(value)


def _as_int(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise DataError(f"expected an integer, not {type(value).__name__}")
    return value


def _as_bool(value: Any) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise DataError(f"expected true or false, not {type(value).__name__}")
    return value


def _as_optional_bool(value: Any) -> bool | None:
    return None if value is None else _as_bool(value)


def _as_str_list(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise DataError("expected a list of strings")
    return value


def _as_dict(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DataError(f"expected an object, not {type(value).__name__}")
    return value


RecordT = TypeVar("RecordT", bound="Record")


def _as_records(record: type[RecordT]) -> Callable[[Any], list[RecordT]]:
    def convert(value: Any) -> list[RecordT]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise DataError(f"expected a list, not {type(value).__name__}")
        return [record(item) for item in value]

    return convert


def _as_record(record: type[RecordT]) -> Callable[[Any], RecordT | None]:
    def convert(value: Any) -> RecordT | None:
        return None if value is None else record(value)

    return convert


class _Field(Generic[T]):
    """A read-only attribute of a :class:`Record`, read from one JSON key."""

    __slots__ = ("convert", "keys", "name")

    def __init__(self, key: str | tuple[str, ...], convert: Callable[[Any], T]) -> None:
        self.keys = (key,) if isinstance(key, str) else key
        self.convert = convert
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type) -> _Field[T]: ...
    @overload
    def __get__(self, instance: Record, owner: type) -> T: ...
    def __get__(self, instance: Record | None, owner: type) -> _Field[T] | T:
        if instance is None:
            return self
        raw = instance.raw
        for key in self.keys:
            if key in raw:
                value = raw[key]
                break
        else:
            value = None
        try:
            return self.convert(value)
        except DataError as error:
            raise DataError(f"{type(instance).__name__}.{self.name}: {error}") from None

    def __set__(self, instance: Record, value: Any) -> None:
        raise AttributeError(f"{self.name} is read-only")


def _field(key: str | tuple[str, ...], convert: Callable[[Any], T]) -> T:
    """Declare a record attribute; typed as the converter's result."""
    return cast(T, _Field(key, convert))


class Record:
    """A typed, read-only view of one JSON object from Postmark.

    Attributes are snake_case and converted when read (timestamps become aware
    datetimes); ``raw`` keeps Postmark's object unchanged.
    """

    __slots__ = ("raw",)
    _fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, raw: Mapping[str, Any]) -> None:
        if not isinstance(raw, Mapping):
            raise DataError(f"{type(self).__name__}: expected an object, not {type(raw).__name__}")
        #: Postmark's JSON object, unchanged.
        self.raw = raw

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = tuple(name for name, value in vars(cls).items() if isinstance(value, _Field))
        cls._fields = tuple(dict.fromkeys((*cls._fields, *own)))

    def to_dict(self) -> dict[str, Any]:
        """The attributes as a dict, nested records included."""
        return {name: _plain(getattr(self, name)) for name in self._fields}

    def validate(self) -> Self:
        """Read every attribute once; raise :class:`DataError` on a wrong shape."""
        self.to_dict()
        return self

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record) or type(other) is not type(self):
            return NotImplemented
        return self.raw == other.raw

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = []
        for name in self._fields:
            try:
                value = getattr(self, name)
            except DataError:
                value = "<invalid>"
            if isinstance(value, str) and len(value) > 60:
                value = value[:57] + "..."
            shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"


def _plain(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


class SendResult(Record):
    """Postmark's answer for one sent message."""

    __slots__ = ("index",)

    #: 0 when the message was accepted.
    error_code = _field("ErrorCode", _as_int)
    #: Postmark's message, ``"OK"`` on success.
    message = _field("Message", _as_str)
    message_id = _field("MessageID", _as_str)
    submitted_at = _field("SubmittedAt", parse_datetime)
    #: The recipients, as Postmark echoes them.
    to = _field("To", _as_str)

    def __init__(self, raw: Mapping[str, Any], index: int = 0) -> None:
        super().__init__(raw)
        #: The message's position in the input of a batch (0 for single sends).
        self.index = index

    @property
    def id(self) -> str:
        """The pystmark 0.5 name of :attr:`message_id`."""
        return self.message_id

    @property
    def ok(self) -> bool:
        """True when Postmark accepted the message."""
        return self.error_code == 0

    @property
    def inactive_recipients(self) -> list[str]:
        """Addresses Postmark will not deliver to (accepted or refused messages)."""
        return _inactive_addresses(self.message)

    @property
    def error(self) -> APIError | None:
        """The error for a refused message (not raised), or ``None``."""
        if self.ok:
            return None
        error_class = _error_class(422, self.error_code)
        return error_class(self.message, error_code=self.error_code, data=self.raw)


class BulkStatus(Record):
    """The progress of a bulk send."""

    id = _field(("Id", "ID"), _as_str)
    status = _field("Status", _as_str)
    submitted_at = _field("SubmittedAt", parse_datetime)
    total_messages = _field("TotalMessages", _as_int)
    percentage_completed = _field("PercentageCompleted", lambda value: float(value or 0))


# ---- Responses -------------------------------------------------------------


class Response:
    """Postmark's answer to one request: the HTTP response and its JSON data.

    Errors are raised before a Response is made, so holding one means success.
    """

    def __init__(self, http_response: requests.Response, data: Any) -> None:
        #: The ``requests.Response``.
        self.http_response = http_response
        #: The decoded JSON body.
        self.data = data

    @property
    def status_code(self) -> int:
        """The HTTP status."""
        return self.http_response.status_code

    @property
    def headers(self) -> Mapping[str, str]:
        """The HTTP response headers."""
        return self.http_response.headers

    @property
    def ok(self) -> bool:
        """True: failures raise instead."""
        return self.http_response.ok

    def json(self) -> Any:
        """The decoded JSON body (as ``requests.Response.json()``)."""
        return self.data

    def raise_for_status(self) -> Self:
        """Return self; pystmark raises errors when the answer arrives."""
        return self

    def __repr__(self) -> str:
        return f"<{type(self).__name__} [{self.status_code}]>"


class MessageConfirmation(str):
    """Postmark's reply text for a sent message, carrying its other fields.

    Compares equal to the text (``"OK"``); ``.id``, ``.to``, ``.submitted_at``
    and ``.error_code`` keep pystmark 0.5 code working.
    """

    result: SendResult

    def __new__(cls, result: SendResult) -> MessageConfirmation:
        """Wrap ``result``; the string's value is its message text."""
        text = super().__new__(cls, result.message)
        text.result = result
        return text

    @property
    def id(self) -> str:
        """The message id."""
        return self.result.message_id

    @property
    def message_id(self) -> str:
        """The message id."""
        return self.result.message_id

    @property
    def to(self) -> str:
        """The recipients."""
        return self.result.to

    @property
    def submitted_at(self) -> datetime | None:
        """When Postmark accepted the message."""
        return self.result.submitted_at

    @property
    def error_code(self) -> int:
        """Postmark's ErrorCode (0)."""
        return self.result.error_code

    @property
    def message(self) -> str:
        """The text itself."""
        return self.result.message


class SendResponse(Response):
    """The answer to a single send."""

    def __init__(self, http_response: requests.Response, data: Any) -> None:
        super().__init__(http_response, data)
        #: The parsed answer.
        self.result = SendResult(data)

    @property
    def message_id(self) -> str:
        """The id Postmark gave the message."""
        return self.result.message_id

    @property
    def submitted_at(self) -> datetime | None:
        """When Postmark accepted the message (aware)."""
        return self.result.submitted_at

    @property
    def to(self) -> str:
        """The recipients, as Postmark echoes them."""
        return self.result.to

    @property
    def error_code(self) -> int:
        """0: refused sends raise instead."""
        return self.result.error_code

    @property
    def message(self) -> MessageConfirmation:
        """Postmark's text (``"OK"``), with ``.id`` etc. as in pystmark 0.5."""
        return MessageConfirmation(self.result)

    @property
    def inactive_recipients(self) -> list[str]:
        """Recipients skipped because they are inactive (the send still succeeded)."""
        return self.result.inactive_recipients


class BatchSendResponse:
    """The answers to a batch send: one :class:`SendResult` per message.

    A batch in which Postmark refused some messages does not raise: look at
    :attr:`failed`, or call :meth:`raise_for_errors`.
    """

    def __init__(self, responses: list[Response], results: list[SendResult]) -> None:
        #: One :class:`Response` per request (a batch over 500 takes several).
        self.responses = responses
        #: One result per message, in input order.
        self.results = results

    @property
    def messages(self) -> list[SendResult]:
        """The pystmark 0.5 name of :attr:`results`."""
        return self.results

    @property
    def failed(self) -> list[SendResult]:
        """The results of messages Postmark refused (``.index`` gives the position)."""
        return [result for result in self.results if not result.ok]

    @property
    def status_code(self) -> int:
        """200: failed requests raise."""
        return self.responses[-1].status_code if self.responses else 200

    def raise_for_errors(self) -> Self:
        """Raise :class:`BatchSendError` if Postmark refused any message."""
        failed = self.failed
        if failed:
            first = failed[0]
            raise BatchSendError(
                f"{len(failed)} of {len(self.results)} messages were refused; first, "
                f"message {first.index}: [ErrorCode {first.error_code}] {first.message}",
                results=self.results,
            )
        return self

    def raise_for_status(self) -> Self:
        """Return self (pystmark 0.5 compatibility); see :meth:`raise_for_errors`."""
        return self

    def __iter__(self) -> Iterator[SendResult]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, index: int) -> SendResult:
        return self.results[index]

    def __repr__(self) -> str:
        return f"<BatchSendResponse {len(self.results)} messages, {len(self.failed)} failed>"


class BulkSendResponse(Response):
    """The answer to a bulk send: the id to follow its progress with."""

    @property
    def id(self) -> str:
        """The bulk request's id, for :func:`get_bulk_status`."""
        return BulkStatus(self.data).id

    @property
    def status(self) -> str:
        """``"Accepted"`` once Postmark has taken the request."""
        return BulkStatus(self.data).status

    @property
    def submitted_at(self) -> datetime | None:
        """When Postmark accepted the request."""
        return BulkStatus(self.data).submitted_at


class BulkStatusResponse(Response):
    """The progress of a bulk send."""

    @property
    def bulk(self) -> BulkStatus:
        """The parsed status."""
        return BulkStatus(self.data)


# ---- Transport: sessions, requests, retries, errors ------------------------


class Endpoint:
    """One Postmark endpoint, declared once: method, path and token kind.

    ``path`` holds ``{}`` for each id, filled in quoted. ``send`` marks the
    POST /email* endpoints, which are never repeated once they may have reached
    Postmark. ``idempotent`` endpoints are retried after any transient failure.
    """

    __slots__ = ("idempotent", "method", "path", "send", "token")

    def __init__(
        self,
        method: str,
        path: str,
        *,
        token: str = "server",
        send: bool = False,
        idempotent: bool | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.token = token
        self.send = send
        self.idempotent = (
            (method in ("GET", "PUT", "DELETE") and not send) if idempotent is None else idempotent
        )

    def url(self, base_url: str, path_args: Sequence[str | int]) -> str:
        """The full URL, with each id quoted into its own path segment."""
        return base_url + self.path.format(*(_path_segment(arg) for arg in path_args))

    def __repr__(self) -> str:
        return f"Endpoint({self.method} {self.path})"


def _path_segment(value: str | int) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigurationError(f"an id must be a string or an integer, not {value!r}")
    text = str(value)
    if text.strip(".") == "" or _HEADER_UNSAFE.search(text):
        raise ConfigurationError(f"invalid id {text!r}")
    return quote(text, safe="")


def _query_value(value: Any) -> Any:
    """Postmark's query-string form of a Python value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _query(params: Mapping[str, Any]) -> dict[str, Any]:
    """Drop ``None`` values and convert the rest with :func:`_query_value`."""
    return {key: _query_value(value) for key, value in params.items() if value is not None}


class _PooledSession(requests.Session):
    """The pooled session: reads the environment once, not on every request.

    ``requests`` scans the environment for proxy settings (and ``~/.netrc``)
    on every request of a session that trusts it; this session resolves them
    once per scheme and host instead, with the same rules: ``*_proxy`` and
    ``no_proxy``, ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` and ``.netrc``.
    Environment changes take effect for sessions made after :func:`close`.
    """

    def __init__(self) -> None:
        super().__init__()
        self.headers["User-Agent"] = USER_AGENT
        self.trust_env = False
        environ = os.environ
        self._env_verify: str | None = environ.get("REQUESTS_CA_BUNDLE") or environ.get(
            "CURL_CA_BUNDLE"
        )
        self._env_by_origin: dict[str, tuple[dict[str, str], Any]] = {}

    def _environment(self, url: str) -> tuple[dict[str, str], Any]:
        """The proxies and netrc credentials the environment gives ``url``'s origin."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        found = self._env_by_origin.get(origin)
        if found is None:
            utils = requests.utils
            found = (utils.get_environ_proxies(origin), utils.get_netrc_auth(origin))
            self._env_by_origin[origin] = found
        return found

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        """Prepare ``request``; a fast path for pystmark's own plain requests.

        Without cookies, auth, session params or hooks, merging reduces to the
        headers, so that is all this does; anything else goes to ``requests``.
        """
        if request.auth is None and self.auth is None:
            auth = self._environment(request.url)[1]
            if auth is not None:
                request.auth = auth
        params = request.params
        if (
            request.auth is not None
            or self.auth is not None
            or self.cookies
            or request.cookies
            or self.params
            or not isinstance(params, dict)
            or not isinstance(request.headers, dict)
            or any(self.hooks.values())
        ):
            return super().prepare_request(request)
        headers = requests.structures.CaseInsensitiveDict(self.headers)
        for name, value in request.headers.items():
            if value is None:
                headers.pop(name, None)
            else:
                headers[name] = value
        prepared = requests.PreparedRequest()
        prepared.prepare_method(request.method)
        prepared.prepare_url(request.url, params or None)
        prepared.prepare_headers(headers)
        # No cookies on either side: an empty jar, and no Cookie header to build.
        prepared._cookies = requests.cookies.RequestsCookieJar()  # type: ignore[attr-defined]
        prepared.prepare_body(request.data, request.files, request.json)
        prepared.prepare_auth(None, request.url)
        prepared.prepare_hooks(request.hooks)
        return prepared

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> Any:
        """The request's settings over the session's, over the cached environment."""
        merged = {**self._environment(url)[0], **self.proxies}
        if proxies and "no_proxy" in proxies:
            merged = dict(self.proxies)
        merged.update(proxies or {})
        if (verify is True or verify is None) and self._env_verify:
            verify = self._env_verify
        return {
            "proxies": {name: value for name, value in merged.items() if value is not None},
            "stream": self.stream if stream is None else stream,
            "verify": self.verify if verify is None else verify,
            "cert": self.cert if cert is None else cert,
        }


class _SessionPool:
    """One ``requests.Session`` per thread, so connections are reused safely."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self._sessions: weakref.WeakSet[requests.Session] = weakref.WeakSet()

    def get(self) -> requests.Session:
        """This thread's session, made on first use."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = _PooledSession()
            self._local.session = session
            with self._lock:
                self._sessions.add(session)
        return session

    def close(self) -> None:
        """Close every thread's session; later calls open new ones."""
        with self._lock:
            sessions = list(self._sessions)
            self._sessions = weakref.WeakSet()
            self._local = threading.local()
        for session in sessions:
            session.close()

    def _forget(self) -> None:
        # After fork(): the child must not share the parent's sockets.
        self._local = threading.local()
        self._sessions = weakref.WeakSet()
        self._lock = threading.Lock()


_POOL = _SessionPool()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_POOL._forget)

# Indirections the retry tests replace with a fake clock.
_monotonic = time.monotonic
_sleep = time.sleep
_random = random.random


class _Failure(Exception):
    """One failed attempt: the error to raise and when it may be retried."""

    def __init__(
        self,
        error: PystmarkError,
        retry: str,
        *,
        retry_after: float | None = None,
        send_error: PystmarkError | None = None,
    ) -> None:
        super().__init__(str(error))
        self.error = error
        #: "always" (nothing reached Postmark or it refused), "idempotent", or "never".
        self.retry = retry
        self.retry_after = retry_after
        #: What a send raises instead, when the failure leaves its outcome unknown.
        self.send_error = send_error


def _not_sent(exc: requests.ConnectionError) -> bool:
    """True when the connection was never made, so nothing reached the server."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, urllib3.exceptions.MaxRetryError):
        reason = reason.reason
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


def _transport_failure(exc: requests.RequestException, deadline_hit: bool) -> _Failure:
    name = type(exc).__name__
    if isinstance(exc, requests.exceptions.SSLError):
        return _Failure(TLSVerificationError(f"TLS failed: {exc}"), "never")
    if isinstance(exc, requests.ConnectionError) and _not_sent(exc):
        return _Failure(ConnectionFailedError(f"could not connect ({name})"), "always")
    unknown = SendOutcomeUnknownError(f"the request failed after it was sent ({name})")
    if isinstance(exc, requests.Timeout):
        error: PystmarkError
        if deadline_hit:
            error = DeadlineExceededError("the call's deadline passed while waiting for Postmark")
        else:
            error = RequestTimeoutError("Postmark did not answer within the read timeout")
        return _Failure(error, "idempotent", send_error=unknown)
    if isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
        return _Failure(
            ConnectionFailedError(f"the connection broke ({name})"),
            "idempotent",
            send_error=unknown,
        )
    if isinstance(exc, requests.exceptions.InvalidHeader):
        # requests' message would echo the header value, which may be a token.
        return _Failure(ConfigurationError("requests refused a header value"), "never")
    return _Failure(ConfigurationError(f"requests refused the request ({name}: {exc})"), "never")


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _check_response(response: requests.Response) -> Any:
    """Decode a 2xx answer's JSON, or raise :class:`_Failure` with the typed error."""
    status = response.status_code
    try:
        data = json.loads(response.content) if response.content else None
    except ValueError:
        data = _UNREADABLE
    if 200 <= status < 300:
        if data is _UNREADABLE:
            error = UnexpectedResponseError(
                "Postmark's answer was not valid JSON", status_code=status, response=response
            )
            send_error = _SendUnexpectedResponseError(
                error.message, status_code=status, response=response
            )
            raise _Failure(error, "idempotent", send_error=send_error)
        return data
    error_code = message = None
    if isinstance(data, dict):
        code, text = data.get("ErrorCode"), data.get("Message")
        error_code = code if isinstance(code, int) and not isinstance(code, bool) else None
        message = text if isinstance(text, str) else None
    if message is None:
        kind = response.headers.get("Content-Type", "no content type").split(";")[0]
        message = f"HTTP {status} {response.reason or ''} ({kind})".replace("  ", " ")
    error_class = _error_class(status, error_code)
    fields: dict[str, Any] = {
        "status_code": status,
        "error_code": error_code,
        "response": response,
        "data": None if data is _UNREADABLE else data,
    }
    api_error = error_class(message, **fields)
    if status in (429, 503) or error_code == 100:
        raise _Failure(api_error, "always", retry_after=_retry_after(response))
    if status in (500, 502, 504):
        send_class = _SendInternalServerError if status == 500 else _SendUnexpectedResponseError
        raise _Failure(api_error, "idempotent", send_error=send_class(message, **fields))
    raise _Failure(api_error, "never")


_UNREADABLE = object()


def _backoff(settings: _Settings, retry: int) -> float:
    """Full jitter: a random wait up to base * 2**(retry - 1), capped."""
    ceiling = min(settings.backoff_cap, settings.backoff_base * 2 ** (retry - 1))
    return float(_random() * ceiling)


def _perform(
    session: requests.Session,
    endpoint: Endpoint,
    url: str,
    *,
    params: Mapping[str, Any] | None,
    body: bytes | None,
    headers: Mapping[str, str],
    settings: _Settings,
) -> tuple[requests.Response, Any]:
    """Make the request, retrying only what the retry policy allows."""
    started = _monotonic()
    deadline_at = started + settings.deadline
    attempt = 0
    while True:
        attempt += 1
        remaining = deadline_at - _monotonic()
        connect, read = settings.timeout
        read_budget = min(read, remaining)
        try:
            response = session.request(
                endpoint.method,
                url,
                params=params,
                data=body,
                headers=headers,
                timeout=(min(connect, remaining), read_budget),
                allow_redirects=False,
                **settings.request_args,
            )
            logger.debug(
                "%s %s -> %s (attempt %d, %.0f ms)",
                endpoint.method,
                endpoint.path,
                response.status_code,
                attempt,
                (_monotonic() - started) * 1000,
            )
            return response, _check_response(response)
        except requests.RequestException as exc:
            failure = _transport_failure(exc, deadline_hit=read_budget < read)
            failure.__cause__ = exc
            cause: BaseException = exc
        except _Failure as caught:
            failure, cause = caught, caught.error
        logger.debug(
            "%s %s failed: %s (attempt %d)", endpoint.method, endpoint.path, failure, attempt
        )
        retryable = failure.retry == "always" or (
            failure.retry == "idempotent" and endpoint.idempotent
        )
        error = failure.error
        if endpoint.send and failure.send_error is not None and failure.retry != "always":
            error = failure.send_error
            retryable = False
        error.attempts = attempt
        delay = _backoff(settings, attempt)
        if failure.retry_after is not None:
            if failure.retry_after > settings.max_retry_after:
                retryable = False
            delay = max(delay, failure.retry_after)
        if not retryable or attempt > settings.max_retries or (_monotonic() + delay >= deadline_at):
            raise error from (cause if cause is not error else None)
        _sleep(delay)


# ---- Paging ----------------------------------------------------------------

#: Postmark serves at most this many items per page ...
MAX_PAGE_SIZE = 500
#: ... and refuses ``count + offset`` above this.
MAX_OFFSET = 10_000


def _iter_paged(
    fetch: Callable[[dict[str, Any]], Any],
    items_key: str,
    make: Callable[[Any], T],
    params: Mapping[str, Any],
    *,
    max_results: int | None = None,
    page_size: int = MAX_PAGE_SIZE,
    count_key: str = "count",
    offset_key: str = "offset",
    timestamp_key: str | None = None,
    id_key: str | None = None,
    to_date_param: str = "todate",
) -> Iterator[T]:
    """Yield every item of a paged listing, one page in memory at a time.

    ``fetch(query)`` returns one page's decoded JSON; its ``items_key`` list is
    turned into items by ``make``. Stops after ``max_results`` items.

    Listings sorted newest first that filter by date pass ``timestamp_key``
    (the raw item's timestamp field), ``id_key`` (its unique id field) and
    ``to_date_param`` (the query parameter of the upper date bound): they are
    read past Postmark's 10,000 offset cap.
    TODO(bounces issue): implement the date-window narrowing.
    """
    offset, produced = 0, 0
    while max_results is None or produced < max_results:
        count = min(page_size, MAX_OFFSET - offset)
        if max_results is not None:
            count = min(count, max_results - produced)
        if count <= 0:
            return
        page = fetch({**params, count_key: count, offset_key: offset})
        if not isinstance(page, Mapping) or not isinstance(page.get(items_key), list):
            raise DataError(f"expected a page with a {items_key!r} list")
        items = page[items_key]
        for raw in items:
            yield make(raw)
        produced += len(items)
        offset += len(items)
        if len(items) < count:
            return


# ---- Advanced API: interfaces and senders ----------------------------------


class Interface:
    """Base of every advanced class: holds settings and makes requests.

    Keyword arguments are :class:`Options`; each call may override them.
    Without a ``session``, requests go through one pooled ``requests.Session``
    per thread (keep-alive); :meth:`close` closes the pooled connections.
    """

    def __init__(self, **options: Unpack[Options]) -> None:
        _check_options(options)
        #: This instance's settings (the token is masked in ``repr``).
        self.options: dict[str, Any] = dict(options)

    @property
    def api_key(self) -> str | None:
        """The instance's server token (pystmark 0.5 attribute)."""
        return cast("str | None", self.options.get("api_key"))

    @api_key.setter
    def api_key(self, value: str | None) -> None:
        self.options["api_key"] = value

    @property
    def test(self) -> bool:
        """Whether the instance sends with the test token (pystmark 0.5 attribute)."""
        return bool(self.options.get("test"))

    @test.setter
    def test(self, value: bool) -> None:
        self.options["test"] = value

    def _call(
        self,
        endpoint: Endpoint,
        options: Mapping[str, Any],
        *,
        path_args: Sequence[str | int] = (),
        params: Mapping[str, Any] | None = None,
        body: bytes | None = None,
        json_body: Any = None,
    ) -> tuple[requests.Response, Any]:
        """Request ``endpoint``; return the HTTP response and its decoded JSON."""
        _check_options(options)
        settings = _Settings(self.options, options)
        headers = settings.headers(endpoint.token)
        url = endpoint.url(settings.base_url, path_args)
        if json_body is not None:
            body = _encode_json(json_body)
        session = settings.session or _POOL.get()
        return _perform(
            session,
            endpoint,
            url,
            params=None if params is None else _query(params),
            body=body,
            headers=headers,
            settings=settings,
        )

    def close(self) -> None:
        """Close the pooled connections (a ``session`` you gave is left open)."""
        if self.options.get("session") is None:
            _POOL.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in _mask(self.options).items())
        return f"{type(self).__name__}({shown})"


class _MessageSender(Interface):
    """An interface with a default message merged into every message it sends."""

    #: A default message for every instance of a subclass.
    message: MessageLike | None = None
    endpoint: ClassVar[Endpoint]
    #: True: messages must use a template; False: they must not.
    template: ClassVar[bool] = False

    def __init__(self, message: MessageLike | None = None, **options: Unpack[Options]) -> None:
        super().__init__(**options)
        default = type(self).message if message is None else message
        #: The default message (a copy), merged under each message sent.
        self.message = Message._coerce(default).merged_with(Message())

    def _prepare(self, message: MessageLike | None) -> Message:
        default = cast(Message, self.message)
        for name in _MESSAGE_KEYS:
            if getattr(default, name) not in (None, [], {}):
                return Message._coerce(message).merged_with(default)
        return Message._coerce(message)  # an empty default: nothing to merge, no copy


class Sender(_MessageSender):
    """Sends one message at a time (``POST /email``).

    ``Sender(message=defaults, **options)``: the default message's fields fill
    in what each sent message leaves out. Subclasses may set ``message`` as a
    class attribute instead.
    """

    endpoint = Endpoint("POST", "/email", send=True)

    def send(self, message: MessageLike | None = None, **options: Unpack[Options]) -> SendResponse:
        """Validate, merge with the defaults and send one message."""
        body = self._prepare(message)._encode(template=self.template)
        return SendResponse(*self._call(self.endpoint, options, body=body))


class TemplateSender(Sender):
    """Sends one message built from a server template (``POST /email/withTemplate``)."""

    endpoint = Endpoint("POST", "/email/withTemplate", send=True)
    template = True


class BatchSender(_MessageSender):
    """Sends many messages (``POST /email/batch``), 500 per request.

    Longer lists (or over 50 MB) are split into several requests; the results
    come back as one list in input order. ``max_workers`` (opt-in) sends up to
    that many requests at once, each message still exactly once.
    """

    endpoint = Endpoint("POST", "/email/batch", send=True)
    _opening, _closing = b"[", b"]"

    def send(
        self,
        messages: Iterable[MessageLike] | None = None,
        *,
        max_workers: int | None = None,
        **options: Unpack[Options],
    ) -> BatchSendResponse:
        """Validate every message (before any I/O), then send them in chunks.

        With ``max_workers`` above 1, up to that many chunks are in flight at
        once (on separate connections); results stay in input order. After a
        failed request no further chunk is started: :class:`BatchSendError`
        then lists the answered messages and the ``unsent`` positions.
        """
        workers = _check_workers(max_workers)
        bodies = [self._prepare(item)._encode(template=self.template) for item in messages or ()]
        chunks = list(_chunks(bodies, len(self._opening) + len(self._closing)))
        if workers > 1 and len(chunks) > 1:
            return self._send_concurrently(chunks, len(bodies), workers, options)
        responses: list[Response] = []
        results: list[SendResult] = []
        for start, chunk in chunks:
            try:
                response, chunk_results = self._send_chunk(start, chunk, options)
            except PystmarkError as error:
                if not results:
                    raise
                unknown = isinstance(error, SendOutcomeUnknownError)
                raise BatchSendError(
                    f"messages {start} to {len(bodies) - 1} were not sent "
                    f"({'outcome unknown' if unknown else 'request refused'}): {error}",
                    results=results,
                    unsent=range(start + len(chunk) if unknown else start, len(bodies)),
                ) from error
            responses.append(response)
            results.extend(chunk_results)
        return BatchSendResponse(responses, results)

    def _send_chunk(
        self, start: int, chunk: list[bytes], options: Mapping[str, Any]
    ) -> tuple[Response, list[SendResult]]:
        body = self._opening + b",".join(chunk) + self._closing
        http_response, data = self._call(self.endpoint, options, body=body)
        if not isinstance(data, list) or len(data) != len(chunk):
            raise _send_unexpected(http_response, "a batch answer must list every message")
        results = [SendResult(item, start + offset) for offset, item in enumerate(data)]
        return Response(http_response, data), results

    def _send_concurrently(
        self,
        chunks: list[tuple[int, list[bytes]]],
        total: int,
        workers: int,
        options: Mapping[str, Any],
    ) -> BatchSendResponse:
        from concurrent.futures import ThreadPoolExecutor

        stop = threading.Event()

        def task(start: int, chunk: list[bytes]) -> tuple[Response, list[SendResult]] | None:
            if stop.is_set():
                return None  # never started: reported as unsent
            try:
                return self._send_chunk(start, chunk, options)
            except BaseException:
                stop.set()
                raise

        with ThreadPoolExecutor(min(workers, len(chunks))) as pool:
            futures = [pool.submit(task, start, chunk) for start, chunk in chunks]
        responses: list[Response] = []
        results: list[SendResult] = []
        unsent: list[int] = []
        errors: list[tuple[int, PystmarkError]] = []
        for (start, chunk), future in zip(chunks, futures, strict=True):
            error = future.exception()
            if error is not None and not isinstance(error, PystmarkError):
                raise error
            outcome = None if error is not None else future.result()
            if error is not None:
                errors.append((start, error))
                if not isinstance(error, SendOutcomeUnknownError):
                    unsent.extend(range(start, start + len(chunk)))
            elif outcome is None:
                unsent.extend(range(start, start + len(chunk)))
            else:
                responses.append(outcome[0])
                results.extend(outcome[1])
        if not errors:
            return BatchSendResponse(responses, results)
        start, first = errors[0]
        if not results:
            raise first
        unknown = isinstance(first, SendOutcomeUnknownError)
        raise BatchSendError(
            f"{total - len(results)} of {total} messages were not answered; first, from "
            f"message {start} ({'outcome unknown' if unknown else 'request refused'}): {first}",
            results=results,
            unsent=unsent,
        ) from first


def _check_workers(max_workers: int | None) -> int:
    if max_workers is None:
        return 1
    if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
        raise ConfigurationError(f"max_workers must be an integer >= 1, not {max_workers!r}")
    return max_workers


class BatchTemplateSender(BatchSender):
    """Sends many template messages (``POST /email/batchWithTemplates``)."""

    endpoint = Endpoint("POST", "/email/batchWithTemplates", send=True)
    template = True
    _opening, _closing = b'{"Messages":[', b"]}"


def _send_unexpected(http_response: requests.Response, problem: str) -> PystmarkError:
    return _SendUnexpectedResponseError(
        problem, status_code=http_response.status_code, response=http_response
    )


def _chunks(bodies: list[bytes], overhead: int) -> Iterator[tuple[int, list[bytes]]]:
    """Split encoded messages into requests of at most 500 messages and 50 MB."""
    start, size = 0, overhead
    chunk: list[bytes] = []
    for index, body in enumerate(bodies):
        grown = size + len(body) + (1 if chunk else 0)
        if chunk and (len(chunk) == MAX_BATCH_MESSAGES or grown > MAX_BATCH_BYTES):
            yield start, chunk
            start, chunk, size = index, [], overhead
            grown = size + len(body)
        chunk.append(body)
        size = grown
    if chunk:
        yield start, chunk


#: Fields a bulk recipient may set; the rest of the message is shared.
_BULK_RECIPIENT_FIELDS = ("to", "cc", "bcc", "template_model", "metadata", "headers")


class BulkSender(_MessageSender):
    """Sends one message to many recipients (``POST /email/bulk``).

    The message's content is given once; each recipient has its own To, Cc,
    Bcc, ``template_model`` (filling ``{{variables}}``), metadata and headers.
    Postmark enables the Bulk API per account (otherwise ErrorCode 14).
    """

    endpoint = Endpoint("POST", "/email/bulk", send=True)
    status_endpoint = Endpoint("GET", "/email/bulk/{}")

    def send(
        self,
        message: MessageLike | None = None,
        recipients: Iterable[str | MessageLike] = (),
        **options: Unpack[Options],
    ) -> BulkSendResponse:
        """Send ``message`` to every recipient (an address or a dict of fields)."""
        content = self._prepare(message)
        for name in ("to", "cc", "bcc"):
            if getattr(content, name):
                raise MessageError(name, "in a bulk send, recipients go in `recipients`")
        entries = [_bulk_recipient(item) for item in recipients]
        if not entries:
            raise MessageError("recipients", "a bulk send needs at least one recipient")
        content.validate(template=False, require_recipient=False)

        def build(attachment_content: Callable[[Attachment], Any]) -> dict[str, Any]:
            return {**content._payload(attachment_content), "Messages": entries}

        body = _encode_with_attachments(build, content.attachments)
        if len(body) > MAX_BATCH_BYTES:
            raise MessageError("message", f"a bulk request over {MAX_BATCH_BYTES // _MIB} MB")
        return BulkSendResponse(*self._call(self.endpoint, options, body=body))

    def get_status(self, bulk_id: str, **options: Unpack[Options]) -> BulkStatusResponse:
        """The progress of a bulk send (``GET /email/bulk/{id}``)."""
        return BulkStatusResponse(*self._call(self.status_endpoint, options, path_args=[bulk_id]))


def _bulk_recipient(item: str | MessageLike) -> dict[str, Any]:
    message = Message(to=item) if isinstance(item, str) else Message._coerce(item)
    extra = [
        name
        for name in _MESSAGE_KEYS
        if name not in _BULK_RECIPIENT_FIELDS and getattr(message, name) not in (None, [], {})
    ]
    if extra:
        raise MessageError(
            extra[0], "a bulk recipient sets only " + ", ".join(_BULK_RECIPIENT_FIELDS)
        )
    message._check_recipients(require_recipient=True)
    message._check_headers_and_metadata()
    payload = message._payload(lambda attachment: "")
    payload.pop("From", None)
    return payload


InterfaceT = TypeVar("InterfaceT", bound=Interface)
_DEFAULTS: dict[type[Interface], Interface] = {}


def _default(cls: type[InterfaceT]) -> InterfaceT:
    """The shared, settings-free instance of ``cls`` behind the simple API."""
    instance = _DEFAULTS.get(cls)
    if instance is None:
        instance = _DEFAULTS[cls] = cls()
    return cast(InterfaceT, instance)


# ---- Simple API: sending ---------------------------------------------------


def send(message: MessageLike, **options: Unpack[Options]) -> SendResponse:
    """Send one message (``POST /email``); see :class:`Sender`."""
    return _default(Sender).send(message, **options)


def send_with_template(message: MessageLike, **options: Unpack[Options]) -> SendResponse:
    """Send one template message (``POST /email/withTemplate``); see :class:`TemplateSender`."""
    return _default(TemplateSender).send(message, **options)


def send_batch(
    messages: Iterable[MessageLike],
    *,
    max_workers: int | None = None,
    **options: Unpack[Options],
) -> BatchSendResponse:
    """Send many messages, 500 per request (``max_workers`` at once); see :class:`BatchSender`."""
    return _default(BatchSender).send(messages, max_workers=max_workers, **options)


def send_batch_with_templates(
    messages: Iterable[MessageLike],
    *,
    max_workers: int | None = None,
    **options: Unpack[Options],
) -> BatchSendResponse:
    """Send many template messages, 500 per request; see :class:`BatchTemplateSender`."""
    return _default(BatchTemplateSender).send(messages, max_workers=max_workers, **options)


def send_bulk(
    message: MessageLike, recipients: Iterable[str | MessageLike], **options: Unpack[Options]
) -> BulkSendResponse:
    """Send one message to many recipients (``POST /email/bulk``); see :class:`BulkSender`."""
    return _default(BulkSender).send(message, recipients, **options)


def get_bulk_status(bulk_id: str, **options: Unpack[Options]) -> BulkStatusResponse:
    """The progress of a bulk send (``GET /email/bulk/{id}``)."""
    return _default(BulkSender).get_status(bulk_id, **options)


def close() -> None:
    """Close the connections pooled by the simple API and every instance."""
    _POOL.close()


# ---- Bounces ---------------------------------------------------------------

# (bounces issue: Bounce records, BounceGetter and kin, simple functions)


# ---- Webhooks --------------------------------------------------------------

# (bounces issue: parse_webhook, events, check_basic_auth, WebhookApp)


# ---- Messages: outbound, inbound, opens and clicks -------------------------

# (messages issue)


# ---- Templates -------------------------------------------------------------

# (server API issue: templates)


# ---- Server, message streams, webhooks API, suppressions, stats, rules ------

# (server API issue)


# ---- Account API: servers, domains, sender signatures, data removals --------

# (account API issue)


# ---- Command line ----------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Send one message from the command line: ``python -m pystmark send ...``.

    The token comes from ``--api-key`` or ``POSTMARK_SERVER_TOKEN``; without
    either, Postmark's test token is used, which validates and delivers nothing.
    """
    import argparse

    parser = argparse.ArgumentParser(prog="python -m pystmark", description=main.__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    send_command = commands.add_parser("send", help="send one message")
    send_command.add_argument("--from", dest="sender", required=True)
    send_command.add_argument("--to", required=True, help="addresses, separated by commas")
    send_command.add_argument("--subject", default="")
    send_command.add_argument("--text")
    send_command.add_argument("--html")
    send_command.add_argument("--tag")
    send_command.add_argument("--stream", dest="message_stream")
    send_command.add_argument("--api-key", help="server token (default: POSTMARK_SERVER_TOKEN)")
    arguments = parser.parse_args(argv)
    options: Options = {"api_key": arguments.api_key}
    if not (arguments.api_key or os.environ.get("POSTMARK_SERVER_TOKEN") or _configured):
        options["test"] = True
        print(f"No token configured: sending with Postmark's test token {TEST_API_KEY}.")
    message = Message(
        sender=arguments.sender,
        to=arguments.to,
        subject=arguments.subject,
        text=arguments.text if arguments.text or arguments.html else "Sent with pystmark.",
        html=arguments.html,
        tag=arguments.tag,
        message_stream=arguments.message_stream,
    )
    try:
        response = send(message, **options)
    except PystmarkError as error:
        print(f"Not sent: {error}")
        return 1
    print(f"Sent: {response.message} (MessageID {response.message_id}, to {response.to})")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
