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
    │   └── ArgumentError                  a bad argument (page, id, date, field type...)
    │       └── BounceError                    the same, on the bounce calls (0.5's name)
    ├── DataError (ValueError)             Postmark data of an unexpected shape
    │   └── WebhookError                   a webhook post that cannot be trusted
    ├── PagingError                        a listing that cannot be read completely
    ├── BatchSendError                     some messages of a batch not accepted
    ├── SendOutcomeUnknownError            a send that may or may not have arrived
    ├── TransportError                     the network failed (nothing sent twice)
    │   ├── ConnectionFailedError
    │   ├── RequestTimeoutError
    │   ├── DeadlineExceededError
    │   └── TLSVerificationError
    └── APIError (requests.HTTPError)      Postmark answered with an error
        ├── UnauthorizedError              HTTP 401, ErrorCode 10
        ├── NotFoundError                  HTTP 404, and the "... not found" codes
        ├── PayloadTooLargeError           HTTP 413
        ├── UnprocessableEntityError       HTTP 422, by ErrorCode:
        │   ├── InvalidEmailRequestError       300
        │   ├── SenderSignatureError           400, 401
        │   ├── InactiveRecipientError         406
        │   ├── SenderSignatureManagementError 500-507, 520-522
        │   │   └── SenderSignatureNotFoundError   501, 507 (also NotFoundError)
        │   ├── DomainError                    510-516
        │   │   └── DomainNotFoundError            510, 513 (also NotFoundError)
        │   ├── ServerManagementError          600-611
        │   │   ├── ServerNotFoundError            601 (also NotFoundError)
        │   │   └── ServerNameTakenError           603
        │   ├── MessageNotFoundError           701 (also NotFoundError)
        │   ├── InboundBypassError             702
        │   ├── InboundRetryError              703
        │   ├── InboundRuleError               800-813
        │   ├── StatsQueryError                900
        │   ├── BounceQueryError               1000, 1002
        │   ├── BounceNotFoundError            1001 (also NotFoundError)
        │   ├── BounceActivationError          1003
        │   ├── TemplateError                  1100-1131
        │   │   └── TemplateNotFoundError          1101 (also NotFoundError)
        │   ├── MessageStreamError             1221-1237
        │   │   └── MessageStreamNotFoundError     1226 (also NotFoundError)
        │   └── DataRemovalError               1300-1302
        ├── RateLimitError                 HTTP 429
        ├── ServerError                    HTTP 500, 503, ErrorCode 100
        │   ├── InternalServerError            HTTP 500
        │   └── ServiceUnavailableError        HTTP 503, ErrorCode 100
        └── UnexpectedResponseError        anything else, non-JSON bodies

Every listing, iterator and editor checks its arguments with the same shared
checks before any I/O (iterators when called, not at the first ``next()``), so
one mistake raises one class: :class:`ArgumentError`, or on the bounce calls its
subclass :class:`BounceError`, the name pystmark 0.5 raised there.

A send answered by HTTP 500, a gateway error or an unreadable body raises an
error that is both its API class and a :class:`SendOutcomeUnknownError`.
``ResponseError`` is the pystmark 0.5 name of :class:`APIError`.

The module reads top to bottom; its ``# ---- Section ----`` banners, in order::

    Constants              API URL, token headers, Postmark's limits, defaults
    Exceptions             every error class; the ErrorCode -> class table
    Settings               Options, configure(), tokens and the environment
    Messages               Message and Attachment: building and checking a message
    Records                Record, its typed fields and converters; shared records
    Responses              Response, PageResponse and the send responses
    Transport              sessions, requests, retries, the deadline, failures
    Paging                 pages of listings, iterators, Postmark's paging limits
    Arguments              the argument checks every endpoint shares
    Advanced API           Interface and the senders (single, batch, bulk)
    Simple API: sending    send(), send_batch()... over the default senders
    Bounces                bounces, delivery stats, BounceGetter, get_bounces()...
    Webhooks               webhook events, parse_webhook(), WebhookApp
    Messages: outbound...  outbound and inbound messages, opens, clicks
    Standard-library email email.message.Message -> Message
    Django email backend   DjangoEmailBackend
    Templates              templates, TemplateManager, get_templates()...
    Server, streams...     server, message streams, webhooks, suppressions,
                           stats, inbound rules: records, managers, functions
    Account API            servers, domains, sender signatures, data removals
    Command line           the ``pystmark`` command (main())
"""

from __future__ import annotations

import base64
import contextlib
import email.errors
import email.message
import email.utils
import enum
import functools
import hmac
import http.client
import io
import ipaddress
import itertools
import json
import logging
import math
import operator
import os
import random
import re
import socket
import ssl
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone, tzinfo
from types import MethodType
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Concatenate,
    Generic,
    ParamSpec,
    SupportsIndex,
    TypedDict,
    TypeVar,
    cast,
    overload,
)
from urllib.parse import quote, urlsplit

import requests
import requests.adapters
import urllib3
import urllib3.connection
import urllib3.exceptions
import urllib3.response

if TYPE_CHECKING:
    from email.message import EmailMessage

    from typing_extensions import Self, Unpack

__version__ = "1.0.0.dev0"

__all__ = [
    # simple API: sending
    "send",
    "send_with_template",
    "send_batch",
    "send_batch_with_templates",
    "send_bulk",
    "send_bulk_with_template",
    "get_bulk_status",
    "configure",
    "close",
    # simple API: bounces and webhooks
    "get_delivery_stats",
    "get_bounces",
    "iter_bounces",
    "get_bounce",
    "get_bounce_dump",
    "activate_bounce",
    "get_bounce_tags",
    "parse_webhook",
    "check_basic_auth",
    # simple API: messages
    "get_outbound_messages",
    "iter_outbound_messages",
    "get_outbound_message_details",
    "get_outbound_message_dump",
    "get_opens",
    "iter_opens",
    "get_message_opens",
    "iter_message_opens",
    "get_clicks",
    "iter_clicks",
    "get_message_clicks",
    "iter_message_clicks",
    "get_inbound_messages",
    "iter_inbound_messages",
    "get_inbound_message_details",
    "retry_inbound_message",
    "bypass_inbound_message",
    # simple API: templates, server, streams, webhooks, suppressions, stats, rules
    "get_templates",
    "iter_templates",
    "get_template",
    "create_template",
    "edit_template",
    "delete_template",
    "validate_template",
    "push_templates",
    "get_server",
    "edit_server",
    "get_message_streams",
    "get_message_stream",
    "create_message_stream",
    "edit_message_stream",
    "archive_message_stream",
    "unarchive_message_stream",
    "get_webhooks",
    "get_webhook",
    "create_webhook",
    "edit_webhook",
    "delete_webhook",
    "get_suppressions",
    "create_suppressions",
    "delete_suppressions",
    "get_stats",
    "get_inbound_rules",
    "iter_inbound_rules",
    "create_inbound_rule",
    "delete_inbound_rule",
    # simple API: account
    "get_servers",
    "iter_servers",
    "get_account_server",
    "create_server",
    "edit_account_server",
    "delete_server",
    "get_domains",
    "iter_domains",
    "get_domain",
    "create_domain",
    "edit_domain",
    "delete_domain",
    "verify_domain_dkim",
    "verify_domain_return_path",
    "verify_domain_spf",
    "rotate_domain_dkim",
    "get_sender_signatures",
    "iter_sender_signatures",
    "get_sender_signature",
    "create_sender_signature",
    "edit_sender_signature",
    "delete_sender_signature",
    "resend_sender_confirmation",
    "verify_sender_signature_spf",
    "request_new_sender_signature_dkim",
    "create_data_removal",
    "get_data_removal",
    # advanced API
    "Interface",
    "Sender",
    "TemplateSender",
    "BatchSender",
    "BatchTemplateSender",
    "BulkSender",
    "BulkTemplateSender",
    "Options",
    # integrations
    "DjangoEmailBackend",
    # advanced API: bounces and webhooks
    "BounceGetter",
    "BounceType",
    "Bounce",
    "BouncedMessage",
    "Bounces",
    "BounceDump",
    "BounceTags",
    "DeliveryStats",
    "BounceActivate",
    "BounceTypeCount",
    "BounceTypeData",
    "BouncesResponse",
    "BounceResponse",
    "BounceDumpResponse",
    "BounceActivateResponse",
    "BounceTagsResponse",
    "DeliveryStatsResponse",
    "BounceError",
    "BounceQueryError",
    "BounceNotFoundError",
    "BounceActivationError",
    "PagingError",
    "POSTMARK_TIME_ZONE",
    "WebhookApp",
    "WebhookReply",
    "WebhookError",
    "WebhookEvent",
    "BounceEvent",
    "SpamComplaintEvent",
    "DeliveryEvent",
    "OpenEvent",
    "ClickEvent",
    "SubscriptionChangeEvent",
    "InboundEvent",
    "UnknownEvent",
    "WEBHOOK_EVENT_TYPES",
    "MAX_WEBHOOK_BYTES",
    # advanced API: messages
    "OutboundMessageGetter",
    "OpensGetter",
    "ClicksGetter",
    "InboundMessageGetter",
    "OutboundMessagesResponse",
    "OutboundMessageDetailsResponse",
    "OutboundMessageDumpResponse",
    "OpensResponse",
    "ClicksResponse",
    "InboundMessagesResponse",
    "InboundMessageDetailsResponse",
    "InboundActionResponse",
    "OutboundMessage",
    "OutboundMessageDetails",
    "MessageEvent",
    "InboundMessage",
    "MessageAttachment",
    "MessageHeader",
    "EmailAddress",
    "MessageOpen",
    "MessageClick",
    "ClientInfo",
    "GeoLocation",
    "MessageNotFoundError",
    "InboundBypassError",
    "InboundRetryError",
    "DateFilter",
    # advanced API: templates, server, streams, webhooks, suppressions, stats, rules
    "TemplateManager",
    "ServerManager",
    "MessageStreamManager",
    "WebhookManager",
    "SuppressionManager",
    "StatsGetter",
    "InboundRuleManager",
    "TemplateType",
    "MessageStreamType",
    "WebhookTrigger",
    "WebhookTriggers",
    "Template",
    "TemplateIssue",
    "TemplatePartValidation",
    "TemplatePushAction",
    "TemplatesResponse",
    "TemplateResponse",
    "TemplateValidationResponse",
    "TemplatePushResponse",
    "ServerConfiguration",
    "ServerConfigurationResponse",
    "MessageStream",
    "MessageStreamsResponse",
    "MessageStreamResponse",
    "MessageStreamArchiveResponse",
    "Webhook",
    "WebhooksResponse",
    "WebhookResponse",
    "Suppression",
    "SuppressionResult",
    "SuppressionsResponse",
    "SuppressionResults",
    "Stats",
    "StatsDay",
    "StatsResponse",
    "InboundRule",
    "InboundRulesResponse",
    "InboundRuleResponse",
    "TemplateError",
    "TemplateNotFoundError",
    "MessageStreamError",
    "MessageStreamNotFoundError",
    "InboundRuleError",
    "StatsQueryError",
    "STATS",
    "MAX_SUPPRESSIONS_PER_REQUEST",
    # advanced API: account
    "AccountServerManager",
    "DomainManager",
    "SenderSignatureManager",
    "DataRemovalManager",
    "ServerSettings",
    "ServerDeliveryType",
    "AccountServer",
    "Domain",
    "SenderSignature",
    "DataRemoval",
    "AccountServersResponse",
    "AccountServerResponse",
    "DomainsResponse",
    "DomainResponse",
    "SenderSignaturesResponse",
    "SenderSignatureResponse",
    "DataRemovalResponse",
    "ServerManagementError",
    "ServerNotFoundError",
    "ServerNameTakenError",
    "DomainError",
    "DomainNotFoundError",
    "SenderSignatureManagementError",
    "SenderSignatureNotFoundError",
    "DataRemovalError",
    # messages
    "Message",
    "Attachment",
    "TrackLinks",
    # responses and records
    "Response",
    "PageResponse",
    "SendResponse",
    "BatchSendResponse",
    "BulkSendResponse",
    "BulkStatusResponse",
    "MessageConfirmation",
    "Record",
    "parse_datetime",
    "SendResult",
    "BulkStatus",
    # errors
    "PystmarkError",
    "MessageError",
    "ConfigurationError",
    "ArgumentError",
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
    "DEFAULT_MAX_RESPONSE_BYTES",
    "MAX_RECIPIENTS",
    "MAX_BATCH_MESSAGES",
    # pystmark 0.5 names of constants
    "POSTMARK_API_URL",
    "POSTMARK_API_URL_SECURE",
    "POSTMARK_API_TEST_KEY",
    "MAX_RECIPIENTS_PER_MESSAGE",
    "bounce_types",
    "GetInterface",
    "BatchTemplateSendResponse",
]

logger: logging.Logger = logging.getLogger("pystmark")

T = TypeVar("T")


# ---- Constants -------------------------------------------------------------

API_URL = "https://api.postmarkapp.com"
#: Postmark accepts this server token, validates the request and delivers nothing.
TEST_API_KEY = "POSTMARK_API_TEST"

# pystmark 0.5 names. Postmark requires TLS today, so both URLs are https.
#: pystmark 0.5's API root (0.5 had plain http here; Postmark now refuses it).
POSTMARK_API_URL = API_URL + "/"
#: pystmark 0.5's https API root.
POSTMARK_API_URL_SECURE = API_URL + "/"
#: The pystmark 0.5 name of :data:`TEST_API_KEY`.
POSTMARK_API_TEST_KEY = TEST_API_KEY

SERVER_TOKEN_HEADER = "X-Postmark-Server-Token"
ACCOUNT_TOKEN_HEADER = "X-Postmark-Account-Token"
_TOKEN_HEADERS = frozenset({SERVER_TOKEN_HEADER.lower(), ACCOUNT_TOKEN_HEADER.lower()})

_MIB = 1024 * 1024
# Limits from postmarkapp.com/developer/api/email-api and support article 1056
# ("What are the attachment and email size limits?"); sizes are after base64.
#: Recipients Postmark takes in each of To, Cc and Bcc.
MAX_RECIPIENTS = 50
#: The pystmark 0.5 name of :data:`MAX_RECIPIENTS` (0.5 had 20; Postmark takes 50).
MAX_RECIPIENTS_PER_MESSAGE = MAX_RECIPIENTS
#: Messages Postmark takes in one batch request (longer batches are split).
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
#: The largest answer body read, in bytes, after decompression. It fits
#: Postmark's largest answers (the raw source of a 10 MB message, JSON-escaped,
#: from ``/messages/outbound/{id}/dump``; a suppression dump of some 400,000
#: addresses) with room to spare.
DEFAULT_MAX_RESPONSE_BYTES = 64 * _MIB

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


class _LazyPattern:
    """A module-level regular expression, compiled when first used.

    Compiling runs ``re``'s parser in Python: the three patterns below cost
    about 1.7M instructions, 3% of ``import pystmark``. On first use the
    module's global ``name`` becomes the compiled pattern, so later calls go
    straight to it.
    """

    __slots__ = ("name", "text")

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.text = text

    def __getattr__(self, attribute: str) -> Any:
        compiled = re.compile(self.text)
        globals()[self.name] = compiled
        return getattr(compiled, attribute)


def _lazy_pattern(name: str, text: str) -> re.Pattern[str]:
    """``re.compile(text)`` on first use; ``name`` is the global that holds it."""
    return cast("re.Pattern[str]", _LazyPattern(name, text))


_HEADER_UNSAFE = _lazy_pattern("_HEADER_UNSAFE", r"[\r\n\x00]")
_HEADER_NAME = _lazy_pattern("_HEADER_NAME", r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Patterns used rarely are kept as text: re compiles (and caches) them on first
# use, which keeps ``import pystmark`` fast.
_INACTIVE_ADDRESSES = r"(?is)inactive addresses:\s*(.*?)(?:\.\s|\.?\s*$)"


# ---- Exceptions ------------------------------------------------------------

# Every error a public call raises, and the ErrorCode -> class table. (Two
# internal signals stay beside their only users and never escape a call:
# the transport's _Failure and the command line's _CliError.)


class PystmarkError(Exception):
    """Base class of every error pystmark raises."""

    #: How many times the request was tried before this error (1 without retries).
    attempts: int = 1


class MessageError(PystmarkError, ValueError):
    """A message is not valid; raised before anything is sent.

    ``MessageError("text")`` (one argument, as in pystmark 0.5) has no ``field``.
    """

    def __init__(self, field: str | None, problem: str | None = None) -> None:
        if problem is None:
            field, problem = None, str(field)
        super().__init__(problem if field is None else f"{field}: {problem}")
        #: The message field at fault, as named in Python (``to``, ``subject``...).
        self.field = field
        self.problem = problem


class _UnknownFieldError(MessageError, TypeError):
    """An unknown message field: a TypeError too, as an unknown keyword argument is."""


class _AttachmentFileError(MessageError, OSError):
    """A file to attach could not be read: an OSError too, as pystmark 0.5 raised."""

    def __str__(self) -> str:
        return str(self.args[0])


class ConfigurationError(PystmarkError, ValueError):
    """A setting is missing or invalid; raised before any network I/O."""


class ArgumentError(ConfigurationError):
    """An argument of a call is invalid; raised before any network I/O.

    A bad page (``count``, ``offset``), ``max_results``, date filter, id, or
    field or filter value (text, a bool, int or enum of the wrong type or
    value) gets this error from the same check in every area. It is a :class:`ConfigurationError`,
    which these mistakes raised before; the bounce calls raise its subclass
    :class:`BounceError`.
    """


class BounceError(ArgumentError):
    """An invalid bounce argument (type, id, count, date...); raised before any I/O.

    pystmark 0.5's name, kept for the bounce calls: an :class:`ArgumentError`
    (so also a :class:`ConfigurationError` and a ``ValueError``).
    """


class DataError(PystmarkError, ValueError):
    """Data from Postmark (or a webhook) did not have the documented shape."""


class WebhookError(DataError):
    """A webhook post that is not a valid Postmark event (a ``ValueError``)."""


class PagingError(PystmarkError):
    """A listing cannot be read completely within Postmark's paging limits.

    Raised instead of silently skipping items: for example when more than
    10,000 items share one second, or the server ignored the date filter.
    """


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
        text = " ".join(str(self.message).split())  # one line, whatever Postmark wrote
        return f"{code}{text}{status}"

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


# The errors of the ErrorCodes of each area (the table _ERROR_CODES maps them).
# Postmark answers a missing entity with HTTP 422 and an ErrorCode, not 404:
# the "...NotFoundError" classes derive from both UnprocessableEntityError
# (what the status says) and NotFoundError (what it means), so ``except
# NotFoundError`` catches a missing entity whichever way Postmark reports it;
# ``status_code`` stays 422.


class SenderSignatureManagementError(UnprocessableEntityError):
    """Postmark refused a sender signature request (ErrorCode 500-507, 520-522).

    Not to be confused with :class:`SenderSignatureError`, raised when a message
    is sent From an address without a confirmed signature.
    """


class SenderSignatureNotFoundError(SenderSignatureManagementError, NotFoundError):
    """No sender signature of the account has this id (ErrorCode 501, 507)."""


class DomainError(UnprocessableEntityError):
    """Postmark refused a domain request (ErrorCode 510-516)."""


class DomainNotFoundError(DomainError, NotFoundError):
    """No domain of the account has this id (ErrorCode 510, 513)."""


class ServerManagementError(UnprocessableEntityError):
    """Postmark refused to list, create, change or delete a server (ErrorCode 600-611)."""


class ServerNotFoundError(ServerManagementError, NotFoundError):
    """No server of the account has this id (ErrorCode 601)."""


class ServerNameTakenError(ServerManagementError):
    """The account already has a server of this name (ErrorCode 603)."""


class MessageNotFoundError(UnprocessableEntityError, NotFoundError):
    """ErrorCode 701: no message has this id (or it is older than 45 days)."""


class InboundBypassError(UnprocessableEntityError):
    """ErrorCode 702: this inbound message cannot be bypassed (it was not blocked)."""


class InboundRetryError(UnprocessableEntityError):
    """ErrorCode 703: this inbound message cannot be retried (it has not failed)."""


class InboundRuleError(UnprocessableEntityError):
    """Postmark refused an inbound rule request (ErrorCode 800 to 813)."""


class StatsQueryError(UnprocessableEntityError):
    """Postmark could not run a statistics query (ErrorCode 900)."""


class BounceQueryError(UnprocessableEntityError):
    """Postmark could not run a bounce query (ErrorCode 1000, 1002)."""


class BounceNotFoundError(UnprocessableEntityError, NotFoundError):
    """No bounce has this id (ErrorCode 1001)."""


class BounceActivationError(UnprocessableEntityError):
    """The bounce cannot be activated (ErrorCode 1003)."""


class TemplateError(UnprocessableEntityError):
    """Postmark refused a template request (ErrorCode 1100 to 1131)."""


class TemplateNotFoundError(TemplateError, NotFoundError):
    """No template has this id or alias (ErrorCode 1101)."""


class MessageStreamError(UnprocessableEntityError):
    """Postmark refused a message stream request (ErrorCode 1221 to 1237)."""


class MessageStreamNotFoundError(MessageStreamError, NotFoundError):
    """No message stream has this id (ErrorCode 1226)."""


class DataRemovalError(UnprocessableEntityError):
    """Postmark refused a data removal request (ErrorCode 1300-1302)."""


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
        self.failed: list[SendResult] = [result for result in results if not result.ok]
        self.unsent: list[int] = list(unsent)


_STATUS_ERRORS: dict[int, type[APIError]] = {
    401: UnauthorizedError,
    404: NotFoundError,
    413: PayloadTooLargeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    500: InternalServerError,
    503: ServiceUnavailableError,
}

# Every ErrorCode with a class of its own (postmarkapp.com/developer/api/overview
# #error-codes), as rows of (first code, last code, class). Precedence: a row of
# one code wins over a range that contains it; ranges never overlap one another
# and no code has two one-code rows (tests/test_errors.py checks both), so the
# order of the rows does not matter. A code not listed gets the class of its
# HTTP status (UnprocessableEntityError for 422).
_ERROR_CODES: tuple[tuple[int, int, type[APIError]], ...] = (
    (10, 10, UnauthorizedError),
    (100, 100, ServiceUnavailableError),
    (300, 300, InvalidEmailRequestError),
    (400, 401, SenderSignatureError),
    (406, 406, InactiveRecipientError),
    (429, 429, RateLimitError),
    (500, 507, SenderSignatureManagementError),
    (501, 501, SenderSignatureNotFoundError),
    (507, 507, SenderSignatureNotFoundError),
    (510, 516, DomainError),
    (510, 510, DomainNotFoundError),
    (513, 513, DomainNotFoundError),
    (520, 522, SenderSignatureManagementError),
    (600, 611, ServerManagementError),
    (601, 601, ServerNotFoundError),
    (603, 603, ServerNameTakenError),
    (701, 701, MessageNotFoundError),
    (702, 702, InboundBypassError),
    (703, 703, InboundRetryError),
    (800, 813, InboundRuleError),
    (900, 900, StatsQueryError),
    (1000, 1000, BounceQueryError),
    (1001, 1001, BounceNotFoundError),
    (1002, 1002, BounceQueryError),
    (1003, 1003, BounceActivationError),
    (1100, 1131, TemplateError),
    (1101, 1101, TemplateNotFoundError),
    (1221, 1237, MessageStreamError),
    (1226, 1226, MessageStreamNotFoundError),
    (1300, 1302, DataRemovalError),
)

#: ErrorCode -> error class, consulted for HTTP 422 answers (and batch items):
#: the ranges of _ERROR_CODES first, then its one-code rows over them.
_ERROR_CODE_ERRORS: dict[int, type[APIError]] = {
    code: error
    for first, last, error in sorted(_ERROR_CODES, key=lambda row: row[0] == row[1])
    for code in range(first, last + 1)
}


def _inactive_addresses(text: str) -> list[str]:
    match = re.search(_INACTIVE_ADDRESSES, text or "")
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
    #: Largest answer body read, in bytes after decompression (default 64 MiB).
    max_response_bytes: int | None
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
    "max_response_bytes",
})
# fmt: on
# fmt: off
_REQUEST_ARG_NAMES = frozenset({
    "proxies", "verify", "cert", "headers", "cookies", "hooks",
})
# fmt: on
_OPTION_NAMES: frozenset[str] = _SETTING_NAMES | _REQUEST_ARG_NAMES

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


#: The settings the environment gives when no other layer does (and the
#: account token, read when an account endpoint asks for it).
_ENVIRONMENT_SETTINGS = (
    ("api_key", "POSTMARK_SERVER_TOKEN"),
    ("base_url", "POSTMARK_API_URL"),
)


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
        "max_response_bytes",
        "max_retries",
        "max_retry_after",
        "request_args",
        "session",
        "test",
        "timeout",
    )

    def __init__(self, instance: Mapping[str, Any], call: Mapping[str, Any]) -> None:
        merged: dict[str, Any] = {}
        headers: dict[str, str] = {}
        for layer in (_configured, instance, call):
            for name, value in layer.items():
                if value is None:
                    continue
                if name == "headers":
                    headers.update(value)
                else:
                    merged[name] = value
        # The environment comes under every layer: read only for what they leave unset.
        for name, variable in _ENVIRONMENT_SETTINGS:
            if name not in merged:
                merged[name] = os.environ.get(variable)
        self.api_key: str | None = merged.get("api_key") or None
        #: None when no layer gives one: :meth:`headers` reads the environment.
        self.account_api_key: str | None = merged.get("account_api_key")
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
        if self.deadline == 0:
            raise ConfigurationError("deadline must be greater than 0")
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
        max_response_bytes = merged.get("max_response_bytes", DEFAULT_MAX_RESPONSE_BYTES)
        if (
            isinstance(max_response_bytes, bool)
            or not isinstance(max_response_bytes, int)
            or max_response_bytes < 1
        ):
            raise ConfigurationError(
                f"max_response_bytes must be an integer >= 1, not {max_response_bytes!r}"
            )
        self.max_response_bytes: int = max_response_bytes
        request_args = {
            name: merged[name] for name in _REQUEST_ARG_NAMES if merged.get(name) is not None
        }
        if request_args.get("verify") is False and not _is_loopback(_url_host(self.base_url)):
            raise ConfigurationError("verify=False is only accepted for loopback hosts")
        request_args.pop("headers", None)
        if self.base_url.startswith("http:"):
            _check_no_proxy(self.base_url, self.session, request_args.get("proxies"))
        self.request_args: dict[str, Any] = request_args
        for name, value in headers.items():
            try:
                _check_header_text("headers", name, value)
                value.encode("latin-1")  # how http.client writes header values
            except MessageError as error:
                raise ConfigurationError(str(error)) from None
            except UnicodeError:
                raise ConfigurationError(
                    f"headers[{name!r}]: the value is not latin-1 text"
                ) from None
        self._extra_headers: dict[str, str] = headers

    def headers(self, token_kind: str) -> dict[str, str]:
        """The HTTP headers of a request to an endpoint using ``token_kind``."""
        if token_kind == "account":
            token = self.account_api_key
            if token is None:
                token = os.environ.get("POSTMARK_ACCOUNT_TOKEN")
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
        if (
            not isinstance(token, str)
            or not token.isascii()
            or not token.isprintable()  # also refuses tabs and other controls
            or " " in token
        ):
            # Never echo the value: requests' own error would print it.
            raise ConfigurationError(
                f"the {token_kind} token contains whitespace, control or non-ASCII characters"
            )
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }
        # Tokens come only from the token settings: a token header among the
        # extra headers is dropped, so no server token reaches an account
        # endpoint (nor an account token a server endpoint).
        headers.update(
            (name, value)
            for name, value in self._extra_headers.items()
            if name.lower() not in _TOKEN_HEADERS
        )
        headers[header] = token
        return headers


def _url_host(url: str) -> str | None:
    """The host ``requests`` connects to for ``url``, or None if it is not clear.

    The URL is prepared as ``requests`` prepares it; the prepared form is then
    read by both parsers that see it on its way (``urllib3``'s and the
    standard library's, which ``requests`` uses to pick the connection pool):
    unless both name the same host, the answer is None.
    """
    probe = requests.PreparedRequest()
    try:
        probe.prepare_url(url, None)
        prepared = cast(str, probe.url)
        parsed = urllib3.util.parse_url(prepared)
        split = urlsplit(prepared)
        split_host = split.hostname
        split.port  # noqa: B018 - raises ValueError for a port that is not a number
    except (requests.RequestException, urllib3.exceptions.HTTPError, ValueError):
        return None
    host = (parsed.host or "").lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]  # an IPv6 literal
    if not host or host != (split_host or "").lower():
        return None
    if parsed.query or parsed.fragment or split.query or split.fragment:
        return None
    return host


def _check_base_url(url: Any) -> str:
    """``url`` as ``requests`` prepares it (no trailing slash), if it may be used."""
    checked = _BASE_URLS.get(url) if isinstance(url, str) else None
    if checked is None and isinstance(url, str):
        host = _url_host(url)
        if host is not None:
            probe = requests.PreparedRequest()
            probe.prepare_url(url, None)
            prepared = cast(str, probe.url).rstrip("/")
            scheme = urlsplit(prepared).scheme
            # Checked in the form it is used in, too: with an endpoint's path appended.
            if host == _url_host(prepared + "/email") and (
                scheme == "https" or (scheme == "http" and _is_loopback(host))
            ):
                checked = prepared
                if len(_BASE_URLS) >= 64:
                    _BASE_URLS.clear()
                _BASE_URLS[url] = checked  # the check is a pure function of the text
    if checked is not None:
        return checked
    raise ConfigurationError(
        "base_url must be an https:// URL with a host and no query or fragment "
        "(http:// only for the loopback hosts localhost, 127.0.0.0/8 and ::1)"
        # The value is not echoed: it may hold a password.
    )


#: Base URLs already checked -> their prepared form.
_BASE_URLS: dict[str, str] = {}
#: The environment variables that decide whether a proxy carries an http:// request.
_PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY")
_environ_proxies: dict[tuple[str, tuple[str | None, ...]], dict[str, str]] = {}


def _check_no_proxy(base_url: str, session: Any, proxies: Mapping[str, str] | None) -> None:
    """Refuse a proxy for an ``http://`` base URL: it would carry the token off the host."""
    url = base_url + "/email"
    found: dict[str, str] = {}
    if session is None or getattr(session, "trust_env", True):
        key = (url, tuple(os.environ.get(name) for name in _PROXY_VARIABLES))
        if key not in _environ_proxies:  # requests scans the whole environment
            if len(_environ_proxies) >= 64:
                _environ_proxies.clear()
            _environ_proxies[key] = requests.utils.get_environ_proxies(url)
        found.update(_environ_proxies[key])
    found.update(getattr(session, "proxies", None) or {})
    found.update(proxies or {})
    if requests.utils.select_proxy(url, {k: v for k, v in found.items() if v}):
        raise ConfigurationError(
            "a proxy would carry this http:// request, and its token, off this host in "
            "clear text: exclude the host with no_proxy, or use https://"
        )


def _check_number(name: str, value: Any) -> float:
    try:
        number = float(value) if isinstance(value, int | float) else math.nan
    except OverflowError:  # an int too large for a float
        number = math.inf
    if isinstance(value, bool) or not math.isfinite(number) or number < 0:
        raise ConfigurationError(f"{name} must be a finite number >= 0, not {value!r}")
    return number


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
    if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
        raise MessageError(field, f"invalid header name {name!r}")
    _check_line(f"{field}[{name!r}]", value)


def _check_line(field: str, value: Any) -> None:
    if not isinstance(value, str):
        raise MessageError(field, f"must be a string, not {type(value).__name__}")
    if _HEADER_UNSAFE.search(value):
        raise MessageError(field, "must not contain CR, LF or NUL characters")
    _check_unicode(field, value)


def _check_unicode(field: str, value: str) -> None:
    """Refuse a lone surrogate: text that cannot be sent as UTF-8."""
    if not value.isascii() and re.search("[\ud800-\udfff]", value):
        raise MessageError(field, "is not valid Unicode text (it holds a lone surrogate)")


def _base64_size(raw_size: int) -> int:
    return 4 * math.ceil(raw_size / 3)


class Attachment(Mapping[str, Any]):
    """A file attached to a message; inline when it has a ``content_id``.

    Give the raw bytes as ``data`` or Postmark's base64 text as ``content``.
    The name is reduced to its last path component. It also reads as the
    dict pystmark 0.5 kept (``attachment["Content"]``, ``"ContentID" in
    attachment``, equal to that dict).
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
        if data is not None and not isinstance(data, bytes | bytearray | memoryview):
            raise MessageError("attachments", f"data must be bytes, not {type(data).__name__}")
        base_name = re.split(r"[/\\]", name)[-1]
        self.name: str = base_name
        if not content_type:
            import mimetypes  # lazy: rarely needed, and slow to import

            content_type = mimetypes.guess_type(base_name)[0] or "application/octet-stream"
        self.content_type: str = content_type
        if content_id and isinstance(content_id, str) and not content_id.startswith("cid:"):
            content_id = "cid:" + content_id
        self.content_id: str | None = content_id
        self._data = None if data is None else bytes(data)
        self._content = content

    @property
    def data(self) -> bytes:
        """The raw bytes of the file."""
        if self._data is not None:
            return self._data
        try:
            return base64.b64decode(cast(str, self._content))
        except ValueError:
            raise MessageError(f"attachments[{self.name!r}]", "content is not base64") from None

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
        if self._content is not None and not (
            isinstance(self._content, str) and self._content.isascii()
        ):
            raise MessageError(f"{field}.content", "must be base64 text")
        _check_line(field, self.name)
        _check_line(f"{field}.content_type", self.content_type)
        if self.content_id is not None:
            _check_line(f"{field}.content_id", self.content_id)
        extension = self.name.rsplit(".", 1)[-1].lower() if "." in self.name else ""
        if extension in FORBIDDEN_EXTENSIONS:
            raise MessageError(field, f"Postmark refuses .{extension} attachments")

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

    def __getitem__(self, key: str) -> Any:
        value = getattr(self, _ATTACHMENT_KEYS[key]) if key in _ATTACHMENT_JSON_KEYS else None
        if value is None:
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator[str]:
        yield from ("Name", "Content", "ContentType")
        if self.content_id:
            yield "ContentID"

    def __len__(self) -> int:
        return 4 if self.content_id else 3

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping) and not isinstance(other, Attachment):
            return self.to_payload() == dict(other)
        if not isinstance(other, Attachment):
            return NotImplemented
        return (self.name, self.content_type, self.content_id, self.data) == (
            other.name,
            other.content_type,
            other.content_id,
            other.data,
        )

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__: ClassVar[None] = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Attachment(name={self.name!r}, content_type={self.content_type!r}, "
            f"content_id={self.content_id!r}, size={self.encoded_size})"
        )


def _attachment(item: Any) -> Attachment:
    if isinstance(item, Attachment):
        return item
    if not isinstance(item, Mapping):
        raise MessageError("attachments", "each attachment is an Attachment or a dict")
    return Attachment.from_dict(item)


_ATTACHMENT_KEYS = {
    "Name": "name",
    "Content": "content",
    "ContentType": "content_type",
    "ContentID": "content_id",
    "ContentId": "content_id",
}
#: The keys an attachment reads by, as Postmark (and pystmark 0.5) spell them.
_ATTACHMENT_JSON_KEYS = frozenset({"Name", "Content", "ContentType", "ContentID"})


class _Header(tuple[str, str]):
    """A ``(name, value)`` header that also reads as pystmark 0.5's dict.

    ``header["Name"]``, ``header["Value"]``, ``dict(header)``, and equal to
    ``{"Name": ..., "Value": ...}``; unpacks as a pair.
    """

    __slots__ = ()

    def __new__(cls, name: str, value: str) -> _Header:
        """The pair ``(name, value)``."""
        return super().__new__(cls, (name, value))

    @overload
    def __getitem__(self, key: str) -> str: ...
    @overload
    def __getitem__(self, key: SupportsIndex) -> str: ...
    @overload
    def __getitem__(self, key: slice) -> tuple[str, ...]: ...
    def __getitem__(self, key: str | SupportsIndex | slice) -> str | tuple[str, ...]:
        if key == "Name":
            return self[0]
        if key == "Value":
            return self[1]
        if isinstance(key, str):
            raise KeyError(key)
        return super().__getitem__(key)

    def keys(self) -> tuple[str, str]:
        """``("Name", "Value")``, as the 0.5 dict had."""
        return ("Name", "Value")

    def get(self, key: str, default: Any = None) -> Any:
        """``header["Name"]`` or ``header["Value"]``, else ``default``."""
        return self[key] if key in ("Name", "Value") else default

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return {"Name": self[0], "Value": self[1]} == dict(other)
        return tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = tuple.__hash__


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
        # The recipient fields go straight to the attributes behind their
        # properties.
        self.sender = sender
        self._to = to
        self._cc = cc
        self._bcc = bcc
        self.reply_to = reply_to
        self.subject = subject
        self.tag = tag
        self.html = html
        self.text = text
        self.headers = (
            []
            if headers is None
            else [_Header(name, value) for name, value in _header_pairs(headers)]
        )
        self.track_opens = track_opens
        self.track_links = track_links
        if metadata is None:
            self.metadata = {}
        elif isinstance(metadata, Mapping):
            self.metadata = dict(metadata)
        else:
            raise MessageError("metadata", "must be a dict of strings")
        self.message_stream = message_stream
        self.attachments = (
            [] if attachments is None else [_attachment(item) for item in attachments]
        )
        self.template_id = template_id
        self.template_alias = template_alias
        if template_model is None:
            self.template_model = None
        elif isinstance(template_model, Mapping):
            self.template_model = dict(template_model)
        else:
            raise MessageError("template_model", "must be a dict")
        self.inline_css = inline_css
        if verify:
            self.verify()

    @property
    def to(self) -> str | None:
        """The To recipients as one comma-separated string (as sent)."""
        return _address_text(self._to)

    @to.setter
    def to(self, value: Addresses | None) -> None:
        self._to = value

    @property
    def cc(self) -> str | None:
        """The Cc recipients as one comma-separated string (as sent)."""
        return _address_text(self._cc)

    @cc.setter
    def cc(self, value: Addresses | None) -> None:
        self._cc = value

    @property
    def bcc(self) -> str | None:
        """The Bcc recipients as one comma-separated string (as sent)."""
        return _address_text(self._bcc)

    @bcc.setter
    def bcc(self, value: Addresses | None) -> None:
        self._bcc = value

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Message:
        """Build a message from snake_case or Postmark CamelCase keys."""
        return cls(**cls._fields_of(data))

    @classmethod
    def _fields_of(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        """``data``'s fields under their Python names."""
        if not isinstance(data, Mapping):
            raise MessageError(
                "message", f"expected a Message or a dict, not {type(data).__name__}"
            )
        fields: dict[str, Any] = {}
        for key, value in data.items():
            name = key if key in _MESSAGE_KEYS else _MESSAGE_NAMES.get(key)
            if name is None:
                raise _UnknownFieldError(str(key), "unknown message field")
            fields[name] = value
        return fields

    @classmethod
    def load_message(
        cls, message: Mapping[str, Any], *, verify: bool = False, **fields: Any
    ) -> Message:
        """Build from a dict, as in pystmark 0.5: ``fields`` fill in what it leaves out.

        ``verify=True`` checks the result as :meth:`verify` does.
        """
        return cls(**{**cls._fields_of(fields), **cls._fields_of(message)}, verify=verify)

    def load_from(self, other: Message, *, verify: bool = False, **fields: Any) -> Message:
        """A new message: ``other`` fills in what this one leaves out (pystmark 0.5)."""
        merged = self.merged_with(Message._coerce(other))
        if fields:
            merged = merged.merged_with(Message.load_message(fields))
        return merged.verify() if verify else merged

    @classmethod
    def from_email_message(cls, message: email.message.Message) -> Message:
        """Build a message from a standard-library email message.

        Takes an :class:`email.message.EmailMessage` or the
        :class:`email.message.Message` that ``email.message_from_*`` returns;
        see "The standard library's email" in the docs for what goes where. A
        part Postmark cannot carry raises :class:`MessageError` naming it.
        """
        return _from_email_message(cls, message)

    @classmethod
    def _coerce(cls, message: MessageLike | None) -> Message:
        if message is None:
            return cls()
        if isinstance(message, Message):
            return message
        if isinstance(message, email.message.Message):
            return cls.from_email_message(message)
        return cls.from_dict(message)

    def add_header(self, name: str, value: str) -> None:
        """Add a custom email header (checked for header injection when sent)."""
        self.headers.append(_Header(name, value))

    def attach_binary(
        self,
        data: bytes,
        filename: str,
        content_type: str | None = None,
        content_id: str | None = None,
    ) -> Attachment:
        """Attach bytes; a ``content_id`` makes it inline (``<img src="cid:...">``).

        A forbidden file type raises :class:`MessageError` here already.
        """
        attachment = Attachment(filename, data, content_type, content_id)
        attachment.validate()
        self.attachments.append(attachment)
        return attachment

    def attach_file(
        self,
        path: str | os.PathLike[str],
        content_type: str | None = None,
        content_id: str | None = None,
    ) -> Attachment:
        """Attach a file from disk; the content type is guessed from its name.

        A path without a file name, or a file that cannot be read, raises
        :class:`MessageError` (which is then also an ``OSError``, as in 0.5).
        """
        name = os.path.basename(os.fspath(path))
        if not name:
            raise MessageError("attachments", f"no file name in the path {os.fspath(path)!r}")
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as error:
            raise _AttachmentFileError(
                "attachments", f"cannot read {os.fspath(path)!r}: {error.strerror or error}"
            ) from error
        return self.attach_binary(data, name, content_type, content_id)

    @property
    def recipients(self) -> list[str]:
        """Every To, Cc and Bcc address, display names removed."""
        return [
            address
            for name in ("to", "cc", "bcc")
            for _, address in _get_addresses(name, [getattr(self, name) or ""])
            if address
        ]

    def validate(
        self,
        *,
        template: bool | None = None,
        require_recipient: bool = True,
        require_sender: bool = True,
    ) -> Message:
        """Check the message as Postmark would; raise :class:`MessageError`.

        ``template=True`` requires a template, ``False`` forbids one, ``None``
        accepts either. Returns the message.
        """
        if require_sender and not self.sender:
            raise MessageError("sender", "a message needs a sender (From)")
        self._check_recipients(require_recipient)
        for field in ("sender", "reply_to", "subject", "tag", "message_stream"):
            value = getattr(self, field)
            if value is not None:
                _check_line(field, value)
        if self.sender:  # None only where allowed (require_sender=False)
            _check_addresses("sender", self.sender, single=True)
        _check_addresses("reply_to", self.reply_to)
        if self.tag is not None and len(self.tag) > MAX_TAG_LENGTH:
            raise MessageError("tag", f"longer than {MAX_TAG_LENGTH} characters")
        self._check_headers_and_metadata()
        for field in ("html", "text"):
            body = getattr(self, field)
            if body is None:
                continue
            if not isinstance(body, str):
                raise MessageError(field, "must be a string")
            _check_unicode(field, body)
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
        if self.template_id is not None and (
            isinstance(self.template_id, bool) or not isinstance(self.template_id, int)
        ):
            raise MessageError("template_id", "must be an integer (use template_alias for names)")
        if self.template_model is not None and not isinstance(self.template_model, Mapping):
            raise MessageError("template_model", "must be a dict")
        size = 0
        for attachment in self.attachments:
            attachment.validate()
            size += attachment.encoded_size
        if size > MAX_MESSAGE_BYTES:
            raise MessageError("attachments", f"over {MAX_MESSAGE_BYTES // _MIB} MB after base64")
        return self

    def verify(self) -> Message:
        """Check as pystmark 0.5 did: :meth:`validate`, but the sender may be missing.

        A sender's default message may still supply it; every send checks the
        complete message.
        """
        return self.validate(require_sender=False)

    def _check_recipients(self, require_recipient: bool) -> None:
        total = 0
        for field in ("to", "cc", "bcc"):
            count = _check_addresses(field, getattr(self, "_" + field))
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
            _check_unicode("metadata", key)
            _check_unicode("metadata", value)

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
            if value is None or (not value and name in _LIST_FIELDS):
                continue
            convert = _PAYLOAD_CONVERTERS.get(name)
            if convert is not None:
                value = convert(value, attachment_content)
            payload[key] = value
        if (
            "TemplateId" in payload or "TemplateAlias" in payload
        ) and "TemplateModel" not in payload:
            # Postmark refuses a template send without a model, even an empty one.
            payload["TemplateModel"] = {}
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
            elif (
                name in ("metadata", "template_model")
                and isinstance(own or {}, Mapping)
                and isinstance(default or {}, Mapping)
                and (own or default)
            ):
                value = {**(default or {}), **(own or {})}
            elif name == "attachments":
                value = [*default, *own]
            else:
                value = default if own is None else own
            setattr(merged, name, value)
        return merged

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            # pystmark 0.5: equal to the dict it was built from.
            try:
                other = Message.from_dict(other)
            except MessageError:
                return False
        if not isinstance(other, Message):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in _MESSAGE_KEYS)

    __hash__: ClassVar[None] = None  # type: ignore[assignment]

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

#: Message attribute -> its conversion to Postmark's JSON (others go as they are).
_PAYLOAD_CONVERTERS: dict[str, Callable[[Any, Callable[[Attachment], Any]], Any]] = {
    "headers": lambda value, _: [{"Name": name, "Value": text} for name, text in value],
    "attachments": lambda value, content: [item._payload(content(item)) for item in value],
    "track_links": lambda value, _: TrackLinks(value).value,
}

#: A :class:`Message`, a dict that :meth:`Message.from_dict` accepts, or a
#: standard-library email message (see :meth:`Message.from_email_message`).
MessageLike = Message | Mapping[str, Any] | email.message.Message


def _header_pairs(headers: HeadersLike | None) -> Iterator[tuple[str, str]]:
    if headers is None:
        return
    if isinstance(headers, Mapping):
        yield from headers.items()
        return
    if not isinstance(headers, Iterable) or isinstance(headers, str | bytes):
        raise MessageError("headers", "give a dict, (name, value) pairs or Name/Value dicts")
    for item in headers:
        if isinstance(item, Mapping):
            if set(item) != {"Name", "Value"}:
                raise MessageError("headers", "each header needs exactly Name and Value")
            yield item["Name"], item["Value"]
        elif isinstance(item, tuple | list) and len(item) == 2:
            yield item[0], item[1]
        else:
            raise MessageError("headers", "give a dict, (name, value) pairs or Name/Value dicts")


def _address_text(value: Addresses | None) -> str | None:
    """A recipient field as one string; a value of the wrong type as it is (for validate)."""
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return ", ".join(value)
    return cast("str | None", value)


def _check_addresses(field: str, value: Addresses | None, *, single: bool = False) -> int:
    """Check a From, To, Cc, Bcc or Reply-To value; return how many addresses it holds.

    ``value`` is a string (addresses separated by commas) or a list of them.
    Every address must parse as one (``user@host``, ``"Quoted local"@host``,
    ``Name <user@bücher.de>``...); anything else is a :class:`MessageError`
    naming ``field``. ``single``: exactly one address (From).
    """
    if value is None:
        return 0
    if isinstance(value, str):
        items = [value]
    elif isinstance(value, Iterable) and not isinstance(value, bytes | Mapping):
        items = list(value)
    else:
        raise MessageError(field, "must be a string or a list of strings")
    for item in items:
        _check_line(field, item)
    if all(_SIMPLE_ADDRESS.match(item) for item in items):
        count = len(items)  # plain user@host addresses: the common case, checked quickly
    else:
        count = 0
        for index, item in enumerate(items, start=1):
            parsed = _parse_addresses(item)
            if isinstance(parsed, str):
                raise MessageError(field, parsed)
            count += parsed
            if count > MAX_RECIPIENTS and index < len(items):  # stop early, parse no more
                raise MessageError(
                    field, f"over {MAX_RECIPIENTS} recipients; Postmark takes {MAX_RECIPIENTS}"
                )
    if single and count != 1:
        raise MessageError(field, f"must be one address, not {count}")
    return count


def _get_addresses(field: str, items: list[str]) -> list[tuple[str, str]]:
    """``email.utils.getaddresses``, with its failures as :class:`MessageError`."""
    try:
        return email.utils.getaddresses(items)
    except (RecursionError, ValueError, TypeError, IndexError):
        # Deeply nested comments exhaust the parser's recursion.
        raise MessageError(field, "cannot be read as email addresses") from None


def _parse_addresses(text: str) -> int | str:
    """How many addresses ``text`` holds, or what is wrong with it."""
    if len(text) > MAX_RECIPIENTS * (_MAX_ADDRESS_TEXT + 2):
        return f"longer than {MAX_RECIPIENTS} addresses can be: {text[:80]!r}"
    if re.search(_CONTROL_CHARACTER, text):
        return f"not an address: {text[:80]!r} (control characters)"
    parts = text.split(",")
    if all(re.match(_NAMED_ADDRESS, part) for part in parts):
        return len(parts)  # "Name <user@host>" or user@host, no quoting: no parser needed
    # The parser takes time quadratic in its input: it gets one address at a time.
    parts = _split_address_list(text)
    if len(parts) > MAX_RECIPIENTS:
        return f"{len(parts)} recipients; Postmark takes {MAX_RECIPIENTS}"
    count = 0
    for part in parts:
        if len(part) > _MAX_ADDRESS_TEXT:
            return f"an address longer than {_MAX_ADDRESS_TEXT} characters: {part[:80]!r}"
        parsed = _parse_address_list(part)
        if isinstance(parsed, str):
            return parsed
        count += parsed
    return count


def _split_address_list(text: str) -> list[str]:
    """Split at the commas between addresses (not those in quotes, comments or <...>)."""
    parts, start, comment_depth, quoted, escaped, in_angle = [], 0, 0, False, False, False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\" and (quoted or comment_depth):
            escaped = True
        elif quoted:
            quoted = char != '"'
        elif comment_depth:
            comment_depth += {"(": 1, ")": -1}.get(char, 0)
        elif char == '"':
            quoted = True
        elif char == "(":
            comment_depth = 1
        elif char in "<>":
            in_angle = char == "<"
        elif char == "," and not in_angle:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


@functools.lru_cache(maxsize=256)  # a batch often repeats the same From and Reply-To
def _parse_address_list(text: str) -> int | str:
    """:func:`_parse_addresses` by the standard library's RFC 5322 parser (one address)."""
    from email import errors, headerregistry  # lazy: a slow import, rarely needed

    parsed: dict[str, Any] = {"defects": []}
    try:
        headerregistry.AddressHeader.parse(text, parsed)
    except Exception:  # the parser fails on some malformed text (IndexError on "a@")
        return f"not an address: {text[:80]!r}"
    for defect in parsed["defects"]:
        if isinstance(defect, errors.NonASCIILocalPartDefect):
            return f"non-ASCII characters before the @ are not supported: {text[:80]!r}"
        # Obsolete but harmless syntax passes, such as "Joe Q. Public <joe@example.com>".
        if not isinstance(defect, errors.ObsoleteHeaderDefect):
            reason = f" ({defect})" if str(defect) else ""
            return f"not an address: {text[:80]!r}{reason}"
    count = 0
    for group in parsed["groups"]:
        if group.display_name is not None:
            return f"address groups are not supported: {text[:80]!r}"
        for address in group.addresses:
            problem = _address_problem(address.username, address.domain)
            if problem:
                return f"{problem}: {text[:80]!r}"
            count += 1
    return count


def _address_problem(local: str, domain: str) -> str | None:
    """What is wrong with the address ``local@domain`` (already parsed), if anything."""
    if not local or not domain:
        return "not an address"
    if not local.isascii():
        return "non-ASCII characters before the @ are not supported"
    if len(local) > 64:  # RFC 5321
        return "more than 64 characters before the @"
    try:
        # An internationalised domain must have an ASCII (punycode) form.
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return "not a valid domain"
    labels = re.split("[.\u3002\uff0e\uff61]", domain)  # the dots IDNA knows
    if not re.match(_HOST_NAME, ascii_domain) or any(
        label.startswith("-") or label.endswith("-") for label in labels
    ):
        return "not a valid domain"
    return None


#: The longest text taken as one address (display name, comments and all).
_MAX_ADDRESS_TEXT = 512
# The patterns of the slow path are compiled on first use (re caches them), not on import.
_CONTROL_CHARACTER = r"[\x00-\x08\x0a-\x1f\x7f]"
# A dot-atom (RFC 5322) before the @, a host name (RFC 5321, at most 253 characters) after.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = rf"(?=[A-Za-z0-9.-]{{1,253}}(?![A-Za-z0-9.-])){_LABEL}(?:\.{_LABEL})*"
_ADDR_SPEC = rf"(?=[^@]{{1,64}}@){_ATOM}(?:\.{_ATOM})*@{_HOST}"
_HOST_NAME = rf"{_HOST}\Z"
# One bare address of at most 64 characters (so within every length limit), without
# display name, quoting, comments, separators or the "=" and "?" of encoded words:
# the common case, tested on every message, so written for speed.
_SIMPLE_ADDRESS = _lazy_pattern(
    "_SIMPLE_ADDRESS",
    r"(?!.{65})[A-Za-z0-9!#$%&'*+/^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/^_`{|}~-]+)*"
    r"@[A-Za-z0-9]+(?:(?:\.|-+)[A-Za-z0-9]+)*\Z",
)
# That, or one after a display name of plain words (no quotes or comments).
_WORD = r"(?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]|[^\x00-\x7f\s\ud800-\udfff])+"
_NAMED_ADDRESS = (
    rf"(?!.*=\?)[ \t]*(?:{_WORD}(?:[ \t.]+{_WORD})*[ \t]*<{_ADDR_SPEC}>|{_ADDR_SPEC})[ \t]*\Z"
)


#: The message fields a plain dict may hold to skip building a Message.
_PLAIN_FIELDS = frozenset(
    {"sender", "to", "cc", "bcc", "reply_to", "subject", "tag", "html", "text", "message_stream"}
)
#: Either spelling of those fields -> Postmark's JSON key.
_PLAIN_KEYS = {
    alias: _MESSAGE_KEYS[name]
    for alias, name in [*((name, name) for name in _MESSAGE_KEYS), *_MESSAGE_NAMES.items()]
    if name in _PLAIN_FIELDS
}
#: A Message's attributes behind those fields (in the order sent), their keys,
#: and its other attributes, which a plain message leaves empty.
_PLAIN_ATTRIBUTES = tuple(
    "_" + name if name in ("to", "cc", "bcc") else name
    for name in _MESSAGE_KEYS
    if name in _PLAIN_FIELDS
)
_PLAIN_ATTRIBUTE_KEYS = tuple(key for name, key in _MESSAGE_KEYS.items() if name in _PLAIN_FIELDS)
_OTHER_ATTRIBUTES = tuple(name for name in _MESSAGE_KEYS if name not in _PLAIN_FIELDS)
#: Every field of a Message, the plain ones first: one call.
_MESSAGE_FIELDS = operator.attrgetter(*_PLAIN_ATTRIBUTES, *_OTHER_ATTRIBUTES)
#: Every field of a Message by its public name (recipients as one text).
_MESSAGE_VALUES = operator.attrgetter(*_MESSAGE_KEYS)
#: What a field holds when it is not set (compared with ``==``, as ``in`` does).
_UNSET_VALUES: tuple[Any, ...] = (None, [], {})

_BODY_KEYS = frozenset({"HtmlBody", "TextBody"})
_ADDRESS_KEYS = frozenset({"From", "ReplyTo", "To", "Cc", "Bcc"})
_RECIPIENT_KEYS = frozenset({"To", "Cc", "Bcc"})


def _plain_payload(message: Any, template: bool | None) -> tuple[dict[str, Any], int] | None:
    """Postmark's JSON object for one plain message that is certainly valid, and its size bound.

    :func:`_plain_payloads` of the one message.
    """
    plain = _plain_payloads((message,), template)
    return None if plain is None else (plain[0][0], plain[1])


def _plain_payloads(
    messages: Sequence[Any], template: bool | None
) -> tuple[list[dict[str, Any]], int] | None:
    r"""Postmark's JSON objects for plain messages that are all certainly valid, and a size bound.

    The common case, checked quickly: dicts with the same keys in the same
    order, or :class:`Message` objects setting the same fields, of text fields
    only (``str`` objects); one bare address in From, Reply-To (if given) and
    each recipient field present, a body and no template. It applies the same
    rules as :meth:`Message.validate` to all the messages at once, a kind of
    field at a time: the one-line texts, the addresses, the bodies (a text the
    same in every message is checked once). Unless it finds
    every message valid it returns ``None``, and each message goes on its own,
    in the end through :class:`Message`, which reports what is wrong. The bound
    is at least the size of the JSON encoding of each object: a character
    takes at most six bytes (``\u001f``, or four of UTF-8), a key and its
    punctuation at most 20.
    """
    if template or not messages:
        return None
    count, kind = len(messages), type(messages[0])
    if (kind is not dict and kind is not Message) or list(map(type, messages)).count(kind) != count:
        return None
    if kind is dict:
        keys = tuple(messages[0])
        if count > 1 and list(map(tuple, messages)).count(keys) != count:
            return None
        columns = list(zip(*map(dict.values, messages), strict=True))
    else:
        try:
            fields = list(zip(*map(_MESSAGE_FIELDS, messages), strict=True))
        except AttributeError:  # an attribute deleted: Message.validate reports it
            return None
        for name, column in zip(_OTHER_ATTRIBUTES, fields[len(_PLAIN_ATTRIBUTES) :], strict=True):
            if any(column) if name in _LIST_FIELDS else column.count(None) != count:
                return None  # headers, metadata, attachments, template or tracking options
        keys, columns = (), []
        for key, column in zip(
            _PLAIN_ATTRIBUTE_KEYS, fields[: len(_PLAIN_ATTRIBUTES)], strict=True
        ):
            unset = column.count(None)
            if unset == 0:
                keys, columns = (*keys, key), [*columns, column]
            elif unset != count:
                return None  # set in some of the messages only
    shape = _plain_shape(keys)
    if shape is None:
        return None
    json_keys, lines, addresses, bodies, tag = shape
    values = list(itertools.chain.from_iterable(columns))
    if list(map(type, values)).count(str) != len(values):
        return None  # (str objects only: two of them are equal when their text is)
    if count == 1:
        checked, longest = columns, list(map(len, values))
    else:
        # A text the same in every message (the sender, a mail merge's body) is checked once.
        checked = [column[:1] if column.count(column[0]) == count else column for column in columns]
        longest = [max(map(len, column)) for column in checked]
    body_values = [value for at in bodies for value in checked[at]]
    body_bound = sum([longest[at] for at in bodies])
    # What _HEADER_UNSAFE refuses, tested without the regex (much cheaper here).
    line_text = "".join([value for at in lines for value in checked[at]])
    if (
        "\n" in line_text
        or "\r" in line_text
        or "\x00" in line_text
        or _has_surrogate(line_text)
        or (tag is not None and longest[tag] > MAX_TAG_LENGTH)
        or not _bare_addresses([value for at in addresses for value in checked[at]])
        # A lone surrogate cannot be encoded (Message names the field).
        or (not all(map(str.isascii, body_values)) and any(map(_has_surrogate, body_values)))
        or not bodies
        or body_bound * 4 > MAX_BODY_BYTES
        # Every message has a body: no empty one in a column, or else in each message.
        or (
            all("" in columns[at] for at in bodies)
            and not all(map(any, zip(*[columns[at] for at in bodies], strict=True)))
        )
    ):
        return None
    bound = 20 * len(keys) + 2 + 6 * sum(longest)
    if kind is dict and json_keys == keys:
        return list(messages), bound
    # One object per message: copies of the first message's, then the fields
    # that differ set column by column (a text the same in all is checked once).
    first = dict(zip(json_keys, [column[0] for column in columns], strict=True))
    payloads = list(map(dict.copy, itertools.repeat(first, count)))
    for key, column, once in zip(json_keys, columns, checked, strict=True):
        if len(once) > 1:  # (checked holds one value of a column the same in all)
            for payload, value in zip(payloads, column, strict=True):
                payload[key] = value
    return payloads, bound


#: Postmark's keys; where the one-line, address and body fields are; where the tag is.
_PlainShape = tuple[
    tuple[str, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...], "int | None"
]


@functools.lru_cache(maxsize=64)
def _plain_shape(keys: tuple[Any, ...]) -> _PlainShape | None:
    """How to check a plain message with these keys in this order, or ``None``.

    ``None`` unless every key is a plain field, given once, the sender and a
    recipient field among them. Else Postmark's keys, and the positions of
    the one-line fields, the address fields, the bodies and the tag (if any).
    Remembered: a batch's messages usually share one order.
    """
    if not all(key in _PLAIN_KEYS for key in keys):
        return None
    json_keys = tuple(_PLAIN_KEYS[key] for key in keys)
    if (
        len(set(json_keys)) != len(keys)
        or "From" not in json_keys
        or _RECIPIENT_KEYS.isdisjoint(json_keys)
    ):
        return None
    kinds = [
        "body" if key in _BODY_KEYS else "address" if key in _ADDRESS_KEYS else "line"
        for key in json_keys
    ]
    lines, addresses, bodies = (
        tuple(at for at, found in enumerate(kinds) if found == kind)
        for kind in ("line", "address", "body")
    )
    tag = json_keys.index("Tag") if "Tag" in json_keys else None
    return json_keys, lines, addresses, bodies, tag


#: The largest size bound of a plain payload sent as it is, encoded with its
#: request's others: 500 of them always fit in one 50 MB request.
_PLAIN_SIZE_CAP = (MAX_BATCH_BYTES - 64) // MAX_BATCH_MESSAGES - 1


def _bare_addresses(addresses: Sequence[str]) -> bool:
    """Whether each of ``addresses`` is one bare address (as :data:`_SIMPLE_ADDRESS` says).

    Those of the usual shape are checked all at once (:func:`_usual_addresses`),
    any others one by one by the pattern.
    """
    return _usual_addresses(addresses) or all(map(_SIMPLE_ADDRESS.match, addresses))


def _usual_addresses(addresses: Sequence[str]) -> bool:
    """Whether each of ``addresses`` is of the usual shape, which :data:`_SIMPLE_ADDRESS` takes.

    At most 64 ASCII characters: runs of letters and digits, each two joined
    by one dot or hyphen, or by the one "@". Checked by a few scans of the
    joined text, far cheaper than the pattern per address. ``False`` means
    "not surely": the pattern decides (``a--b@c.de`` and ``a-@b.cd``, for
    example, are addresses left to it).
    """
    text = "\n".join(addresses)
    if not text.isascii() or max(map(len, addresses)) > 64:
        return False
    data = text.encode("ascii")
    return (
        # Without the letters, digits, dots and hyphens: one "@" per address.
        data.translate(None, _ADDRESS_FILL) == b"@\n" * (len(addresses) - 1) + b"@"
        # Every other character has a letter or digit on either side.
        and b".." not in b"." + data.translate(_ADDRESS_CLASSES) + b"."
    )


_ADDRESS_FILL = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-"
#: Letters and digits to "a", every other byte to ".".
_ADDRESS_CLASSES = b"." * 48 + b"a" * 10 + b"." * 7 + b"a" * 26 + b"." * 6 + b"a" * 26 + b"." * 133


def _encode_plain(payload: dict[str, str] | list[dict[str, str]]) -> bytes:
    """JSON bytes of plain payloads (see :func:`_plain_payload`), or a list of them.

    Cheaper than a general encode; a list of a batch's payloads is encoded by
    one call.
    """
    if _flat_encoder is None:  # pragma: no cover - Python builds without the C encoder
        return _encode_json(payload)
    return "".join(_flat_encoder(payload, 0)).encode("utf-8")


def _encode_plain_list(payloads: list[dict[str, str]]) -> bytes:
    """JSON bytes of a list of plain payloads (see :func:`_plain_payloads`): a batch's body.

    The same bytes as :func:`_encode_plain`, made field by field when the
    payloads have the same keys in the same order: a text the same in each
    (the sender, a mail merge's body) is encoded once, every other value by
    the json module's string encoder, and the pieces joined once.
    """
    count = len(payloads)
    keys = tuple(payloads[0])
    if count == 1 or list(map(tuple, payloads)).count(keys) != count:
        return _encode_plain(payloads)
    # Text that is the same in every object, and a column of encoded values, in turn.
    pieces: list[Iterable[str]] = []
    same = ",{"
    for key, column in zip(keys, zip(*map(dict.values, payloads), strict=True), strict=True):
        same += _encode_string(key) + ":"
        # (str objects only, see _plain_payloads: equal means the same text.)
        if column.count(column[0]) == count:
            same += _encode_string(column[0]) + ","
        else:
            pieces += (itertools.repeat(same, count), map(_encode_string, column))
            same = ","
    pieces.append(itertools.repeat(same[:-1] + "}", count))
    parts = list(itertools.chain.from_iterable(zip(*pieces, strict=True)))
    parts[0] = "[" + parts[0][1:]  # no comma before the first object
    parts.append("]")
    return "".join(parts).encode("utf-8")


_encode_string = json.encoder.encode_basestring


def _encode_json(payload: Any) -> bytes:
    return _JSON_ENCODER.encode(payload).encode("utf-8")


# One encoder, made once: json.dumps() builds a new one per call for these options.
_JSON_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _make_flat_encoder() -> Callable[[Any, int], Any] | None:
    """The C encoder of the json module, made once, for flat dicts of strings.

    ``JSONEncoder.encode()`` makes a new one on every call. No cycle check:
    such a dict, or a list of them, cannot hold one. ``None`` where the C
    encoder is missing or its (internal) signature differs: then the general
    encoder is used.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - Python builds without _json
        return None
    try:
        encoder: Callable[[Any, int], Any] = make(
            None, None, json.encoder.encode_basestring, None, ":", ",", False, False, False
        )
    except TypeError:  # pragma: no cover - a future signature
        return None
    return encoder


_flat_encoder = _make_flat_encoder()


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
    except UnicodeEncodeError:
        raise MessageError(
            "template_model", "is not valid Unicode text (it holds a lone surrogate)"
        ) from None
    except (TypeError, ValueError, RecursionError) as error:
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

# One Python name per Postmark concept, on every record that carries it (older
# spellings stay as aliases):
#   from_address  the From header's text ("From"); InboundEvent.sender is an alias.
#   from_name, from_full  "FromName", and "FromFull" as an EmailAddress.
#   recipient     the address a bounce, open, click or delivery is about
#                 (Bounce.email, Postmark's "Email", is pystmark 0.5's name).
#   date          an inbound mail's Date header as an aware datetime (None when
#                 the header is missing or no date); date_header keeps the text as
#                 written; InboundMessage.sent_at is an alias of date.
#   *_at          every other timestamp: an aware datetime (parse_datetime).

_TIMESTAMP = (  # the forms the fast path below does not take; compiled on first use
    r"^(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d+))?)?)?\s*(Z|[+-]\d\d:?\d\d)?$"
)


def parse_datetime(value: Any, naive_tz: tzinfo | None = timezone.utc) -> datetime | None:
    """Parse one of Postmark's timestamps into an aware datetime.

    Postmark writes up to seven fractional digits and an offset
    (``2010-11-26T12:01:05.1794748-05:00``); a timestamp without an offset is
    taken to be in ``naive_tz`` (``None``: it stays naive). ``None`` and ``""``
    give ``None``.
    """
    if type(value) is str:
        # Fast path: the C parser takes Postmark's usual forms on Python 3.11+
        # (3.10's refuses seven fractional digits and "Z": the regex below).
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=naive_tz)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise DataError(f"expected a timestamp string, not {type(value).__name__}")
    match = re.match(_TIMESTAMP, value.strip())
    if not match:
        raise DataError(f"not a timestamp: {value[:40]!r}")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    tz: tzinfo | None = naive_tz
    try:
        if offset == "Z":
            tz = timezone.utc
        elif offset:
            sign = -1 if offset[0] == "-" else 1
            digits = offset[1:].replace(":", "")
            tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
        return datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0),
            int(second or 0), micro, tzinfo=tz,
        )  # fmt: skip
    except ValueError as error:
        raise DataError(f"not a timestamp: {value[:40]!r}") from error


def _as_mail_date(value: Any) -> datetime | None:
    """A mail's ``Date`` header (RFC 5322, or ISO 8601) as an aware datetime.

    The sender wrote it, so it may be anything: a value that is not a date
    gives None (the text stays readable), never an error. A date without a
    zone (RFC 5322's ``-0000``) is taken as UTC.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        try:
            return parse_datetime(value)
        except DataError:
            return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


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


def _as_number(value: Any) -> float:
    if value is None or value == "":
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise DataError(f"expected a number, not {type(value).__name__}")
    try:
        number = float(value)
    except (ValueError, OverflowError):
        number = math.nan
    if not math.isfinite(number):
        raise DataError(f"not a number: {str(value)[:40]!r}")
    return number


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


#: Converters that return a value of this exact type unchanged: a field reads
#: such a value without calling its converter.
_UNCHANGED: dict[Callable[[Any], Any], type] = {
    _as_str: str, _as_optional_str: str, _as_int: int, _as_bool: bool,
    _as_optional_bool: bool, _as_dict: dict,
}  # fmt: skip


class _Field(Generic[T]):
    """A read-only attribute of a :class:`Record`, read from one JSON key."""

    __slots__ = ("convert", "key", "name", "other_keys", "unchanged")

    def __init__(self, key: str | tuple[str, ...], convert: Callable[[Any], T]) -> None:
        keys = (key,) if isinstance(key, str) else key
        #: The JSON key, and other spellings Postmark uses for it (tried in order).
        self.key: str = keys[0]
        self.other_keys: tuple[str, ...] = keys[1:]
        self.convert: Callable[[Any], T] = convert
        #: The type of the values ``convert`` returns unchanged (see _UNCHANGED).
        self.unchanged: type | None = _UNCHANGED.get(convert)
        #: The attribute's name, set by Record.__init_subclass__ (in the loop that
        #: finds the fields: a __set_name__ hook would be a call per field on import).
        self.name: str = ""

    @overload
    def __get__(self, instance: None, owner: type) -> _Field[T]: ...
    @overload
    def __get__(self, instance: Record, owner: type) -> T: ...
    def __get__(self, instance: Record | None, owner: type) -> _Field[T] | T:
        if instance is None:
            return self
        raw = instance.raw
        value = raw.get(self.key)
        if type(value) is self.unchanged:
            return value  # type: ignore[return-value]  # (no cast call: a hot path)
        if value is None and self.key not in raw:
            for key in self.other_keys:
                if key in raw:
                    value = raw[key]
                    break
        try:
            return self.convert(value)
        except DataError as error:
            raise DataError(f"{type(instance).__name__}.{self.name}: {error}") from None

    def __set__(self, instance: Record, value: Any) -> None:
        raise AttributeError(f"{self.name} is read-only")


#: Declare a record attribute; read on an instance, typed as the converter's result.
#: (The class itself: a function around it would be a call more per field on import.)
_field = _Field


class Record:
    """A typed, read-only view of one JSON object from Postmark.

    Attributes are snake_case and converted when read (timestamps become aware
    datetimes); ``raw`` keeps Postmark's object unchanged.
    """

    __slots__ = ("raw",)
    _fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, raw: Mapping[str, Any]) -> None:
        if type(raw) is not dict and not isinstance(raw, Mapping):
            raise DataError(f"{type(self).__name__}: expected an object, not {type(raw).__name__}")
        #: Postmark's JSON object, unchanged.
        self.raw: Mapping[str, Any] = raw

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fields = dict.fromkeys(cls._fields)
        for name, value in vars(cls).items():
            if isinstance(value, _Field):
                value.name = name
                fields[name] = None
        cls._fields = tuple(fields)

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

    __hash__: ClassVar[None] = None  # type: ignore[assignment]

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
    error_code: _Field[int] = _field("ErrorCode", _as_int)
    #: Postmark's message, ``"OK"`` on success.
    message: _Field[str] = _field("Message", _as_str)
    message_id: _Field[str] = _field("MessageID", _as_str)
    submitted_at: _Field[datetime | None] = _field("SubmittedAt", parse_datetime)
    #: The recipients, as Postmark echoes them.
    to: _Field[str] = _field("To", _as_str)

    def __init__(self, raw: Mapping[str, Any], index: int = 0) -> None:
        if type(raw) is not dict and not isinstance(raw, Mapping):
            super().__init__(raw)  # raises DataError
        # As Record does, without the call: a batch makes one per message.
        self.raw: Mapping[str, Any] = raw
        #: The message's position in the input of a batch (0 for single sends).
        self.index: int = index

    @classmethod
    def _of_batch(cls, answers: list[Any], start: int) -> list[SendResult]:
        """``[cls(raw, index) ...]`` for a batch answer's items, from position ``start``.

        As :meth:`Bounce._page_maker` does: the same attributes (after the
        same check) set on bare instances, without a class call per message.
        """
        new = object.__new__
        results = []
        for index, raw in enumerate(answers, start):
            if type(raw) is not dict and not isinstance(raw, Mapping):
                cls(raw)  # raises DataError
            result = new(cls)
            result.raw = raw
            result.index = index
            results.append(result)
        return results

    @property
    def id(self) -> str:
        """The pystmark 0.5 name of :attr:`message_id`."""
        return self.message_id

    @property
    def ok(self) -> bool:
        """True when Postmark accepted the message."""
        code = self.raw.get("ErrorCode")
        if type(code) is int:  # the usual answer, read without conversion
            return code == 0
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

    id: _Field[str] = _field(("Id", "ID"), _as_str)
    status: _Field[str] = _field("Status", _as_str)
    submitted_at: _Field[datetime | None] = _field("SubmittedAt", parse_datetime)
    total_messages: _Field[int] = _field("TotalMessages", _as_int)
    percentage_completed: _Field[float] = _field("PercentageCompleted", _as_number)


# Small records shared by the messages API and webhook posts.


class EmailAddress(Record):
    """A name and address pair (``FromFull``, ``ToFull``... of messages and webhooks)."""

    email: _Field[str] = _field("Email", _as_str)
    name: _Field[str] = _field("Name", _as_str)
    #: The ``+hash`` part of an inbound address, when there is one.
    mailbox_hash: _Field[str] = _field("MailboxHash", _as_str)

    def __str__(self) -> str:
        if not self.name:
            return self.email
        try:
            return email.utils.formataddr((self.name, self.email))
        except UnicodeEncodeError:  # an internationalised address: formataddr takes ASCII only
            from email.headerregistry import Address

            try:
                return str(Address(self.name, addr_spec=self.email))
            except (ValueError, IndexError, TypeError, email.errors.HeaderParseError):
                return f"{self.name} <{self.email}>"


class MessageAttachment(Record):
    """An attachment of a stored or inbound message (inbound ones carry the content)."""

    name: _Field[str] = _field("Name", _as_str)
    #: Base64 text, as Postmark sends it (empty for outbound messages).
    content: _Field[str] = _field("Content", _as_str)
    content_type: _Field[str] = _field("ContentType", _as_str)
    content_id: _Field[str | None] = _field("ContentID", _as_optional_str)
    content_length: _Field[int] = _field("ContentLength", _as_int)

    @property
    def data(self) -> bytes:
        """The attachment's bytes (base64 decoded)."""
        try:
            return base64.b64decode(self.content, validate=True)
        except (ValueError, TypeError) as error:
            raise DataError(f"attachment {self.name!r}: content is not base64") from error


class MessageHeader(Record):
    """One header of a stored or inbound message."""

    name: _Field[str] = _field("Name", _as_str)
    value: _Field[str] = _field("Value", _as_str)


class ClientInfo(Record):
    """The email client, browser or operating system of an open or click."""

    name: _Field[str] = _field("Name", _as_str)
    company: _Field[str] = _field("Company", _as_str)
    family: _Field[str] = _field("Family", _as_str)


class GeoLocation(Record):
    """Where an open or click came from."""

    country_iso_code: _Field[str] = _field("CountryISOCode", _as_str)
    country: _Field[str] = _field("Country", _as_str)
    region_iso_code: _Field[str] = _field("RegionISOCode", _as_str)
    region: _Field[str] = _field("Region", _as_str)
    city: _Field[str] = _field("City", _as_str)
    zip: _Field[str] = _field("Zip", _as_str)
    #: ``"latitude,longitude"``.
    coords: _Field[str] = _field("Coords", _as_str)
    ip: _Field[str] = _field("IP", _as_str)


class _TrackingEvent(Record):
    record_type: _Field[str] = _field("RecordType", _as_str)
    message_id: _Field[str] = _field("MessageID", _as_str)
    recipient: _Field[str] = _field("Recipient", _as_str)
    tag: _Field[str | None] = _field("Tag", _as_optional_str)
    message_stream: _Field[str] = _field("MessageStream", _as_str)
    received_at: _Field[datetime | None] = _field("ReceivedAt", parse_datetime)
    client: _Field[ClientInfo | None] = _field("Client", _as_record(ClientInfo))
    os: _Field[ClientInfo | None] = _field("OS", _as_record(ClientInfo))
    platform: _Field[str] = _field("Platform", _as_str)
    user_agent: _Field[str] = _field("UserAgent", _as_str)
    geo: _Field[GeoLocation | None] = _field("Geo", _as_record(GeoLocation))
    metadata: _Field[dict[str, Any]] = _field("Metadata", _as_dict)


class MessageOpen(_TrackingEvent):
    """One open of a tracked message."""

    #: True for the recipient's first open of the message.
    first_open: _Field[bool | None] = _field("FirstOpen", _as_optional_bool)
    read_seconds: _Field[int] = _field("ReadSeconds", _as_int)


class MessageClick(_TrackingEvent):
    """One click on a tracked link."""

    original_link: _Field[str] = _field("OriginalLink", _as_str)
    #: ``"HTML"`` or ``"Text"``: the body the link was clicked in.
    click_location: _Field[str] = _field("ClickLocation", _as_str)


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

    @property
    def text(self) -> str:
        """The body as text (``requests.Response.text``)."""
        return self.http_response.text

    @property
    def content(self) -> bytes:
        """The body as bytes (``requests.Response.content``)."""
        return self.http_response.content

    @property
    def url(self) -> str:
        """The URL that answered (``requests.Response.url``)."""
        return self.http_response.url

    def raise_for_status(self) -> Self:
        """Return self; pystmark raises errors when the answer arrives."""
        return self

    def __repr__(self) -> str:
        return f"<{type(self).__name__} [{self.status_code}]>"


class _Answer(Generic[T]):
    """A :class:`Response` attribute: the reply's JSON read as a record or a list.

    ``_Answer(Template)`` reads the whole object as one record;
    ``_Answer(Template, "Templates")`` reads the list under that key.
    """

    @overload
    def __init__(
        self: _Answer[RecordT], record: type[RecordT], key: None = None, *, doc: str
    ) -> None: ...
    @overload
    def __init__(
        self: _Answer[list[RecordT]], record: type[RecordT], key: str, *, doc: str
    ) -> None: ...
    def __init__(self, record: type[Record], key: str | None = None, *, doc: str) -> None:
        self.read: Callable[[Any], Any] = record if key is None else _as_records(record)
        self.key = key
        self.__doc__ = doc

    @overload
    def __get__(self, instance: None, owner: type) -> _Answer[T]: ...
    @overload
    def __get__(self, instance: Response, owner: type) -> T: ...
    def __get__(self, instance: Response | None, owner: type) -> _Answer[T] | T:
        if instance is None:
            return self
        data = _as_dict(instance.data)
        return cast(T, self.read(data if self.key is None else data.get(self.key)))


class PageResponse(Response):
    """One page of a listing; ``total_count`` counts the matches on every page."""

    @property
    def total_count(self) -> int:
        """How many items match, over all pages (Postmark's ``TotalCount``)."""
        return _as_int(_as_dict(self.data).get("TotalCount"))


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
        self.result: SendResult = SendResult(data)

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

    def json(self) -> list[Any]:
        """Postmark's answers for every message, in input order (one list for all requests)."""
        return [item for response in self.responses for item in response.data]

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


#: The pystmark 0.5 name of :class:`BatchSendResponse` for template batches.
BatchTemplateSendResponse = BatchSendResponse


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

    bulk: _Answer[BulkStatus] = _Answer(BulkStatus, doc="The parsed status.")


# ---- Transport: sessions, requests, retries, errors ------------------------


AnswerT = TypeVar("AnswerT", bound=Response)


if TYPE_CHECKING:  # only annotations name it: a TypedDict costs about 1M instructions to make

    class _EndpointSpec(TypedDict, total=False):
        """What an :class:`Endpoint` declares besides its method, path and answer."""

        token: str
        send: bool
        idempotent: bool | None
        query: Mapping[str, _FieldSpec]
        body: Mapping[str, _FieldSpec]
        items: tuple[str, Callable[[Any], Any]]
        narrow: tuple[str, str, str]
        at_least_one: bool
        what: str
        error: type[ArgumentError]


class Endpoint(Generic[AnswerT]):
    """One Postmark endpoint, declared once: its request, checks and answer.

    ``path`` names each id it holds (``/templates/{template_id}``): the
    method's parameter of that name fills it, quoted into one segment (``{}``
    takes ``path_args`` in order). ``query`` and ``body`` map the method's
    parameter names to Postmark's field and its check (see :func:`_checked`):
    a check alone (the key is the name in CamelCase) or ``(key, check)``.
    ``answer`` is the :class:`Response` class made from the reply; a listing
    names its ``items``: the key of the list and the record of each item, and,
    when it is sorted newest first and filtered by date, ``narrow``: the
    items' timestamp and id keys and the query's upper date bound, to read it
    past Postmark's offset cap. ``send`` marks the POST /email* endpoints,
    which are never repeated once they may have reached Postmark;
    ``idempotent`` endpoints are retried after any transient failure. A bad
    argument raises ``error`` (:class:`ArgumentError`); ``what`` names the
    call in messages.
    """

    __slots__ = (
        "_body", "_declared", "_query", "answer", "at_least_one", "error", "idempotent",
        "items", "method", "narrow", "path", "path_names", "send", "token", "what",
    )  # fmt: skip
    method: str
    #: The path, its ids as ``{}`` (filled by :meth:`url`).
    path: str
    path_names: tuple[str, ...]
    token: str
    send: bool
    idempotent: bool
    answer: type[AnswerT]
    items: tuple[str, Callable[[Any], Any]] | None
    narrow: tuple[str, str, str] | None
    at_least_one: bool
    what: str
    error: type[ArgumentError]
    # The query and body declarations as written, until _expand puts them in
    # the form the checks use (on first use: most endpoints are never called
    # in a process, and expanding all of them cost 1.3M instructions of the import).
    _declared: tuple[Mapping[str, _FieldSpec] | None, ...] | None
    _query: dict[str, tuple[str, _FieldCheck]] | None
    _body: dict[str, tuple[str, _FieldCheck]] | None

    @overload
    def __init__(
        self: Endpoint[Response],
        method: str,
        path: str,
        *,
        answer: None = None,
        **spec: Unpack[_EndpointSpec],
    ) -> None: ...
    @overload
    def __init__(
        self, method: str, path: str, *, answer: type[AnswerT], **spec: Unpack[_EndpointSpec]
    ) -> None: ...
    def __init__(
        self, method: str, path: str, *, answer: Any = None, **spec: Unpack[_EndpointSpec]
    ) -> None:
        self.method = method
        path, *pieces = path.split("{")
        names = []
        for piece in pieces:  # (a loop, not comprehensions: 86 endpoints are made on import)
            name, _, rest = piece.partition("}")
            names.append(name)
            path += "{}" + rest
        self.path_names = tuple(names)
        self.path = path
        self.token = spec.get("token", "server")
        self.send = spec.get("send", False)
        idempotent = spec.get("idempotent")
        self.idempotent = (
            (method in ("GET", "PUT", "DELETE") and not self.send)
            if idempotent is None
            else idempotent
        )
        if answer is None:
            answer = Response
        self.answer = answer
        self._declared = (spec.get("query"), spec.get("body"))
        self.items = spec.get("items")
        self.narrow = spec.get("narrow")
        self.at_least_one = spec.get("at_least_one", False)
        self.what = spec.get("what", "")
        self.error = spec.get("error", ArgumentError)

    def _expand(self) -> None:
        query, body = self._declared or (None, None)
        self._query = _field_specs(query)
        self._body = _field_specs(body)
        self._declared = None  # last: a thread that sees None sees both set

    @property
    def query(self) -> dict[str, tuple[str, _FieldCheck]] | None:
        """The query's fields as ``{name: (Postmark's key, check)}``; ``None``: no query."""
        if self._declared is not None:
            self._expand()
        return self._query

    @property
    def body(self) -> dict[str, tuple[str, _FieldCheck]] | None:
        """The JSON body's fields as ``{name: (Postmark's key, check)}``; ``None``: no body."""
        if self._declared is not None:
            self._expand()
        return self._body

    def url(self, base_url: str, path_args: Sequence[str | int]) -> str:
        """The full URL, with each id quoted into its own path segment."""
        return base_url + self.path.format(*(_path_segment(arg) for arg in path_args))

    def request(
        self, arguments: Mapping[str, Any]
    ) -> tuple[list[Any], dict[str, Any] | None, dict[str, Any] | None]:
        """The path ids, query and JSON body for a call's ``arguments``, all checked.

        ``arguments`` maps the calling method's parameter names to their
        values (a method passes its ``locals()``); ``None`` means not given.
        """
        error = self.error
        path_args = [arguments[name] for name in self.path_names]
        for value in path_args:
            _path_segment(value)  # checked here too: an iterator refuses a bad id when called
        if self._declared is not None:
            self._expand()
        query = None if self._query is None else _fields(self._query, arguments, error)
        body = None if self._body is None else _fields(self._body, arguments, error)
        if "count" in arguments or "offset" in arguments:
            _check_page(arguments.get("count"), arguments.get("offset"), error)
        if "from_date" in arguments or "to_date" in arguments:
            _check_dates(arguments.get("from_date"), arguments.get("to_date"), error=error)
        if self.at_least_one and not body:
            raise error(f"{self.what} needs at least one field to change")
        return path_args, query, body

    def __repr__(self) -> str:
        return f"Endpoint({self.method} {self.path})"


def _path_segment(value: str | int) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ArgumentError(f"an id must be a string or an integer, not {value!r}")
    text = str(value)
    empty = text.strip(". \t") == "" or (isinstance(value, int) and value <= 0)
    if empty or _HEADER_UNSAFE.search(text):
        raise ArgumentError(f"invalid id {text!r}")
    return quote(text, safe="")


def _query_value(value: Any) -> Any:
    """Postmark's query-string form of a Python value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        # Aware datetimes are converted to the zone Postmark filters in.
        return _to_postmark_time(value).strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _query(params: Mapping[str, Any]) -> dict[str, Any]:
    """Drop ``None`` values and convert the rest with :func:`_query_value`."""
    return {key: _query_value(value) for key, value in params.items() if value is not None}


#: The request arguments the pooled session's short path handles itself.
_PLAIN_REQUEST_ARGS = frozenset({"verify", "cert", "proxies"})
#: The headers that carry a token: masked in every request pystmark hands out.
_MASKED_HEADERS = (SERVER_TOKEN_HEADER, ACCOUNT_TOKEN_HEADER)


# What users' test tools replace to intercept requests, read at call time:
# ``unittest.mock.patch`` of ``requests.request`` (how pystmark 0.5 sent),
# ``Session.request``, ``Session.send`` or ``HTTPAdapter.send``; ``responses``
# (``HTTPAdapter.send``); requests-mock (``Session.send``, then ``get_adapter``);
# vcrpy (urllib3's ``ConnectionCls``). betamax mounts an adapter on a session
# you pass as ``session=``, which always takes requests' full path.


def _module_level_path() -> tuple[Any, ...]:
    """Replaced only by tools that the pooled session's own pools cannot see."""
    return (
        requests.request,
        urllib3.HTTPConnectionPool.ConnectionCls,
        urllib3.HTTPSConnectionPool.ConnectionCls,
    )


def _session_path() -> tuple[Any, ...]:
    """What ``Session.request`` goes through on the way to a socket."""
    return (
        requests.Session.request,
        requests.Session.send,
        requests.Session.get_adapter,
        requests.adapters.HTTPAdapter.send,
    )


def _from_library(item: Any) -> bool:
    """True for a function of requests or a class of urllib3: not a stand-in."""
    code = getattr(item, "__code__", None)
    if code is not None:
        return bool(code.co_filename.startswith(os.path.dirname(requests.__file__)))
    return isinstance(item, type) and item.__module__ == "urllib3.connection"


_MODULE_LEVEL_PATH = _module_level_path()
_SESSION_PATH = _session_path()
#: False when pystmark was imported while one of them was already replaced:
#: then every request takes the full path, for the life of the process.
_FAST_PATH_ALLOWED = all(map(_from_library, _MODULE_LEVEL_PATH + _SESSION_PATH))


def _same(current: tuple[Any, ...], original: tuple[Any, ...]) -> bool:
    """Identity, item by item (a stand-in's own ``__eq__`` is never asked)."""
    return all(map(operator.is_, current, original))


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
        self._env_by_url: dict[str, tuple[dict[str, str], Any]] = {}
        self._prepared_urls: dict[str, str] = {}
        self._prepared_headers: dict[tuple[tuple[str, str], ...], Any] = {}

    def _environment(self, url: str) -> tuple[dict[str, str], Any]:
        """The proxies and netrc credentials the environment gives ``url``'s origin."""
        found = self._env_by_url.get(url)
        if found is None:
            parts = urlsplit(url)
            origin = f"{parts.scheme}://{parts.netloc}"
            found = self._env_by_origin.get(origin)
            if found is None:
                utils = requests.utils
                found = (utils.get_environ_proxies(origin), utils.get_netrc_auth(origin))
                self._remember(self._env_by_origin, origin, found)
            self._remember(self._env_by_url, url, found)
        return found

    def send_plain(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None,
        body: bytes | None,
        headers: Mapping[str, str],
        timeout: tuple[float, float],
        request_args: Mapping[str, Any],
    ) -> requests.Response:
        """Send one of pystmark's requests by the shortest path ``requests`` offers.

        Nothing ``Session.request`` adds applies to these requests (no cookies,
        hooks, auth, files or redirects), so they are prepared from cached parts
        (headers merged and checked once per set, the URL parsed once) and go
        straight to the adapter. Anything else takes the usual path; and while
        a test tool has replaced part of requests (see ``_session_path``), the
        request goes through what it replaced. The body is left unread
        (``stream=True``): :func:`_read_body` reads it, bounded.
        """
        if not _FAST_PATH_ALLOWED or not _same(_module_level_path(), _MODULE_LEVEL_PATH):
            # requests.request or urllib3's connection classes are replaced:
            # send as pystmark 0.5 did, on a new session with plain pools.
            return requests.request(
                method,
                url,
                params=params,
                data=body,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
                stream=True,
                **request_args,
            )
        prepared_url = self._prepared_urls.get(url)
        if prepared_url is None:
            probe = requests.PreparedRequest()
            probe.prepare_url(url, None)
            assert probe.url is not None
            plain = requests.utils.get_auth_from_url(probe.url) == ("", "")
            prepared_url = probe.url if plain else ""
            self._remember(self._prepared_urls, url, prepared_url)
        if (
            not prepared_url
            or not _same(_session_path(), _SESSION_PATH)
            or not request_args.keys() <= _PLAIN_REQUEST_ARGS
            or self._environment(url)[1] is not None
            or self.auth is not None
            or self.cookies
            or self.params
            or any(self.hooks.values())
        ):
            return self.request(
                method,
                url,
                params=params,
                data=body,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
                stream=True,
                **request_args,
            )
        prepared = requests.PreparedRequest()
        prepared.method = method
        if params:
            prepared.prepare_url(url, params)
        else:
            prepared.url = prepared_url
        key = tuple(headers.items())
        merged = self._prepared_headers.get(key)
        if merged is None:
            probe = requests.PreparedRequest()
            probe.prepare_headers({**self.headers, **headers})
            merged = probe.headers
            self._remember(self._prepared_headers, key, merged)
        prepared.headers = merged.copy()
        prepared.body = body
        if body:
            prepared.headers["Content-Length"] = str(len(body))
        elif method not in ("GET", "HEAD"):
            prepared.headers["Content-Length"] = "0"
        settings = self.merge_environment_settings(  # the URL without the query: same origin
            url,
            request_args.get("proxies"),
            True,
            request_args.get("verify"),
            request_args.get("cert"),
        )
        adapter = self.get_adapter(url)
        started = time.perf_counter()
        response = adapter.send(prepared, timeout=timeout, **settings)
        response.elapsed = timedelta(seconds=time.perf_counter() - started)
        # Nothing else holds this request (nothing on its path is replaced):
        # the response keeps it with the token masked, without a copy.
        for name in _MASKED_HEADERS:
            if name in prepared.headers:
                prepared.headers[name] = "***"
        return response

    @staticmethod
    def _remember(cache: dict[Any, Any], key: Any, value: Any) -> None:
        if len(cache) >= 64:
            cache.clear()
        cache[key] = value

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        """``requests.Session.request``, with the environment's netrc credentials."""
        if kwargs.get("auth") is None and self.auth is None:
            url = kwargs["url"] if "url" in kwargs else args[1]
            kwargs["auth"] = self._environment(url)[1]
        return super().request(*args, **kwargs)

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


# ---- Transport: the total deadline ----
#
# requests and urllib3 time out per socket operation: a server that sends one
# byte just inside every read timeout can hold a call for ever. The total
# deadline is enforced by one shared daemon thread (no thread per request):
#
# * ``_perform`` opens a ``_Call`` (its deadline) for each attempt and makes it
#   the thread's current call;
# * the sessions pystmark creates use connection classes that, when a socket is
#   made or a request is written on a pooled one, attach that socket to the
#   current call (a thread-local read and a short lock: no extra syscalls);
# * the watchdog sleeps until the earliest deadline of the calls that have
#   sockets attached, then shuts those sockets down. The blocked read returns
#   end-of-file at once, urllib3 raises, and ``_perform`` sees ``call.fired``
#   and raises DeadlineExceededError (or SendOutcomeUnknownError for a send);
# * when the attempt ends, its call is detached, so an idle pooled connection
#   is never touched.
#
# DNS resolution and the TLS handshake are bounded only by the connect timeout
# (the connect timeout is itself clipped to the time left). A ``session`` you
# pass keeps requests' per-operation timeouts.


class _Call:
    """One attempt's deadline and the sockets it is using."""

    __slots__ = ("deadline_at", "fired", "malformed_header", "sockets")

    def __init__(self, deadline_at: float) -> None:
        #: On ``time.monotonic``'s clock (the watchdog's), not ``_monotonic``'s.
        self.deadline_at = deadline_at
        self.fired = False
        self.sockets: list[Any] = []
        #: Set by :class:`_CheckedHTTPResponse` when an answer's header block
        #: could not be parsed.
        self.malformed_header = False


class _Watchdog:
    """Shuts down the sockets of calls whose deadline has passed."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._calls: set[_Call] = set()
        self._wake_at = math.inf
        self._thread: threading.Thread | None = None

    def attach(self, call: _Call, sock: Any) -> None:
        """Watch ``sock`` until ``call`` is released (or shut it now if it fired)."""
        with self._cond:
            if call.fired:
                _shut(sock)
                return
            call.sockets.append(sock)
            if call in self._calls:
                return
            self._calls.add(call)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="pystmark-deadline", daemon=True
                )
                self._thread.start()
            if call.deadline_at < self._wake_at:
                self._cond.notify()

    def release(self, call: _Call) -> None:
        """Stop watching ``call``'s sockets."""
        if call.sockets:
            with self._cond:
                self._calls.discard(call)
                call.sockets.clear()

    def _forget(self) -> None:
        # After fork(): the parent's thread is gone and its lock may be held.
        self._cond = threading.Condition(threading.Lock())
        self._calls = set()
        self._wake_at = math.inf
        self._thread = None

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                for call in [call for call in self._calls if call.deadline_at <= now]:
                    call.fired = True
                    self._calls.discard(call)
                    for sock in call.sockets:
                        _shut(sock)
                self._wake_at = min((call.deadline_at for call in self._calls), default=math.inf)
                self._cond.wait(None if self._wake_at == math.inf else self._wake_at - now)


def _shut(sock: Any) -> None:
    # socket.socket.shutdown, not SSLSocket.shutdown: the latter also drops
    # the TLS state that the reading thread is still using.
    with contextlib.suppress(OSError, TypeError, ValueError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


_WATCHDOG = _Watchdog()
_CURRENT = threading.local()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_WATCHDOG._forget)


def _attach_current(sock: Any) -> None:
    call: _Call | None = getattr(_CURRENT, "call", None)
    if call is not None and sock is not None:
        _WATCHDOG.attach(call, sock)


class _CheckedHTTPResponse(http.client.HTTPResponse):
    """http.client's response, which reports a malformed header block to the current call.

    At a header line it cannot parse, http.client stops reading headers: the
    lines after it (a ``Content-Length``, a ``Transfer-Encoding``) are lost and
    the body's framing is in doubt. urllib3 only logs that. The watched
    connections make their responses of this class (``response_class`` is
    http.client's hook for it), check the block with urllib3's own
    ``assert_header_parsing``, and the attempt refuses the answer.
    """

    def begin(self) -> None:
        """Read the status line and headers, then check the header block."""
        super().begin()
        try:
            urllib3.util.response.assert_header_parsing(self.msg)
        except urllib3.exceptions.HeaderParsingError:
            call: _Call | None = getattr(_CURRENT, "call", None)
            if call is not None:
                call.malformed_header = True


class _WatchedHTTPConnection(urllib3.connection.HTTPConnection):
    """An HTTP connection whose socket the current call's deadline covers."""

    response_class = _CheckedHTTPResponse

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _attach_current(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        """Attach the (maybe pooled) socket, then write the request."""
        _attach_current(self.sock)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(urllib3.connection.HTTPSConnection):
    """An HTTPS connection whose socket the current call's deadline covers."""

    response_class = _CheckedHTTPResponse

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _attach_current(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        """Attach the TLS socket, then write the request."""
        _attach_current(self.sock)
        super().request(*args, **kwargs)


class _RetiringPool(urllib3.HTTPConnectionPool):
    """A pool that the deadline adapter hands out until it is closed."""

    #: True once closed: by its pool manager when it drops the pool (to make
    #: room, or when it is cleared), or by anyone else.
    retired = False

    def close(self) -> None:
        """Close the pool's connections; the deadline adapter no longer hands it out."""
        self.retired = True
        super().close()


class _WatchedHTTPPool(_RetiringPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(urllib3.HTTPSConnectionPool, _RetiringPool):
    ConnectionCls = _WatchedHTTPSConnection


_WATCHED_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class _DeadlineAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter with connections that the call deadline covers.

    Without a proxy, it also remembers the pool that serves each origin with
    its TLS settings, so a request skips what requests does to find it again
    (parsing the URL twice, looking up the CA path on disk, making a 30-field
    pool key): about 145,000 instructions a request. It hands out a pool only
    while its pool manager keeps it: it remembers no more pools than the
    manager keeps, and forgets them all before it would remember one more.
    Since the pools remembered are the ones looked up most recently, the one
    the manager drops to make room is never among them.
    """

    def get_connection_with_tls_context(
        self,
        request: requests.PreparedRequest,
        verify: bool | str | None,
        proxies: Mapping[str, str] | None = None,
        cert: tuple[str, str] | str | None = None,
    ) -> urllib3.connectionpool.ConnectionPool:
        """The pool for ``request``: requests' own, remembered while no proxy applies."""
        url = request.url
        if proxies or not isinstance(url, str):
            return super().get_connection_with_tls_context(request, verify, proxies, cert)
        # Up to the path: the scheme and the whole host part (it holds no "/").
        path_at = url.find("/", url.find("//") + 2)
        key = (url if path_at < 0 else url[:path_at], verify, cert)
        pools = self._pools
        try:
            pool = pools.get(key)
        except TypeError:  # an unhashable cert: nothing remembered
            return super().get_connection_with_tls_context(request, verify, proxies, cert)
        if pool is None or getattr(pool, "retired", True):
            if len(pools) >= self._pool_limit:
                pools.clear()
            pool = super().get_connection_with_tls_context(request, verify, proxies, cert)
            pools[key] = pool
        return pool

    def request_url(
        self, request: requests.PreparedRequest, proxies: Mapping[str, str] | None
    ) -> str:
        """The path and query, as requests sends them when no proxy applies."""
        if not proxies:
            path = request.path_url
            if not path.startswith("//"):  # (requests rewrites a path that starts so)
                return path
        return str(super().request_url(request, proxies))

    def build_response(self, req: requests.PreparedRequest, resp: Any) -> requests.Response:
        """The response as requests builds it; the cookie jar reads only an answer with a cookie.

        requests hands every answer to the standard library's cookie jar,
        which finds no cookie in Postmark's answers after about 27,000
        instructions. An answer with a ``Set-Cookie`` header (or anything that
        is not a urllib3 response) is built by requests' own method.
        """
        url = req.url
        if (
            not isinstance(resp, urllib3.response.HTTPResponse)
            or "Set-Cookie" in resp.headers  # (urllib3's headers ignore case)
            or "Set-Cookie2" in resp.headers
            or not isinstance(url, str)
        ):
            return super().build_response(req, resp)
        response = requests.Response()
        response.status_code = resp.status
        response.headers = requests.structures.CaseInsensitiveDict(resp.headers)
        response.encoding = requests.utils.get_encoding_from_headers(response.headers)
        response.raw = resp
        response.reason = cast(str, resp.reason)  # (None stays None, as requests copies it)
        response.url = url
        response.request = req
        response.connection = self
        return response

    def init_poolmanager(self, connections: int, *args: Any, **kwargs: Any) -> None:
        """Make the pool manager, then give it the watched pool classes."""
        super().init_poolmanager(connections, *args, **kwargs)
        _watch_manager(self.poolmanager)
        #: (origin, verify, cert) -> its pool; as many as the manager keeps.
        self._pools: dict[Any, urllib3.connectionpool.ConnectionPool] = {}
        self._pool_limit = max(1, connections)

    def close(self) -> None:
        """Close every pool: the manager's, and any it no longer keeps but is remembered."""
        super().close()
        pools, self._pools = self._pools, {}
        for pool in pools.values():
            pool.close()

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> urllib3.PoolManager:
        """The proxy's pool manager, with the watched pool classes."""
        manager: urllib3.PoolManager = super().proxy_manager_for(proxy, **kwargs)
        return _watch_manager(manager)


def _watch_manager(manager: urllib3.PoolManager) -> urllib3.PoolManager:
    # Only plain HTTP(S) managers: a SOCKS manager has its own pool classes.
    if type(manager) in (urllib3.PoolManager, urllib3.ProxyManager):
        manager.pool_classes_by_scheme = _WATCHED_POOLS
    return manager


def _watch_session(session: requests.Session) -> None:
    """Mount the deadline adapter on a session pystmark made (once)."""
    if getattr(session, "_pystmark_watched", False):
        return
    for prefix, adapter in list(session.adapters.items()):
        if type(adapter) is requests.adapters.HTTPAdapter:
            session.mount(
                prefix,
                _DeadlineAdapter(
                    pool_connections=adapter._pool_connections,  # type: ignore[attr-defined]
                    pool_maxsize=adapter._pool_maxsize,  # type: ignore[attr-defined]
                    max_retries=adapter.max_retries,
                    pool_block=adapter._pool_block,  # type: ignore[attr-defined]
                ),
            )
            adapter.close()
        elif isinstance(adapter, requests.adapters.HTTPAdapter):
            _watch_manager(adapter.poolmanager)
    session._pystmark_watched = True  # type: ignore[attr-defined]


# ---- Transport: classifying failures ----


class _Failure(Exception):
    """One failed attempt: the error to raise and when it may be retried."""

    def __init__(
        self,
        error: PystmarkError,
        retry: str,
        *,
        retry_after: float | None = None,
        send_error: PystmarkError | None = None,
        chain: bool = True,
    ) -> None:
        super().__init__(str(error))
        self.error = error
        #: "always" (nothing reached Postmark or it refused), "idempotent", or "never".
        self.retry = retry
        self.retry_after = retry_after
        #: What a send raises instead, when the failure leaves its outcome unknown.
        self.send_error = send_error
        #: False when the low-level cause must not be chained (it may echo a token).
        self.chain = chain


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the exceptions it wraps (args, ``reason``, cause, context)."""
    seen: set[int] = set()
    todo = [exc]
    while todo and len(seen) < 32:
        item = todo.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        nested = [*item.args, getattr(item, "reason", None), item.__cause__, item.__context__]
        todo.extend(value for value in nested if isinstance(value, BaseException))


def _not_sent(exc: requests.ConnectionError) -> bool:
    """True when the connection was never made, so nothing reached the server."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, urllib3.exceptions.MaxRetryError):
        reason = reason.reason
    return isinstance(reason, urllib3.exceptions.NewConnectionError | urllib3.exceptions.ProxyError)


def _connect_problem(exc: requests.ConnectionError) -> str:
    """`` to HOST (Reason)`` for a failed connection: names only, never values."""
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, urllib3.exceptions.MaxRetryError) and reason.reason is not None:
        reason = reason.reason
    kind = type(reason if isinstance(reason, BaseException) else exc).__name__
    if isinstance(reason, urllib3.exceptions.NameResolutionError):
        kind = "the name could not be resolved"
    elif isinstance(reason, urllib3.exceptions.NewConnectionError) and isinstance(
        reason.__context__, ConnectionRefusedError
    ):
        kind = "connection refused"
    url = getattr(getattr(exc, "request", None), "url", None)
    host = urlsplit(url).hostname if isinstance(url, str) else None
    return f" to {host} ({kind})" if host else f" ({kind})"


def _cert_failure(exc: BaseException) -> bool:
    return any(
        isinstance(item, ssl.SSLCertVerificationError | ssl.CertificateError)
        for item in _causes(exc)
    )


def _transport_failure(exc: BaseException, deadline_hit: bool, received: bool = False) -> _Failure:
    """The typed error (and retry class) for a failure below HTTP.

    ``received`` says the answer's status and headers had arrived: the
    request was sent, whatever went wrong after.
    """
    name = type(exc).__name__
    if received or (isinstance(exc, requests.ConnectionError) and not _not_sent(exc)):
        unknown = SendOutcomeUnknownError(f"the request failed after it was sent ({name})")
    else:
        unknown = SendOutcomeUnknownError(f"the request failed, maybe after it was sent ({name})")
    if not received:
        if isinstance(exc, requests.exceptions.InvalidHeader) and not any(
            isinstance(item, urllib3.exceptions.InvalidHeader) for item in _causes(exc)
        ):
            # Ours, refused before sending: requests' message would echo the
            # header value, which may be a token.
            return _Failure(ConfigurationError("a header value is invalid"), "never", chain=False)
        if isinstance(exc, UnicodeEncodeError):
            # A header value that is not latin-1 (as http.client writes them), or
            # a query value that is not Unicode; the error would echo the value.
            return _Failure(
                ConfigurationError("a header or query value cannot be encoded"),
                "never",
                chain=False,
            )
        if isinstance(exc, requests.exceptions.SSLError | ssl.SSLError) and _cert_failure(exc):
            return _Failure(TLSVerificationError(f"TLS verification failed ({name})"), "never")
        if isinstance(exc, requests.ConnectionError) and _not_sent(exc):
            if deadline_hit:
                return _Failure(
                    DeadlineExceededError("the call's deadline passed while connecting"), "never"
                )
            return _Failure(
                ConnectionFailedError(f"could not connect{_connect_problem(exc)}"), "always"
            )
    if deadline_hit:
        return _Failure(
            DeadlineExceededError("the call's deadline passed while waiting for Postmark"),
            "never",
            send_error=SendOutcomeUnknownError(
                f"the call's deadline passed after the request was sent ({name})"
            ),
        )
    network = (
        requests.ConnectionError,
        requests.Timeout,
        requests.exceptions.ChunkedEncodingError,
        requests.exceptions.ContentDecodingError,
        requests.exceptions.InvalidHeader,  # in the answer (ours are above)
        requests.exceptions.RetryError,  # a session's own retries, after answers
    )
    if not received and isinstance(exc, requests.RequestException) and not isinstance(exc, network):
        # InvalidURL, MissingSchema...: refused before anything was sent.
        return _Failure(ConfigurationError(f"requests refused the request ({name})"), "never")
    if isinstance(exc, requests.Timeout):
        return _Failure(
            RequestTimeoutError("Postmark did not answer within the read timeout"),
            "idempotent",
            send_error=unknown,
        )
    if isinstance(
        exc,
        requests.exceptions.ContentDecodingError
        | requests.exceptions.InvalidHeader
        | urllib3.exceptions.InvalidHeader
        | urllib3.exceptions.DecodeError
        | UnicodeDecodeError,
    ):
        return _Failure(
            UnexpectedResponseError(f"Postmark's answer could not be decoded ({name})"),
            "idempotent",
            send_error=unknown,
        )
    if isinstance(exc, OSError | urllib3.exceptions.HTTPError | http.client.HTTPException):
        return _Failure(
            ConnectionFailedError(f"the connection broke ({name})"),
            "idempotent",
            send_error=unknown,
        )
    # Anything else (a hook's error, a library's bug): the request may have
    # gone out, so a send's outcome is unknown; nothing is repeated.
    return _Failure(TransportError(f"the request failed ({name})"), "never", send_error=unknown)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or HTTP date), or None."""
    value = headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


#: Send endpoints answered with a JSON list; the others answer with an object.
_LIST_ANSWERS = frozenset({"/email/batch", "/email/batchWithTemplates"})


def _check_response(
    response: requests.Response, data: Any, endpoint: Endpoint[Any] | None = None
) -> Any:
    """A 2xx answer's ``data`` (its decoded JSON), or raise :class:`_Failure` with the typed error.

    ``data`` is ``None`` for an empty body and ``_UNREADABLE`` for one that
    is not JSON (see :func:`_read_answer`).
    """
    status = response.status_code
    if 200 <= status < 300:
        problem = None
        if data is _UNREADABLE:
            problem = "Postmark's answer was not valid JSON"
        elif endpoint is not None and endpoint.send:
            expected = list if endpoint.path in _LIST_ANSWERS else dict
            if not isinstance(data, expected):
                problem = f"Postmark's answer was not a JSON {expected.__name__}"
        if problem is None:
            return data
        error = UnexpectedResponseError(problem, status_code=status, response=response)
        send_error = _SendUnexpectedResponseError(problem, status_code=status, response=response)
        raise _Failure(error, "idempotent", send_error=send_error)
    error_code = message = None
    if isinstance(data, dict):
        code, text = data.get("ErrorCode"), data.get("Message")
        error_code = code if isinstance(code, int) and not isinstance(code, bool) else None
        message = text if isinstance(text, str) else None
    # A test double may have no headers or reason (as pystmark 0.5 never read them).
    headers = getattr(response, "headers", None)
    if not isinstance(headers, Mapping):
        headers = {}
    if 300 <= status < 400:
        # Redirects are never followed: the token must not go to another host.
        try:
            target = urlsplit(headers.get("Location", "")).hostname or "nowhere"
        except ValueError:
            target = "an invalid location"
        message = f"Postmark answered with a redirect to {target}, which is not followed"
    if message is None:
        kind = headers.get("Content-Type", "no content type").split(";")[0]
        reason = getattr(response, "reason", None)
        message = f"HTTP {status} {reason if isinstance(reason, str) else ''} ({kind})"
        message = message.replace("  ", " ")
    error_class = _error_class(status, error_code)
    fields: dict[str, Any] = {
        "status_code": status,
        "error_code": error_code,
        "response": response,
        "data": None if data is _UNREADABLE else data,
    }
    api_error = error_class(message, **fields)
    if status in (429, 503) or error_code == 100:
        raise _Failure(api_error, "always", retry_after=_retry_after(headers))
    if not 300 <= status < 500:
        # Every 5xx but 503 (Postmark's refusal when down for maintenance),
        # proxies' 52x pages included, and statuses outside HTTP's classes:
        # the request reached something that may have passed it on.
        send_class = _SendInternalServerError if status == 500 else _SendUnexpectedResponseError
        raise _Failure(api_error, "idempotent", send_error=send_class(message, **fields))
    raise _Failure(api_error, "never")


_UNREADABLE = object()

#: Bytes read per step. urllib3 (2.6 and later) decompresses no more than
#: this per step, so a compressed answer costs at most this beyond the limit.
_READ_STEP = 64 * 1024
#: Older urllib3 inflates a whole step at once (gzip and deflate: at most
#: about 1,000 times): such answers are read 1 KiB at a time, and answers in
#: encodings of higher ratios (br, zstd) are refused.
_URLLIB3_VERSION: str = getattr(urllib3, "__version__", "0")
_OLD_URLLIB3 = tuple(int(part) for part in re.findall(r"\d+", _URLLIB3_VERSION)[:2]) < (2, 6)
_BOUNDED_ENCODINGS = frozenset({"gzip", "x-gzip", "deflate", "identity", ""})


def _read_answer(response: requests.Response, limit: int) -> Any:
    """The decoded JSON of ``response``'s body: ``None`` when empty, ``_UNREADABLE`` when not JSON.

    A real ``requests.Response`` is read bounded (:func:`_read_body`), and
    its JSON decoded from the bytes read. Anything else is a test double (a
    ``Mock(spec=requests.Response)`` returned by a patched ``requests.request``
    or ``Session.request``), read as pystmark 0.5 read it: its ``content`` when
    that is bytes, else its ``json()``.
    """
    if issubclass(type(response), requests.Response):
        return _decode_json(_read_body(response, limit))
    content = getattr(response, "content", None)
    if isinstance(content, bytes):
        if len(content) > limit:
            raise _unusable(response, _too_large(limit))
        return _decode_json(content)
    try:
        return response.json()
    except ValueError:
        return _UNREADABLE


def _decode_json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except (ValueError, RecursionError):
        return _UNREADABLE


def _too_large(limit: int) -> str:
    return f"Postmark's answer is larger than max_response_bytes ({limit} bytes)"


class _ReadBody(io.BytesIO):
    """An answer's body that pystmark has read, kept as the response's ``raw``.

    ``requests`` reads a ``raw`` that has ``stream()`` (as urllib3's responses
    have) through it: this one gives the whole body in one piece, so the
    response's ``content``, ``text`` and ``json()`` read the bytes already
    read, without a copy.
    """

    def stream(self, amt: int | None = None, decode_content: bool | None = None) -> Iterator[bytes]:
        """The rest of the body, in one piece (``amt`` and ``decode_content`` are ignored)."""
        yield self.read()


def _read_body(response: requests.Response, limit: int) -> bytes:
    """Read the (streamed) body of ``response``, at most ``limit`` bytes decoded.

    The body is read from ``response.raw``: urllib3's ``stream()``, which
    decompresses as it reads, or a file-like ``read()``, both counted as they
    go; an unencoded body of an announced length within the limit (and no
    ``Transfer-Encoding``) by one urllib3 ``read()``. So its errors are
    urllib3's. Past the limit, the connection is closed and :class:`_Failure`
    raised. Once read, the connection goes back to the pool and the body
    becomes the response's ``raw``, so ``response.content``, ``.text`` and
    ``.json()`` work as usual.
    """
    raw = response.raw
    if raw is None or getattr(raw, "closed", False) is True:
        # Made without a connection (a test double), or read already (by a
        # response hook, or a session that ignores stream=True): requests
        # gives the body it holds.
        content = response.content or b""
        if len(content) > limit:
            raise _unusable(response, _too_large(limit))
        return content
    step = _READ_STEP
    encoding = response.headers.get("Content-Encoding", "").strip().lower()
    length = response.headers.get("Content-Length", "").strip()
    # An unencoded body of the length announced, within the limit (a
    # Transfer-Encoding, which wins over the length, leaves it unbounded).
    announced = False
    if encoding in ("", "identity") and length.isascii() and length.isdigit() and len(length) < 20:
        if int(length) > limit:
            response.close()
            raise _unusable(response, _too_large(limit))
        announced = "Transfer-Encoding" not in response.headers
    elif encoding and _OLD_URLLIB3:  # pragma: no cover - CI runs a current urllib3
        step = 1024
        if not {part.strip() for part in encoding.split(",")} <= _BOUNDED_ENCODINGS:
            response.close()
            raise _unusable(response, f"an answer in the {encoding!r} encoding was refused")
    if announced and hasattr(raw, "stream"):
        # urllib3 reads no more than the length announced: one read, no steps.
        body = raw.read(decode_content=True)
    else:
        if hasattr(raw, "stream"):
            chunks: Iterator[bytes] = raw.stream(step, decode_content=True)
        else:  # a file-like object, as requests reads one
            chunks = iter(functools.partial(raw.read, step), b"")
        out = io.BytesIO()
        size = 0
        for chunk in chunks:
            size += len(chunk)
            if size > limit:
                response.close()
                raise _unusable(response, _too_large(limit))
            out.write(chunk)
        # getvalue() hands the buffer over without a copy, and _ReadBody shares it.
        body = out.getvalue()
    release = getattr(raw, "release_conn", None)
    if release is not None:
        release()  # urllib3: the connection goes back to the pool
    else:
        raw.close()
    response.raw = _ReadBody(body)
    return body


def _unusable(response: requests.Response, problem: str) -> _Failure:
    """The failure for an answer that cannot be used.

    Never retried (the same request would get the same answer); a send's
    outcome is unknown.
    """
    fields: dict[str, Any] = {"status_code": response.status_code, "response": response}
    return _Failure(
        UnexpectedResponseError(problem, **fields),
        "never",
        send_error=_SendUnexpectedResponseError(problem, **fields),
    )


def _mask_kept_request(response: requests.Response) -> None:
    """Give ``response`` a copy of its request with the token masked.

    The response may be kept, copied, pickled or logged by the caller; the
    request object itself is left as it was (a mock may have recorded it).
    """
    request = getattr(response, "request", None)  # a test double may have none
    if not isinstance(request, requests.PreparedRequest):
        return
    headers = request.headers
    if all(headers.get(name, "***") == "***" for name in _MASKED_HEADERS):
        return  # masked already (the pooled session's short path does it)
    kept = request.copy()
    for name in _MASKED_HEADERS:
        if name in kept.headers:
            kept.headers[name] = "***"
    response.request = kept


def _backoff(settings: _Settings, retry: int) -> float:
    """Full jitter: a random wait up to base * 2**(retry - 1), capped."""
    ceiling = min(settings.backoff_cap, settings.backoff_base * 2 ** (retry - 1))
    return float(_random() * ceiling)


def _scrub(exc: BaseException) -> None:
    """Mask the token in the sent request that an error (or its causes) keeps."""
    for item in _causes(exc):
        request = getattr(item, "request", None)
        headers = getattr(request, "headers", None)
        if isinstance(headers, requests.structures.CaseInsensitiveDict | dict):
            for name in _MASKED_HEADERS:
                if name in headers:
                    headers[name] = "***"


def _perform(
    session: requests.Session,
    endpoint: Endpoint[Any],
    url: str,
    *,
    params: Mapping[str, Any] | None,
    body: bytes | None,
    headers: Mapping[str, str],
    settings: _Settings,
) -> tuple[requests.Response, Any]:
    """Make the request, retrying only what the retry policy allows.

    Retried for every endpoint: failures before a connection was made, 429,
    503 and ErrorCode 100. Retried only for idempotent endpoints: timeouts,
    broken connections, 500/502/504 and unreadable 2xx bodies; a send raises
    :class:`SendOutcomeUnknownError` instead. Waits use full-jitter backoff (or
    ``Retry-After``, up to ``max_retry_after``) and never pass the deadline.
    """
    started = _monotonic()
    deadline_at = started + settings.deadline
    connect, read = settings.timeout
    request_args = settings.request_args
    if request_args.get("verify") is None:
        # Explicit, so a session's ``verify = False`` is never inherited.
        request_args = {**request_args, "verify": True}
    if settings.session is None:
        _watch_session(session)
    attempt = 0
    cause: BaseException | None = None
    while True:
        attempt += 1
        remaining = deadline_at - _monotonic()
        if remaining <= 0:
            error: PystmarkError = DeadlineExceededError("the call's deadline passed")
            error.attempts = attempt - 1
            raise error from cause
        call = _Call(time.monotonic() + remaining)
        _CURRENT.call = call
        connect_budget, read_budget = min(connect, remaining), min(read, remaining)
        received = False  # True once the answer's status and headers are in
        try:
            if isinstance(session, _PooledSession):
                response = session.send_plain(
                    endpoint.method,
                    url,
                    params=params,
                    body=body,
                    headers=headers,
                    timeout=(connect_budget, read_budget),
                    request_args=request_args,
                )
            else:
                response = session.request(
                    endpoint.method,
                    url,
                    params=params,
                    data=body,
                    headers=headers,
                    timeout=(connect_budget, read_budget),
                    allow_redirects=False,
                    stream=True,
                    **request_args,
                )
            received = True
            try:
                if call.malformed_header:
                    response.close()
                    raise _unusable(response, "Postmark's answer has a malformed header")
                data = _read_answer(response, settings.max_response_bytes)
            finally:
                _mask_kept_request(response)
            if call.fired:
                # The watchdog's shutdown reads as end-of-stream, which
                # http.client may take for a complete (truncated) answer.
                response.close()
                raise requests.ConnectionError("the answer was cut off at the deadline")
            data = _check_response(response, data, endpoint)
            logger.debug(
                "%s %s -> %s (attempt %d, %.0f ms)",
                endpoint.method,
                endpoint.path,
                response.status_code,
                attempt,
                (_monotonic() - started) * 1000,
            )
            return response, data
        except _Failure as caught:
            failure, cause = caught, caught.error
        except Exception as exc:
            # requests' errors are OSErrors; raw urllib3/http.client ones can
            # leak, and so can anything a hook or an adapter raises.
            # A timeout shortened to the time left is the deadline too.
            clipped = (
                connect_budget < connect
                if isinstance(exc, requests.ConnectTimeout)
                else read_budget < read
            )
            deadline_hit = (
                call.fired
                or _monotonic() >= deadline_at
                or (isinstance(exc, requests.Timeout) and clipped)
            )
            failure = _transport_failure(exc, deadline_hit, received)
            _scrub(exc)
            cause = exc if failure.chain else None
        finally:
            _CURRENT.call = None
            _WATCHDOG.release(call)
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
            _scrub(error)
            raise error from (cause if cause is not error else None)
        _sleep(delay)


# ---- Paging ----------------------------------------------------------------

#: Postmark serves at most this many items per page ...
MAX_PAGE_SIZE = 500
#: ... and refuses ``count + offset`` above this.
MAX_OFFSET = 10_000

#: The time zone in which Postmark reads ``fromdate``/``todate`` filters and
#: writes its timestamps: US Eastern, with daylight saving time. Postmark's
#: Messages API reference (postmarkapp.com/developer/api/messages-api, the
#: ``fromdate``/``todate`` parameters) says "Our API uses Eastern Time Zone",
#: and its timestamps carry -05:00 or -04:00 offsets.
POSTMARK_TIME_ZONE = "America/New_York"

_zone_cache: list[Any] = []


def _postmark_zone() -> Any:
    """Postmark's time zone, from the system's (or ``tzdata``'s) tz database."""
    if not _zone_cache:
        import zoneinfo

        try:
            _zone_cache.append(zoneinfo.ZoneInfo(POSTMARK_TIME_ZONE))
        except (zoneinfo.ZoneInfoNotFoundError, OSError, ValueError) as error:
            raise ConfigurationError(
                f"the time zone database has no {POSTMARK_TIME_ZONE!r}, needed to convert "
                "aware datetimes to Postmark's time zone: install the 'tzdata' package, "
                "or pass naive datetimes (taken as US Eastern time)"
            ) from error
    return _zone_cache[0]


def _to_postmark_time(value: datetime) -> datetime:
    """A naive datetime in Postmark's time zone; naive input is returned as is."""
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=None)
    return value.astimezone(_postmark_zone()).replace(tzinfo=None)


def _paging_key(raw: Any, id_key: str, timestamp_key: str) -> tuple[Any, datetime]:
    """An item's id and timestamp (aware; without an offset, in Postmark's zone)."""
    try:
        item_id, value = raw[id_key], raw.get(timestamp_key)
    except (KeyError, TypeError, AttributeError):
        raise DataError(f"an item of the listing has no {id_key!r}") from None
    try:
        hash(item_id)  # the ids read are kept in sets
    except TypeError:
        raise DataError(
            f"an item of the listing has an {id_key!r} of type {type(item_id).__name__}"
        ) from None
    return item_id, _paging_instant(value)


def _paging_instant(value: Any) -> datetime:
    """A listing item's timestamp, aware (without an offset: in Postmark's zone)."""
    parsed = parse_datetime(value, None)
    if parsed is None:
        raise DataError("an item of the listing has no timestamp")
    if parsed.tzinfo is None:  # the time zone database is needed only here
        parsed = parsed.replace(tzinfo=_postmark_zone())
    return parsed


_SECOND = timedelta(seconds=1)


def _upper_bound(moment: datetime) -> datetime:
    """A naive Postmark-time ``todate`` that no reading puts before ``moment``.

    In the hour repeated when daylight saving time ends, a local time has two
    readings; if the earlier one would fall before ``moment`` (cutting items
    out of the window), the bound moves past the repeated hour. The items this
    lets back in are newer than any not yet yielded, and are skipped.
    """
    zone = _postmark_zone()
    local = moment.astimezone(zone).replace(tzinfo=None)
    earliest = local.replace(tzinfo=zone, fold=0).astimezone(timezone.utc)
    shortfall = moment.astimezone(timezone.utc) - earliest
    return local + shortfall if shortfall > timedelta(0) else local


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
    make_page: Callable[[list[Any]], Iterable[T]] | None = None,
) -> Iterator[T]:
    """Yield every item of a paged listing, one page in memory at a time.

    ``fetch(query)`` returns one page's decoded JSON (``params`` plus
    ``count_key`` and ``offset_key``); its ``items_key`` list is turned into
    items by ``make``, or by ``make_page`` (a page's list in, its items out,
    in order). Stops after ``max_results`` items (``None``: all).

    Listings sorted newest first that filter by date pass ``timestamp_key``
    (the raw item's timestamp field), ``id_key`` (its unique id field) and
    ``to_date_param`` (the query parameter of the upper date bound); they are
    read past Postmark's 10,000 offset cap. When the cap is reached, the upper
    bound becomes the whole second after the oldest timestamp seen and paging
    starts again at offset 0 (the bound is sent in Postmark's US Eastern
    time, moved past the repeated hour when daylight saving time ends). Items
    newer than the oldest one seen were yielded already and are skipped; so
    are items of the page before and of the last two seconds, recognised by id
    (the only ids kept in memory), so items pushed onto the next page by new
    ones arriving meanwhile are not repeated. This works whether Postmark
    treats the bound as an instant or as a whole second. :class:`PagingError`
    is raised, rather than anything skipped, if a narrowed window makes no
    progress (the items of two seconds fill a whole window, or the server
    ignored the bound) or if the order is not newest first. Without those
    keys, reaching the cap with more items left (per ``TotalCount``) raises
    :class:`PagingError` too.

    Not a generator itself: ``max_results`` is checked when it is called, so
    every ``iter_*`` raises :class:`ArgumentError` at once, not at ``next()``.
    """
    if (timestamp_key is None) != (id_key is None):
        raise TypeError("give both timestamp_key and id_key, or neither")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    _check_max_results(max_results)
    # The pages are read as the items are (a generator); make_page turns each
    # page's list into its items.
    pages = _listing_pages(
        fetch, items_key, params, max_results, page_size, count_key, offset_key,
        timestamp_key, id_key, to_date_param,
    )  # fmt: skip
    return itertools.chain.from_iterable(map(make_page or functools.partial(map, make), pages))


#: A timestamp whose text sorts as its instant does, among texts of its shape:
#: fixed-width fields, most significant first, and an explicit offset
#: (compiled on first use, by ``re``'s cache).
_SORTABLE_TIMESTAMP = r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)"
#: Maps every ASCII digit to "0": a timestamp's shape (``bytes.translate``).
_DIGITS_TO_ZERO = bytes(range(48)) + b"0" * 10 + bytes(range(58, 256))


def _sorted_page_stamps(stamps: list[Any]) -> bool:
    """True if every timestamp of a page has one shape and offset, newest first.

    Texts of one fixed-width shape (:data:`_SORTABLE_TIMESTAMP`, digits in
    the same places) with one offset sort as their instants do, so the order
    of a page is checked without parsing each one. False (read the page item
    by item) for anything else: mixed shapes or offsets, no offset, a value
    that is not text.
    """
    first = stamps[0]
    if type(first) is not str or not re.fullmatch(_SORTABLE_TIMESTAMP, first, re.ASCII):
        return False
    width, count = len(first), len(stamps)
    try:
        # "|" is in no shape: the texts are one shape only if every "|" of
        # the joined page falls where it does in ``count`` copies of the first's.
        joined = "|".join(stamps)
    except TypeError:  # a value that is not text
        return False
    if not joined.isascii():
        return False
    shape = first.encode("ascii").translate(_DIGITS_TO_ZERO)
    if joined.encode("ascii").translate(_DIGITS_TO_ZERO) != b"|".join([shape] * count):
        return False
    if first[-1] != "Z":  # the offset's digits are the same everywhere
        for place in range(width - 5, width):
            if joined[place :: width + 1] != first[place] * count:
                return False
    # Newest first: a stable sort (in C, one pass over a page in order)
    # leaves the page as it is.
    return sorted(stamps, reverse=True) == stamps


def _fresh_by_texts(
    items: list[Any],
    ids: list[Any],
    stamps: list[str],
    page_ids: set[Any],
    recent: Mapping[Any, datetime],
    last_page_ids: set[Any],
    oldest: datetime | None,
    previous: datetime | None,
    yielded_after: datetime | None,
) -> tuple[list[Any] | None, datetime | None, datetime | None]:
    """The items of a page to yield, and the new ``oldest`` and ``previous``.

    For a page of :func:`_listing_pages` whose timestamps are in order as
    texts (:func:`_sorted_page_stamps`): parses only the timestamps of its
    first fresh item and its last. Items read before (ids in ``recent`` or
    ``last_page_ids``) are skipped when they lead the page, as the first
    page of a narrowed window starts with the last second read. ``None``
    (read the page item by item) when the page needs more than that: items
    read before elsewhere on the page, or a first fresh item newer than
    ``previous`` or than ``yielded_after``.
    """
    repeated = page_ids.intersection(last_page_ids)
    if recent:
        repeated.update(page_ids.intersection(recent))
    head = len(repeated)
    if head and (set(ids[:head]) != repeated or not repeated.isdisjoint(ids[head:])):
        return None, oldest, previous
    if head == len(ids):  # every item was read before
        last = _paging_instant(stamps[-1])
        return [], last if oldest is None or last < oldest else oldest, previous
    newest = _paging_instant(stamps[head])
    if (previous is not None and newest > previous) or (
        yielded_after is not None and newest > yielded_after
    ):
        return None, oldest, previous
    last = _paging_instant(stamps[-1])
    return items[head:] if head else items, last, last


def _listing_pages(
    fetch: Callable[[dict[str, Any]], Any],
    items_key: str,
    params: Mapping[str, Any],
    max_results: int | None,
    page_size: int,
    count_key: str,
    offset_key: str,
    timestamp_key: str | None,
    id_key: str | None,
    to_date_param: str,
) -> Iterator[list[Any]]:
    """The raw items to yield, a page at a time (see :func:`_iter_paged`).

    A page is checked whole before any of its items is yielded. A page of a
    narrowed listing whose timestamps share one shape and offset
    (:func:`_sorted_page_stamps`), whose items read before (if any) lead it
    and whose first fresh item is no newer than what was read before, is
    checked by comparing its timestamp texts (:func:`_fresh_by_texts`): only
    that item's and the last one's are parsed (and, a page later, those of
    its last two seconds). Any other page is read item by
    item, which raises the same errors a malformed answer always did.
    """
    narrow = timestamp_key is not None
    id_field, time_field = cast(str, id_key), cast(str, timestamp_key)  # str when narrow
    query = dict(params)
    offset = produced = 0
    # The ids (and timestamps) of the last page's items and of the items of
    # the last two whole seconds: the only ids held, so memory stays flat. An
    # item seen again (bounces arriving meanwhile push items onto the next
    # page; a narrowed window starts inside the last second read) is skipped.
    # The last page's are in ``recent`` when it was read item by item, and in
    # ``unparsed`` (ids and timestamp texts, newest first) when it was not.
    recent: dict[Any, datetime] = {}
    unparsed: tuple[list[Any], list[str], set[Any]] = ([], [], set())
    oldest: datetime | None = None  # the oldest timestamp of the current window
    previous: datetime | None = None  # the last timestamp read, for the order check
    bound: datetime | None = None  # the whole second the current window ends after
    # Every item newer than this was yielded before the window was last narrowed.
    yielded_after: datetime | None = None
    total: Any = None
    while max_results is None or produced < max_results:
        count = min(page_size, MAX_OFFSET - offset)
        if count <= 0:
            if not narrow:
                if isinstance(total, int) and total <= offset:
                    return
                raise PagingError(
                    f"more than {MAX_OFFSET} items match and this listing cannot be read "
                    "past Postmark's offset cap: narrow the filters (for example by date)"
                )
            assert oldest is not None
            second = oldest.replace(microsecond=0)
            if bound is not None and second >= bound:
                raise PagingError(
                    f"cannot page past {second.isoformat()}: more than {MAX_OFFSET} items "
                    "have timestamps within the two seconds from there, or the server "
                    f"ignored the {to_date_param!r} filter"
                )
            bound, yielded_after = second, oldest
            query[to_date_param] = _upper_bound(second + _SECOND)
            offset, oldest, previous = 0, None, None
            continue
        if max_results is not None:
            count = min(count, max_results - produced)
        page = fetch({**query, count_key: count, offset_key: offset})
        if not isinstance(page, Mapping) or not isinstance(page.get(items_key), list):
            raise DataError(f"expected a page with a {items_key!r} list")
        items = page[items_key]
        total = page.get("TotalCount")
        read = len(items)
        if max_results is not None and read > max_results - produced:
            items = items[: max_results - produced]
        if not narrow:
            produced += len(items)
            yield items
        elif items:
            fresh, page_seen, stamps, ids, page_ids = None, None, None, None, set()
            try:
                ids = list(map(operator.itemgetter(id_field), items))
                stamps = list(map(operator.itemgetter(time_field), items))
            except (KeyError, TypeError, AttributeError, IndexError):
                pass  # read item by item, which says what is wrong
            if stamps is not None and ids is not None and _sorted_page_stamps(stamps):
                try:
                    page_ids = set(ids)
                except TypeError:  # an id that is not hashable: read item by item
                    page_ids = set()
                else:
                    fresh, oldest, previous = _fresh_by_texts(
                        items, ids, stamps, page_ids, recent, unparsed[2], oldest, previous,
                        yielded_after,
                    )  # fmt: skip
            if fresh is None:
                fresh, page_seen = [], {}
                for raw in items:
                    item_id, instant = _paging_key(raw, id_field, time_field)
                    page_seen[item_id] = instant
                    if item_id in recent or item_id in unparsed[2]:
                        # Yielded already, on the page before or in the window before.
                        if oldest is None or instant < oldest:
                            oldest = instant
                        continue
                    if previous is not None and instant > previous:
                        raise PagingError("the listing is not sorted newest first")
                    previous = oldest = instant  # newest first: the last one is the oldest
                    if yielded_after is not None and instant > yielded_after:
                        continue  # yielded before the window was narrowed
                    fresh.append(raw)
            produced += len(fresh)
            yield fresh
            assert oldest is not None  # set by every item of a page
            keep_before = oldest.replace(microsecond=0) + 2 * _SECOND
            recent = {key: at for key, at in recent.items() if at < keep_before}
            last_ids, last_stamps, _ = unparsed
            for index in range(len(last_ids) - 1, -1, -1):  # oldest first
                at = _paging_instant(last_stamps[index])
                if at >= keep_before:
                    break  # the rest are newer still
                recent[last_ids[index]] = at
            if page_seen is None:
                unparsed = (cast(list[Any], ids), cast(list[str], stamps), page_ids)
            else:
                recent.update(page_seen)
                unparsed = ([], [], set())
        offset += read
        if read < count:
            return


# ---- Arguments: the checks every endpoint shares ----
#
# Every listing, iterator and editor checks its arguments with these, before
# any I/O, so one mistake gets one error class everywhere: ArgumentError, or
# (``error=BounceError``) its subclass on the bounce calls, where pystmark 0.5
# raised BounceError. ``None`` always means "not given".


def _check_page(count: Any, offset: Any, error: type[ArgumentError] = ArgumentError) -> None:
    """Refuse a page Postmark would refuse.

    ``count`` must be 1 to 500, ``offset`` >= 0 and ``count + offset`` at most 10,000.
    """
    for name, value in (("count", count), ("offset", offset)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise error(f"{name} must be an integer, not {type(value).__name__}")
    if count is not None and not 1 <= count <= MAX_PAGE_SIZE:
        raise error(f"count must be between 1 and {MAX_PAGE_SIZE}, not {count}")
    if offset is not None and offset < 0:
        raise error(f"offset must be >= 0, not {offset}")
    if (count or 0) + (offset or 0) > MAX_OFFSET:
        raise error(
            f"count + offset may not exceed {MAX_OFFSET} (an iter_ function reads them all)"
        )


def _check_max_results(max_results: Any, error: type[ArgumentError] = ArgumentError) -> None:
    """Refuse a ``max_results`` that is not an integer >= 0 (``None``: no limit)."""
    if max_results is not None and (
        isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 0
    ):
        raise error(f"max_results must be an integer >= 0, not {max_results!r}")


#: The text forms of a date filter Postmark reads: a day, or a day and a time.
_DATE_TEXT = r"\d{4}-\d\d-\d\d(?:T\d\d:\d\d(?::\d\d)?)?\Z"  # compiled on first use


def _check_dates(
    from_date: Any,
    to_date: Any,
    *,
    text: bool = True,
    error: type[ArgumentError] = ArgumentError,
    names: tuple[str, str] = ("from_date", "to_date"),
) -> None:
    """Refuse date filters that are not dates or datetimes, or out of order.

    Where ``text`` is true (the signature takes ``str``), Postmark's own text
    forms ``YYYY-MM-DD`` and ``YYYY-MM-DDTHH:MM[:SS]`` are accepted too.
    ``names`` name the two arguments in messages.
    """
    bounds: list[date | None] = []
    for name, value in zip(names, (from_date, to_date), strict=True):
        if value is None or isinstance(value, date):
            bounds.append(value)
            continue
        kinds = "a date, a datetime or ISO text" if text else "a date or a datetime"
        if not (text and isinstance(value, str)):
            raise error(f"{name} must be {kinds}, not {type(value).__name__}")
        try:
            if not re.match(_DATE_TEXT, value):
                raise ValueError(value)
            parsed = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
            bounds.append(parsed)
        except ValueError:
            raise error(
                f"{name} must be {kinds} (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS), not {value!r}"
            ) from None
    low, high = (_to_postmark_time(v) if isinstance(v, datetime) else v for v in bounds)
    if low is not None and high is not None and type(low) is type(high) and low > high:
        raise error(f"{names[0]} is after {names[1]}")


def _check_text(name: str, value: Any, error: type[ArgumentError] = ArgumentError) -> None:
    """Refuse one-line text (a filter, a name) that is not a string or holds CR, LF or NUL."""
    if value is not None and (not isinstance(value, str) or _HEADER_UNSAFE.search(value)):
        raise error(f"{name} must be a string without CR, LF or NUL")


def _check_id(name: str, value: Any, error: type[ArgumentError] = ArgumentError) -> int:
    """Refuse a numeric id that is not a positive integer (ids in paths: ``_path_segment``)."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise error(f"{name} must be a positive integer, not {value!r}")
    return value


_EMAIL_ADDRESS = r"^[^@\s]+@[^@\s]+$"  # compiled on first use


def _check_value(
    name: str,
    value: Any,
    check: _FieldCheck,
    *,
    what: str = "",
    error: type[ArgumentError] = ArgumentError,
) -> Any:
    """``value`` checked against ``check``, as it is sent; ``None`` passes as ``None``.

    A bool must be a bool (not 1), an int an int (not True or "5"), an enum a
    member or one of its values; ``what`` names the record in the message.
    """
    if value is None:
        return None
    prefix = f"{what}: " if what else ""
    if isinstance(check, type) and issubclass(check, enum.Enum):
        choices = [member.value for member in check]
        value = value.value if isinstance(value, enum.Enum) else value
        if not isinstance(value, str) or value not in choices:
            raise error(f"{prefix}{name} must be one of {', '.join(choices)}, not {value!r}")
        return value
    if check == "email":
        if not isinstance(value, str) or not re.match(_EMAIL_ADDRESS, value.strip()):
            raise error(f"{prefix}{name} must be an email address")
        return value.strip()
    assert isinstance(check, type)
    if isinstance(value, bool) is not (check is bool) or not isinstance(value, check):
        raise error(f"{prefix}{name} must be {check.__name__}, not {type(value).__name__}")
    return value


#: How a field of a request is checked and sent: a JSON type (``str``, ``int``,
#: ``bool``, ``list``, ``dict``: the value must be one), an enum (a member or
#: one of its values; the value is sent), or one of the words of
#: :data:`_CHECKS`, or a function ``(name, value, error) -> sent value``.
_FieldCheck = type | str | type[enum.Enum] | Callable[[str, Any, type["ArgumentError"]], Any]
#: A field declaration: its check (Postmark's key is the name in CamelCase),
#: or ``(Postmark's key, check)``; the key ``"*"`` merges the fields of the
#: mapping the check returns.
_FieldSpec = _FieldCheck | tuple[str, _FieldCheck]


def _field_specs(
    specs: Mapping[str, _FieldSpec] | None,
) -> dict[str, tuple[str, _FieldCheck]] | None:
    """Declarations as ``{name: (Postmark's key, check)}``."""
    if specs is None:
        return None
    return {
        name: spec if isinstance(spec, tuple) else (_camel_key(name), spec)
        for name, spec in specs.items()
    }


def _fields(
    specs: Mapping[str, tuple[str, _FieldCheck]],
    arguments: Mapping[str, Any],
    error: type[ArgumentError],
) -> dict[str, Any]:
    """The declared fields of ``arguments`` under Postmark's keys, each checked."""
    fields = {}
    for name, (key, check) in specs.items():
        value = arguments.get(name)
        if value is not None or check in _REQUIRED_CHECKS:
            checked = _checked(name, value, check, error)
            if isinstance(checked, str) and _has_surrogate(checked):
                raise error(f"{name} holds a lone surrogate, which is not text")
            if key == "*":  # the check gives several fields (metadata filters)
                fields.update(checked)
            else:
                fields[key] = checked
    return fields


def _checked(name: str, value: Any, check: _FieldCheck, error: type[ArgumentError]) -> Any:
    """``value`` as it is sent, after ``check``; a bad one raises ``error``."""
    if isinstance(check, str) and check in _CHECKS:
        return _CHECKS[check](name, value, error)
    if callable(check) and not isinstance(check, type):
        return check(name, value, error)
    return _check_value(name, value, check, error=error)


def _text_check(name: str, value: Any, error: type[ArgumentError]) -> Any:
    _check_text(name, value, error)
    return value


def _required_text(name: str, value: Any, error: type[ArgumentError]) -> Any:
    if not isinstance(value, str) or not value.strip() or _HEADER_UNSAFE.search(value):
        raise error(f"{name} must be a non-empty string, not {value!r}")
    return value


def _date_check(text: bool) -> Callable[[str, Any, type[ArgumentError]], Any]:
    def check(name: str, value: Any, error: type[ArgumentError]) -> Any:
        _check_dates(value, None, text=text, error=error, names=(name, ""))
        return value

    return check


#: The named checks (the page and date pairs are checked together as well).
_CHECKS: dict[str, Callable[[str, Any, type[ArgumentError]], Any]] = {
    "text": _text_check,  # one line: no CR, LF or NUL
    "required": _required_text,  # the same, not empty
    "id": lambda name, value, error: _check_id(name, value, error),
    "page": lambda name, value, error: value,  # count and offset: see _check_page
    "date": _date_check(text=True),  # a date, a datetime or Postmark's ISO text
    "datetime": _date_check(text=False),  # a date or a datetime
    "email": lambda name, value, error: _check_value(name, value, "email", error=error),
    "json": lambda name, value, error: value,  # anything JSON can encode, sent as is
    "required_email": lambda name, value, error: _check_value(  # an address, not empty
        name, _required_text(name, value, error), "email", error=error
    ),
}
#: The named checks that refuse ``None``: the field is required.
_REQUIRED_CHECKS = frozenset({"required", "id", "required_email"})
#: ``count`` and ``offset`` as most listings name them in the query (the
#: templates API spells them ``Count`` and ``Offset``).
_PAGE_QUERY: dict[str, _FieldSpec] = {"count": ("count", "page"), "offset": ("offset", "page")}


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

    @property
    def secure(self) -> bool:
        """Always true unless set otherwise, which calls refuse (pystmark 0.5 attribute)."""
        return self.options.get("secure", True) is not False

    @secure.setter
    def secure(self, value: bool) -> None:
        self.options["secure"] = value

    def _call(
        self,
        endpoint: Endpoint[Any],
        options: Mapping[str, Any],
        *,
        path_args: Sequence[str | int] = (),
        params: Mapping[str, Any] | None = None,
        body: bytes | None = None,
    ) -> tuple[requests.Response, Any]:
        """Request ``endpoint`` with an encoded ``body``; return the response and its JSON."""
        _check_options(options)
        settings = _Settings(self.options, options)
        headers = settings.headers(endpoint.token)
        url = endpoint.url(settings.base_url, path_args)
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

    def _request(self, endpoint: Endpoint[AnswerT], arguments: Mapping[str, Any]) -> AnswerT:
        """Call ``endpoint`` with a method's ``locals()``; every argument checked first.

        ``arguments`` holds the method's parameters by name, its
        :class:`Options` as ``options``; the endpoint's declaration says which
        fill the path, the query and the body.
        """
        options = arguments["options"]
        _check_options(options)
        path_args, query, body = endpoint.request(arguments)
        try:  # nested values ("json" fields) are checked by encoding them
            encoded = None if body is None else _encode_json(body)
        except (TypeError, ValueError) as failure:  # (UnicodeEncodeError is a ValueError)
            reason = getattr(failure, "reason", failure)
            raise endpoint.error(f"the arguments cannot be sent as JSON: {reason}") from None
        reply = self._call(endpoint, options, path_args=path_args, params=query, body=encoded)
        return endpoint.answer(*reply)

    def _iter_listing(
        self,
        endpoint: Endpoint[Any],
        arguments: Mapping[str, Any],
        make_page: Callable[[list[Any]], Iterable[Any]] | None = None,
    ) -> Iterator[Any]:
        """Every item of ``endpoint``'s listing, a page at a time (see :meth:`_request`).

        Checks the arguments and ``max_results`` when called, not at the first
        ``next()``. Each raw item becomes the record the endpoint declares, or
        ``make_page`` turns a page's list of raw items into what is yielded.
        """
        options = arguments["options"]
        _check_options(options)
        _check_max_results(arguments.get("max_results"), endpoint.error)
        path_args, query, _ = endpoint.request(arguments)
        assert endpoint.items is not None and endpoint.query is not None
        items_key, record = endpoint.items
        timestamp_key, id_key, to_date_param = endpoint.narrow or (None, None, "")

        def fetch(page: dict[str, Any]) -> Any:
            return self._call(endpoint, options, path_args=path_args, params=page)[1]

        return _iter_paged(
            fetch,
            items_key,
            record,
            query or {},
            max_results=arguments.get("max_results"),
            count_key=endpoint.query["count"][0],
            offset_key=endpoint.query["offset"][0],
            timestamp_key=timestamp_key,
            id_key=id_key,
            to_date_param=endpoint.query[to_date_param][0] if to_date_param else "todate",
            make_page=make_page,
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


def _merging_with(default: Message | None) -> Callable[[MessageLike | None], Message]:
    """A function making a message and merging ``default`` under it."""
    if default is not None:
        return lambda message: Message._coerce(message).merged_with(default)
    return Message._coerce  # no default: nothing to merge, no copy


class _MessageSender(Interface):
    """An interface with a default message merged into every message it sends."""

    #: A default message for every instance of a subclass.
    message: MessageLike | None = None
    endpoint: ClassVar[Endpoint[Any]]
    #: True: messages must use a template; False: they must not.
    template: ClassVar[bool] = False

    def __init__(self, message: MessageLike | None = None, **options: Unpack[Options]) -> None:
        super().__init__(**options)
        default = type(self).message if message is None else message
        #: The default message (a copy), merged under each message sent.
        self.message = Message._coerce(default).merged_with(Message())

    def _defaults(self) -> Message | None:
        """The default message as it is now, or ``None`` when it sets no field."""
        default = cast(Message, self.message)
        for value in _MESSAGE_VALUES(default):
            if value not in _UNSET_VALUES:
                return default
        return None

    def _prepare(self, message: MessageLike | None) -> Message:
        return _merging_with(self._defaults())(message)

    def _checker(self) -> Callable[[Sequence[MessageLike | None]], list[dict[str, Any] | bytes]]:
        """A function checking messages, defaults merged in, before any I/O.

        For each message it returns the message's request bytes, or for a
        message that :func:`_plain_payloads` finds certainly valid (no
        defaults to merge) and small its JSON object, which is encoded when
        its request is made (a batch's by one call) and certainly fits. The
        messages are first checked together (field by field), then, unless
        all are plain, one by one. Everything else, including every invalid
        message, goes through :class:`Message`, so errors come from one place,
        for the first invalid message.
        """
        default, template = self._defaults(), self.template
        prepare, no_defaults = _merging_with(default), default is None

        def check_one(message: MessageLike | None) -> dict[str, Any] | bytes:
            plain = _plain_payload(message, template) if no_defaults else None
            if plain is not None:
                payload, bound = plain
                if bound <= _PLAIN_SIZE_CAP:
                    return payload  # encoded with its request (see BatchSender.send)
                body = _encode_plain(payload)
                if len(body) <= MAX_MESSAGE_BYTES:
                    return body
            return prepare(message)._encode(template=template)

        def check(messages: Sequence[MessageLike | None]) -> list[dict[str, Any] | bytes]:
            if no_defaults and len(messages) > 1:
                plain = _plain_payloads(messages, template)
                if plain is not None and plain[1] <= _PLAIN_SIZE_CAP:
                    return cast("list[dict[str, Any] | bytes]", plain[0])
            return list(map(check_one, messages))

        return check


class Sender(_MessageSender):
    """Sends one message at a time (``POST /email``).

    ``Sender(message=defaults, **options)``: the default message's fields fill
    in what each sent message leaves out. Subclasses may set ``message`` as a
    class attribute instead.
    """

    endpoint: ClassVar[Endpoint[Any]] = Endpoint("POST", "/email", send=True)

    def send(self, message: MessageLike | None = None, **options: Unpack[Options]) -> SendResponse:
        """Validate, merge with the defaults and send one message."""
        (checked,) = self._checker()((message,))
        body = checked if isinstance(checked, bytes) else _encode_plain(checked)
        http_response, data = self._call(self.endpoint, options, body=body)
        if not isinstance(data, dict):
            raise _send_unexpected(http_response, "a send answer must be a JSON object")
        return SendResponse(http_response, data)


class TemplateSender(Sender):
    """Sends one message built from a server template (``POST /email/withTemplate``)."""

    endpoint: ClassVar[Endpoint[Any]] = Endpoint("POST", "/email/withTemplate", send=True)
    template = True


class BatchSender(_MessageSender):
    """Sends many messages (``POST /email/batch``), 500 per request.

    Longer lists (or over 50 MB) are split into several requests; the results
    come back as one list in input order. ``max_workers`` (opt-in) sends up to
    that many requests at once, each message still exactly once.
    """

    endpoint: ClassVar[Endpoint[Any]] = Endpoint("POST", "/email/batch", send=True)
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
        check = self._checker()  # once per batch, not once per message
        # Every message is checked before the first request, a request's
        # worth at a time; each request's body is encoded when it is sent
        # (see _Chunk).
        checked: list[dict[str, Any] | bytes] = []
        if isinstance(messages, list | tuple):
            for start in range(0, len(messages), MAX_BATCH_MESSAGES):
                checked += check(messages[start : start + MAX_BATCH_MESSAGES])
        else:
            # Messages made while this runs (a generator) may reuse one dict:
            # keep each as it was given.
            for message in messages or ():
                (item,) = check((message,))
                checked.append(item if isinstance(item, bytes) else dict(item))
        chunks = list(_chunks(checked, self._opening, self._closing))
        if not chunks:
            raise MessageError("messages", "No messages to send")
        total = chunks[-1].start + chunks[-1].count if chunks else 0
        if workers > 1 and len(chunks) > 1:
            return self._send_concurrently(chunks, total, workers, options)
        responses: list[Response] = []
        results: list[SendResult] = []
        for chunk in chunks:
            try:
                response, chunk_results = self._send_chunk(chunk, options)
            except PystmarkError as error:
                if not results:
                    raise
                unknown = isinstance(error, SendOutcomeUnknownError)
                start = chunk.start
                raise BatchSendError(
                    f"messages {start} to {total - 1} were not sent "
                    f"({'outcome unknown' if unknown else 'request refused'}): {error}",
                    results=results,
                    unsent=range(start + chunk.count if unknown else start, total),
                ) from error
            responses.append(response)
            results.extend(chunk_results)
        return BatchSendResponse(responses, results)

    def _send_chunk(
        self, chunk: _Chunk, options: Mapping[str, Any]
    ) -> tuple[Response, list[SendResult]]:
        http_response, data = self._call(self.endpoint, options, body=chunk.body)
        if not isinstance(data, list) or len(data) != chunk.count:
            raise _send_unexpected(http_response, "a batch answer must list every message")
        try:
            results = SendResult._of_batch(data, chunk.start)
            if _error_code_types(data) != {int}:
                for result in results:
                    result.ok  # noqa: B018 - read now: an unreadable ErrorCode is an unusable answer
        except DataError:
            raise _send_unexpected(
                http_response, "a batch answer's items are not Postmark's results"
            ) from None
        return Response(http_response, data), results

    def _send_concurrently(
        self,
        chunks: list[_Chunk],
        total: int,
        workers: int,
        options: Mapping[str, Any],
    ) -> BatchSendResponse:
        from concurrent.futures import ThreadPoolExecutor

        stop = threading.Event()

        def task(chunk: _Chunk) -> tuple[Response, list[SendResult]] | None:
            if stop.is_set():
                return None  # never started: reported as unsent
            try:
                return self._send_chunk(chunk, options)
            except BaseException:
                stop.set()
                raise

        with ThreadPoolExecutor(min(workers, len(chunks))) as pool:
            futures = [pool.submit(task, chunk) for chunk in chunks]
        responses: list[Response] = []
        results: list[SendResult] = []
        unsent: list[int] = []
        errors: list[tuple[int, PystmarkError]] = []
        for chunk, future in zip(chunks, futures, strict=True):
            error = future.exception()
            if error is not None and not isinstance(error, PystmarkError):
                raise error
            outcome = None if error is not None else future.result()
            if error is not None:
                errors.append((chunk.start, error))
                if not isinstance(error, SendOutcomeUnknownError):
                    unsent.extend(chunk.positions)
            elif outcome is None:
                unsent.extend(chunk.positions)
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

    endpoint: ClassVar[Endpoint[Any]] = Endpoint("POST", "/email/batchWithTemplates", send=True)
    template = True
    _opening, _closing = b'{"Messages":[', b"]}"


def _error_code_types(answers: list[Any]) -> set[type]:
    """The types of every answer's ErrorCode (``{int}`` in a usable batch answer)."""
    try:
        return set(map(type, map(_GET_ERROR_CODE, answers)))
    except (AttributeError, TypeError):  # an answer that is not an object
        return set()


_GET_ERROR_CODE = operator.methodcaller("get", "ErrorCode")


def _send_unexpected(http_response: requests.Response, problem: str) -> PystmarkError:
    return _SendUnexpectedResponseError(
        problem, status_code=http_response.status_code, response=http_response
    )


class _Chunk:
    """One request of a batch: checked messages from position ``start``.

    ``plain``: every item is a plain payload (see :meth:`_MessageSender._checker`).
    """

    __slots__ = ("closing", "items", "opening", "plain", "start")

    def __init__(
        self,
        start: int,
        items: list[dict[str, Any] | bytes],
        opening: bytes,
        closing: bytes,
        plain: bool,
    ) -> None:
        self.start, self.items, self.opening, self.closing = start, items, opening, closing
        self.plain = plain

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def positions(self) -> range:
        return range(self.start, self.start + len(self.items))

    @property
    def body(self) -> bytes:
        """The request body, made now: only the requests in flight hold theirs."""
        if self.plain and self.opening == b"[":
            return _encode_plain_list(cast("list[dict[str, str]]", self.items))  # all at once
        pieces = [item if isinstance(item, bytes) else _encode_plain(item) for item in self.items]
        return self.opening + b",".join(pieces) + self.closing


def _chunks(
    items: list[dict[str, Any] | bytes], opening: bytes, closing: bytes
) -> Iterator[_Chunk]:
    """Group checked messages into requests of at most 500 messages and 50 MB.

    Up to 500 at a time; a plain payload counts as :data:`_PLAIN_SIZE_CAP`,
    the most it can take. Only when that estimate is over the limit are the
    payloads encoded and measured, so a request is split exactly where its
    body reaches the limit.
    """
    overhead = len(opening) + len(closing)
    start = 0
    while start < len(items):
        window = items[start : start + MAX_BATCH_MESSAGES]
        plain, size = 0, overhead + len(window) - 1
        for item in window:
            if isinstance(item, bytes):
                size += len(item)
            else:
                plain += 1
        if size + plain * _PLAIN_SIZE_CAP > MAX_BATCH_BYTES:
            window = [item if isinstance(item, bytes) else _encode_plain(item) for item in window]
            size, count = overhead - 1, 0
            for body in window:
                size += len(body) + 1
                if count and size > MAX_BATCH_BYTES:
                    break
                count += 1
            window, plain = window[:count], 0
        yield _Chunk(start, window, opening, closing, plain=plain == len(window))
        start += len(window)


#: Fields a bulk recipient may set; the rest of the message is shared.
_BULK_RECIPIENT_FIELDS = ("to", "cc", "bcc", "template_model", "metadata", "headers")


class BulkSender(_MessageSender):
    """Sends one message to many recipients (``POST /email/bulk``).

    The message's content is given once; each recipient has its own To, Cc,
    Bcc, ``template_model`` (filling ``{{variables}}``), metadata and headers.
    Postmark enables the Bulk API per account (otherwise ErrorCode 14).
    """

    endpoint: ClassVar[Endpoint[Any]] = Endpoint("POST", "/email/bulk", send=True)
    status_endpoint: Endpoint[BulkStatusResponse] = Endpoint(
        "GET", "/email/bulk/{bulk_id}", answer=BulkStatusResponse
    )

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
        if isinstance(recipients, str | Mapping | Message):
            raise MessageError("recipients", "give a list of recipients, not a single one")
        entries = [_bulk_recipient(item) for item in recipients]
        if not entries:
            raise MessageError("recipients", "a bulk send needs at least one recipient")
        if not self.template and (content.template_id is not None or content.template_alias):
            raise MessageError("template_id", "a template is sent with send_bulk_with_template")
        content.validate(template=self.template, require_recipient=False)

        def build(attachment_content: Callable[[Attachment], Any]) -> dict[str, Any]:
            return {**content._payload(attachment_content), "Messages": entries}

        body = _encode_with_attachments(build, content.attachments)
        if len(body) > MAX_BATCH_BYTES:
            raise MessageError("message", f"a bulk request over {MAX_BATCH_BYTES // _MIB} MB")
        return BulkSendResponse(*self._call(self.endpoint, options, body=body))

    def get_status(self, bulk_id: str, **options: Unpack[Options]) -> BulkStatusResponse:
        """The progress of a bulk send (``GET /email/bulk/{id}``)."""
        return self._request(self.status_endpoint, locals())


class BulkTemplateSender(BulkSender):
    """Sends a stored template to many recipients (``POST /email/bulk``).

    The message names the template (``template_id`` or ``template_alias``)
    instead of a subject and bodies; each recipient's ``template_model`` fills
    it in (over the message's own ``template_model``, when it has one).
    """

    template = True


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


#: The pystmark 0.5 name of the base of its GET classes: every class is an :class:`Interface`.
GetInterface = Interface

InterfaceT = TypeVar("InterfaceT", bound=Interface)
_DEFAULTS: dict[type[Interface], Interface] = {}


def _default(cls: type[InterfaceT]) -> InterfaceT:
    """The shared, settings-free instance of ``cls`` behind the simple API."""
    instance = _DEFAULTS.get(cls)
    if instance is None:
        instance = _DEFAULTS[cls] = cls()
    return cast(InterfaceT, instance)


P = ParamSpec("P")
R = TypeVar("R")


def _simple(
    cls: type[InterfaceT], method: Callable[Concatenate[InterfaceT, P], R]
) -> Callable[[Callable[[], None]], Callable[P, R]]:
    """Make the decorated ``def`` a simple function: ``method`` on ``_default(cls)``.

    The ``def`` gives only the name and the docstring; the result takes the
    method's parameters (less ``self``) and returns what it returns, for type
    checkers and IDEs (through ``P`` and ``R``, in this source and in the
    wheel's stub alike) and for ``inspect.signature``, Sphinx and ``help()``.
    The method is looked up by name on the shared instance at each call, so
    patching it on the class patches the function.
    """
    attribute = method.__name__
    annotations = dict(method.__annotations__)  # (a copy in C: 81 of these run on import)
    annotations.pop("self", None)

    def simple(stub: Callable[[], None]) -> Callable[P, R]:
        def function(*args: P.args, **kwargs: P.kwargs) -> R:
            bound: Callable[P, R] = getattr(_default(cls), attribute)
            return bound(*args, **kwargs)

        function.__name__ = stub.__name__
        function.__qualname__ = stub.__qualname__
        function.__module__ = stub.__module__
        function.__doc__ = stub.__doc__
        function.__annotations__ = annotations
        # inspect.signature() follows __wrapped__ and leaves out the bound
        # first parameter: the method's signature less ``self``, worked out
        # only when asked (importing inspect here would slow the import).
        # Bound to the class, it is for introspection, not for calling.
        function.__dict__["__wrapped__"] = MethodType(method, cls)
        return function

    return simple


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


def send_bulk_with_template(
    message: MessageLike, recipients: Iterable[str | MessageLike], **options: Unpack[Options]
) -> BulkSendResponse:
    """Send a stored template to many recipients; see :class:`BulkTemplateSender`."""
    return _default(BulkTemplateSender).send(message, recipients, **options)


@_simple(BulkSender, BulkSender.get_status)
def get_bulk_status() -> None:
    """The progress of a bulk send (``GET /email/bulk/{id}``)."""


def close() -> None:
    """Close the connections pooled by the simple API and every instance."""
    _POOL.close()


# ---- Bounces ---------------------------------------------------------------


class BounceType(str, enum.Enum):
    """Postmark's bounce types (developer.postmarkapp.com/developer-bounces.html).

    Filters take a member or its string; bounces whose type the library does
    not know keep it as a plain string. ``code`` is Postmark's ``TypeCode``.
    """

    HARD_BOUNCE = "HardBounce"
    TRANSIENT = "Transient"
    UNSUBSCRIBE = "Unsubscribe"
    SUBSCRIBE = "Subscribe"
    AUTO_RESPONDER = "AutoResponder"
    ADDRESS_CHANGE = "AddressChange"
    DNS_ERROR = "DnsError"
    SPAM_NOTIFICATION = "SpamNotification"
    OPEN_RELAY_TEST = "OpenRelayTest"
    UNKNOWN = "Unknown"
    SOFT_BOUNCE = "SoftBounce"
    VIRUS_NOTIFICATION = "VirusNotification"
    CHALLENGE_VERIFICATION = "ChallengeVerification"
    BAD_EMAIL_ADDRESS = "BadEmailAddress"
    SPAM_COMPLAINT = "SpamComplaint"
    MANUALLY_DEACTIVATED = "ManuallyDeactivated"
    UNCONFIRMED = "Unconfirmed"
    BLOCKED = "Blocked"
    SMTP_API_ERROR = "SMTPApiError"
    INBOUND_ERROR = "InboundError"
    DMARC_POLICY = "DMARCPolicy"
    #: Listed in Postmark's Swagger description.
    TEMPLATE_RENDERING_FAILED = "TemplateRenderingFailed"
    #: Seen in suppressions (ManualSuppression).
    MANUAL_SUPPRESSION = "ManualSuppression"

    def __str__(self) -> str:
        return str(self.value)

    @property
    def code(self) -> int | None:
        """Postmark's numeric ``TypeCode``, where documented."""
        return _BOUNCE_TYPE_CODES.get(self.value)


# fmt: off
_BOUNCE_TYPE_CODES: dict[str, int] = {
    "HardBounce": 1, "Transient": 2, "Unsubscribe": 16, "Subscribe": 32,
    "AutoResponder": 64, "AddressChange": 128, "DnsError": 256, "SpamNotification": 512,
    "OpenRelayTest": 1024, "Unknown": 2048, "SoftBounce": 4096, "VirusNotification": 8192,
    "ChallengeVerification": 16384, "BadEmailAddress": 100000, "SpamComplaint": 100001,
    "ManuallyDeactivated": 100002, "Unconfirmed": 100003, "Blocked": 100006,
    "SMTPApiError": 100007, "InboundError": 100008, "DMARCPolicy": 100009,
}
# fmt: on
# (A member is a str, its value: lower() reads no ``.value`` property.)
_BOUNCE_TYPES_FOLDED = {member.lower(): member for member in BounceType}
#: pystmark 0.5's table of bounce type -> ``TypeCode`` (see :class:`BounceType`).
bounce_types: dict[str, int] = dict(_BOUNCE_TYPE_CODES)


def _as_bounce_type(value: Any) -> BounceType | str:
    """A known type as a :class:`BounceType`; an unknown one as its string."""
    text = _as_str(value)
    try:
        return BounceType(text)
    except ValueError:
        return text


def _as_id(value: Any) -> int:
    """A numeric id, written by Postmark as a number (or, in Swagger, a string)."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return _as_int(value)


_UNCHANGED[_as_id] = int


def _bounce_type_param(name: str, value: Any, error: type[ArgumentError]) -> str:
    """A bounce type filter as Postmark spells it (a check of :data:`_BOUNCE_FILTERS`)."""
    if isinstance(value, BounceType):
        return value.value
    if not isinstance(value, str) or not value.strip() or _HEADER_UNSAFE.search(value):
        raise error(f"{name} must be a BounceType or its name, not {value!r}")
    known = _BOUNCE_TYPES_FOLDED.get(value.lower())
    # A type Postmark adds later than this library is passed through unchanged:
    # BounceType documents the known values, it never rejects others.
    return value if known is None else known.value


def _bounce_id(value: int | str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BounceError(f"a bounce id must be an integer, not {type(value).__name__}")
    if isinstance(value, str):
        if not value.isascii() or not value.isdigit():
            raise BounceError(f"a bounce id must be an integer, not {value!r}")
        value = int(value)
    if value <= 0:
        raise BounceError(f"a bounce id must be positive, not {value}")
    return value


class Bounce(Record):
    """One bounce (or spam complaint) as Postmark records it.

    ``dump()`` and ``activate()`` use the settings the bounce was read with,
    unless given others.
    """

    __slots__ = ("_getter", "_options")

    id: _Field[int] = _field("ID", _as_id)
    #: A :class:`BounceType` (or the server's string for a type not known here).
    type: _Field[BounceType | str] = _field("Type", _as_bounce_type)
    type_code: _Field[int] = _field("TypeCode", _as_int)
    #: The type's readable name (``"Hard bounce"``).
    name: _Field[str] = _field("Name", _as_str)
    record_type: _Field[str] = _field("RecordType", _as_str)
    message_id: _Field[str] = _field("MessageID", _as_str)
    server_id: _Field[int] = _field("ServerID", _as_int)
    message_stream: _Field[str] = _field("MessageStream", _as_str)
    description: _Field[str] = _field("Description", _as_str)
    details: _Field[str] = _field("Details", _as_str)
    #: The recipient that bounced (pystmark 0.5's name; see :attr:`recipient`).
    email: _Field[str] = _field("Email", _as_str)
    from_address: _Field[str] = _field("From", _as_str)
    bounced_at: _Field[datetime | None] = _field("BouncedAt", parse_datetime)
    dump_available: _Field[bool] = _field("DumpAvailable", _as_bool)
    inactive: _Field[bool] = _field("Inactive", _as_bool)
    can_activate: _Field[bool] = _field("CanActivate", _as_bool)
    subject: _Field[str] = _field("Subject", _as_str)
    tag: _Field[str | None] = _field("Tag", _as_optional_str)
    #: The bounce message's content, when Postmark includes it.
    content: _Field[str | None] = _field("Content", _as_optional_str)
    metadata: _Field[dict[str, Any]] = _field("Metadata", _as_dict)

    def __init__(
        self,
        raw: Mapping[str, Any],
        getter: BounceGetter | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(raw)
        self._getter = getter
        # Read only, so the bounces of one listing share one (copied) mapping.
        self._options: Mapping[str, Any] = {} if options is None else options

    @classmethod
    def _page_maker(
        cls, getter: BounceGetter, options: Mapping[str, Any]
    ) -> Callable[[list[Any]], Iterator[Bounce]]:
        """Make the bounces of one listing's pages: ``cls(raw, getter, options)`` for each.

        Calling a class runs its ``__init__`` through the interpreter's
        general call path; a listing makes thousands of bounces, so this sets
        the same attributes (after the same check) on bare instances.
        """
        new = object.__new__

        def make_page(items: list[Any]) -> Iterator[Bounce]:
            for raw in items:
                if type(raw) is not dict and not isinstance(raw, Mapping):
                    kind = type(raw).__name__
                    raise DataError(f"{cls.__name__}: expected an object, not {kind}")
                bounce = new(cls)
                bounce.raw = raw
                bounce._getter = getter
                bounce._options = options
                yield bounce

        return make_page

    @property
    def recipient(self) -> str:
        """The recipient that bounced, by the name every other record uses (:attr:`email`)."""
        return self.email

    def _bound(self, options: Mapping[str, Any]) -> tuple[BounceGetter, dict[str, Any]]:
        getter = self._getter or _default(BounceGetter)
        return getter, {**self._options, **options}

    def dump(self, **options: Unpack[Options]) -> BounceDumpResponse:
        """The raw source of the bounce (``GET /bounces/{id}/dump``)."""
        getter, merged = self._bound(options)
        return getter.get_dump(self.id, **merged)

    def activate(self, **options: Unpack[Options]) -> BounceActivateResponse:
        """Reactivate the recipient (``PUT /bounces/{id}/activate``)."""
        getter, merged = self._bound(options)
        return getter.activate(self.id, **merged)


#: The pystmark 0.5 name of :class:`Bounce`.
BouncedMessage = Bounce


class BounceTypeCount(Record):
    """How many bounces of one type a server has (from delivery stats)."""

    #: A :class:`BounceType` (``""`` on the "All" total, which may also carry one).
    type: _Field[BounceType | str] = _field("Type", _as_bounce_type)
    name: _Field[str] = _field("Name", _as_str)
    count: _Field[int] = _field("Count", _as_int)

    @property
    def is_total(self) -> bool:
        """True for the total of every type: the entry named "All", whatever its type."""
        return self.name == "All"


#: The pystmark 0.5 name of :class:`BounceTypeCount`.
BounceTypeData = BounceTypeCount


class DeliveryStatsResponse(Response):
    """Inactive addresses and bounce counts per type (``GET /deliverystats``)."""

    @property
    def inactive(self) -> int:
        """How many addresses are inactive (``InactiveMails``)."""
        return _as_int(_as_dict(self.data).get("InactiveMails"))

    counts: _Answer[list[BounceTypeCount]] = _Answer(
        BounceTypeCount,
        "Bounces",
        doc='Every entry, the "All" total included, as Postmark lists them.',
    )

    @property
    def bounces(self) -> dict[str, BounceTypeCount]:
        """Counts keyed by type (``"HardBounce"``), and the total under ``"All"`` (as in 0.5)."""
        found: dict[str, BounceTypeCount] = {}
        for entry in self.counts:
            if entry.is_total:
                found["All"] = entry
            elif entry.type:
                found[str(entry.type)] = entry
        return found

    @property
    def total(self) -> int:
        """All bounces: the entry named "All", or else the sum of the types."""
        for entry in self.counts:
            if entry.is_total:
                return entry.count
        return sum(entry.count for entry in self.counts if entry.type)


class _BounceListing(Response):
    """An answer holding bounces, which act with the getter and settings that read them."""

    _getter: BounceGetter | None = None
    _options: Mapping[str, Any] | None = None

    def _bind(self, getter: BounceGetter, options: Mapping[str, Any]) -> None:
        self._getter, self._options = getter, dict(options)

    def _bounce(self, raw: Any) -> Bounce:
        return Bounce(raw, self._getter, self._options)


class BouncesResponse(_BounceListing, PageResponse):
    """One page of bounces (``GET /bounces``); iterate it for the bounces."""

    @property
    def bounces(self) -> list[Bounce]:
        """The bounces of this page, newest first."""
        items = _as_dict(self.data).get("Bounces")
        if items is not None and not isinstance(items, list):
            raise DataError("Bounces: expected a list")
        return [self._bounce(raw) for raw in items or ()]

    @property
    def total(self) -> int:
        """The pystmark 0.5 name of :attr:`total_count`."""
        return self.total_count

    def __iter__(self) -> Iterator[Bounce]:
        return iter(self.bounces)

    def __len__(self) -> int:
        return len(self.bounces)


class BounceResponse(_BounceListing):
    """One bounce (``GET /bounces/{id}``)."""

    @property
    def bounce(self) -> Bounce:
        """The bounce."""
        return self._bounce(self.data)


class BounceActivateResponse(_BounceListing):
    """The answer to an activation (``PUT /bounces/{id}/activate``)."""

    @property
    def message(self) -> str:
        """Postmark's message (``"OK"``)."""
        return _as_str(_as_dict(self.data).get("Message"))

    @property
    def bounce(self) -> Bounce:
        """The bounce, as it is after activation."""
        return self._bounce(_as_dict(self.data).get("Bounce"))


class BounceDumpResponse(Response):
    """The raw source of a bounce (``GET /bounces/{id}/dump``)."""

    @property
    def dump(self) -> str:
        """The source text; ``""`` when Postmark kept none."""
        return _as_str(_as_dict(self.data).get("Body"))

    body = dump


class BounceTagsResponse(Response):
    """The tags of bounced messages (``GET /bounces/tags``); iterable."""

    @property
    def tags(self) -> list[str]:
        """The tags."""
        return _as_str_list(self.data)

    def __iter__(self) -> Iterator[str]:
        return iter(self.tags)

    def __len__(self) -> int:
        return len(self.tags)


#: The query of the bounce listing, in the order it is sent.
_BOUNCE_FILTERS: dict[str, _FieldSpec] = {
    "bounce_type": ("type", _bounce_type_param),
    "inactive": ("inactive", bool),
    "email_filter": ("emailFilter", "text"),
    "tag": ("tag", "text"),
    "message_id": ("messageID", "text"),
    "from_date": ("fromdate", "datetime"),
    "to_date": ("todate", "datetime"),
    "message_stream": ("messagestream", "text"),
}


class BounceGetter(Interface):
    """Reads and activates bounces (the bounce API); the simple functions wrap it.

    Keyword arguments are :class:`Options` (``api_key``, ``timeout``...). A
    bad argument raises :class:`BounceError` (pystmark 0.5's name).
    """

    stats_endpoint: Endpoint[DeliveryStatsResponse] = Endpoint(
        "GET", "/deliverystats", answer=DeliveryStatsResponse, error=BounceError
    )
    list_endpoint: Endpoint[BouncesResponse] = Endpoint(
        "GET",
        "/bounces",
        query=_BOUNCE_FILTERS | _PAGE_QUERY,
        answer=BouncesResponse,
        items=("Bounces", Bounce),
        narrow=("BouncedAt", "ID", "to_date"),
        error=BounceError,
    )
    get_endpoint: Endpoint[BounceResponse] = Endpoint(
        "GET", "/bounces/{bounce_id}", answer=BounceResponse, error=BounceError
    )
    dump_endpoint: Endpoint[BounceDumpResponse] = Endpoint(
        "GET", "/bounces/{bounce_id}/dump", answer=BounceDumpResponse, error=BounceError
    )
    activate_endpoint: Endpoint[BounceActivateResponse] = Endpoint(
        "PUT", "/bounces/{bounce_id}/activate", answer=BounceActivateResponse, error=BounceError
    )
    tags_endpoint: Endpoint[BounceTagsResponse] = Endpoint(
        "GET", "/bounces/tags", answer=BounceTagsResponse, error=BounceError
    )

    def _request(self, endpoint: Endpoint[AnswerT], arguments: Mapping[str, Any]) -> AnswerT:
        """:meth:`Interface._request`; the bounces answered act with this getter and settings."""
        answer = super()._request(endpoint, arguments)
        if isinstance(answer, _BounceListing):
            answer._bind(self, arguments["options"])
        return answer

    def _iter_listing(
        self,
        endpoint: Endpoint[Any],
        arguments: Mapping[str, Any],
        make: Callable[[Any], Any] | None = None,
    ) -> Iterator[Any]:
        """:meth:`Interface._iter_listing`; each bounce acts with this getter and settings."""
        shared = dict(arguments["options"])
        return super()._iter_listing(endpoint, arguments, Bounce._page_maker(self, shared))

    def get_delivery_stats(self, **options: Unpack[Options]) -> DeliveryStatsResponse:
        """Inactive addresses and bounce counts per type (``GET /deliverystats``)."""
        return self._request(self.stats_endpoint, locals())

    def get_page(
        self,
        *,
        count: int | None = None,
        offset: int | None = None,
        bounce_type: BounceType | str | None = None,
        inactive: bool | None = None,
        email_filter: str | None = None,
        tag: str | None = None,
        message_id: str | None = None,
        from_date: date | datetime | None = None,
        to_date: date | datetime | None = None,
        message_stream: str | None = None,
        **options: Unpack[Options],
    ) -> BouncesResponse:
        """One page of bounces, newest first (``GET /bounces``).

        ``count`` (at most 500) defaults to 25 and ``offset`` to 0, except with
        ``message_id``, where Postmark needs neither. Dates are dates or
        datetimes (aware ones are converted to Postmark's US Eastern time).
        """
        if message_id is None:
            count = 25 if count is None else count
            offset = 0 if offset is None else offset
        return self._request(self.list_endpoint, locals())

    #: The earlier name of :meth:`get_page`.
    get_bounces = get_page

    def iter(
        self,
        *,
        bounce_type: BounceType | str | None = None,
        inactive: bool | None = None,
        email_filter: str | None = None,
        tag: str | None = None,
        message_id: str | None = None,
        from_date: date | datetime | None = None,
        to_date: date | datetime | None = None,
        message_stream: str | None = None,
        max_results: int | None = None,
        **options: Unpack[Options],
    ) -> Iterator[Bounce]:
        """Every matching bounce, newest first, past Postmark's 10,000 cap.

        Pages of 500; near the offset cap the date window is narrowed to the
        oldest timestamp seen (see :class:`PagingError`). Stops after
        ``max_results`` bounces. Arguments are checked before the first request.
        """
        return self._iter_listing(self.list_endpoint, locals())

    #: The earlier name of :meth:`iter`.
    iter_bounces = iter

    def get(self, bounce_id: int | str, **options: Unpack[Options]) -> BounceResponse:
        """One bounce by id (``GET /bounces/{id}``)."""
        bounce_id = _bounce_id(bounce_id)
        return self._request(self.get_endpoint, locals())

    def get_dump(self, bounce_id: int | str, **options: Unpack[Options]) -> BounceDumpResponse:
        """The raw source of a bounce (``GET /bounces/{id}/dump``)."""
        bounce_id = _bounce_id(bounce_id)
        return self._request(self.dump_endpoint, locals())

    def activate(self, bounce_id: int | str, **options: Unpack[Options]) -> BounceActivateResponse:
        """Reactivate a bounced recipient (``PUT /bounces/{id}/activate``)."""
        bounce_id = _bounce_id(bounce_id)
        return self._request(self.activate_endpoint, locals())

    def get_tags(self, **options: Unpack[Options]) -> BounceTagsResponse:
        """The tags of bounced messages (``GET /bounces/tags``, a legacy endpoint)."""
        return self._request(self.tags_endpoint, locals())


# pystmark 0.5's bounce classes, kept so that code written for it runs unchanged.
# (0.5's ``Bounce`` getter class is the one name that could not stay: ``Bounce``
# is now the bounce record; use ``BounceGetter().get(bounce_id)``.)


class _BounceGetterShim(Interface):
    def _getter(self) -> BounceGetter:
        return BounceGetter(**cast(Options, self.options))


class Bounces(_BounceGetterShim):
    """pystmark 0.5: ``Bounces(api_key=K).get(bounce_type=...)`` lists bounces."""

    def get(
        self,
        bounce_type: BounceType | str | None = None,
        inactive: bool | None = None,
        email_filter: str | None = None,
        message_id: str | None = None,
        count: int | None = None,
        offset: int | None = None,
        **options: Unpack[Options],
    ) -> BouncesResponse:
        """List bounces; see :meth:`BounceGetter.get_page`."""
        return self._getter().get_page(
            bounce_type=bounce_type,
            inactive=inactive,
            email_filter=email_filter,
            message_id=message_id,
            count=count,
            offset=offset,
            **options,
        )


class BounceDump(_BounceGetterShim):
    """pystmark 0.5: ``BounceDump(api_key=K).get(bounce_id)`` reads a raw bounce."""

    def get(self, bounce_id: int | str, **options: Unpack[Options]) -> BounceDumpResponse:
        """Read a bounce's raw source; see :meth:`BounceGetter.get_dump`."""
        return self._getter().get_dump(bounce_id, **options)


class BounceTags(_BounceGetterShim):
    """pystmark 0.5: ``BounceTags(api_key=K).get()`` lists tags with bounces."""

    def get(self, **options: Unpack[Options]) -> BounceTagsResponse:
        """List tags; see :meth:`BounceGetter.get_tags`."""
        return self._getter().get_tags(**options)


class DeliveryStats(_BounceGetterShim):
    """pystmark 0.5: ``DeliveryStats(api_key=K).get()`` reads delivery stats."""

    def get(self, **options: Unpack[Options]) -> DeliveryStatsResponse:
        """Read delivery stats; see :meth:`BounceGetter.get_delivery_stats`."""
        return self._getter().get_delivery_stats(**options)


class BounceActivate(_BounceGetterShim):
    """pystmark 0.5: ``BounceActivate(api_key=K).activate(bounce_id)``."""

    def activate(self, bounce_id: int | str, **options: Unpack[Options]) -> BounceActivateResponse:
        """Reactivate a bounced address; see :meth:`BounceGetter.activate`."""
        return self._getter().activate(bounce_id, **options)


@_simple(BounceGetter, BounceGetter.get_delivery_stats)
def get_delivery_stats() -> None:
    """Inactive addresses and bounce counts per type (``GET /deliverystats``)."""


@_simple(BounceGetter, BounceGetter.get_page)
def get_bounces() -> None:
    """One page of bounces, newest first; see :meth:`BounceGetter.get_page`."""


@_simple(BounceGetter, BounceGetter.iter)
def iter_bounces() -> None:
    """Every matching bounce, newest first; see :meth:`BounceGetter.iter`."""


@_simple(BounceGetter, BounceGetter.get)
def get_bounce() -> None:
    """One bounce by id (``GET /bounces/{id}``)."""


@_simple(BounceGetter, BounceGetter.get_dump)
def get_bounce_dump() -> None:
    """The raw source of a bounce (``GET /bounces/{id}/dump``)."""


@_simple(BounceGetter, BounceGetter.activate)
def activate_bounce() -> None:
    """Reactivate a bounced recipient (``PUT /bounces/{id}/activate``)."""


@_simple(BounceGetter, BounceGetter.get_tags)
def get_bounce_tags() -> None:
    """The tags of bounced messages (``GET /bounces/tags``)."""


# ---- Webhooks --------------------------------------------------------------

#: The largest webhook body :func:`parse_webhook` accepts by default, in bytes.
MAX_WEBHOOK_BYTES = 10 * _MIB
#: The deepest JSON nesting accepted (Postmark's payloads nest 3 levels).
MAX_WEBHOOK_DEPTH = 32
_MAX_INT_DIGITS = 30


class WebhookEvent(Record):
    """Base of every webhook event: the fields all of Postmark's posts share."""

    __slots__ = ()

    #: Postmark's ``RecordType`` (``"Bounce"``, ``"Open"``...).
    record_type: _Field[str] = _field("RecordType", _as_str)
    message_id: _Field[str] = _field("MessageID", _as_str)
    message_stream: _Field[str] = _field("MessageStream", _as_str)
    tag: _Field[str | None] = _field("Tag", _as_optional_str)
    #: The metadata the message was sent with.
    metadata: _Field[dict[str, Any]] = _field("Metadata", _as_dict)

    @property
    def occurred_at(self) -> datetime | None:
        """When the event happened (None for unknown events)."""
        return None


class BounceEvent(Bounce, WebhookEvent):
    """A bounce post (``RecordType`` Bounce); has every :class:`Bounce` attribute."""

    __slots__ = ()

    @property
    def occurred_at(self) -> datetime | None:
        """When the message bounced."""
        return self.bounced_at


class OpenEvent(MessageOpen, WebhookEvent):
    """An open post (open tracking); has every :class:`MessageOpen` attribute."""

    __slots__ = ()

    @property
    def occurred_at(self) -> datetime | None:
        """When the message was opened."""
        return self.received_at


class ClickEvent(MessageClick, WebhookEvent):
    """A click post (link tracking); has every :class:`MessageClick` attribute."""

    __slots__ = ()

    @property
    def occurred_at(self) -> datetime | None:
        """When the link was clicked."""
        return self.received_at


class SpamComplaintEvent(BounceEvent):
    """A spam complaint post (``RecordType`` SpamComplaint); shaped like a bounce."""

    __slots__ = ()


class DeliveryEvent(WebhookEvent):
    """A delivery post: the receiving server accepted the message."""

    __slots__ = ()

    server_id: _Field[int] = _field("ServerID", _as_int)
    recipient: _Field[str] = _field("Recipient", _as_str)
    delivered_at: _Field[datetime | None] = _field("DeliveredAt", parse_datetime)
    details: _Field[str] = _field("Details", _as_str)

    @property
    def occurred_at(self) -> datetime | None:
        """When the message was delivered."""
        return self.delivered_at


class SubscriptionChangeEvent(WebhookEvent):
    """A subscription change post: a recipient was suppressed or reactivated."""

    __slots__ = ()

    server_id: _Field[int] = _field("ServerID", _as_int)
    recipient: _Field[str] = _field("Recipient", _as_str)
    changed_at: _Field[datetime | None] = _field("ChangedAt", parse_datetime)
    #: ``"Recipient"``, ``"Customer"`` or ``"Admin"``.
    origin: _Field[str] = _field("Origin", _as_str)
    #: True when sending to the recipient is now suppressed.
    suppress_sending: _Field[bool] = _field("SuppressSending", _as_bool)
    #: ``"HardBounce"``, ``"SpamComplaint"``, ``"ManualSuppression"`` or None.
    suppression_reason: _Field[str | None] = _field("SuppressionReason", _as_optional_str)

    @property
    def occurred_at(self) -> datetime | None:
        """When the subscription changed."""
        return self.changed_at


class InboundEvent(WebhookEvent):
    """An inbound email post (Postmark's inbound webhook has no ``RecordType``)."""

    __slots__ = ()

    #: ``"Inbound"``.
    record_type: _Field[str] = _field("RecordType", lambda value: _as_str(value) or "Inbound")

    from_address: _Field[str] = _field("From", _as_str)
    from_name: _Field[str] = _field("FromName", _as_str)
    from_full: _Field[EmailAddress | None] = _field("FromFull", _as_record(EmailAddress))
    to: _Field[str] = _field("To", _as_str)
    to_full: _Field[list[EmailAddress]] = _field("ToFull", _as_records(EmailAddress))
    cc: _Field[str] = _field("Cc", _as_str)
    cc_full: _Field[list[EmailAddress]] = _field("CcFull", _as_records(EmailAddress))
    bcc: _Field[str] = _field("Bcc", _as_str)
    bcc_full: _Field[list[EmailAddress]] = _field("BccFull", _as_records(EmailAddress))
    original_recipient: _Field[str] = _field("OriginalRecipient", _as_str)
    reply_to: _Field[str] = _field("ReplyTo", _as_str)
    subject: _Field[str] = _field("Subject", _as_str)
    mailbox_hash: _Field[str] = _field("MailboxHash", _as_str)
    #: The message's ``Date`` header as an aware datetime (None if it is not a date).
    date: _Field[datetime | None] = _field("Date", _as_mail_date)
    #: The ``Date`` header as the sender wrote it.
    date_header: _Field[str] = _field("Date", _as_str)
    text_body: _Field[str] = _field("TextBody", _as_str)
    html_body: _Field[str] = _field("HtmlBody", _as_str)
    stripped_text_reply: _Field[str] = _field("StrippedTextReply", _as_str)
    headers: _Field[list[MessageHeader]] = _field("Headers", _as_records(MessageHeader))
    attachments: _Field[list[MessageAttachment]] = _field(
        "Attachments", _as_records(MessageAttachment)
    )

    @property
    def sender(self) -> str:
        """The From header's text: an alias of :attr:`from_address`."""
        return self.from_address

    def to_email_message(self) -> EmailMessage:
        """The post as a standard :class:`email.message.EmailMessage`."""
        return InboundMessage(self.raw).to_email_message()

    @property
    def occurred_at(self) -> datetime | None:
        """The message's ``Date``."""
        return self.date


class UnknownEvent(WebhookEvent):
    """A post of a ``RecordType`` pystmark does not know; ``raw`` keeps it all."""

    __slots__ = ()


for _bounce_event in (BounceEvent, SpamComplaintEvent):
    # Multiple inheritance: list the fields of both bases (for to_dict/validate).
    _bounce_event._fields = tuple(dict.fromkeys((*Bounce._fields, *WebhookEvent._fields)))

#: ``RecordType`` -> event class.
WEBHOOK_EVENT_TYPES: dict[str, type[WebhookEvent]] = {
    "Bounce": BounceEvent,
    "SpamComplaint": SpamComplaintEvent,
    "Delivery": DeliveryEvent,
    "Open": OpenEvent,
    "Click": ClickEvent,
    "SubscriptionChange": SubscriptionChangeEvent,
    "Inbound": InboundEvent,
}
_INBOUND_KEYS = ("FromFull", "ToFull", "OriginalRecipient", "StrippedTextReply", "MailboxHash")


def _reject_constant(name: str) -> Any:
    raise WebhookError(f"invalid JSON: {name} is not allowed")


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        raise WebhookError(f"invalid JSON: an integer of {len(text)} digits")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise WebhookError("invalid JSON: a number out of range")
    return value


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise WebhookError("invalid JSON: an object repeats a key")
    return result


def _walk_json(data: Any, max_depth: int, *, strings: bool) -> None:
    """Refuse nesting deeper than ``max_depth``, without recursion.

    With ``strings``, strings holding lone surrogates are refused too. Memory
    grows with the depth only.
    """
    if strings and isinstance(data, str) and _has_surrogate(data):
        raise WebhookError("a string is not valid Unicode (a lone surrogate)")
    if not isinstance(data, dict | list):
        return
    stack: list[Iterator[Any]] = [iter(_json_children(data))]
    while stack:
        for value in stack[-1]:
            if strings and isinstance(value, str) and _has_surrogate(value):
                raise WebhookError("a string is not valid Unicode (a lone surrogate)")
            if isinstance(value, dict | list):
                if len(stack) >= max_depth:
                    raise WebhookError(f"JSON nested deeper than {max_depth} levels")
                stack.append(iter(_json_children(value)))
                break
        else:
            stack.pop()


def _json_children(value: dict[str, Any] | list[Any]) -> Iterable[Any]:
    if isinstance(value, list):
        return value
    return (item for pair in value.items() for item in pair)


def _has_surrogate(text: str) -> bool:
    return not text.isascii() and re.search("[\ud800-\udfff]", text) is not None


# The tokens of a JSON text that shape what it decodes into: a string (to
# its closing quote, or to the end of an unterminated one: every match
# succeeds, so scanning stays linear), an opening or closing bracket, and a
# separator (each starts another value).
_JSON_TOKENS = r'(")[^"\\]*(?:\\.[^"\\]*)*\\?(?:"|\Z)|([\[{])|([\]}])|[,:]'
#: Estimated bytes of Python objects a decoded JSON value costs, besides its
#: text: a container (an object of a few keys), a string, any other value.
_CONTAINER_COST = 200
_STRING_COST = 56
_VALUE_COST = 40
#: Decoded objects may take this much memory beyond three times the body's size.
_DECODE_ALLOWANCE = 8 * _MIB


def _scan_webhook(text: bytes | str, max_depth: int) -> bool:
    """Check a JSON text's shape before decoding it, in time ~ its size.

    Raises :class:`WebhookError` for nesting deeper than ``max_depth`` and
    for a text that would decode into objects taking more than three times
    its size (plus an allowance): countless tiny values, which no post of
    Postmark's holds. Stops as soon as either is certain.

    Returns False without scanning when counting characters shows the cost
    is within bounds whatever the nesting (the caller checks that after
    decoding).
    """
    budget = 3 * len(text) + _DECODE_ALLOWANCE
    count: Callable[[str], int] = (
        text.count if isinstance(text, str) else lambda char: text.count(char.encode())
    )
    most = (
        _STRING_COST * count('"') // 2
        + _CONTAINER_COST * (count("[") + count("{"))
        + _VALUE_COST * (count(",") + count(":"))
    )
    if most <= budget:
        return False
    pattern: Any = _JSON_TOKENS if isinstance(text, str) else _JSON_TOKENS.encode()
    cost = depth = 0
    for match in re.finditer(pattern, cast(Any, text), re.DOTALL):
        kind = match.lastindex
        if kind == 1:
            cost += _STRING_COST
        elif kind == 2:
            depth += 1
            if depth > max_depth:
                raise WebhookError(f"JSON nested deeper than {max_depth} levels")
            cost += _CONTAINER_COST
        elif kind == 3:
            depth -= 1
        else:
            cost += _VALUE_COST
        if cost > budget:
            raise WebhookError("the JSON holds too many values for its size")
    return True


#: UTF-8 lead bytes of the characters outside the Basic Multilingual Plane.
_ASTRAL_LEADS = tuple(bytes([lead]) for lead in range(0xF0, 0xF5))
#: Finds every lead byte with one search (for positions only).
_ASTRAL_LEADS_AS_F0 = bytes.maketrans(b"\xf1\xf2\xf3\xf4", b"\xf0\xf0\xf0\xf0")
#: Astral characters are escaped while at most one byte in this many starts
#: one: denser, their escapes (12 characters each) would outweigh a wide text.
_ASTRAL_SPARSENESS = 64
#: An escaped UTF-16 surrogate (a pair's half, or a lone one).
_ESCAPED_SURROGATE = r"\\u[dD][89a-fA-F]"


def _astral_replacements(raw: bytes) -> Iterator[tuple[int, bytes]]:
    r"""Where ``raw`` holds a character outside the BMP, and what replaces it.

    Each becomes the JSON escape of its surrogate pair (``\ud83d\ude00``):
    the same character inside a JSON string, invalid JSON outside one, as
    the character itself is. After an odd run of backslashes (an invalid
    escape either way) it becomes ``?``, which keeps the error and its
    place. Nothing is replaced if a 4-byte sequence is malformed: the
    decoder refuses the body.
    """
    other_leads = any(lead in raw for lead in _ASTRAL_LEADS[1:])
    haystack = raw.translate(_ASTRAL_LEADS_AS_F0) if other_leads else raw
    positions = []
    position = haystack.find(b"\xf0")
    while position >= 0:
        positions.append(position)
        position = haystack.find(b"\xf0", position + 4)
    try:
        characters = b"".join([raw[at : at + 4] for at in positions]).decode()
    except UnicodeDecodeError:
        return
    escapes = json.dumps(characters).encode()  # '"' and 12 bytes a character
    done = 0
    for index, position in enumerate(positions):
        before = raw[done:position] if raw[position - 1 : position] == b"\\" else b""
        if (len(before) - len(before.rstrip(b"\\"))) % 2:
            yield position, b"?"
        else:
            yield position, escapes[1 + 12 * index : 13 + 12 * index]
        done = position + 4


def _escape_astral(raw: bytes) -> bytes | bytearray:
    """``raw`` with its sparse characters outside the BMP escaped.

    One such character makes Python store a whole str at four bytes a
    character: escaped, it leaves the decoded JSON text narrow, and only
    the strings that hold one are wide (see :func:`_astral_replacements`).
    Text without any costs one quick scan; dense astral text is kept.
    """
    if raw.isascii():
        return raw
    count = sum(raw.count(lead) for lead in _ASTRAL_LEADS if lead in raw)
    if not count or count * _ASTRAL_SPARSENESS > len(raw):
        return raw
    escaped = bytearray()
    view = memoryview(raw)
    done = 0
    for position, replacement in _astral_replacements(raw):
        escaped += view[done:position]
        escaped += replacement
        done = position + 4
    if not done:
        return raw  # malformed: left for the decoder to refuse
    escaped += view[done:]
    return escaped


def _json_error(error: ValueError, raw: bytes | None) -> str:
    """``error``'s message, its place counted in ``raw`` as sent if that was escaped."""
    if raw is None or not isinstance(error, json.JSONDecodeError):
        return str(error)
    line_start = error.doc.rfind("\n", 0, error.pos) + 1
    # Where the line and the error start in the escaped bytes (after a BOM).
    line_at = len(error.doc[:line_start].encode()) + (3 if raw.startswith(b"\xef\xbb\xbf") else 0)
    error_at = line_at + len(error.doc[line_start : error.pos].encode())
    added_before_line = added = grown = 0  # characters the escapes added; bytes
    for start, replacement in _astral_replacements(raw):
        if start + grown >= error_at:
            break
        added += len(replacement) - 1  # one character became len(replacement)
        if start + grown < line_at:
            added_before_line = added
        grown += len(replacement) - 4
    position = error.pos - added
    column = position - (line_start - added_before_line) + 1
    return f"{error.msg}: line {error.lineno} column {column} (char {position})"


def _decode_webhook(body: bytes | str, max_bytes: int, max_depth: int = MAX_WEBHOOK_DEPTH) -> Any:
    escaped_from = None  # the body as sent, if its astral characters were escaped
    if isinstance(body, bytes | bytearray | memoryview):
        raw = bytes(body)
        if len(raw) > max_bytes:
            raise WebhookError(f"the body is larger than {max_bytes} bytes")
        scanned = _scan_webhook(raw, max_depth)
        # Looked for as sent: the escapes _escape_astral writes are whole pairs.
        surrogates = re.search(_ESCAPED_SURROGATE.encode(), raw) is not None
        escaped = _escape_astral(raw)
        try:
            text = escaped.decode("utf-8-sig")  # strict: encoded surrogates are refused
        except UnicodeDecodeError:
            raise WebhookError("the body is not UTF-8") from None
        escaped_from = raw if escaped is not raw else None
        del escaped, raw  # the decoded text and its strings take the memory from here
    elif isinstance(body, str):
        if len(body) > max_bytes or (
            len(body) * 4 > max_bytes and len(body.encode("utf-8", "surrogatepass")) > max_bytes
        ):
            raise WebhookError(f"the body is larger than {max_bytes} bytes")
        if _has_surrogate(body):
            raise WebhookError("the body is not valid Unicode (a lone surrogate)")
        scanned = _scan_webhook(body, max_depth)
        surrogates = re.search(_ESCAPED_SURROGATE, body) is not None
        text = body
    else:
        raise WebhookError(f"expected bytes, str or dict, not {type(body).__name__}")
    try:
        data = json.loads(
            text,
            parse_constant=_reject_constant,
            parse_int=_parse_int,
            parse_float=_parse_float,
            object_pairs_hook=_unique_object,
        )
    except RecursionError:
        raise WebhookError("JSON nested too deeply") from None
    except WebhookError:
        raise
    except ValueError as error:  # json.JSONDecodeError
        raise WebhookError(f"invalid JSON: {_json_error(error, escaped_from)}") from None
    if surrogates or not scanned:
        _walk_json(data, max_depth, strings=surrogates)
    return data


def parse_webhook(
    body: bytes | str | Mapping[str, Any],
    *,
    max_bytes: int = MAX_WEBHOOK_BYTES,
    max_depth: int = MAX_WEBHOOK_DEPTH,
) -> WebhookEvent:
    """Parse one of Postmark's webhook posts into a typed event.

    ``body`` is the request body (bytes or str) or an already decoded dict.
    The event class follows ``RecordType`` (:data:`WEBHOOK_EVENT_TYPES`); an
    inbound email (no ``RecordType``) gives :class:`InboundEvent`, an unknown
    ``RecordType`` an :class:`UnknownEvent`. Every field is checked at once:
    anything malformed, too large or too deep raises :class:`WebhookError`.
    """
    if isinstance(body, Mapping):
        data: Any = body
        _walk_json(dict(body), max_depth, strings=True)
    else:
        data = _decode_webhook(body, max_bytes, max_depth)
    if not isinstance(data, Mapping):
        raise WebhookError(f"the body must be a JSON object, not {type(data).__name__}")
    record_type = data.get("RecordType")
    if record_type is not None and not isinstance(record_type, str):
        raise WebhookError("RecordType must be a string")
    if record_type:
        event_class = WEBHOOK_EVENT_TYPES.get(record_type, UnknownEvent)
    elif any(key in data for key in _INBOUND_KEYS):
        event_class = InboundEvent
    elif "BouncedAt" in data:  # older bounce posts had no RecordType
        event_class = SpamComplaintEvent if data.get("Type") == "SpamComplaint" else BounceEvent
    elif "DeliveredAt" in data:
        event_class = DeliveryEvent
    else:
        event_class = UnknownEvent
    event = event_class(data)
    try:
        return event.validate()
    except DataError as error:
        raise WebhookError(f"{event_class.__name__}: {error}") from None


def check_basic_auth(
    authorization_header: str | bytes | None,
    credentials: Iterable[tuple[str, str]] | tuple[str, str],
) -> bool:
    """True if an ``Authorization`` header carries one of the (user, password) pairs.

    Give several pairs to rotate credentials. Each pair is compared in constant
    time (:func:`hmac.compare_digest`), all of them every time. A missing or
    malformed header gives False, never an exception.
    """
    try:
        pairs = [
            (user.encode("utf-8"), password.encode("utf-8"))
            for user, password in _pairs(credentials)
        ]
    except UnicodeEncodeError:
        raise ConfigurationError("credentials must be valid Unicode text") from None
    given = _basic_credentials(authorization_header)
    valid = given is not None
    user_given, password_given = given or (b"", b"")
    matched = False
    for user, password in pairs:
        # Compare every pair in full, so timing says nothing about which failed.
        user_ok = hmac.compare_digest(user_given, user)
        password_ok = hmac.compare_digest(password_given, password)
        matched |= user_ok & password_ok
    return valid and matched


def _pairs(credentials: Iterable[tuple[str, str]] | tuple[str, str]) -> list[tuple[str, str]]:
    """A single (user, password) pair or several, as a list of pairs."""
    if (
        isinstance(credentials, tuple)
        and len(credentials) == 2
        and all(isinstance(item, str) for item in credentials)
    ):
        return [cast("tuple[str, str]", credentials)]
    pairs = list(cast("Iterable[tuple[str, str]]", credentials))
    for pair in pairs:
        if not (
            isinstance(pair, tuple | list)
            and len(pair) == 2
            and all(isinstance(item, str) for item in pair)
        ):
            raise ConfigurationError("credentials are (user, password) pairs of strings")
    return pairs


def _basic_credentials(header: str | bytes | None) -> tuple[bytes, bytes] | None:
    """The (user, password) bytes of a Basic ``Authorization`` header, or None."""
    if not isinstance(header, str | bytes):
        return None
    try:
        text = header.decode("latin-1") if isinstance(header, bytes) else header
        scheme, _, token = text.strip().partition(" ")
        if scheme.lower() != "basic" or not token.strip():
            return None
        decoded = base64.b64decode(token.strip().encode("ascii"), validate=True)
    except (UnicodeError, ValueError):
        return None
    user, colon, password = decoded.partition(b":")
    if not colon:
        return None
    return user, password


class WebhookReply(tuple[int, str, list[tuple[str, str]]]):
    """What to answer Postmark: ``(status, text, headers)``."""

    __slots__ = ()

    def __new__(cls, status: int, text: str, headers: list[tuple[str, str]]) -> WebhookReply:
        """Make a reply."""
        return super().__new__(cls, (status, text, headers))

    @property
    def status(self) -> int:
        """The HTTP status: 200, 400, 401 or 405."""
        return self[0]

    @property
    def text(self) -> str:
        """A short plain-text body."""
        return self[1]

    @property
    def headers(self) -> list[tuple[str, str]]:
        """Headers to add (``WWW-Authenticate`` on a 401)."""
        return self[2]


EventHandler = Callable[[Any], object]
_STATUS_TEXT = {
    200: "200 OK",
    400: "400 Bad Request",
    401: "401 Unauthorized",
    405: "405 Method Not Allowed",
}


class WebhookApp:
    """A WSGI application that receives Postmark's webhook posts.

    It checks HTTP basic auth against ``credentials`` (one or more (user,
    password) pairs; ``None`` turns the check off, for use behind other
    authentication), parses the post with :func:`parse_webhook` and calls the
    handler registered for the event's class (or the one for
    :class:`WebhookEvent`, as a catch-all). It answers 401 for bad
    credentials, 405 for anything but POST, 400 for a malformed post and 200
    otherwise, handled or not. A handler's exception propagates (a 500, so
    Postmark retries). Mount it in any WSGI server or framework, or call
    :meth:`handle` from a view.

    :type credentials: list of (str, str), one (str, str), or None
    :type handlers: dict mapping an event class or a RecordType to a callable
    """

    def __init__(
        self,
        credentials: Iterable[tuple[str, str]] | tuple[str, str] | None,
        handlers: Mapping[type[WebhookEvent] | str, EventHandler] | None = None,
        *,
        max_bytes: int = MAX_WEBHOOK_BYTES,
        realm: str = "postmark",
    ) -> None:
        self.credentials: list[tuple[str, str]] | None = (
            None if credentials is None else _pairs(credentials)
        )
        if self.credentials is not None and not self.credentials:
            raise ConfigurationError("give at least one (user, password) pair, or None")
        _check_line("realm", realm)
        self.max_bytes = max_bytes
        self.realm = realm
        self.handlers: dict[type[WebhookEvent], EventHandler] = {}
        for event_type, handler in (handlers or {}).items():
            self.handlers[_event_class(event_type)] = handler

    def on(self, event_type: type[WebhookEvent] | str) -> Callable[[EventHandler], EventHandler]:
        """Decorator: register a handler for an event class or ``RecordType``.

        :type event_type: a :class:`WebhookEvent` subclass or str
        """
        event_class = _event_class(event_type)

        def register(handler: EventHandler) -> EventHandler:
            self.handlers[event_class] = handler
            return handler

        return register

    def handle(
        self,
        authorization: str | bytes | None,
        body: bytes | str,
        method: str = "POST",
    ) -> WebhookReply:
        """Check, parse and dispatch one request; return what to answer."""
        if self.credentials is not None and not check_basic_auth(authorization, self.credentials):
            return self._unauthorized()
        if not isinstance(method, str) or method.upper() != "POST":
            return WebhookReply(405, "Method Not Allowed", [("Allow", "POST")])
        try:
            event = parse_webhook(body, max_bytes=self.max_bytes)
        except WebhookError as error:
            return WebhookReply(400, f"Bad Request: {error}"[:200], [])
        except Exception as error:  # pragma: no cover - parse_webhook raises WebhookError
            # A malformed post is Postmark's (or an attacker's) fault: never a 500.
            logger.debug("a webhook post could not be parsed", exc_info=error)
            return WebhookReply(400, "Bad Request: the post could not be parsed", [])
        handler = self.handlers.get(type(event)) or self.handlers.get(WebhookEvent)
        if handler is not None:
            handler(event)
        return WebhookReply(200, "OK", [])

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """The WSGI entry point."""
        method = environ.get("REQUEST_METHOD", "GET")
        method = method.upper() if isinstance(method, str) else "GET"
        authorization = environ.get("HTTP_AUTHORIZATION")
        if self.credentials is not None and not check_basic_auth(authorization, self.credentials):
            reply = self._unauthorized()
        elif method != "POST":
            reply = self.handle(authorization, b"", method)
        else:
            body = _read_wsgi_body(environ, self.max_bytes)
            if body is None:
                reply = WebhookReply(400, "Bad Request: invalid or too large body", [])
            else:
                reply = self.handle(authorization, body, method)
        payload = reply.text.encode("utf-8")
        headers = [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(payload))),
            *reply.headers,
        ]
        start_response(_STATUS_TEXT[reply.status], headers)
        return [payload]

    def _unauthorized(self) -> WebhookReply:
        challenge = f'Basic realm="{self.realm}", charset="UTF-8"'
        return WebhookReply(401, "Unauthorized", [("WWW-Authenticate", challenge)])


def _read_wsgi_body(environ: Mapping[str, Any], max_bytes: int) -> bytes | None:
    """The request body, or None if it is malformed, cut short or over ``max_bytes``."""
    stream = environ.get("wsgi.input")
    length_value = environ.get("CONTENT_LENGTH")
    length_text = length_value.strip() if isinstance(length_value, str) else ""
    if length_value is not None and not isinstance(length_value, str):
        return None
    if length_text and not (length_text.isascii() and length_text.isdigit()):
        return None
    length = int(length_text) if length_text else None
    if length is not None and length > max_bytes:
        return None
    if length == 0 or (length is None and not environ.get("wsgi.input_terminated")):
        return b""
    if stream is None or not callable(getattr(stream, "read", None)):
        return None
    wanted = max_bytes + 1 if length is None else length
    out = io.BytesIO()
    try:
        while out.tell() < wanted:
            chunk = stream.read(min(wanted - out.tell(), 1024 * 1024))
            if not chunk:
                break
            if not isinstance(chunk, bytes | bytearray):
                return None
            out.write(chunk)
    except (OSError, ValueError):  # the client went away mid-body
        return None
    size = out.tell()
    if size > max_bytes or (length is not None and size < length):
        return None  # over the limit, or shorter than announced
    return out.getvalue()


def _event_class(event_type: type[WebhookEvent] | str) -> type[WebhookEvent]:
    if isinstance(event_type, str):
        if event_type not in WEBHOOK_EVENT_TYPES:
            choices = ", ".join(WEBHOOK_EVENT_TYPES)
            raise ConfigurationError(f"unknown event type {event_type!r}; one of {choices}")
        return WEBHOOK_EVENT_TYPES[event_type]
    if isinstance(event_type, type) and issubclass(event_type, WebhookEvent):
        return event_type
    raise ConfigurationError(f"not an event type: {event_type!r}")


# ---- Messages: outbound, inbound, opens and clicks -------------------------

DateFilter = date | datetime | str
"""A ``fromdate``/``todate`` filter: a date, a datetime, or Postmark's own text form.

Postmark reads these filters in US Eastern time ("Our API uses Eastern Time
Zone", postmarkapp.com/developer/api/messages-api): a naive datetime is sent
as written, so give it in Eastern time; an aware one is converted by the
shared query conversion (``_query_value``).
"""


def _metadata_filters(name: str, metadata: Any, error: type[ArgumentError]) -> dict[str, Any]:
    """``{"color": "blue"}`` -> ``{"metadata_color": "blue"}`` (Postmark's filter form)."""
    if not isinstance(metadata, Mapping):
        raise error(f"{name} must be a mapping of key to value")
    params: dict[str, Any] = {}
    for key, value in metadata.items():
        if not isinstance(key, str) or not key.strip() or _has_surrogate(key):
            raise error(f"a {name} key must be a non-empty string, not {key!r}")
        if value is None or isinstance(value, Mapping | list | tuple | set):
            raise error(f"{name} value for {key!r} must be a single value")
        if isinstance(value, str) and _has_surrogate(value):
            raise error(f"{name} value for {key!r} holds a lone surrogate, which is not text")
        params[f"metadata_{key}"] = value
    return params


def _as_attachments(value: Any) -> list[MessageAttachment]:
    # Outbound listings give attachment file names; inbound ones give objects.
    if value is None:
        return []
    if not isinstance(value, list):
        raise DataError(f"expected a list, not {type(value).__name__}")
    return [MessageAttachment({"Name": item} if isinstance(item, str) else item) for item in value]


class MessageEvent(Record):
    """One event in an outbound message's life (delivered, opened, bounced ...)."""

    #: ``"Delivered"``, ``"Opened"``, ``"LinkClicked"``, ``"Bounced"`` ...
    type: _Field[str] = _field("Type", _as_str)
    recipient: _Field[str] = _field("Recipient", _as_str)
    received_at: _Field[datetime | None] = _field("ReceivedAt", parse_datetime)
    #: Event-specific details (``Summary``, ``DeliveryMessage``, ``BounceID`` ...).
    details: _Field[dict[str, Any]] = _field("Details", _as_dict)


class OutboundMessage(Record):
    """A sent message as Postmark's outbound search lists it."""

    message_id: _Field[str] = _field("MessageID", _as_str)
    to: _Field[list[EmailAddress]] = _field("To", _as_records(EmailAddress))
    cc: _Field[list[EmailAddress]] = _field("Cc", _as_records(EmailAddress))
    bcc: _Field[list[EmailAddress]] = _field("Bcc", _as_records(EmailAddress))
    #: Every recipient's address.
    recipients: _Field[list[str]] = _field("Recipients", _as_str_list)
    from_address: _Field[str] = _field("From", _as_str)
    subject: _Field[str] = _field("Subject", _as_str)
    tag: _Field[str] = _field("Tag", _as_str)
    #: ``"Sent"`` or ``"Queued"``.
    status: _Field[str] = _field("Status", _as_str)
    received_at: _Field[datetime | None] = _field("ReceivedAt", parse_datetime)
    metadata: _Field[dict[str, Any]] = _field("Metadata", _as_dict)
    message_stream: _Field[str] = _field("MessageStream", _as_str)
    attachments: _Field[list[MessageAttachment]] = _field("Attachments", _as_attachments)
    track_opens: _Field[bool | None] = _field("TrackOpens", _as_optional_bool)
    track_links: _Field[str | None] = _field("TrackLinks", _as_optional_str)
    sandboxed: _Field[bool | None] = _field("Sandboxed", _as_optional_bool)


class OutboundMessageDetails(OutboundMessage):
    """A sent message with its bodies and events."""

    text_body: _Field[str] = _field("TextBody", _as_str)
    html_body: _Field[str] = _field("HtmlBody", _as_str)
    #: The raw message source as Postmark stored it (may be truncated).
    body: _Field[str] = _field("Body", _as_str)
    message_events: _Field[list[MessageEvent]] = _field("MessageEvents", _as_records(MessageEvent))


class InboundMessage(Record):
    """A message Postmark received: from the inbound API or an inbound webhook."""

    message_id: _Field[str] = _field("MessageID", _as_str)
    from_address: _Field[str] = _field("From", _as_str)
    from_name: _Field[str] = _field("FromName", _as_str)
    from_full: _Field[EmailAddress | None] = _field("FromFull", _as_record(EmailAddress))
    #: The To header's addresses, comma separated.
    to: _Field[str] = _field("To", _as_str)
    to_full: _Field[list[EmailAddress]] = _field("ToFull", _as_records(EmailAddress))
    cc: _Field[str] = _field("Cc", _as_str)
    cc_full: _Field[list[EmailAddress]] = _field("CcFull", _as_records(EmailAddress))
    bcc: _Field[str] = _field("Bcc", _as_str)
    bcc_full: _Field[list[EmailAddress]] = _field("BccFull", _as_records(EmailAddress))
    reply_to: _Field[str] = _field("ReplyTo", _as_str)
    original_recipient: _Field[str] = _field("OriginalRecipient", _as_str)
    subject: _Field[str] = _field("Subject", _as_str)
    #: The message's ``Date`` header as an aware datetime (None if it is not a date).
    date: _Field[datetime | None] = _field("Date", _as_mail_date)
    #: The ``Date`` header as the sender wrote it (RFC 5322 text).
    date_header: _Field[str] = _field("Date", _as_str)
    mailbox_hash: _Field[str] = _field("MailboxHash", _as_str)
    tag: _Field[str] = _field("Tag", _as_str)
    #: ``"Processed"``, ``"Blocked"``, ``"Failed"``, ``"Queued"`` or ``"Scheduled"``.
    status: _Field[str] = _field("Status", _as_str)
    blocked_reason: _Field[str] = _field("BlockedReason", _as_str)
    message_stream: _Field[str] = _field("MessageStream", _as_str)
    text_body: _Field[str] = _field("TextBody", _as_str)
    html_body: _Field[str] = _field("HtmlBody", _as_str)
    stripped_text_reply: _Field[str] = _field("StrippedTextReply", _as_str)
    headers: _Field[list[MessageHeader]] = _field("Headers", _as_records(MessageHeader))
    attachments: _Field[list[MessageAttachment]] = _field("Attachments", _as_attachments)

    @property
    def sent_at(self) -> datetime | None:
        """The Date header as an aware datetime: an alias of :attr:`date`."""
        return self.date

    @classmethod
    def from_webhook(cls, payload: Mapping[str, Any] | str | bytes) -> InboundMessage:
        """The message of an inbound webhook's JSON body (text, bytes or decoded)."""
        if isinstance(payload, str | bytes):
            # Checked as parse_webhook checks a post: size, shape, Unicode.
            payload = _decode_webhook(payload, MAX_WEBHOOK_BYTES)
        return cls(cast("Mapping[str, Any]", payload))

    def to_email_message(self) -> EmailMessage:
        """The message as a standard-library :class:`email.message.EmailMessage`.

        Headers, the text and HTML parts (as alternatives) and the decoded
        attachments (inline ones keep their Content-ID). The sender controls
        all of it: header values are unfolded and stripped of control
        characters (no header can be injected), headers the email package
        cannot parse are left out, and a malformed content type or Content-ID
        of an attachment is replaced or dropped. Raises :class:`DataError`
        for a message that cannot be rebuilt (an attachment that is not
        base64, text that is not valid Unicode).
        """
        try:
            return self._email_message()
        except DataError:
            raise
        except (ValueError, TypeError, LookupError, AttributeError, RecursionError) as error:
            raise DataError(f"the message cannot be rebuilt ({type(error).__name__})") from error

    def _email_message(self) -> EmailMessage:
        import email.policy
        from email.message import EmailMessage

        message = EmailMessage(policy=email.policy.default)
        sender = self.from_full
        _set_header(message, "From", str(sender) if sender and sender.email else self.from_address)
        for name, full, plain in (
            ("To", self.to_full, self.to),
            ("Cc", self.cc_full, self.cc),
            ("Bcc", self.bcc_full, self.bcc),
        ):
            _set_header(message, name, ", ".join(map(str, full)) if full else plain)
        _set_header(message, "Reply-To", self.reply_to)
        _set_header(message, "Subject", self.subject)
        _set_header(message, "Date", self.date_header)
        for header in self.headers:
            if header.name.lower() not in _EMAIL_OWN_HEADERS:
                _set_header(message, header.name, header.value)
        if self.html_body and self.text_body:
            message.set_content(self.text_body)
            message.add_alternative(self.html_body, subtype="html")
        elif self.html_body:
            message.set_content(self.html_body, subtype="html")
        else:
            message.set_content(self.text_body)
        for attachment in self.attachments:
            content_type = (attachment.content_type or "").split(";")[0].strip().lower()
            maintype, _, subtype = content_type.partition("/")
            if (
                not re.fullmatch(_MIME_TYPE, content_type)
                or maintype in ("multipart", "message")  # would need parts, not bytes
            ):
                maintype, subtype = "application", "octet-stream"
            content_id = (attachment.content_id or "").strip().strip("<>")
            message.add_attachment(
                attachment.data,
                maintype=maintype,
                subtype=subtype,
                filename=_one_line(attachment.name) or None,
                cid=f"<{content_id}>" if re.fullmatch(_CONTENT_ID, content_id) else None,
            )
        return message


# Set from the record's own fields (or by set_content), never copied from Headers.
_EMAIL_OWN_HEADERS = frozenset(
    {"from", "to", "cc", "bcc", "reply-to", "subject", "date", "mime-version"}
    | {"content-type", "content-transfer-encoding", "content-disposition"}
)


_MIME_TYPE = r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+"
_CONTENT_ID = r"[^\s<>()\\\x00-\x1f\x7f]+"


def _one_line(value: str | None) -> str:
    """``value`` on one line: unfolded, without control characters or lone surrogates."""
    text = " ".join((value or "").split())  # unfold: no CR/LF reaches a header
    return re.sub("[\x00-\x1f\x7f\ud800-\udfff]", "", text)


def _set_header(message: EmailMessage, name: str, value: str) -> None:
    value = _one_line(value)
    if not value or not _HEADER_NAME.fullmatch(name):
        return
    try:
        message[name] = value
    except (ValueError, IndexError, TypeError, AttributeError):  # a header the parser cannot take
        logger.debug("skipped an unparsable %s header", name)


class OutboundMessagesResponse(PageResponse):
    """A page of sent messages, newest first."""

    messages: _Answer[list[OutboundMessage]] = _Answer(
        OutboundMessage, "Messages", doc="This page's messages."
    )


class OutboundMessageDetailsResponse(Response):
    """One sent message with its bodies and events."""

    message: _Answer[OutboundMessageDetails] = _Answer(
        OutboundMessageDetails, doc="The parsed message."
    )


class OutboundMessageDumpResponse(Response):
    """The raw source of a sent message."""

    @property
    def body(self) -> str:
        """The RFC 822 source (``""`` when Postmark has none)."""
        return _as_str(_as_dict(self.data).get("Body"))

    def to_email_message(self) -> EmailMessage:
        """The source parsed into a standard-library :class:`email.message.EmailMessage`."""
        import email.policy

        try:
            return email.message_from_string(self.body, policy=email.policy.default)
        except (ValueError, TypeError, LookupError, AttributeError, RecursionError) as error:
            raise DataError(f"the source cannot be parsed ({type(error).__name__})") from error


class OpensResponse(PageResponse):
    """A page of opens."""

    opens: _Answer[list[MessageOpen]] = _Answer(MessageOpen, "Opens", doc="This page's opens.")


class ClicksResponse(PageResponse):
    """A page of clicks."""

    clicks: _Answer[list[MessageClick]] = _Answer(MessageClick, "Clicks", doc="This page's clicks.")


class InboundMessagesResponse(PageResponse):
    """A page of received messages, newest first."""

    messages: _Answer[list[InboundMessage]] = _Answer(
        InboundMessage, "InboundMessages", doc="This page's messages."
    )


class InboundMessageDetailsResponse(Response):
    """One received message in full."""

    message: _Answer[InboundMessage] = _Answer(InboundMessage, doc="The parsed message.")

    def to_email_message(self) -> EmailMessage:
        """The message as a standard-library :class:`email.message.EmailMessage`."""
        return self.message.to_email_message()


class InboundActionResponse(Response):
    """Postmark's answer to a retry or bypass of an inbound message."""

    @property
    def error_code(self) -> int:
        """0 on success."""
        return _as_int(_as_dict(self.data).get("ErrorCode"))

    @property
    def message(self) -> str:
        """Postmark's description of what was done."""
        return _as_str(_as_dict(self.data).get("Message"))


#: The filters of the outbound message search, in the order they are sent.
_OUTBOUND_FILTERS: dict[str, _FieldSpec] = {
    "recipient": ("recipient", "text"),
    "from_email": ("fromemail", "text"),
    "tag": ("tag", "text"),
    "status": ("status", "text"),
    "subject": ("subject", "text"),
    "message_stream": ("messagestream", "text"),
    "from_date": ("fromdate", "date"),
    "to_date": ("todate", "date"),
    "metadata": ("*", _metadata_filters),
}


class OutboundMessageGetter(Interface):
    """Searches sent messages and reads their details and raw source."""

    search_endpoint: Endpoint[OutboundMessagesResponse] = Endpoint(
        "GET",
        "/messages/outbound",
        query=_OUTBOUND_FILTERS | _PAGE_QUERY,
        answer=OutboundMessagesResponse,
        items=("Messages", OutboundMessage),
        narrow=("ReceivedAt", "MessageID", "to_date"),
    )
    details_endpoint: Endpoint[OutboundMessageDetailsResponse] = Endpoint(
        "GET", "/messages/outbound/{message_id}/details", answer=OutboundMessageDetailsResponse
    )
    dump_endpoint: Endpoint[OutboundMessageDumpResponse] = Endpoint(
        "GET", "/messages/outbound/{message_id}/dump", answer=OutboundMessageDumpResponse
    )

    def get_page(
        self,
        *,
        count: int = 25,
        offset: int = 0,
        recipient: str | None = None,
        from_email: str | None = None,
        tag: str | None = None,
        status: str | None = None,
        subject: str | None = None,
        message_stream: str | None = None,
        from_date: DateFilter | None = None,
        to_date: DateFilter | None = None,
        metadata: Mapping[str, Any] | None = None,
        **options: Unpack[Options],
    ) -> OutboundMessagesResponse:
        """One page of sent messages, newest first (``GET /messages/outbound``).

        ``status`` is ``"queued"`` or ``"sent"``; ``metadata={"key": "value"}``
        matches messages sent with that metadata.
        """
        return self._request(self.search_endpoint, locals())

    #: The earlier name of :meth:`get_page`.
    search = get_page

    def iter(
        self,
        *,
        recipient: str | None = None,
        from_email: str | None = None,
        tag: str | None = None,
        status: str | None = None,
        subject: str | None = None,
        message_stream: str | None = None,
        from_date: DateFilter | None = None,
        to_date: DateFilter | None = None,
        metadata: Mapping[str, Any] | None = None,
        max_results: int | None = None,
        **options: Unpack[Options],
    ) -> Iterator[OutboundMessage]:
        """Every matching sent message, newest first, past Postmark's 10,000 cap.

        Pages of 500; near the cap the date window is narrowed by ``todate``.
        Stops after ``max_results`` messages. Arguments are checked at once.
        """
        return self._iter_listing(self.search_endpoint, locals())

    def get(self, message_id: str, **options: Unpack[Options]) -> OutboundMessageDetailsResponse:
        """A sent message's bodies and events (``GET /messages/outbound/{id}/details``)."""
        return self._request(self.details_endpoint, locals())

    #: The earlier name of :meth:`get`.
    get_details = get

    def get_dump(self, message_id: str, **options: Unpack[Options]) -> OutboundMessageDumpResponse:
        """A sent message's raw source (``GET /messages/outbound/{id}/dump``)."""
        return self._request(self.dump_endpoint, locals())


# The spelling of these query names (client_name, os_family ...) follows
# Postmark's API reference: the Messages API page
# (postmarkapp.com/developer/api/messages-api, "Opens for all messages" and
# "Clicks for all messages") and Postmark's own Swagger file
# (postmarkapp.com/swagger/server.yml, which tests/contract.py checks requests
# against) both write them in snake_case. The official postmark.js client sends
# camelCase (clientName); pystmark follows the reference, not that client.
# messagestream, fromdate and todate are missing from the Swagger file; they
# follow the reference page and the official postmark-python client.
_TRACKING_FILTERS: dict[str, _FieldSpec] = {
    "recipient": ("recipient", "text"),
    "tag": ("tag", "text"),
    "client_name": ("client_name", "text"),
    "client_company": ("client_company", "text"),
    "client_family": ("client_family", "text"),
    "os_name": ("os_name", "text"),
    "os_family": ("os_family", "text"),
    "os_company": ("os_company", "text"),
    "platform": ("platform", "text"),
    "country": ("country", "text"),
    "region": ("region", "text"),
    "city": ("city", "text"),
    "message_stream": ("messagestream", "text"),
    "from_date": ("fromdate", "date"),
    "to_date": ("todate", "date"),
}
# Opens and clicks have no unique id to resume by, so their listings declare
# no ``narrow``: past 10,000 matches the pager raises PagingError (narrow the
# search with from_date/to_date).


class OpensGetter(Interface):
    """Reads the opens of tracked messages (``/messages/outbound/opens``)."""

    search_endpoint: Endpoint[OpensResponse] = Endpoint(
        "GET",
        "/messages/outbound/opens",
        query=_TRACKING_FILTERS | _PAGE_QUERY,
        answer=OpensResponse,
        items=("Opens", MessageOpen),
    )
    message_endpoint: Endpoint[OpensResponse] = Endpoint(
        "GET",
        "/messages/outbound/opens/{message_id}",
        query=_PAGE_QUERY,
        answer=OpensResponse,
        items=("Opens", MessageOpen),
    )

    def get_page(
        self,
        *,
        count: int = 25,
        offset: int = 0,
        recipient: str | None = None,
        tag: str | None = None,
        client_name: str | None = None,
        client_company: str | None = None,
        client_family: str | None = None,
        os_name: str | None = None,
        os_family: str | None = None,
        os_company: str | None = None,
        platform: str | None = None,
        country: str | None = None,
        region: str | None = None,
        city: str | None = None,
        message_stream: str | None = None,
        from_date: DateFilter | None = None,
        to_date: DateFilter | None = None,
        **options: Unpack[Options],
    ) -> OpensResponse:
        """One page of opens of all messages, newest first."""
        return self._request(self.search_endpoint, locals())

    #: The earlier name of :meth:`get_page`.
    search = get_page

    def iter(
        self,
        *,
        recipient: str | None = None,
        tag: str | None = None,
        client_name: str | None = None,
        client_company: str | None = None,
        client_family: str | None = None,
        os_name: str | None = None,
        os_family: str | None = None,
        os_company: str | None = None,
        platform: str | None = None,
        country: str | None = None,
        region: str | None = None,
        city: str | None = None,
        message_stream: str | None = None,
        from_date: DateFilter | None = None,
        to_date: DateFilter | None = None,
        max_results: int | None = None,
        **options: Unpack[Options],
    ) -> Iterator[MessageOpen]:
        """Every matching open (up to Postmark's 10,000 cap; see :func:`iter_opens`)."""
        return self._iter_listing(self.search_endpoint, locals())

    def get_for_message(
        self, message_id: str, *, count: int = 25, offset: int = 0, **options: Unpack[Options]
    ) -> OpensResponse:
        """One page of one message's opens (``GET /messages/outbound/opens/{id}``)."""
        return self._request(self.message_endpoint, locals())

    def iter_for_message(
        self, message_id: str, *, max_results: int | None = None, **options: Unpack[Options]
    ) -> Iterator[MessageOpen]:
        """Every open of one message."""
        return self._iter_listing(self.message_endpoint, locals())


class ClicksGetter(Interface):
    """Reads the link clicks of tracked messages (``/messages/outbound/clicks``)."""

    search_endpoint: Endpoint[ClicksResponse] = Endpoint(
        "GET",
        "/messages/outbound/clicks",
        query=_TRACKING_FILTERS | _PAGE_QUERY,
        answer=ClicksResponse,
        items=("Clicks", MessageClick),
    )
    message_endpoint: Endpoint[ClicksResponse] = Endpoint(
        "GET",
        "/messages/outbound/clicks/{message_id}",
        query=_PAGE_QUERY,
        answer=ClicksResponse,
        items=("Clicks", MessageClick),
    )

    def get_page(
        self,
        *,
        count: int = 25,
        offset: int = 0,
        recipient: str | None = None,
        tag: str | None = None,
        client_name: str | None = None,
        client_company: str | None = None,
        client_family: str | None = None,
        os_name: str | None = None,
        os_family: str | None = None,
        os_company: str | None = None,
        platform: str | None = None,
        country: str | None = None,
        region: str | None = None,
        city: str | None = None,
        message_stream: str | None = None,
        from_date: DateFilter | None = None,
        to_date: DateFilter | None = None,
        **options: Unpack[Options],
    ) -> ClicksResponse:
        """One page of clicks on all messages' links, newest first."""
        return self._request(self.search_endpoint, locals())

    #: The earlier name of :meth:`get_page`.
    search = get_page

    def iter(
        self,
        *,
        recipient: str | None = None,
        tag: str | None = None,
        client_name: str | None = None,
        client_company: str | None = None,
        client_family: str | None = None,
        os_name: str | None = None,
        os_family: str | None = None,
        os_company: str | None = None,
        platform: str | None = None,
        country: str | None = None,
        region: str | None = None,
        city: str | None = None,
        message_stream: str | None = None,
        from_date: DateFilter | None = None,
        to_date: DateFilter | None = None,
        max_results: int | None = None,
        **options: Unpack[Options],
    ) -> Iterator[MessageClick]:
        """Every matching click (up to Postmark's 10,000 cap; see :func:`iter_clicks`)."""
        return self._iter_listing(self.search_endpoint, locals())

    def get_for_message(
        self, message_id: str, *, count: int = 25, offset: int = 0, **options: Unpack[Options]
    ) -> ClicksResponse:
        """One page of one message's clicks (``GET /messages/outbound/clicks/{id}``)."""
        return self._request(self.message_endpoint, locals())

    def iter_for_message(
        self, message_id: str, *, max_results: int | None = None, **options: Unpack[Options]
    ) -> Iterator[MessageClick]:
        """Every click on one message's links."""
        return self._iter_listing(self.message_endpoint, locals())


#: The filters of the inbound message search, in the order they are sent.
_INBOUND_FILTERS: dict[str, _FieldSpec] = {
    "recipient": ("recipient", "text"),
    "from_email": ("fromemail", "text"),
    "subject": ("subject", "text"),
    "mailbox_hash": ("mailboxhash", "text"),
    "tag": ("tag", "text"),
    "status": ("status", "text"),
    "from_date": ("fromdate", "date"),
    "to_date": ("todate", "date"),
}


class InboundMessageGetter(Interface):
    """Searches received messages, reads them, and retries or bypasses them."""

    # Inbound listings carry no receipt timestamp, so the search declares no ``narrow``.
    search_endpoint: Endpoint[InboundMessagesResponse] = Endpoint(
        "GET",
        "/messages/inbound",
        query=_INBOUND_FILTERS | _PAGE_QUERY,
        answer=InboundMessagesResponse,
        items=("InboundMessages", InboundMessage),
    )
    details_endpoint: Endpoint[InboundMessageDetailsResponse] = Endpoint(
        "GET", "/messages/inbound/{message_id}/details", answer=InboundMessageDetailsResponse
    )
    # Neither is idempotent in effect: a retry that reached Postmark is not repeated.
    retry_endpoint: Endpoint[InboundActionResponse] = Endpoint(
        "PUT",
        "/messages/inbound/{message_id}/retry",
        idempotent=False,
        answer=InboundActionResponse,
    )
    bypass_endpoint: Endpoint[InboundActionResponse] = Endpoint(
        "PUT",
        "/messages/inbound/{message_id}/bypass",
        idempotent=False,
        answer=InboundActionResponse,
    )

    def get_page(
        self,
        *,
        count: int = 25,
        offset: int = 0,
        recipient: str | None = None,
        from_email: str | None = None,
        subject: str | None = None,
        mailbox_hash: str | None = None,
        tag: str | None = None,
        status: str | None = None,
        from_date: DateFilter | None = None,
        to_date: DateFilter | None = None,
        **options: Unpack[Options],
    ) -> InboundMessagesResponse:
        """One page of received messages, newest first (``GET /messages/inbound``).

        ``status`` is ``"blocked"``, ``"processed"``, ``"queued"``, ``"failed"``
        or ``"scheduled"``.
        """
        return self._request(self.search_endpoint, locals())

    #: The earlier name of :meth:`get_page`.
    search = get_page

    def iter(
        self,
        *,
        recipient: str | None = None,
        from_email: str | None = None,
        subject: str | None = None,
        mailbox_hash: str | None = None,
        tag: str | None = None,
        status: str | None = None,
        from_date: DateFilter | None = None,
        to_date: DateFilter | None = None,
        max_results: int | None = None,
        **options: Unpack[Options],
    ) -> Iterator[InboundMessage]:
        """Every matching received message, up to Postmark's 10,000 cap.

        Inbound listings carry no receipt timestamp (only the sender's Date
        header), so the date window cannot be narrowed: past 10,000 matches
        :class:`PagingError` is raised; split the search with ``from_date`` and
        ``to_date``. Stops after ``max_results`` messages.
        """
        return self._iter_listing(self.search_endpoint, locals())

    def get(self, message_id: str, **options: Unpack[Options]) -> InboundMessageDetailsResponse:
        """A received message in full (``GET /messages/inbound/{id}/details``)."""
        return self._request(self.details_endpoint, locals())

    #: The earlier name of :meth:`get`.
    get_details = get

    def retry(self, message_id: str, **options: Unpack[Options]) -> InboundActionResponse:
        """Deliver a failed message to the inbound webhook again (``PUT .../retry``).

        Raises :class:`InboundRetryError` (ErrorCode 703) when it has not failed.
        """
        return self._request(self.retry_endpoint, locals())

    def bypass(self, message_id: str, **options: Unpack[Options]) -> InboundActionResponse:
        """Process a message blocked by inbound rules (``PUT .../bypass``).

        Raises :class:`InboundBypassError` (ErrorCode 702) when it was not blocked.
        """
        return self._request(self.bypass_endpoint, locals())


@_simple(OutboundMessageGetter, OutboundMessageGetter.get_page)
def get_outbound_messages() -> None:
    """One page of sent messages; see :meth:`OutboundMessageGetter.get_page`."""


@_simple(OutboundMessageGetter, OutboundMessageGetter.iter)
def iter_outbound_messages() -> None:
    """Every matching sent message; see :meth:`OutboundMessageGetter.iter`."""


@_simple(OutboundMessageGetter, OutboundMessageGetter.get)
def get_outbound_message_details() -> None:
    """A sent message's bodies and events; see :meth:`OutboundMessageGetter.get`."""


@_simple(OutboundMessageGetter, OutboundMessageGetter.get_dump)
def get_outbound_message_dump() -> None:
    """A sent message's raw source; see :meth:`OutboundMessageGetter.get_dump`."""


@_simple(OpensGetter, OpensGetter.get_page)
def get_opens() -> None:
    """One page of opens of all messages; see :meth:`OpensGetter.get_page`."""


@_simple(OpensGetter, OpensGetter.iter)
def iter_opens() -> None:
    """Every matching open, up to Postmark's 10,000 cap.

    Opens carry no unique id, so the date window is not narrowed: past 10,000
    matches :class:`PagingError` is raised; split the search by date.
    """


@_simple(OpensGetter, OpensGetter.get_for_message)
def get_message_opens() -> None:
    """One page of one message's opens; see :meth:`OpensGetter.get_for_message`."""


@_simple(OpensGetter, OpensGetter.iter_for_message)
def iter_message_opens() -> None:
    """Every open of one message; see :meth:`OpensGetter.iter_for_message`."""


@_simple(ClicksGetter, ClicksGetter.get_page)
def get_clicks() -> None:
    """One page of clicks on all messages' links; see :meth:`ClicksGetter.get_page`."""


@_simple(ClicksGetter, ClicksGetter.iter)
def iter_clicks() -> None:
    """Every matching click, up to Postmark's 10,000 cap (as :func:`iter_opens`)."""


@_simple(ClicksGetter, ClicksGetter.get_for_message)
def get_message_clicks() -> None:
    """One page of one message's clicks; see :meth:`ClicksGetter.get_for_message`."""


@_simple(ClicksGetter, ClicksGetter.iter_for_message)
def iter_message_clicks() -> None:
    """Every click on one message's links; see :meth:`ClicksGetter.iter_for_message`."""


@_simple(InboundMessageGetter, InboundMessageGetter.get_page)
def get_inbound_messages() -> None:
    """One page of received messages; see :meth:`InboundMessageGetter.get_page`."""


@_simple(InboundMessageGetter, InboundMessageGetter.iter)
def iter_inbound_messages() -> None:
    """Every matching received message; see :meth:`InboundMessageGetter.iter`."""


@_simple(InboundMessageGetter, InboundMessageGetter.get)
def get_inbound_message_details() -> None:
    """A received message in full; see :meth:`InboundMessageGetter.get`."""


@_simple(InboundMessageGetter, InboundMessageGetter.retry)
def retry_inbound_message() -> None:
    """Retry a failed inbound message; see :meth:`InboundMessageGetter.retry`."""


@_simple(InboundMessageGetter, InboundMessageGetter.bypass)
def bypass_inbound_message() -> None:
    """Process a blocked inbound message; see :meth:`InboundMessageGetter.bypass`."""


# ---- Standard-library email: email.message.Message to Message -------------
#
# One path reads every standard-library message: email.message.EmailMessage
# (the modern API), email.message.Message (what email.message_from_* returns
# under the default compat32 policy) and the MIME parts a Django message
# attaches. Headers become fields where Postmark has one, the MIME tree
# becomes TextBody, HtmlBody and Attachments, and anything Postmark cannot
# carry is refused with a MessageError that names it.

#: Address headers -> Message attribute.
_EMAIL_ADDRESS_FIELDS = {
    "from": "sender",
    "to": "to",
    "cc": "cc",
    "bcc": "bcc",
    "reply-to": "reply_to",
}

#: Headers Postmark writes itself when it sends: the MIME structure it builds,
#: the date, and the trace headers of mail in transit (a copied DKIM signature
#: would be wrong for the new message). They are not copied into Headers.
_EMAIL_SKIPPED_HEADERS = frozenset(
    {"mime-version", "content-type", "content-transfer-encoding", "content-disposition"}
    | {"content-id", "content-description", "date", "received", "return-path"}
    | {"dkim-signature", "domainkey-signature", "arc-seal", "arc-message-signature"}
    | {"arc-authentication-results", "authentication-results", "received-spf"}
    | {"delivered-to", "x-pm-message-id"}
)

#: Postmark's SMTP headers (postmarkapp.com/developer/user-guide/send-email-with-smtp)
#: -> the Message attribute the API takes instead. X-PM-Metadata-<key> adds a
#: metadata entry.
_POSTMARK_SMTP_HEADERS = {
    "x-pm-tag": "tag",
    "x-pm-message-stream": "message_stream",
    "x-pm-trackopens": "track_opens",
    "x-pm-tracklinks": "track_links",
}
_POSTMARK_METADATA_HEADER = "x-pm-metadata-"

#: The multipart kinds whose structure Postmark rebuilds from its own fields.
_CARRIED_MULTIPARTS = frozenset({"mixed", "alternative", "related"})


def _from_email_message(cls: type[Message], source: email.message.Message) -> Message:
    """The :class:`Message` for a standard-library message (see ``from_email_message``)."""
    if not isinstance(source, email.message.Message):
        raise MessageError(
            "message", f"expected an email.message.Message, not {type(source).__name__}"
        )
    message = cls()
    _apply_email_headers(message, source.items())
    parts = _EmailParts()
    parts.read(source, "0")
    message.text, message.html, message.attachments = parts.text, parts.html, parts.attachments
    return message


def _apply_email_headers(message: Message, headers: Iterable[tuple[str, Any]]) -> None:
    """Set ``message``'s fields from email headers (name, value) in order."""
    addresses: dict[str, list[str]] = {}
    for name, value in headers:
        key = str(name).lower()
        field = _EMAIL_ADDRESS_FIELDS.get(key)
        if field is not None:
            addresses.setdefault(field, []).extend(_header_addresses(field, name, value))
        elif key in _EMAIL_SKIPPED_HEADERS:
            continue
        elif key == "subject":
            message.subject = _header_text(value)
        elif key in _POSTMARK_SMTP_HEADERS or key.startswith(_POSTMARK_METADATA_HEADER):
            _apply_postmark_header(message, key, _header_text(value))
        else:
            message.add_header(str(name), _header_text(value))
    for field, found in addresses.items():
        if field == "sender" and len(found) > 1:
            raise MessageError("sender", "Postmark takes one From address")
        if field in ("sender", "reply_to"):
            setattr(message, field, ", ".join(found) if found else None)
        else:
            setattr(message, field, found or None)


def _apply_postmark_header(message: Message, key: str, value: str) -> None:
    """Set the field one of Postmark's X-PM-* SMTP headers stands for."""
    if key.startswith(_POSTMARK_METADATA_HEADER):
        message.metadata[key[len(_POSTMARK_METADATA_HEADER) :]] = value
        return
    field = _POSTMARK_SMTP_HEADERS[key]
    if field == "track_opens":
        flag = value.strip().lower()
        if flag not in ("true", "false"):
            raise MessageError("track_opens", f"X-PM-TrackOpens must be true or false: {value!r}")
        setattr(message, field, flag == "true")
    else:
        setattr(message, field, value.strip())


def _parsed_header(name: str, value: Any) -> Any:
    """``value`` parsed by the modern email API as header ``name`` (unfolded)."""
    import email.policy  # lazy: only the email conversions need it

    text = re.sub(r"\r?\n(?=[ \t])", "", str(value))  # RFC 5322 unfolding
    return email.policy.default.header_factory(name, text)


def _header_text(value: Any) -> str:
    """A header's text, RFC 2047 encoded words decoded, read as unstructured text."""
    return str(_parsed_header("X-Unstructured", value))


def _header_addresses(field: str, name: Any, value: Any) -> list[str]:
    """The addresses of an address header, formatted for Postmark."""
    try:
        header = _parsed_header(str(name), value)
        addresses = list(header.addresses)
    except (ValueError, IndexError, TypeError, AttributeError, email.errors.HeaderParseError):
        addresses = None
    if addresses is None or any(not item.username or not item.domain for item in addresses):
        raise MessageError(field, f"cannot read the addresses in {str(value)!r}")
    return [str(item) for item in addresses]


class _EmailParts:
    """The bodies and attachments found in a MIME tree."""

    __slots__ = ("attachments", "html", "text")

    def __init__(self) -> None:
        self.text: str | None = None
        self.html: str | None = None
        self.attachments: list[Attachment] = []

    def read(self, part: email.message.Message, path: str) -> None:
        """Read ``part`` and its children; ``path`` names it in errors (``0.1.2``)."""
        content_type = part.get_content_type()
        if part.get_content_maintype() == "multipart":
            subtype = part.get_content_subtype()
            if subtype not in _CARRIED_MULTIPARTS:
                raise MessageError(
                    _part_field(part, path),
                    f"Postmark cannot carry a {content_type} part: it builds the MIME "
                    "structure itself from a text body, an HTML body and attachments",
                )
            for index, child in enumerate(cast("list[email.message.Message]", part.get_payload())):
                self.read(child, f"{path}.{index}")
            return
        if (
            content_type in ("text/plain", "text/html")
            and part.get_content_disposition() != "attachment"
            and part.get_filename() is None
        ):
            field = "text" if content_type == "text/plain" else "html"
            if getattr(self, field) is not None:
                raise MessageError(
                    _part_field(part, path),
                    f"a second {content_type} body; Postmark carries one text and one HTML body",
                )
            setattr(self, field, _part_text(part, path))
            return
        self.attachments.append(_part_attachment(part, path, len(self.attachments)))


def _part_field(part: email.message.Message, path: str) -> str:
    """How errors name a MIME part: its position, type and file name."""
    name = part.get_filename()
    return f"part {path} ({part.get_content_type()}{f', {name!r}' if name else ''})"


def _part_text(part: email.message.Message, path: str) -> str:
    """The decoded text of a text/* part."""
    payload = part.get_payload()
    if not isinstance(payload, str):
        raise MessageError(_part_field(part, path), "a text part without text")
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if encoding in ("", "7bit", "8bit", "binary"):
        # Already text: get_payload() decodes 8-bit bytes by the part's charset,
        # and decoding it as bytes instead would mangle characters beyond Latin-1.
        return payload
    data = cast(bytes, part.get_payload(decode=True))
    charset = part.get_content_charset() or "utf-8"
    if charset in ("us-ascii", "ascii"):
        charset = "utf-8"  # a superset: mislabelled 8-bit text still reads
    try:
        return data.decode(charset, "replace")
    except LookupError:
        raise MessageError(_part_field(part, path), f"unknown charset {charset!r}") from None


def _part_attachment(part: email.message.Message, path: str, position: int) -> Attachment:
    """An :class:`Attachment` from a leaf MIME part (inline when it has a Content-ID)."""
    content_type = part.get_content_type()
    field = _part_field(part, path)
    if part.get_content_maintype() == "multipart":
        raise MessageError(field, "Postmark cannot carry a multipart attachment")
    if content_type in ("message/rfc822", "message/global"):
        data = cast(email.message.Message, part.get_payload(0)).as_bytes()
    elif part.get_content_maintype() == "message":
        raise MessageError(field, f"Postmark cannot carry a {content_type} part")
    else:
        decoded = part.get_payload(decode=True)
        if not isinstance(decoded, bytes):
            raise MessageError(field, "a part without content")
        data = decoded
    content_id = str(part.get("Content-ID", "")).strip().strip("<>") or None
    name = _part_filename(part) or _attachment_name(content_type, content_id, position)
    return Attachment(name, data, content_type, content_id)


def _part_filename(part: email.message.Message) -> str | None:
    """The part's file name, RFC 2231 and RFC 2047 encodings decoded."""
    name = part.get_filename()
    if name and "=?" in name:
        name = _header_text(name)
    return name or None


def _attachment_name(content_type: str, content_id: str | None, position: int) -> str:
    """A file name for a part that has none (Postmark requires one)."""
    import mimetypes  # lazy: rarely needed, and slow to import

    stem = content_id.split("@", 1)[0] if content_id else f"attachment-{position + 1}"
    stem = re.sub(r"[^\w.-]+", "_", stem).strip("._") or f"attachment-{position + 1}"
    extension = mimetypes.guess_extension(content_type) or ""
    if extension[1:].lower() in FORBIDDEN_EXTENSIONS or stem.lower().endswith(extension):
        extension = ""
    return stem + extension


# ---- Django email backend ---------------------------------------------------
#
# EMAIL_BACKEND = "pystmark.DjangoEmailBackend". Django is imported only when
# the backend is made (for its settings), never by ``import pystmark``; the
# backend implements Django's backend interface (the methods of
# django.core.mail.backends.base.BaseEmailBackend) without subclassing it.

#: Keys of the ``POSTMARK`` setting -> the pystmark option they set.
_DJANGO_OPTION_KEYS = {
    "TOKEN": "api_key",
    "TEST_MODE": "test",
    "BASE_URL": "base_url",
    "TIMEOUT": "timeout",
    "DEADLINE": "deadline",
    "MAX_RETRIES": "max_retries",
}
#: Keys of the ``POSTMARK`` setting -> the field they set on every message.
_DJANGO_DEFAULT_KEYS = {
    "MESSAGE_STREAM": "message_stream",
    "TRACK_OPENS": "track_opens",
    "TRACK_LINKS": "track_links",
}
#: Postmark features read from attributes of a Django message (as Message fields).
_DJANGO_MESSAGE_ATTRIBUTES = (
    "tag",
    "metadata",
    "message_stream",
    "track_opens",
    "track_links",
    "template_id",
    "template_alias",
    "template_model",
    "inline_css",
)
#: The alternatives a Django message may add to its body -> the Message field.
_DJANGO_ALTERNATIVES = {"text/html": "html", "text/plain": "text"}
#: Attributes other Django email backends read, which this one cannot carry.
_DJANGO_UNSUPPORTED_ATTRIBUTES = {
    "tags": "Postmark takes one tag: set `tag`",
    "track_clicks": "set `track_links` to a TrackLinks mode",
    "send_at": "Postmark's email API cannot schedule a message",
    "merge_data": "send one message per recipient, each with its `template_model`",
    "merge_global_data": "set `template_model`",
    "merge_metadata": "send one message per recipient, each with its `metadata`",
    "merge_headers": "send one message per recipient, each with its `extra_headers`",
    "esp_extra": "pystmark has no raw payload hook; set the Postmark attributes",
    "envelope_sender": "Postmark sets the envelope sender from the domain's Return-Path",
}


class DjangoEmailBackend:
    """A Django email backend that sends through Postmark's batch endpoint.

    ``EMAIL_BACKEND = "pystmark.DjangoEmailBackend"``. Settings come from
    ``POSTMARK_SERVER_TOKEN`` or ``POSTMARK = {"TOKEN": ..., ...}``; keyword
    arguments of ``django.core.mail.get_connection`` win over them:
    ``api_key`` and the other :class:`Options`, and ``message_stream``,
    ``track_opens`` and ``track_links`` as defaults for every message.
    Postmark features are read from attributes of each message (``tag``,
    ``metadata``, ``message_stream``, ``track_opens``, ``track_links``,
    ``template_id`` or ``template_alias`` with ``template_model``,
    ``inline_css``); after a send each message carries ``postmark_result``
    (a :class:`SendResult`), ``postmark_message_id`` and
    ``postmark_error_code``. One ``requests`` session per backend instance,
    kept between :meth:`open` and :meth:`close`. Django itself is imported
    only when a backend is made.
    """

    def __init__(self, fail_silently: bool = False, **kwargs: Any) -> None:
        from django.conf import settings

        #: Django's flag: report failures by the return value, not by raising.
        self.fail_silently = fail_silently
        options, defaults = _django_settings(settings)
        for name in ("username", "password"):  # what send_mail() passes for SMTP
            if kwargs.pop(name, None) is not None:
                raise ConfigurationError(
                    f"{name}: the Postmark backend authenticates with a server token "
                    "(api_key=..., POSTMARK_SERVER_TOKEN or POSTMARK['TOKEN'])"
                )
        for name in _DJANGO_DEFAULT_KEYS.values():
            value = kwargs.pop(name, None)
            if value is not None:
                defaults[name] = value
        try:
            _check_options(kwargs)
        except TypeError as error:
            raise ConfigurationError(f"get_connection(): {error}") from None
        options.update((name, value) for name, value in kwargs.items() if value is not None)
        _Settings(options, {})  # bad settings fail here, before any message
        #: The pystmark options every request uses (the token masked in ``repr``).
        self.options: dict[str, Any] = options
        #: Fields set on every message unless the message sets them.
        self.defaults: Message = Message(**defaults)
        self._session: requests.Session | None = None

    def open(self) -> bool:
        """Open the backend's session; True if this call opened it (Django's contract)."""
        if self._session is not None:
            return False
        given = self.options.get("session")
        self._session = given if given is not None else _PooledSession()
        return True

    def close(self) -> None:
        """Close the backend's session (a ``session`` you gave is left open)."""
        session, self._session = self._session, None
        if session is not None and self.options.get("session") is None:
            session.close()

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def send_messages(self, email_messages: Sequence[Any]) -> int:
        """Send Django messages, 500 per request; return how many Postmark accepted.

        Every message is converted and validated before the first request.
        Messages without recipients are skipped, as Django's SMTP backend
        skips them. Without ``fail_silently`` a failure raises pystmark's typed
        error once the requests that can be made are made: an invalid message
        raises :class:`MessageError` before any I/O, a refused message its
        ErrorCode's error (:class:`BatchSendError` when several were sent). A
        send whose outcome is unknown is never retried.
        """
        if not email_messages:
            return 0
        groups: dict[bool, list[tuple[Any, Message]]] = {False: [], True: []}
        failures: list[PystmarkError] = []
        for source in email_messages:
            _record_django_result(source, None)
            if not source.recipients():
                continue
            try:
                message = _message_from_django(source)
                template = message.template_id is not None or bool(message.template_alias)
                message.merged_with(self.defaults).validate(template=template)
            except PystmarkError as error:
                if not self.fail_silently:
                    raise
                failures.append(error)
                continue
            groups[template].append((source, message))
        sent = 0
        opened = self.open()
        try:
            for template, group in groups.items():
                if group:
                    accepted, failure, answered = self._send_group(group, template)
                    sent += accepted
                    if failure is not None:
                        failures.append(failure)
                        if not answered:
                            break  # the request failed: send nothing more
        finally:
            if opened:
                self.close()
        if failures:
            if not self.fail_silently:
                raise failures[0]
            logger.warning(
                "fail_silently: %d message(s) not sent; first: %s", len(failures), failures[0]
            )
        return sent

    def _send_group(
        self, group: list[tuple[Any, Message]], template: bool
    ) -> tuple[int, PystmarkError | None, bool]:
        """Send one batch; (accepted, first failure, whether Postmark answered each request)."""
        sender_class = BatchTemplateSender if template else BatchSender
        sender = sender_class(message=self.defaults, **{**self.options, "session": self._session})
        failure: PystmarkError | None = None
        answered = True
        try:
            results = sender.send([message for _, message in group]).results
        except BatchSendError as error:
            results, failure, answered = error.results, error, False
        except PystmarkError as error:
            results, failure, answered = [], error, False
        for result in results:
            _record_django_result(group[result.index][0], result)
        refused = [result for result in results if not result.ok]
        if failure is None and refused:
            if len(group) == 1:
                failure = refused[0].error
            else:
                failure = BatchSendError(
                    f"{len(refused)} of {len(group)} messages were refused; first, message "
                    f"{refused[0].index}: [ErrorCode {refused[0].error_code}] {refused[0].message}",
                    results=results,
                )
        return sum(1 for result in results if result.ok), failure, answered

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in _mask(self.options).items())
        return f"DjangoEmailBackend(fail_silently={self.fail_silently!r}, {shown})"


def _django_settings(settings: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The pystmark options and default message fields in Django's settings."""
    config = getattr(settings, "POSTMARK", None) or {}
    if not isinstance(config, Mapping):
        raise ConfigurationError("settings.POSTMARK must be a dict")
    unknown = set(config) - set(_DJANGO_OPTION_KEYS) - set(_DJANGO_DEFAULT_KEYS)
    if unknown:
        known = ", ".join([*_DJANGO_OPTION_KEYS, *_DJANGO_DEFAULT_KEYS])
        raise ConfigurationError(f"settings.POSTMARK: unknown key(s) {sorted(unknown)}; {known}")
    token = getattr(settings, "POSTMARK_SERVER_TOKEN", None)
    if token and config.get("TOKEN") and token != config["TOKEN"]:
        raise ConfigurationError(
            "POSTMARK_SERVER_TOKEN and POSTMARK['TOKEN'] are both set, to different tokens"
        )
    options = {
        name: config[key]
        for key, name in _DJANGO_OPTION_KEYS.items()
        if config.get(key) is not None
    }
    if token and "api_key" not in options:
        options["api_key"] = token
    defaults = {
        name: config[key]
        for key, name in _DJANGO_DEFAULT_KEYS.items()
        if config.get(key) is not None
    }
    return options, defaults


def _record_django_result(source: Any, result: SendResult | None) -> None:
    """Store Postmark's answer on a Django message, for the app to keep."""
    source.postmark_result = result
    source.postmark_message_id = (result.message_id or None) if result is not None else None
    source.postmark_error_code = result.error_code if result is not None else None


def _message_from_django(source: Any) -> Message:
    """The :class:`Message` for a Django ``EmailMessage`` or ``EmailMultiAlternatives``."""
    from django.conf import settings

    for name, hint in _DJANGO_UNSUPPORTED_ATTRIBUTES.items():
        if getattr(source, name, None) not in (None, [], {}, ()):
            raise MessageError(name, f"the Postmark backend cannot carry this: {hint}")
    subtype = getattr(source, "content_subtype", "plain")
    if subtype not in ("plain", "html"):
        raise MessageError("content_subtype", f"Postmark carries plain or html, not {subtype!r}")
    message = Message(
        sender=str(source.from_email) if source.from_email else None,
        to=[str(address) for address in source.to] or None,
        cc=[str(address) for address in source.cc] or None,
        bcc=[str(address) for address in source.bcc] or None,
        reply_to=", ".join(str(address) for address in getattr(source, "reply_to", ())) or None,
        subject=str(source.subject) if source.subject else None,
    )
    body = str(source.body) if source.body else None
    if subtype == "html":
        message.html = body
    else:
        message.text = body
    for index, (content, mimetype) in enumerate(getattr(source, "alternatives", None) or ()):
        field = _DJANGO_ALTERNATIVES.get(str(mimetype).split(";")[0].strip().lower())
        if field is None or getattr(message, field) is not None:
            raise MessageError(
                f"alternatives[{index}]",
                f"a {mimetype} alternative: Postmark carries one text and one HTML body",
            )
        setattr(message, field, content.decode() if isinstance(content, bytes) else str(content))
    charset = getattr(source, "encoding", None) or settings.DEFAULT_CHARSET
    message.attachments = [
        _django_attachment(item, index, charset) for index, item in enumerate(source.attachments)
    ]
    _apply_django_headers(message, source.extra_headers)
    for name in _DJANGO_MESSAGE_ATTRIBUTES:
        value = getattr(source, name, None)
        if value is not None:
            setattr(message, name, dict(value) if name == "metadata" else value)
    return message


def _django_attachment(item: Any, index: int, charset: str) -> Attachment:
    """An :class:`Attachment` from one of a Django message's attachments."""
    if isinstance(item, email.message.Message):  # MIMEBase, or Django 6's MIMEPart
        return _part_attachment(item, f"attachments[{index}]", index)
    filename, content, mimetype = item
    if isinstance(content, email.message.Message):
        data = content.as_bytes()
    elif callable(getattr(content, "message", None)):  # a Django message, as message/rfc822
        data = content.message().as_bytes()
    elif isinstance(content, str):
        data = content.encode(charset)
    else:
        data = bytes(content)
    name = filename or _attachment_name(mimetype or "application/octet-stream", None, index)
    return Attachment(name, data, mimetype or None)


def _apply_django_headers(message: Message, extra_headers: Mapping[str, Any] | None) -> None:
    """Apply a Django message's ``extra_headers`` (read as email headers are)."""
    if not extra_headers:
        return
    found = Message()
    _apply_email_headers(found, extra_headers.items())
    for field in ("to", "cc", "bcc"):
        shown = getattr(found, field)
        if shown is not None and _address_set(shown) != _address_set(getattr(message, field)):
            raise MessageError(
                "extra_headers",
                f"a {field.title()} header that differs from the message's {field}: Postmark "
                "sends to the addresses it shows",
            )
    for field in ("sender", "reply_to", "subject", "tag", "message_stream"):
        value = getattr(found, field)
        if value is not None:
            setattr(message, field, value)
    for field in ("track_opens", "track_links"):
        if getattr(found, field) is not None:
            setattr(message, field, getattr(found, field))
    message.metadata.update(found.metadata)
    message.headers.extend(found.headers)


def _address_set(value: Addresses | None) -> set[str]:
    """The addresses of a recipient field, lower-cased, display names removed."""
    text = _address_text(value) or ""
    return {address.lower() for _, address in email.utils.getaddresses([text]) if address}


# ---- Templates -------------------------------------------------------------


def _camel_key(name: str) -> str:
    """``post_first_open_only`` -> ``PostFirstOpenOnly`` (``id`` -> ``ID``)."""
    return "".join("ID" if part == "id" else part.capitalize() for part in name.split("_"))


class Template(Record):
    """A template (listings fill in only the id, name, alias, type and layout)."""

    template_id: _Field[int] = _field(("TemplateId", "TemplateID"), _as_int)
    name: _Field[str] = _field("Name", _as_str)
    alias: _Field[str | None] = _field("Alias", _as_optional_str)
    subject: _Field[str | None] = _field("Subject", _as_optional_str)
    html_body: _Field[str | None] = _field("HtmlBody", _as_optional_str)
    text_body: _Field[str | None] = _field("TextBody", _as_optional_str)
    active: _Field[bool] = _field("Active", _as_bool)
    associated_server_id: _Field[int] = _field("AssociatedServerId", _as_int)
    #: ``"Standard"`` or ``"Layout"``.
    template_type: _Field[str] = _field("TemplateType", _as_str)
    #: The alias of the layout a standard template uses, if any.
    layout_template: _Field[str | None] = _field("LayoutTemplate", _as_optional_str)


class TemplateIssue(Record):
    """One problem :func:`validate_template` found in a template part."""

    message: _Field[str] = _field("Message", _as_str)
    line: _Field[int] = _field("Line", _as_int)
    character_position: _Field[int] = _field("CharacterPosition", _as_int)


class TemplatePartValidation(Record):
    """The validation of one template part: subject, HTML or text body."""

    content_is_valid: _Field[bool] = _field("ContentIsValid", _as_bool)
    #: The part rendered with the test model.
    rendered_content: _Field[str | None] = _field("RenderedContent", _as_optional_str)
    validation_errors: _Field[list[TemplateIssue]] = _field(
        "ValidationErrors", _as_records(TemplateIssue)
    )


class TemplatePushAction(Record):
    """One template that :func:`push_templates` creates or changes."""

    action: _Field[str] = _field("Action", _as_str)
    template_id: _Field[int] = _field(("TemplateId", "TemplateID"), _as_int)
    alias: _Field[str | None] = _field("Alias", _as_optional_str)
    name: _Field[str] = _field("Name", _as_str)
    template_type: _Field[str] = _field("TemplateType", _as_str)


class TemplatesResponse(PageResponse):
    """A page of templates."""

    templates: _Answer[list[Template]] = _Answer(
        Template, "Templates", doc="The templates of this page."
    )


class TemplateResponse(Response):
    """One template (for create and edit, without its content)."""

    template: _Answer[Template] = _Answer(Template, doc="The template.")


class TemplateValidationResponse(Response):
    """The outcome of :func:`validate_template`."""

    @property
    def all_content_is_valid(self) -> bool:
        """True when every part given is valid."""
        return _as_bool(_as_dict(self.data).get("AllContentIsValid"))

    def _part(self, key: str) -> TemplatePartValidation | None:
        return _as_record(TemplatePartValidation)(_as_dict(self.data).get(key))

    @property
    def subject(self) -> TemplatePartValidation | None:
        """The subject's validation (``None`` when no subject was given)."""
        return self._part("Subject")

    @property
    def html_body(self) -> TemplatePartValidation | None:
        """The HTML body's validation (``None`` when none was given)."""
        return self._part("HtmlBody")

    @property
    def text_body(self) -> TemplatePartValidation | None:
        """The text body's validation (``None`` when none was given)."""
        return self._part("TextBody")

    @property
    def issues(self) -> list[TemplateIssue]:
        """Every validation error, of every part."""
        parts = (self.subject, self.html_body, self.text_body)
        return [issue for part in parts if part for issue in part.validation_errors]

    @property
    def suggested_template_model(self) -> dict[str, Any]:
        """A model with every variable the template uses."""
        return _as_dict(_as_dict(self.data).get("SuggestedTemplateModel"))


class TemplatePushResponse(PageResponse):
    """The outcome of :func:`push_templates`: ``total_count`` templates change."""

    templates: _Answer[list[TemplatePushAction]] = _Answer(
        TemplatePushAction, "Templates", doc="What happens to each template."
    )


class TemplateType(str, enum.Enum):
    """Template kinds: a standard template, or a layout that standard ones use."""

    ALL = "All"  #: only for listing
    STANDARD = "Standard"
    LAYOUT = "Layout"


#: The fields of a template: the bodies take any text, the others one line.
_TEMPLATE_FIELDS: dict[str, _FieldSpec] = {
    "name": "text",
    "subject": "text",
    "html_body": str,
    "text_body": str,
    "alias": "text",
    "template_type": TemplateType,
    "layout_template": "text",
}


class TemplateManager(Interface):
    """Lists, reads, creates, edits, deletes, validates and pushes templates."""

    list_endpoint: Endpoint[TemplatesResponse] = Endpoint(
        "GET",
        "/templates",
        query={"count": "page", "offset": "page"} | _TEMPLATE_FIELDS,
        answer=TemplatesResponse,
        items=("Templates", Template),
    )
    get_endpoint: Endpoint[TemplateResponse] = Endpoint(
        "GET", "/templates/{template_id_or_alias}", answer=TemplateResponse
    )
    create_endpoint: Endpoint[TemplateResponse] = Endpoint(
        "POST", "/templates", body=_TEMPLATE_FIELDS | {"name": "required"}, answer=TemplateResponse
    )
    edit_endpoint: Endpoint[TemplateResponse] = Endpoint(
        "PUT",
        "/templates/{template_id_or_alias}",
        body=_TEMPLATE_FIELDS,
        at_least_one=True,
        what="edit_template",
        answer=TemplateResponse,
    )
    delete_endpoint: Endpoint[Response] = Endpoint("DELETE", "/templates/{template_id_or_alias}")
    validate_endpoint: Endpoint[TemplateValidationResponse] = Endpoint(
        "POST",
        "/templates/validate",
        idempotent=True,
        body=_TEMPLATE_FIELDS
        | {"test_render_model": "json", "inline_css": ("InlineCssForHtmlTestRender", bool)},
        answer=TemplateValidationResponse,
    )
    push_endpoint: Endpoint[TemplatePushResponse] = Endpoint(
        "PUT",
        "/templates/push",
        token="account",
        body={
            "source_server_id": ("SourceServerId", "id"),
            "destination_server_id": ("DestinationServerId", "id"),
            "perform_changes": bool,
        },
        answer=TemplatePushResponse,
    )

    def get_page(
        self,
        count: int = 100,
        offset: int = 0,
        *,
        template_type: TemplateType | str | None = None,
        layout_template: str | None = None,
        **options: Unpack[Options],
    ) -> TemplatesResponse:
        """One page of templates (``GET /templates``), optionally filtered."""
        return self._request(self.list_endpoint, locals())

    def iter(
        self,
        *,
        template_type: TemplateType | str | None = None,
        layout_template: str | None = None,
        max_results: int | None = None,
        **options: Unpack[Options],
    ) -> Iterator[Template]:
        """Every template, fetched a page at a time as the iterator advances."""
        return self._iter_listing(self.list_endpoint, locals())

    #: The earlier name of :meth:`iter`.
    iterate = iter

    def get(self, template_id_or_alias: int | str, **options: Unpack[Options]) -> TemplateResponse:
        """One template with its content, by id or alias."""
        return self._request(self.get_endpoint, locals())

    def create(
        self,
        name: str,
        *,
        subject: str | None = None,
        html_body: str | None = None,
        text_body: str | None = None,
        alias: str | None = None,
        template_type: TemplateType | str | None = None,
        layout_template: str | None = None,
        **options: Unpack[Options],
    ) -> TemplateResponse:
        """Create a template; a standard one needs a subject and a body."""
        _required_text("name", name, ArgumentError)
        if html_body is None and text_body is None:
            raise ArgumentError("a template needs html_body or text_body")
        kind = _check_value("template_type", template_type, TemplateType)
        if subject is None and (kind or "Standard") == "Standard":
            raise ArgumentError("a standard template needs a subject")
        return self._request(self.create_endpoint, locals())

    def edit(
        self,
        template_id_or_alias: int | str,
        *,
        name: str | None = None,
        subject: str | None = None,
        html_body: str | None = None,
        text_body: str | None = None,
        alias: str | None = None,
        layout_template: str | None = None,
        **options: Unpack[Options],
    ) -> TemplateResponse:
        """Change the fields given; ``layout_template=""`` removes the layout."""
        return self._request(self.edit_endpoint, locals())

    def delete(self, template_id_or_alias: int | str, **options: Unpack[Options]) -> Response:
        """Delete a template by id or alias."""
        return self._request(self.delete_endpoint, locals())

    def validate(
        self,
        *,
        subject: str | None = None,
        html_body: str | None = None,
        text_body: str | None = None,
        test_render_model: Mapping[str, Any] | None = None,
        inline_css: bool | None = None,
        template_type: TemplateType | str | None = None,
        layout_template: str | None = None,
        **options: Unpack[Options],
    ) -> TemplateValidationResponse:
        """Check template content and render it with ``test_render_model``."""
        if subject is None and html_body is None and text_body is None:
            raise ArgumentError("validate_template needs subject, html_body or text_body")
        return self._request(self.validate_endpoint, locals())

    def push(
        self,
        source_server_id: int,
        destination_server_id: int,
        *,
        perform_changes: bool = False,
        **options: Unpack[Options],
    ) -> TemplatePushResponse:
        """Copy templates between servers (account token); a dry run unless told."""
        return self._request(self.push_endpoint, locals())


@_simple(TemplateManager, TemplateManager.get_page)
def get_templates() -> None:
    """One page of templates (``GET /templates``); see :class:`TemplateManager`."""


@_simple(TemplateManager, TemplateManager.iter)
def iter_templates() -> None:
    """Every template, a page at a time (``GET /templates``)."""


@_simple(TemplateManager, TemplateManager.get)
def get_template() -> None:
    """One template with its content (``GET /templates/{id or alias}``)."""


@_simple(TemplateManager, TemplateManager.create)
def create_template() -> None:
    """Create a template (``POST /templates``)."""


@_simple(TemplateManager, TemplateManager.edit)
def edit_template() -> None:
    """Change a template's fields (``PUT /templates/{id or alias}``)."""


@_simple(TemplateManager, TemplateManager.delete)
def delete_template() -> None:
    """Delete a template (``DELETE /templates/{id or alias}``)."""


@_simple(TemplateManager, TemplateManager.validate)
def validate_template() -> None:
    """Validate and test-render template content (``POST /templates/validate``)."""


@_simple(TemplateManager, TemplateManager.push)
def push_templates() -> None:
    """Copy templates to another server (``PUT /templates/push``, account token)."""


# ---- Server, message streams, webhooks API, suppressions, stats, rules ------


# -- Server


class ServerConfiguration(Record):
    """The settings of the server whose token made the request."""

    id: _Field[int] = _field("ID", _as_int)
    name: _Field[str] = _field("Name", _as_str)
    api_tokens: _Field[list[str]] = _field("ApiTokens", _as_str_list)
    color: _Field[str] = _field("Color", _as_str)
    server_link: _Field[str] = _field("ServerLink", _as_str)
    delivery_type: _Field[str | None] = _field("DeliveryType", _as_optional_str)
    smtp_api_activated: _Field[bool] = _field("SmtpApiActivated", _as_bool)
    raw_email_enabled: _Field[bool] = _field("RawEmailEnabled", _as_bool)
    inbound_address: _Field[str | None] = _field("InboundAddress", _as_optional_str)
    inbound_domain: _Field[str | None] = _field("InboundDomain", _as_optional_str)
    inbound_hash: _Field[str | None] = _field("InboundHash", _as_optional_str)
    inbound_spam_threshold: _Field[int] = _field("InboundSpamThreshold", _as_int)
    inbound_hook_url: _Field[str | None] = _field("InboundHookUrl", _as_optional_str)
    bounce_hook_url: _Field[str | None] = _field("BounceHookUrl", _as_optional_str)
    open_hook_url: _Field[str | None] = _field("OpenHookUrl", _as_optional_str)
    delivery_hook_url: _Field[str | None] = _field("DeliveryHookUrl", _as_optional_str)
    click_hook_url: _Field[str | None] = _field("ClickHookUrl", _as_optional_str)
    post_first_open_only: _Field[bool] = _field("PostFirstOpenOnly", _as_bool)
    track_opens: _Field[bool] = _field("TrackOpens", _as_bool)
    track_links: _Field[str | None] = _field("TrackLinks", _as_optional_str)
    include_bounce_content_in_hook: _Field[bool] = _field("IncludeBounceContentInHook", _as_bool)
    enable_smtp_api_error_hooks: _Field[bool] = _field("EnableSmtpApiErrorHooks", _as_bool)


class ServerConfigurationResponse(Response):
    """The server's settings."""

    server: _Answer[ServerConfiguration] = _Answer(ServerConfiguration, doc="The settings.")


#: A server's name and settings as :func:`edit_server` sends them (the account
#: API's server calls take the same fields): one line of text, a bool, an int
#: or a :class:`TrackLinks` mode each.
_SERVER_FIELDS: dict[str, _FieldSpec] = {
    "name": "text",
    "color": "text",
    "smtp_api_activated": bool,
    "raw_email_enabled": bool,
    "inbound_hook_url": "text",
    "bounce_hook_url": "text",
    "open_hook_url": "text",
    "delivery_hook_url": "text",
    "click_hook_url": "text",
    "post_first_open_only": bool,
    "track_opens": bool,
    "track_links": TrackLinks,
    "inbound_domain": "text",
    "inbound_spam_threshold": int,
    "include_bounce_content_in_hook": bool,
    "enable_smtp_api_error_hooks": bool,
}


class ServerManager(Interface):
    """Reads and edits the settings of the server the token belongs to."""

    get_endpoint: Endpoint[ServerConfigurationResponse] = Endpoint(
        "GET", "/server", answer=ServerConfigurationResponse
    )
    edit_endpoint: Endpoint[ServerConfigurationResponse] = Endpoint(
        "PUT",
        "/server",
        body=_SERVER_FIELDS,
        at_least_one=True,
        what="edit_server",
        answer=ServerConfigurationResponse,
    )

    def get(self, **options: Unpack[Options]) -> ServerConfigurationResponse:
        """The server's settings (``GET /server``)."""
        return self._request(self.get_endpoint, locals())

    def edit(
        self,
        *,
        name: str | None = None,
        color: str | None = None,
        smtp_api_activated: bool | None = None,
        raw_email_enabled: bool | None = None,
        inbound_hook_url: str | None = None,
        bounce_hook_url: str | None = None,
        open_hook_url: str | None = None,
        delivery_hook_url: str | None = None,
        click_hook_url: str | None = None,
        post_first_open_only: bool | None = None,
        track_opens: bool | None = None,
        track_links: TrackLinks | str | None = None,
        inbound_domain: str | None = None,
        inbound_spam_threshold: int | None = None,
        include_bounce_content_in_hook: bool | None = None,
        enable_smtp_api_error_hooks: bool | None = None,
        **options: Unpack[Options],
    ) -> ServerConfigurationResponse:
        """Change the settings given (``PUT /server``); the rest stay as they are."""
        return self._request(self.edit_endpoint, locals())


@_simple(ServerManager, ServerManager.get)
def get_server() -> None:
    """The settings of the token's server (``GET /server``); see :class:`ServerManager`."""


@_simple(ServerManager, ServerManager.edit)
def edit_server() -> None:
    """Change the token's server settings (``PUT /server``); see :class:`ServerManager`."""


# -- Message streams


class MessageStream(Record):
    """A message stream: transactional, broadcasts or inbound."""

    id: _Field[str] = _field("ID", _as_str)
    server_id: _Field[int] = _field("ServerID", _as_int)
    name: _Field[str] = _field("Name", _as_str)
    description: _Field[str | None] = _field("Description", _as_optional_str)
    #: ``"Transactional"``, ``"Broadcasts"`` or ``"Inbound"``.
    message_stream_type: _Field[str] = _field("MessageStreamType", _as_str)
    created_at: _Field[datetime | None] = _field("CreatedAt", parse_datetime)
    updated_at: _Field[datetime | None] = _field("UpdatedAt", parse_datetime)
    archived_at: _Field[datetime | None] = _field("ArchivedAt", parse_datetime)
    expected_purge_date: _Field[datetime | None] = _field("ExpectedPurgeDate", parse_datetime)
    subscription_management_configuration: _Field[dict[str, Any]] = _field(
        "SubscriptionManagementConfiguration", _as_dict
    )

    @property
    def unsubscribe_handling_type(self) -> str | None:
        """``"None"``, ``"Postmark"`` or ``"Custom"``."""
        return _as_optional_str(
            self.subscription_management_configuration.get("UnsubscribeHandlingType")
        )


class MessageStreamsResponse(PageResponse):
    """The server's message streams."""

    message_streams: _Answer[list[MessageStream]] = _Answer(
        MessageStream, "MessageStreams", doc="The streams."
    )


class MessageStreamResponse(Response):
    """One message stream."""

    message_stream: _Answer[MessageStream] = _Answer(MessageStream, doc="The stream.")


class MessageStreamArchiveResponse(Response):
    """The outcome of archiving a stream."""

    @property
    def id(self) -> str:
        """The stream's id."""
        return _as_str(_as_dict(self.data).get("ID"))

    @property
    def server_id(self) -> int:
        """The server's id."""
        return _as_int(_as_dict(self.data).get("ServerID"))

    @property
    def expected_purge_date(self) -> datetime | None:
        """When Postmark deletes the stream and its data."""
        return parse_datetime(_as_dict(self.data).get("ExpectedPurgeDate"))


class MessageStreamType(str, enum.Enum):
    """Kinds of message stream (``ALL`` only for listing)."""

    ALL = "All"
    TRANSACTIONAL = "Transactional"
    BROADCASTS = "Broadcasts"
    INBOUND = "Inbound"


def _subscription_management(name: str, value: Any, error: type[ArgumentError]) -> Any:
    """Postmark's ``SubscriptionManagementConfiguration`` for an unsubscribe handling type."""
    return {"UnsubscribeHandlingType": _text_check(name, value, error)}


#: How a stream's unsubscribe handling type is sent.
_UNSUBSCRIBE: _FieldSpec = ("SubscriptionManagementConfiguration", _subscription_management)


class MessageStreamManager(Interface):
    """Lists, reads, creates, edits, archives and unarchives message streams."""

    list_endpoint: Endpoint[MessageStreamsResponse] = Endpoint(
        "GET",
        "/message-streams",
        query={
            "stream_type": ("MessageStreamType", MessageStreamType),
            "include_archived": ("IncludeArchivedStreams", bool),
        },
        answer=MessageStreamsResponse,
    )
    get_endpoint: Endpoint[MessageStreamResponse] = Endpoint(
        "GET", "/message-streams/{stream_id}", answer=MessageStreamResponse
    )
    create_endpoint: Endpoint[MessageStreamResponse] = Endpoint(
        "POST",
        "/message-streams",
        body={
            "stream_id": ("ID", "required"),
            "name": "required",
            "stream_type": ("MessageStreamType", MessageStreamType),
            "description": str,
            "unsubscribe_handling_type": _UNSUBSCRIBE,
        },
        answer=MessageStreamResponse,
    )
    edit_endpoint: Endpoint[MessageStreamResponse] = Endpoint(
        "PATCH",
        "/message-streams/{stream_id}",
        idempotent=True,
        body={
            "name": "text",
            "description": str,
            "unsubscribe_handling_type": _UNSUBSCRIBE,
        },
        at_least_one=True,
        what="edit_message_stream",
        answer=MessageStreamResponse,
    )
    archive_endpoint: Endpoint[MessageStreamArchiveResponse] = Endpoint(
        "POST", "/message-streams/{stream_id}/archive", answer=MessageStreamArchiveResponse
    )
    unarchive_endpoint: Endpoint[MessageStreamResponse] = Endpoint(
        "POST", "/message-streams/{stream_id}/unarchive", answer=MessageStreamResponse
    )

    def get_all(
        self,
        *,
        stream_type: MessageStreamType | str | None = None,
        include_archived: bool | None = None,
        **options: Unpack[Options],
    ) -> MessageStreamsResponse:
        """The server's streams, of one type or all (``GET /message-streams``)."""
        return self._request(self.list_endpoint, locals())

    def get(self, stream_id: str, **options: Unpack[Options]) -> MessageStreamResponse:
        """One stream (``GET /message-streams/{id}``)."""
        return self._request(self.get_endpoint, locals())

    def create(
        self,
        stream_id: str,
        name: str,
        stream_type: MessageStreamType | str,
        *,
        description: str | None = None,
        unsubscribe_handling_type: str | None = None,
        **options: Unpack[Options],
    ) -> MessageStreamResponse:
        """Create a stream (``POST /message-streams``); its id cannot change later."""
        if stream_type is None:
            raise ArgumentError("create_message_stream needs a stream_type")
        return self._request(self.create_endpoint, locals())

    def edit(
        self,
        stream_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        unsubscribe_handling_type: str | None = None,
        **options: Unpack[Options],
    ) -> MessageStreamResponse:
        """Change a stream's name, description or unsubscribe handling (``PATCH``)."""
        return self._request(self.edit_endpoint, locals())

    def archive(self, stream_id: str, **options: Unpack[Options]) -> MessageStreamArchiveResponse:
        """Archive a stream; Postmark purges it after ``expected_purge_date``."""
        return self._request(self.archive_endpoint, locals())

    def unarchive(self, stream_id: str, **options: Unpack[Options]) -> MessageStreamResponse:
        """Bring an archived stream back before it is purged."""
        return self._request(self.unarchive_endpoint, locals())


@_simple(MessageStreamManager, MessageStreamManager.get_all)
def get_message_streams() -> None:
    """The server's message streams (``GET /message-streams``)."""


@_simple(MessageStreamManager, MessageStreamManager.get)
def get_message_stream() -> None:
    """One message stream (``GET /message-streams/{id}``)."""


@_simple(MessageStreamManager, MessageStreamManager.create)
def create_message_stream() -> None:
    """Create a message stream (``POST /message-streams``)."""


@_simple(MessageStreamManager, MessageStreamManager.edit)
def edit_message_stream() -> None:
    """Change a message stream (``PATCH /message-streams/{id}``)."""


@_simple(MessageStreamManager, MessageStreamManager.archive)
def archive_message_stream() -> None:
    """Archive a message stream (``POST /message-streams/{id}/archive``)."""


@_simple(MessageStreamManager, MessageStreamManager.unarchive)
def unarchive_message_stream() -> None:
    """Unarchive a message stream (``POST /message-streams/{id}/unarchive``)."""


# -- Webhooks configuration (parsing the posts Postmark makes is elsewhere)


class _ValueObject:
    """Equality and repr from ``__slots__``: what a dataclass gives, for less.

    (Importing ``dataclasses`` alone costs several milliseconds of import time.)
    """

    __slots__: tuple[str, ...] = ()

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    __hash__: ClassVar[None] = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({shown})"


class WebhookTrigger(_ValueObject):
    """One kind of webhook event: whether it is posted, and its options.

    ``post_first_open_only`` applies to open triggers only (post the first open
    of each message); ``include_content`` to bounce and spam complaint triggers
    only (include the message content).
    """

    __slots__ = ("enabled", "post_first_open_only", "include_content")  # noqa: RUF023 - repr order

    def __init__(
        self,
        enabled: bool = True,
        post_first_open_only: bool | None = None,
        include_content: bool | None = None,
    ) -> None:
        self.enabled: bool = enabled
        self.post_first_open_only: bool | None = post_first_open_only
        self.include_content: bool | None = include_content

    @classmethod
    def from_dict(cls, data: Any) -> WebhookTrigger:
        """Read Postmark's ``{"Enabled": ..., ...}``."""
        raw = _as_dict(data)
        return cls(
            enabled=_as_bool(raw.get("Enabled")),
            post_first_open_only=_as_optional_bool(raw.get("PostFirstOpenOnly")),
            include_content=_as_optional_bool(raw.get("IncludeContent")),
        )

    def to_payload(self) -> dict[str, Any]:
        """Postmark's JSON form (an option that is not a bool raises :class:`ArgumentError`)."""
        options = {
            "post_first_open_only": self.post_first_open_only,
            "include_content": self.include_content,
        }
        return {"Enabled": bool(self.enabled), **_fields(_TRIGGER_OPTIONS, options, ArgumentError)}


#: A trigger's options, by Postmark's name.
_TRIGGER_OPTIONS: dict[str, tuple[str, _FieldCheck]] = {
    "post_first_open_only": ("PostFirstOpenOnly", bool),
    "include_content": ("IncludeContent", bool),
}


_TRIGGER_KEYS = {
    "opens": "Open",
    "clicks": "Click",
    "deliveries": "Delivery",
    "bounces": "Bounce",
    "spam_complaints": "SpamComplaint",
    "subscription_changes": "SubscriptionChange",
}


class WebhookTriggers(_ValueObject):
    """Which events a webhook posts; ``None`` leaves a trigger out of the request."""

    __slots__ = (  # noqa: RUF023 - in the constructor's order, which repr shows
        "opens",
        "clicks",
        "deliveries",
        "bounces",
        "spam_complaints",
        "subscription_changes",
    )

    def __init__(
        self,
        opens: WebhookTrigger | None = None,
        clicks: WebhookTrigger | None = None,
        deliveries: WebhookTrigger | None = None,
        bounces: WebhookTrigger | None = None,
        spam_complaints: WebhookTrigger | None = None,
        subscription_changes: WebhookTrigger | None = None,
    ) -> None:
        self.opens: WebhookTrigger | None = opens
        self.clicks: WebhookTrigger | None = clicks
        self.deliveries: WebhookTrigger | None = deliveries
        self.bounces: WebhookTrigger | None = bounces
        self.spam_complaints: WebhookTrigger | None = spam_complaints
        self.subscription_changes: WebhookTrigger | None = subscription_changes

    @classmethod
    def from_dict(cls, data: Any) -> WebhookTriggers:
        """Read Postmark's ``Triggers`` object."""
        raw = _as_dict(data)
        found = {
            name: WebhookTrigger.from_dict(raw[key])
            for name, key in _TRIGGER_KEYS.items()
            if raw.get(key) is not None
        }
        return cls(**found)

    def to_payload(self) -> dict[str, Any]:
        """Postmark's JSON form."""
        payload = {}
        for name, key in _TRIGGER_KEYS.items():
            trigger = getattr(self, name)
            if trigger is not None:
                if not isinstance(trigger, WebhookTrigger):
                    raise ArgumentError(f"triggers.{name} must be a WebhookTrigger")
                payload[key] = trigger.to_payload()
        return payload


def _http_headers(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, list):
        raise DataError("expected a list of headers")
    return {_as_str(_as_dict(item).get("Name")): _as_str(item.get("Value")) for item in value}


def _http_auth(value: Any) -> tuple[str, str] | None:
    raw = _as_dict(value)
    if not raw.get("Username") and not raw.get("Password"):
        return None
    return _as_str(raw.get("Username")), _as_str(raw.get("Password"))


class Webhook(Record):
    """A webhook configured on a message stream."""

    id: _Field[int] = _field("ID", _as_int)
    url: _Field[str] = _field("Url", _as_str)
    message_stream: _Field[str] = _field("MessageStream", _as_str)
    #: ``(username, password)`` for HTTP basic auth, or ``None``.
    http_auth: _Field[tuple[str, str] | None] = _field("HttpAuth", _http_auth)
    #: Extra headers Postmark sends with each post.
    http_headers: _Field[dict[str, str]] = _field("HttpHeaders", _http_headers)
    triggers: _Field[WebhookTriggers] = _field("Triggers", WebhookTriggers.from_dict)

    def __repr__(self) -> str:
        # The password is a secret: show only whether there is one.
        auth = self.raw.get("HttpAuth") or {}
        return (
            f"Webhook(id={self.id!r}, url={self.url!r}, "
            f"message_stream={self.message_stream!r}, http_auth={bool(auth)})"
        )


class WebhooksResponse(Response):
    """The webhooks of a stream (or of every stream)."""

    webhooks: _Answer[list[Webhook]] = _Answer(Webhook, "Webhooks", doc="The webhooks.")


class WebhookResponse(Response):
    """One webhook."""

    webhook: _Answer[Webhook] = _Answer(Webhook, doc="The webhook.")


def _webhook_url(name: str, value: Any, error: type[ArgumentError]) -> Any:
    """An http(s) URL on one line."""
    _check_text(name, value, error)
    try:
        parts = urlsplit(value)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # an unreadable host or port
        valid = False
    if not valid:
        raise error(f"a webhook {name} must be an http(s) URL, not {value!r}")
    return value


def _webhook_triggers(name: str, value: Any, error: type[ArgumentError]) -> Any:
    if not isinstance(value, WebhookTriggers):
        raise error(f"{name} must be a WebhookTriggers, not {type(value).__name__}")
    return value.to_payload()


def _basic_auth(name: str, value: Any, error: type[ArgumentError]) -> Any:
    if (
        not isinstance(value, tuple | list)
        or len(value) != 2
        or not all(isinstance(part, str) for part in value)
    ):
        raise error(f"{name} must be a (username, password) pair of strings")
    return {"Username": value[0], "Password": value[1]}


def _header_list(name: str, value: Any, error: type[ArgumentError]) -> Any:
    """``{name: value}`` as Postmark's ``[{"Name": ..., "Value": ...}]``, each checked."""
    if not isinstance(value, Mapping):
        raise error(f"{name} must be a mapping of header names to values")
    for header, text in value.items():
        if not isinstance(header, str) or not _HEADER_NAME.fullmatch(header):
            raise error(f"{name}: invalid header name {header!r}")
        if not isinstance(text, str) or _HEADER_UNSAFE.search(text) or _has_surrogate(text):
            raise error(f"{name}[{header!r}] must be text without CR, LF, NUL or lone surrogates")
    return [{"Name": header, "Value": text} for header, text in value.items()]


#: The fields of a webhook a caller sets.
_WEBHOOK_FIELDS: dict[str, _FieldSpec] = {
    "url": _webhook_url,
    "triggers": _webhook_triggers,
    "http_auth": _basic_auth,
    "http_headers": _header_list,
}


class WebhookManager(Interface):
    """Lists, reads, creates, edits and deletes webhook configurations."""

    list_endpoint: Endpoint[WebhooksResponse] = Endpoint(
        "GET", "/webhooks", query={"message_stream": "text"}, answer=WebhooksResponse
    )
    get_endpoint: Endpoint[WebhookResponse] = Endpoint(
        "GET", "/webhooks/{webhook_id}", answer=WebhookResponse
    )
    create_endpoint: Endpoint[WebhookResponse] = Endpoint(
        "POST",
        "/webhooks",
        body=_WEBHOOK_FIELDS | {"message_stream": "text"},
        answer=WebhookResponse,
    )
    edit_endpoint: Endpoint[WebhookResponse] = Endpoint(
        "PUT",
        "/webhooks/{webhook_id}",
        body=_WEBHOOK_FIELDS,
        at_least_one=True,
        what="edit_webhook",
        answer=WebhookResponse,
    )
    delete_endpoint: Endpoint[Response] = Endpoint("DELETE", "/webhooks/{webhook_id}")

    def get_all(
        self, *, message_stream: str | None = None, **options: Unpack[Options]
    ) -> WebhooksResponse:
        """The webhooks of one stream, or of all (``GET /webhooks``)."""
        return self._request(self.list_endpoint, locals())

    def get(self, webhook_id: int, **options: Unpack[Options]) -> WebhookResponse:
        """One webhook (``GET /webhooks/{id}``)."""
        return self._request(self.get_endpoint, locals())

    def create(
        self,
        url: str,
        *,
        message_stream: str | None = None,
        triggers: WebhookTriggers | None = None,
        http_auth: tuple[str, str] | None = None,
        http_headers: Mapping[str, str] | None = None,
        **options: Unpack[Options],
    ) -> WebhookResponse:
        """Create a webhook (``POST /webhooks``; Postmark's default stream is outbound)."""
        if url is None:
            raise ArgumentError("create_webhook needs a url")
        return self._request(self.create_endpoint, locals())

    def edit(
        self,
        webhook_id: int,
        *,
        url: str | None = None,
        triggers: WebhookTriggers | None = None,
        http_auth: tuple[str, str] | None = None,
        http_headers: Mapping[str, str] | None = None,
        **options: Unpack[Options],
    ) -> WebhookResponse:
        """Change a webhook (``PUT /webhooks/{id}``); triggers left out stay as they are."""
        return self._request(self.edit_endpoint, locals())

    def delete(self, webhook_id: int, **options: Unpack[Options]) -> Response:
        """Delete a webhook (``DELETE /webhooks/{id}``)."""
        return self._request(self.delete_endpoint, locals())


@_simple(WebhookManager, WebhookManager.get_all)
def get_webhooks() -> None:
    """The configured webhooks (``GET /webhooks``); see :class:`WebhookManager`."""


@_simple(WebhookManager, WebhookManager.get)
def get_webhook() -> None:
    """One webhook configuration (``GET /webhooks/{id}``)."""


@_simple(WebhookManager, WebhookManager.create)
def create_webhook() -> None:
    """Create a webhook (``POST /webhooks``)."""


@_simple(WebhookManager, WebhookManager.edit)
def edit_webhook() -> None:
    """Change a webhook (``PUT /webhooks/{id}``)."""


@_simple(WebhookManager, WebhookManager.delete)
def delete_webhook() -> None:
    """Delete a webhook (``DELETE /webhooks/{id}``)."""


# -- Suppressions

#: Postmark takes at most this many addresses per suppression request.
MAX_SUPPRESSIONS_PER_REQUEST = 50


class Suppression(Record):
    """An address that a message stream does not deliver to."""

    email_address: _Field[str] = _field("EmailAddress", _as_str)
    #: ``"HardBounce"``, ``"SpamComplaint"`` or ``"ManualSuppression"``.
    suppression_reason: _Field[str] = _field("SuppressionReason", _as_str)
    #: ``"Recipient"``, ``"Customer"`` or ``"Admin"``.
    origin: _Field[str] = _field("Origin", _as_str)
    created_at: _Field[datetime | None] = _field("CreatedAt", parse_datetime)


class SuppressionResult(Record):
    """What happened to one address of a suppress or unsuppress request."""

    email_address: _Field[str] = _field("EmailAddress", _as_str)
    #: ``"Suppressed"``, ``"Deleted"`` or ``"Failed"``.
    status: _Field[str] = _field("Status", _as_str)
    message: _Field[str | None] = _field("Message", _as_optional_str)

    @property
    def ok(self) -> bool:
        """False when Postmark could not change this address."""
        return self.status != "Failed"


class SuppressionsResponse(Response):
    """The suppressions of a stream."""

    suppressions: _Answer[list[Suppression]] = _Answer(
        Suppression, "Suppressions", doc="The suppressed addresses."
    )


class _SuppressionsChanged(Response):
    """The answer to one request of a suppression change (at most 50 addresses)."""

    results: _Answer[list[SuppressionResult]] = _Answer(
        SuppressionResult, "Suppressions", doc="Each address's result."
    )


class SuppressionResults:
    """The per-address results of every request a suppression change took."""

    def __init__(self, responses: list[Response], results: list[SuppressionResult]) -> None:
        #: One :class:`Response` per request of at most 50 addresses.
        self.responses = responses
        #: Every address's result, in input order.
        self.results = results

    @property
    def failed(self) -> list[SuppressionResult]:
        """The addresses Postmark could not change."""
        return [result for result in self.results if not result.ok]

    def __iter__(self) -> Iterator[SuppressionResult]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def __repr__(self) -> str:
        return f"<SuppressionResults {len(self.results)} ({len(self.failed)} failed)>"


def _suppression_entries(name: str, value: Any, error: type[ArgumentError]) -> Any:
    """One address or several as Postmark's ``[{"EmailAddress": ...}]``, each checked."""
    addresses = [value] if isinstance(value, str) else value
    if not isinstance(addresses, Iterable) or isinstance(addresses, Mapping):
        raise error(f"{name} must be an address or a list of addresses")
    entries = [{"EmailAddress": _required_text("email address", item, error)} for item in addresses]
    if not entries:
        raise error("no email addresses given")
    return entries


class SuppressionManager(Interface):
    """Lists, adds and removes the suppressed addresses of a message stream."""

    dump_endpoint: Endpoint[SuppressionsResponse] = Endpoint(
        "GET",
        "/message-streams/{message_stream}/suppressions/dump",
        query={
            "suppression_reason": "text",
            "origin": "text",
            "from_date": ("fromdate", "date"),
            "to_date": ("todate", "date"),
            "email_address": "text",
        },
        answer=SuppressionsResponse,
    )
    create_endpoint: Endpoint[_SuppressionsChanged] = Endpoint(
        "POST",
        "/message-streams/{message_stream}/suppressions",
        idempotent=True,
        body={"suppressions": "json"},
        answer=_SuppressionsChanged,
    )
    delete_endpoint: Endpoint[_SuppressionsChanged] = Endpoint(
        "POST",
        "/message-streams/{message_stream}/suppressions/delete",
        idempotent=True,
        body={"suppressions": "json"},
        answer=_SuppressionsChanged,
    )

    def get_all(
        self,
        message_stream: str = "outbound",
        *,
        suppression_reason: str | None = None,
        origin: str | None = None,
        from_date: date | str | None = None,
        to_date: date | str | None = None,
        email_address: str | None = None,
        **options: Unpack[Options],
    ) -> SuppressionsResponse:
        """The stream's suppressions, optionally filtered (``.../suppressions/dump``)."""
        return self._request(self.dump_endpoint, locals())

    def create(
        self,
        email_addresses: str | Iterable[str],
        message_stream: str = "outbound",
        **options: Unpack[Options],
    ) -> SuppressionResults:
        """Stop delivering to these addresses, 50 per request."""
        return self._change(self.create_endpoint, locals())

    def delete(
        self,
        email_addresses: str | Iterable[str],
        message_stream: str = "outbound",
        **options: Unpack[Options],
    ) -> SuppressionResults:
        """Deliver to these addresses again, 50 per request (not spam complaints)."""
        return self._change(self.delete_endpoint, locals())

    def _change(
        self, endpoint: Endpoint[_SuppressionsChanged], arguments: Mapping[str, Any]
    ) -> SuppressionResults:
        """Every address checked first, then sent 50 per request."""
        entries = _suppression_entries(
            "email_addresses", arguments["email_addresses"], ArgumentError
        )
        size = MAX_SUPPRESSIONS_PER_REQUEST
        answers: list[Response] = []
        results: list[SuppressionResult] = []
        for start in range(0, len(entries), size):
            chunk = entries[start : start + size]
            answer = self._request(endpoint, {**arguments, "suppressions": chunk})
            answers.append(answer)
            results.extend(answer.results)
        return SuppressionResults(answers, results)


@_simple(SuppressionManager, SuppressionManager.get_all)
def get_suppressions() -> None:
    """A stream's suppressed addresses; see :class:`SuppressionManager`."""


@_simple(SuppressionManager, SuppressionManager.create)
def create_suppressions() -> None:
    """Suppress addresses on a stream, 50 per request; every result is returned."""


@_simple(SuppressionManager, SuppressionManager.delete)
def delete_suppressions() -> None:
    """Reactivate suppressed addresses, 50 per request; every result is returned."""


# -- Stats


def _snake_key(name: str) -> str:
    """``SMTPApiError`` -> ``smtp_api_error``, ``Google Chrome`` -> ``google_chrome``."""
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name.strip())
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    return re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower()


def _as_day(value: Any) -> date | None:
    moment = parse_datetime(value)
    return None if moment is None else moment.date()


class StatsDay(Record):
    """One day of a statistic: its date and counts."""

    date: _Field[date | None] = _field("Date", _as_day)

    @property
    def counts(self) -> dict[str, Any]:
        """The day's numbers, keyed in snake_case (``{"sent": 3}``)."""
        return {_snake_key(key): value for key, value in self.raw.items() if key != "Date"}

    def __getattr__(self, name: str) -> Any:
        try:
            return self.counts[name]
        except KeyError:
            raise AttributeError(name) from None

    def to_dict(self) -> dict[str, Any]:
        """The date and the counts as one dict."""
        return {"date": self.date, **self.counts}


class Stats(Record):
    """A statistic: totals as snake_case attributes (``stats.sent``) and ``days``."""

    days: _Field[list[StatsDay]] = _field("Days", _as_records(StatsDay))

    @property
    def totals(self) -> dict[str, Any]:
        """The totals over the whole period, keyed in snake_case."""
        return {_snake_key(key): value for key, value in self.raw.items() if key != "Days"}

    def __getattr__(self, name: str) -> Any:
        try:
            return self.totals[name]
        except KeyError:
            raise AttributeError(name) from None

    def to_dict(self) -> dict[str, Any]:
        """The totals and the days as one dict."""
        return {**self.totals, "days": [day.to_dict() for day in self.days]}

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in self.totals.items())
        return f"Stats({shown}, days=<{len(self.raw.get('Days') or [])} days>)"


class StatsResponse(Response):
    """One statistic."""

    stats: _Answer[Stats] = _Answer(Stats, doc="The statistic.")


#: Every statistic Postmark keeps, by the name :func:`get_stats` takes.
STATS: dict[str, Endpoint[StatsResponse]] = {
    name: Endpoint(
        "GET",
        "/stats/outbound" + path,
        query={
            "tag": ("tag", "text"),
            "from_date": ("fromdate", "date"),
            "to_date": ("todate", "date"),
            "message_stream": ("messagestream", "text"),
        },
        answer=StatsResponse,
    )
    for name, path in {
        "overview": "",
        "sends": "/sends",
        "bounces": "/bounces",
        "spam": "/spam",
        "tracked": "/tracked",
        "opens": "/opens",
        "opens_platforms": "/opens/platforms",
        "opens_email_clients": "/opens/emailclients",
        "opens_read_times": "/opens/readtimes",
        "clicks": "/clicks",
        "clicks_browser_families": "/clicks/browserfamilies",
        "clicks_platforms": "/clicks/platforms",
        "clicks_location": "/clicks/location",
    }.items()
}


class StatsGetter(Interface):
    """Reads Postmark's outbound statistics (see :data:`STATS` for the kinds)."""

    def get(
        self,
        kind: str = "overview",
        *,
        tag: str | None = None,
        from_date: date | str | None = None,
        to_date: date | str | None = None,
        message_stream: str | None = None,
        **options: Unpack[Options],
    ) -> StatsResponse:
        """One statistic, optionally for one tag, period and stream."""
        endpoint = STATS.get(kind) if isinstance(kind, str) else None
        if endpoint is None:
            raise ArgumentError(f"unknown statistic {kind!r}; choose one of {', '.join(STATS)}")
        return self._request(endpoint, locals())


@_simple(StatsGetter, StatsGetter.get)
def get_stats() -> None:
    """One outbound statistic (``GET /stats/outbound...``); see :data:`STATS`."""


# -- Inbound rules


class InboundRule(Record):
    """An inbound rule trigger: an address or domain whose mail is blocked."""

    id: _Field[int] = _field("ID", _as_int)
    rule: _Field[str] = _field("Rule", _as_str)


class InboundRulesResponse(PageResponse):
    """A page of inbound rules."""

    inbound_rules: _Answer[list[InboundRule]] = _Answer(
        InboundRule, "InboundRules", doc="The rules of this page."
    )


class InboundRuleResponse(Response):
    """One inbound rule."""

    inbound_rule: _Answer[InboundRule] = _Answer(InboundRule, doc="The rule.")


class InboundRuleManager(Interface):
    """Lists, creates and deletes inbound rule triggers."""

    list_endpoint: Endpoint[InboundRulesResponse] = Endpoint(
        "GET",
        "/triggers/inboundrules",
        query=_PAGE_QUERY,
        answer=InboundRulesResponse,
        items=("InboundRules", InboundRule),
    )
    create_endpoint: Endpoint[InboundRuleResponse] = Endpoint(
        "POST", "/triggers/inboundrules", body={"rule": "required"}, answer=InboundRuleResponse
    )
    delete_endpoint: Endpoint[Response] = Endpoint("DELETE", "/triggers/inboundrules/{rule_id}")

    def get_page(
        self, count: int = 100, offset: int = 0, **options: Unpack[Options]
    ) -> InboundRulesResponse:
        """One page of rules (``GET /triggers/inboundrules``)."""
        return self._request(self.list_endpoint, locals())

    def iter(
        self, *, max_results: int | None = None, **options: Unpack[Options]
    ) -> Iterator[InboundRule]:
        """Every rule, fetched a page at a time."""
        return self._iter_listing(self.list_endpoint, locals())

    #: The earlier name of :meth:`iter`.
    iterate = iter

    def create(self, rule: str, **options: Unpack[Options]) -> InboundRuleResponse:
        """Block inbound mail from an address or domain."""
        return self._request(self.create_endpoint, locals())

    def delete(self, rule_id: int, **options: Unpack[Options]) -> Response:
        """Delete a rule by id."""
        return self._request(self.delete_endpoint, locals())


@_simple(InboundRuleManager, InboundRuleManager.get_page)
def get_inbound_rules() -> None:
    """One page of inbound rules; see :class:`InboundRuleManager`."""


@_simple(InboundRuleManager, InboundRuleManager.iter)
def iter_inbound_rules() -> None:
    """Every inbound rule, a page at a time."""


@_simple(InboundRuleManager, InboundRuleManager.create)
def create_inbound_rule() -> None:
    """Block inbound mail from an address or domain (``POST /triggers/inboundrules``)."""


@_simple(InboundRuleManager, InboundRuleManager.delete)
def delete_inbound_rule() -> None:
    """Delete an inbound rule (``DELETE /triggers/inboundrules/{id}``)."""


# ---- Account API: servers, domains, sender signatures, data removals --------

# Account endpoints send the account token (X-Postmark-Account-Token) and never
# the server token; without one they fail with ConfigurationError before any I/O.


class ServerDeliveryType(str, enum.Enum):
    """A server's environment, chosen when it is created."""

    LIVE = "Live"
    SANDBOX = "Sandbox"


#: The fields of a sender signature that can be changed: the note is free
#: text, the others one line each.
_SENDER_SIGNATURE_FIELDS: dict[str, _FieldSpec] = {
    "name": "text",
    "reply_to_email": "email",
    "return_path_domain": "text",
    "confirmation_personal_note": str,
}


def _with_settings(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """A ``**settings`` method's ``locals()`` as :meth:`Interface._request` reads them.

    The server settings join the named parameters and the rest are the call's
    :class:`Options`; any other name raises ``TypeError``, as an unknown
    keyword argument of an explicit signature does.
    """
    settings: Mapping[str, Any] = arguments["settings"]
    for name in settings:  # never "name": it is a parameter of its own
        if name not in _SERVER_FIELDS and name not in _OPTION_NAMES:
            known = ", ".join(field for field in _SERVER_FIELDS if field != "name")
            raise TypeError(f"unknown server setting {name!r}; the settings are: {known}")
    options = {name: value for name, value in settings.items() if name in _OPTION_NAMES}
    return {**arguments, **settings, "options": options}


class ServerSettings(Options, total=False):
    """A server's settings: keyword arguments of :func:`create_server` and kin.

    :func:`edit_account_server` takes them too, and any :class:`Options`.
    """

    #: The colour in Postmark's server list (purple, blue, turquoise, green, red,
    #: orange, yellow or grey).
    color: str | None
    smtp_api_activated: bool | None
    #: Include the raw message in inbound webhooks.
    raw_email_enabled: bool | None
    inbound_hook_url: str | None
    bounce_hook_url: str | None
    open_hook_url: str | None
    delivery_hook_url: str | None
    click_hook_url: str | None
    #: Post only the first open of a message to the open webhook.
    post_first_open_only: bool | None
    track_opens: bool | None
    track_links: TrackLinks | str | None
    inbound_domain: str | None
    #: The highest spam score an inbound message may have (0 to 30, steps of 5).
    inbound_spam_threshold: int | None
    include_bounce_content_in_hook: bool | None
    enable_smtp_api_error_hooks: bool | None


class AccountServer(Record):
    """A server of the account (``ID``, tokens, hooks and tracking settings)."""

    id: _Field[int] = _field("ID", _as_int)
    name: _Field[str] = _field("Name", _as_str)
    #: The server's API tokens (its server tokens).
    api_tokens: _Field[list[str]] = _field("ApiTokens", _as_str_list)
    color: _Field[str] = _field("Color", _as_str)
    smtp_api_activated: _Field[bool] = _field("SmtpApiActivated", _as_bool)
    raw_email_enabled: _Field[bool] = _field("RawEmailEnabled", _as_bool)
    #: ``"Live"`` or ``"Sandbox"``.
    delivery_type: _Field[str | None] = _field("DeliveryType", _as_optional_str)
    server_link: _Field[str] = _field("ServerLink", _as_str)
    inbound_address: _Field[str] = _field("InboundAddress", _as_str)
    inbound_hook_url: _Field[str | None] = _field("InboundHookUrl", _as_optional_str)
    bounce_hook_url: _Field[str | None] = _field("BounceHookUrl", _as_optional_str)
    open_hook_url: _Field[str | None] = _field("OpenHookUrl", _as_optional_str)
    delivery_hook_url: _Field[str | None] = _field("DeliveryHookUrl", _as_optional_str)
    click_hook_url: _Field[str | None] = _field("ClickHookUrl", _as_optional_str)
    post_first_open_only: _Field[bool] = _field("PostFirstOpenOnly", _as_bool)
    inbound_domain: _Field[str | None] = _field("InboundDomain", _as_optional_str)
    inbound_hash: _Field[str] = _field("InboundHash", _as_str)
    inbound_spam_threshold: _Field[int] = _field("InboundSpamThreshold", _as_int)
    track_opens: _Field[bool] = _field("TrackOpens", _as_bool)
    #: ``"None"``, ``"HtmlAndText"``, ``"HtmlOnly"`` or ``"TextOnly"``.
    track_links: _Field[str | None] = _field("TrackLinks", _as_optional_str)
    include_bounce_content_in_hook: _Field[bool] = _field("IncludeBounceContentInHook", _as_bool)
    enable_smtp_api_error_hooks: _Field[bool] = _field("EnableSmtpApiErrorHooks", _as_bool)


class Domain(Record):
    """A sending domain and its DNS verification state.

    Listings fill in only the id, name and the ``*_verified`` flags.
    """

    id: _Field[int] = _field("ID", _as_int)
    name: _Field[str] = _field("Name", _as_str)
    spf_verified: _Field[bool] = _field("SPFVerified", _as_bool)
    spf_host: _Field[str | None] = _field("SPFHost", _as_optional_str)
    spf_text_value: _Field[str | None] = _field("SPFTextValue", _as_optional_str)
    dkim_verified: _Field[bool] = _field("DKIMVerified", _as_bool)
    weak_dkim: _Field[bool] = _field("WeakDKIM", _as_bool)
    dkim_host: _Field[str | None] = _field("DKIMHost", _as_optional_str)
    dkim_text_value: _Field[str | None] = _field("DKIMTextValue", _as_optional_str)
    #: The new key's DNS record while a DKIM rotation waits for verification.
    dkim_pending_host: _Field[str | None] = _field("DKIMPendingHost", _as_optional_str)
    dkim_pending_text_value: _Field[str | None] = _field("DKIMPendingTextValue", _as_optional_str)
    dkim_revoked_host: _Field[str | None] = _field("DKIMRevokedHost", _as_optional_str)
    dkim_revoked_text_value: _Field[str | None] = _field("DKIMRevokedTextValue", _as_optional_str)
    safe_to_remove_revoked_key_from_dns: _Field[bool] = _field(
        "SafeToRemoveRevokedKeyFromDNS", _as_bool
    )
    dkim_update_status: _Field[str | None] = _field("DKIMUpdateStatus", _as_optional_str)
    return_path_domain: _Field[str | None] = _field("ReturnPathDomain", _as_optional_str)
    return_path_domain_verified: _Field[bool] = _field("ReturnPathDomainVerified", _as_bool)
    return_path_domain_cname_value: _Field[str | None] = _field(
        "ReturnPathDomainCNAMEValue", _as_optional_str
    )


class SenderSignature(Domain):
    """A confirmed (or pending) From address, with its domain's DNS state.

    Listings fill in only the id, domain, addresses, name and ``confirmed``.
    """

    domain: _Field[str] = _field("Domain", _as_str)
    email_address: _Field[str] = _field("EmailAddress", _as_str)
    reply_to_email_address: _Field[str | None] = _field("ReplyToEmailAddress", _as_optional_str)
    #: Whether the address owner clicked the confirmation link.
    confirmed: _Field[bool] = _field("Confirmed", _as_bool)
    confirmation_personal_note: _Field[str | None] = _field(
        "ConfirmationPersonalNote", _as_optional_str
    )


class DataRemoval(Record):
    """A data removal request: its id and ``status`` (``"Pending"`` or ``"Done"``)."""

    id: _Field[int] = _field("ID", _as_int)
    status: _Field[str] = _field("Status", _as_str)

    @property
    def done(self) -> bool:
        """True once Postmark has removed the data."""
        return self.status == "Done"


class AccountServersResponse(PageResponse):
    """A page of the account's servers."""

    servers: _Answer[list[AccountServer]] = _Answer(
        AccountServer, "Servers", doc="The servers of this page."
    )


class AccountServerResponse(Response):
    """One server of the account."""

    server: _Answer[AccountServer] = _Answer(AccountServer, doc="The server.")


class DomainsResponse(PageResponse):
    """A page of the account's domains."""

    domains: _Answer[list[Domain]] = _Answer(
        Domain, "Domains", doc="The domains of this page (id, name and verification flags)."
    )


class DomainResponse(Response):
    """One domain (after SPF verification or DKIM rotation, only those fields)."""

    domain: _Answer[Domain] = _Answer(Domain, doc="The domain.")


class SenderSignaturesResponse(PageResponse):
    """A page of the account's sender signatures."""

    sender_signatures: _Answer[list[SenderSignature]] = _Answer(
        SenderSignature, "SenderSignatures", doc="The sender signatures of this page."
    )


class SenderSignatureResponse(Response):
    """One sender signature."""

    sender_signature: _Answer[SenderSignature] = _Answer(
        SenderSignature, doc="The sender signature."
    )


class DataRemovalResponse(Response):
    """A data removal request and its status."""

    data_removal: _Answer[DataRemoval] = _Answer(DataRemoval, doc="The request.")


class AccountServerManager(Interface):
    """The account's servers, by id (``/servers``, account token).

    The server that a *server* token belongs to is read and edited through
    ``/server`` instead: :func:`get_server` and :func:`edit_server`.
    """

    list_endpoint: Endpoint[AccountServersResponse] = Endpoint(
        "GET",
        "/servers",
        token="account",
        query={"name": ("name", "text"), **_PAGE_QUERY},
        answer=AccountServersResponse,
        items=("Servers", AccountServer),
    )
    get_endpoint: Endpoint[AccountServerResponse] = Endpoint(
        "GET", "/servers/{server_id}", token="account", answer=AccountServerResponse
    )
    create_endpoint: Endpoint[AccountServerResponse] = Endpoint(
        "POST",
        "/servers",
        token="account",
        body={**_SERVER_FIELDS, "name": "required", "delivery_type": ServerDeliveryType},
        answer=AccountServerResponse,
    )
    edit_endpoint: Endpoint[AccountServerResponse] = Endpoint(
        "PUT",
        "/servers/{server_id}",
        token="account",
        body=_SERVER_FIELDS,
        at_least_one=True,
        what="edit_account_server",
        answer=AccountServerResponse,
    )
    delete_endpoint: Endpoint[Response] = Endpoint(
        "DELETE", "/servers/{server_id}", token="account"
    )

    def get_page(
        self,
        count: int = 100,
        offset: int = 0,
        *,
        name: str | None = None,
        **options: Unpack[Options],
    ) -> AccountServersResponse:
        """One page of servers (``GET /servers``); ``name`` filters by name."""
        return self._request(self.list_endpoint, locals())

    def iter(
        self,
        *,
        name: str | None = None,
        max_results: int | None = None,
        **options: Unpack[Options],
    ) -> Iterator[AccountServer]:
        """Every server (``name`` filters), fetched a page at a time."""
        return self._iter_listing(self.list_endpoint, locals())

    #: The earlier name of :meth:`iter`.
    iterate = iter

    def get(self, server_id: int, **options: Unpack[Options]) -> AccountServerResponse:
        """One server, tokens included (``GET /servers/{id}``)."""
        return self._request(self.get_endpoint, locals())

    def create(
        self,
        name: str,
        *,
        delivery_type: ServerDeliveryType | str | None = None,
        **settings: Unpack[ServerSettings],
    ) -> AccountServerResponse:
        """Create a server (``POST /servers``); ``settings`` are :class:`ServerSettings`."""
        return self._request(self.create_endpoint, _with_settings(locals()))

    def edit(
        self, server_id: int, *, name: str | None = None, **settings: Unpack[ServerSettings]
    ) -> AccountServerResponse:
        """Change a server's name or settings (``PUT /servers/{id}``); ``None`` keeps one."""
        return self._request(self.edit_endpoint, _with_settings(locals()))

    def delete(self, server_id: int, **options: Unpack[Options]) -> Response:
        """Delete a server (``DELETE /servers/{id}``; Postmark enables this per account)."""
        return self._request(self.delete_endpoint, locals())


class DomainManager(Interface):
    """The account's sending domains (``/domains``, account token)."""

    list_endpoint: Endpoint[DomainsResponse] = Endpoint(
        "GET",
        "/domains",
        token="account",
        query=_PAGE_QUERY,
        answer=DomainsResponse,
        items=("Domains", Domain),
    )
    get_endpoint: Endpoint[DomainResponse] = Endpoint(
        "GET", "/domains/{domain_id}", token="account", answer=DomainResponse
    )
    create_endpoint: Endpoint[DomainResponse] = Endpoint(
        "POST",
        "/domains",
        token="account",
        body={"name": "required", "return_path_domain": "text"},
        answer=DomainResponse,
    )
    edit_endpoint: Endpoint[DomainResponse] = Endpoint(
        "PUT",
        "/domains/{domain_id}",
        token="account",
        body={"return_path_domain": "text"},
        at_least_one=True,
        what="edit_domain",
        answer=DomainResponse,
    )
    delete_endpoint: Endpoint[Response] = Endpoint(
        "DELETE", "/domains/{domain_id}", token="account"
    )
    verify_dkim_endpoint: Endpoint[DomainResponse] = Endpoint(
        "PUT", "/domains/{domain_id}/verifyDkim", token="account", answer=DomainResponse
    )
    verify_return_path_endpoint: Endpoint[DomainResponse] = Endpoint(
        "PUT", "/domains/{domain_id}/verifyReturnPath", token="account", answer=DomainResponse
    )
    # A check of DNS records: safe to repeat.
    verify_spf_endpoint: Endpoint[DomainResponse] = Endpoint(
        "POST",
        "/domains/{domain_id}/verifyspf",
        token="account",
        idempotent=True,
        answer=DomainResponse,
    )
    rotate_dkim_endpoint: Endpoint[DomainResponse] = Endpoint(
        "POST", "/domains/{domain_id}/rotatedkim", token="account", answer=DomainResponse
    )

    def get_page(
        self, count: int = 100, offset: int = 0, **options: Unpack[Options]
    ) -> DomainsResponse:
        """One page of domains (``GET /domains``)."""
        return self._request(self.list_endpoint, locals())

    def iter(
        self, *, max_results: int | None = None, **options: Unpack[Options]
    ) -> Iterator[Domain]:
        """Every domain, fetched a page at a time."""
        return self._iter_listing(self.list_endpoint, locals())

    #: The earlier name of :meth:`iter`.
    iterate = iter

    def get(self, domain_id: int, **options: Unpack[Options]) -> DomainResponse:
        """One domain with its DNS records (``GET /domains/{id}``)."""
        return self._request(self.get_endpoint, locals())

    def create(
        self, name: str, *, return_path_domain: str | None = None, **options: Unpack[Options]
    ) -> DomainResponse:
        """Add a domain (``POST /domains``), optionally with a custom Return-Path."""
        return self._request(self.create_endpoint, locals())

    def edit(
        self, domain_id: int, *, return_path_domain: str | None = None, **options: Unpack[Options]
    ) -> DomainResponse:
        """Change a domain's Return-Path domain (``PUT /domains/{id}``)."""
        return self._request(self.edit_endpoint, locals())

    def delete(self, domain_id: int, **options: Unpack[Options]) -> Response:
        """Delete a domain (``DELETE /domains/{id}``)."""
        return self._request(self.delete_endpoint, locals())

    def verify_dkim(self, domain_id: int, **options: Unpack[Options]) -> DomainResponse:
        """Check the DKIM DNS record now (``PUT /domains/{id}/verifyDkim``)."""
        return self._request(self.verify_dkim_endpoint, locals())

    def verify_return_path(self, domain_id: int, **options: Unpack[Options]) -> DomainResponse:
        """Check the Return-Path CNAME now (``PUT /domains/{id}/verifyReturnPath``)."""
        return self._request(self.verify_return_path_endpoint, locals())

    def verify_spf(self, domain_id: int, **options: Unpack[Options]) -> DomainResponse:
        """Check the SPF record (``POST /domains/{id}/verifyspf``; only SPF fields come back)."""
        return self._request(self.verify_spf_endpoint, locals())

    def rotate_dkim(self, domain_id: int, **options: Unpack[Options]) -> DomainResponse:
        """Start replacing the DKIM key (``POST /domains/{id}/rotatedkim``).

        The new key's record shows in ``dkim_pending_host`` and
        ``dkim_pending_text_value`` until its DNS entry is verified.
        """
        return self._request(self.rotate_dkim_endpoint, locals())


class SenderSignatureManager(Interface):
    """The account's sender signatures (``/senders``, account token)."""

    list_endpoint: Endpoint[SenderSignaturesResponse] = Endpoint(
        "GET",
        "/senders",
        token="account",
        query=_PAGE_QUERY,
        answer=SenderSignaturesResponse,
        items=("SenderSignatures", SenderSignature),
    )
    get_endpoint: Endpoint[SenderSignatureResponse] = Endpoint(
        "GET", "/senders/{signature_id}", token="account", answer=SenderSignatureResponse
    )
    create_endpoint: Endpoint[SenderSignatureResponse] = Endpoint(
        "POST",
        "/senders",
        token="account",
        body={"from_email": "required_email"} | _SENDER_SIGNATURE_FIELDS | {"name": "required"},
        answer=SenderSignatureResponse,
    )
    edit_endpoint: Endpoint[SenderSignatureResponse] = Endpoint(
        "PUT",
        "/senders/{signature_id}",
        token="account",
        body=_SENDER_SIGNATURE_FIELDS,
        at_least_one=True,
        what="edit_sender_signature",
        answer=SenderSignatureResponse,
    )
    delete_endpoint: Endpoint[Response] = Endpoint(
        "DELETE", "/senders/{signature_id}", token="account"
    )
    resend_endpoint: Endpoint[Response] = Endpoint(
        "POST", "/senders/{signature_id}/resend", token="account"
    )
    # Deprecated by Postmark, which now checks DNS per domain (DomainManager).
    # A check of DNS records: safe to repeat.
    verify_spf_endpoint: Endpoint[SenderSignatureResponse] = Endpoint(
        "POST",
        "/senders/{signature_id}/verifyspf",
        token="account",
        idempotent=True,
        answer=SenderSignatureResponse,
    )
    request_new_dkim_endpoint: Endpoint[Response] = Endpoint(
        "POST", "/senders/{signature_id}/requestnewdkim", token="account"
    )

    def get_page(
        self, count: int = 100, offset: int = 0, **options: Unpack[Options]
    ) -> SenderSignaturesResponse:
        """One page of sender signatures (``GET /senders``)."""
        return self._request(self.list_endpoint, locals())

    def iter(
        self, *, max_results: int | None = None, **options: Unpack[Options]
    ) -> Iterator[SenderSignature]:
        """Every sender signature, fetched a page at a time."""
        return self._iter_listing(self.list_endpoint, locals())

    #: The earlier name of :meth:`iter`.
    iterate = iter

    def get(self, signature_id: int, **options: Unpack[Options]) -> SenderSignatureResponse:
        """One sender signature with its DNS records (``GET /senders/{id}``)."""
        return self._request(self.get_endpoint, locals())

    def create(
        self,
        from_email: str,
        name: str,
        *,
        reply_to_email: str | None = None,
        return_path_domain: str | None = None,
        confirmation_personal_note: str | None = None,
        **options: Unpack[Options],
    ) -> SenderSignatureResponse:
        """Add a From address (``POST /senders``); Postmark emails it a confirmation link."""
        return self._request(self.create_endpoint, locals())

    def edit(
        self,
        signature_id: int,
        *,
        name: str | None = None,
        reply_to_email: str | None = None,
        return_path_domain: str | None = None,
        confirmation_personal_note: str | None = None,
        **options: Unpack[Options],
    ) -> SenderSignatureResponse:
        """Change a sender signature (``PUT /senders/{id}``); ``None`` keeps a field."""
        return self._request(self.edit_endpoint, locals())

    def delete(self, signature_id: int, **options: Unpack[Options]) -> Response:
        """Delete a sender signature (``DELETE /senders/{id}``)."""
        return self._request(self.delete_endpoint, locals())

    def resend_confirmation(self, signature_id: int, **options: Unpack[Options]) -> Response:
        """Email the confirmation link again (``POST /senders/{id}/resend``)."""
        return self._request(self.resend_endpoint, locals())

    def verify_spf(self, signature_id: int, **options: Unpack[Options]) -> SenderSignatureResponse:
        """Deprecated by Postmark: check the signature's SPF record (``POST .../verifyspf``).

        Use :meth:`DomainManager.verify_spf` on the signature's domain instead.
        """
        return self._request(self.verify_spf_endpoint, locals())

    def request_new_dkim(self, signature_id: int, **options: Unpack[Options]) -> Response:
        """Deprecated by Postmark: ask for a new DKIM key (``POST .../requestnewdkim``).

        Use :meth:`DomainManager.rotate_dkim` on the signature's domain instead.
        """
        return self._request(self.request_new_dkim_endpoint, locals())


class DataRemovalManager(Interface):
    """Requests to erase a recipient's data (``/data-removals``, account token).

    Postmark enables data removals per account, on request to its support.
    """

    create_endpoint: Endpoint[DataRemovalResponse] = Endpoint(
        "POST",
        "/data-removals",
        token="account",
        body={
            "requested_by": "required_email",
            "requested_for": "required_email",
            "notify_when_completed": bool,
        },
        answer=DataRemovalResponse,
    )
    get_endpoint: Endpoint[DataRemovalResponse] = Endpoint(
        "GET", "/data-removals/{removal_id}", token="account", answer=DataRemovalResponse
    )

    def create(
        self,
        requested_by: str,
        requested_for: str,
        *,
        notify_when_completed: bool | None = None,
        **options: Unpack[Options],
    ) -> DataRemovalResponse:
        """Ask Postmark to erase ``requested_for``'s data (``POST /data-removals``).

        ``requested_by`` is the address of whoever asks; with
        ``notify_when_completed=True`` it is emailed once the removal is done.
        """
        return self._request(self.create_endpoint, locals())

    def get(self, removal_id: int, **options: Unpack[Options]) -> DataRemovalResponse:
        """A data removal request's status (``GET /data-removals/{id}``)."""
        return self._request(self.get_endpoint, locals())


# Simple API: account servers. The account versions carry "account" or a plural
# in their names: get_server() and edit_server() read and edit the server of a
# *server* token (GET/PUT /server).


@_simple(AccountServerManager, AccountServerManager.get_page)
def get_servers() -> None:
    """One page of the account's servers (``GET /servers``); see :class:`AccountServerManager`."""


@_simple(AccountServerManager, AccountServerManager.iter)
def iter_servers() -> None:
    """Every server of the account, a page at a time; ``name`` filters by name."""


@_simple(AccountServerManager, AccountServerManager.get)
def get_account_server() -> None:
    """One server of the account by id (``GET /servers/{id}``)."""


@_simple(AccountServerManager, AccountServerManager.create)
def create_server() -> None:
    """Create a server (``POST /servers``); ``settings`` are :class:`ServerSettings`."""


@_simple(AccountServerManager, AccountServerManager.edit)
def edit_account_server() -> None:
    """Change a server of the account by id (``PUT /servers/{id}``)."""


@_simple(AccountServerManager, AccountServerManager.delete)
def delete_server() -> None:
    """Delete a server of the account (``DELETE /servers/{id}``)."""


# Simple API: domains.


@_simple(DomainManager, DomainManager.get_page)
def get_domains() -> None:
    """One page of the account's domains (``GET /domains``); see :class:`DomainManager`."""


@_simple(DomainManager, DomainManager.iter)
def iter_domains() -> None:
    """Every domain of the account, a page at a time."""


@_simple(DomainManager, DomainManager.get)
def get_domain() -> None:
    """One domain with its DNS records (``GET /domains/{id}``)."""


@_simple(DomainManager, DomainManager.create)
def create_domain() -> None:
    """Add a sending domain (``POST /domains``)."""


@_simple(DomainManager, DomainManager.edit)
def edit_domain() -> None:
    """Change a domain's Return-Path domain (``PUT /domains/{id}``)."""


@_simple(DomainManager, DomainManager.delete)
def delete_domain() -> None:
    """Delete a domain (``DELETE /domains/{id}``)."""


@_simple(DomainManager, DomainManager.verify_dkim)
def verify_domain_dkim() -> None:
    """Check a domain's DKIM record now (``PUT /domains/{id}/verifyDkim``)."""


@_simple(DomainManager, DomainManager.verify_return_path)
def verify_domain_return_path() -> None:
    """Check a domain's Return-Path CNAME now (``PUT /domains/{id}/verifyReturnPath``)."""


@_simple(DomainManager, DomainManager.verify_spf)
def verify_domain_spf() -> None:
    """Check a domain's SPF record (``POST /domains/{id}/verifyspf``)."""


@_simple(DomainManager, DomainManager.rotate_dkim)
def rotate_domain_dkim() -> None:
    """Start replacing a domain's DKIM key (``POST /domains/{id}/rotatedkim``)."""


# Simple API: sender signatures.


@_simple(SenderSignatureManager, SenderSignatureManager.get_page)
def get_sender_signatures() -> None:
    """One page of sender signatures (``GET /senders``); see :class:`SenderSignatureManager`."""


@_simple(SenderSignatureManager, SenderSignatureManager.iter)
def iter_sender_signatures() -> None:
    """Every sender signature of the account, a page at a time."""


@_simple(SenderSignatureManager, SenderSignatureManager.get)
def get_sender_signature() -> None:
    """One sender signature (``GET /senders/{id}``)."""


@_simple(SenderSignatureManager, SenderSignatureManager.create)
def create_sender_signature() -> None:
    """Add a From address (``POST /senders``); Postmark emails it a confirmation link."""


@_simple(SenderSignatureManager, SenderSignatureManager.edit)
def edit_sender_signature() -> None:
    """Change a sender signature (``PUT /senders/{id}``)."""


@_simple(SenderSignatureManager, SenderSignatureManager.delete)
def delete_sender_signature() -> None:
    """Delete a sender signature (``DELETE /senders/{id}``)."""


@_simple(SenderSignatureManager, SenderSignatureManager.resend_confirmation)
def resend_sender_confirmation() -> None:
    """Email a sender signature's confirmation link again (``POST /senders/{id}/resend``)."""


@_simple(SenderSignatureManager, SenderSignatureManager.verify_spf)
def verify_sender_signature_spf() -> None:
    """Deprecated by Postmark: check a signature's SPF (``POST /senders/{id}/verifyspf``).

    Use :func:`verify_domain_spf` on the signature's domain instead.
    """


@_simple(SenderSignatureManager, SenderSignatureManager.request_new_dkim)
def request_new_sender_signature_dkim() -> None:
    """Deprecated by Postmark: a new DKIM key (``POST /senders/{id}/requestnewdkim``).

    Use :func:`rotate_domain_dkim` on the signature's domain instead.
    """


# Simple API: data removals.


@_simple(DataRemovalManager, DataRemovalManager.create)
def create_data_removal() -> None:
    """Ask Postmark to erase a recipient's data (``POST /data-removals``)."""


@_simple(DataRemovalManager, DataRemovalManager.get)
def get_data_removal() -> None:
    """A data removal request's status (``GET /data-removals/{id}``)."""


# ---- Command line ----------------------------------------------------------
#
# ``pystmark ...`` (the console script) and ``python -m pystmark ...``; the
# commands, options, output formats and exit codes are documented in
# docs/cli.rst. Importing pystmark pays only for these definitions: the
# command table, argparse, csv and the terminal code are built or imported
# when ``main()`` runs. The command line uses only the public API above.

#: Exit statuses of the command line.
_EXIT_OK, _EXIT_ERROR, _EXIT_USAGE, _EXIT_PARTIAL, _EXIT_INTERRUPTED = 0, 1, 2, 3, 130
#: Seconds without progress after which the command line says what it waits for.
_CLI_NOTICE_AFTER = 3.0
#: Rows read before a table's column widths are fixed (later rows are cut to fit).
_CLI_TABLE_SAMPLE = 50
_CLI_CELL_WIDTH = 60


class _CliError(Exception):
    """A failure of the command line: one line for stderr, and the exit status."""

    def __init__(self, message: str, code: int = _EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


class _CliRun:
    """One run of the command line: its arguments, settings, output and notices.

    A daemon thread prints one line on stderr when a request has been
    waiting for ``_CLI_NOTICE_AFTER`` seconds; when stderr is a terminal and
    stdout is not, a progress line (items, requests, rate) is redrawn on
    stderr as items arrive.
    """

    def __init__(self, args: Any, stdout: Any, stderr: Any) -> None:
        self.args = args
        self.stdout = stdout
        self.stderr = stderr
        #: What is being done, for error messages ("bounces list").
        self.doing: str = args.command_name
        #: True while a send may be on its way to Postmark.
        self.sending = False
        self.items = 0
        self.requests = 0
        self.started = self.last = time.monotonic()
        self._waiting_for = ""
        self._announced = 0.0
        self._drawn = 0.0
        # Progress when the data goes elsewhere (a file, a pipe): on the same
        # terminal the data itself shows it, and the two would interleave.
        self._progress = not args.quiet and _cli_isatty(stderr) and not _cli_isatty(stdout)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- settings

    def options(self, token: str = "server", *, sending: bool = False) -> dict[str, Any]:
        """The library settings from the flags and the environment."""
        args = self.args
        options: dict[str, Any] = {}
        if args.base_url is not None:
            options["base_url"] = args.base_url
        if args.timeout is not None:
            options["timeout"] = args.timeout
        if args.deadline is not None:
            options["deadline"] = args.deadline
        if args.max_retries is not None:
            options["max_retries"] = args.max_retries
        if token == "account":
            options["account_api_key"] = _cli_token(
                args.account_token, "--account-token", "POSTMARK_ACCOUNT_TOKEN"
            )
            if options["account_api_key"] is None:
                raise _CliError(
                    "no account token: pass --account-token or set POSTMARK_ACCOUNT_TOKEN"
                )
        else:
            server_token = _cli_token(args.server_token, "--server-token", "POSTMARK_SERVER_TOKEN")
            if args.test:
                options["test"] = True
            elif server_token is not None:
                options["api_key"] = server_token
            else:
                raise _CliError(
                    "no server token: pass --server-token or set POSTMARK_SERVER_TOKEN"
                    + (" (or --test to use Postmark's test token)" if sending else "")
                )
        if self._progress:
            options["hooks"] = {"response": [self._count_request]}
        return options

    # -- notices and progress

    def notice(self, text: str) -> None:
        """One line on stderr, unless ``--quiet`` (the progress line is cleared first)."""
        if self.args.quiet:
            return
        self._clear_progress()
        print(f"pystmark: {text}", file=self.stderr, flush=True)

    def waiting(self, what: str) -> None:
        """Say, if it takes long, that the next answer is awaited for ``what``."""
        self._waiting_for = what
        self.last = time.monotonic()
        if self._thread is None and not self.args.quiet:
            self._thread = threading.Thread(
                target=self._watch, name="pystmark-cli-notice", daemon=True
            )
            self._thread.start()

    def touch(self, count: int = 1) -> None:
        """Record progress: ``count`` more items are done."""
        self.items += count
        now = self.last = time.monotonic()
        if self._progress and now - self._drawn >= 0.2:
            self._drawn = now
            rate = self.items / max(now - self.started, 1e-9)
            print(
                f"\r{self.items:,} items, {self.requests:,} requests, {rate:,.0f}/s ",
                end="",
                file=self.stderr,
                flush=True,
            )

    def _count_request(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        self.requests += 1
        return response

    def _clear_progress(self) -> None:
        if self._progress and self._drawn:
            print("\r\x1b[K", end="", file=self.stderr, flush=True)
            self._drawn = 0.0

    def _watch(self) -> None:
        while not self._stop.is_set():
            last = self.last
            idle = time.monotonic() - last
            if idle >= _CLI_NOTICE_AFTER and self._announced != last:
                self._announced = last
                timeout = self.args.timeout or DEFAULT_TIMEOUT
                read = timeout[1] if isinstance(timeout, tuple) else timeout
                deadline = self.args.deadline or DEFAULT_DEADLINE
                done = f", {self.items:,} items so far" if self.items else ""
                self.notice(
                    f"still waiting for Postmark: {self._waiting_for} ({idle:.0f} s{done}; "
                    f"read timeout {read:g} s, deadline {deadline:g} s per call)"
                )
            self._stop.wait(max(_CLI_NOTICE_AFTER - idle, 0.05))

    def close(self) -> None:
        """Stop the notice thread and clear the progress line."""
        self._stop.set()
        self._clear_progress()

    # -- output

    def output_format(self, default: str = "table") -> str:
        """The ``--format`` asked for, or the command's default."""
        chosen = getattr(self.args, "format", None)
        return str(chosen or default)

    def write_rows(
        self, rows: Iterable[Any], columns: Sequence[str], *, default: str = "table"
    ) -> int:
        """Write records (or dicts) as a table, JSON, JSONL or CSV; return the count."""
        from itertools import chain

        fields = _cli_fields(self.args, columns)
        out, form = self.stdout, self.output_format(default)
        plain: Iterator[dict[str, Any]] = map(_cli_plain, rows)
        first = next(plain, None)
        if first is not None:
            _cli_check_fields(self.args, fields, first)
            plain = chain([first], plain)
        count = 0
        if form in ("json", "jsonl"):
            # One encoder for the whole listing (json.dumps makes one per call).
            encode = json.JSONEncoder(ensure_ascii=False, default=_cli_json_default).encode
            separator = ",\n" if form == "json" else "\n"
            if form == "json":
                out.write("[\n")
            for data in plain:
                if getattr(self.args, "fields", None):
                    data = {name: data.get(name) for name in fields}
                out.write((separator if count and form == "json" else "") + encode(data))
                if form == "jsonl":
                    out.write("\n")
                count += 1
                self.touch()
            if form == "json":
                out.write("\n]\n" if count else "]\n")
        elif form == "csv":
            import csv

            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(fields)
            for data in plain:
                writer.writerow([_cli_cell(data.get(name)) for name in fields])
                count += 1
                self.touch()
        else:
            count = _cli_table(self, plain, fields)
        out.flush()
        return count

    def write_record(self, record: Any) -> None:
        """Write one record: ``field  value`` lines, or one JSON object / CSV row."""
        data = _cli_plain(record)
        _cli_check_fields(self.args, _cli_fields(self.args, list(data)), data)
        form = self.output_format()
        if form == "table":
            fields = _cli_fields(self.args, list(data))
            width = max((len(name) for name in fields), default=0)
            for name in fields:
                self.stdout.write(f"{name.ljust(width)}  {_cli_cell(data.get(name), True)}\n")
            self.stdout.flush()
        elif form == "json":
            self.stdout.write(_cli_json(data, indent=2) + "\n")
            self.stdout.flush()
        else:
            self.write_rows([data], list(data))


def _cli_isatty(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _cli_token(flag_value: str | None, flag: str, variable: str) -> str | None:
    """The token from the flag, else the environment; empty or blank is an error."""
    value, source = flag_value, flag
    if value is None:
        value, source = os.environ.get(variable), variable
    if value is None:
        return None
    if not value.strip():
        raise _CliError(f"{source} is empty (an empty token is never replaced by the test token)")
    return value


def _cli_plain(row: Any) -> dict[str, Any]:
    if isinstance(row, Record):
        return row.to_dict()
    return dict(row)


def _cli_json_default(value: Any) -> Any:
    """JSON for what ``to_dict()`` leaves: timestamps, dates and value objects."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    slots = getattr(type(value), "__slots__", None)
    if slots:  # the small value objects (WebhookTriggers ...): the attributes set
        fields = {name: getattr(value, name) for name in slots}
        return {name: item for name, item in fields.items() if item is not None}
    return str(value)


def _cli_json(data: Any, indent: int | None = None) -> str:
    return json.dumps(data, ensure_ascii=False, default=_cli_json_default, indent=indent)


def _cli_cell(value: Any, whole: bool = False) -> str:
    """One value as table or CSV text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, list) and all(not isinstance(item, dict | list) for item in value):
        return ", ".join(_cli_cell(item) for item in value)
    if isinstance(value, dict | list) or getattr(type(value), "__slots__", None):
        return _cli_json(value)
    text = str(value)
    return text if whole else " ".join(text.split())


def _cli_fields(args: Any, columns: Sequence[str]) -> list[str]:
    chosen = getattr(args, "fields", None)
    if not chosen:
        return list(columns)
    return [name.strip() for name in chosen.split(",") if name.strip()]


def _cli_check_fields(args: Any, fields: list[str], data: Mapping[str, Any]) -> None:
    """Refuse ``--fields`` naming a field the records do not have."""
    if getattr(args, "fields", None):
        unknown = [name for name in fields if name not in data]
        if unknown:
            raise _CliError(
                f"--fields: unknown field(s) {', '.join(unknown)}; the fields are "
                + ", ".join(data)
            )


def _cli_table(run: _CliRun, rows: Iterable[dict[str, Any]], fields: list[str]) -> int:
    """An aligned plain-text table; widths come from the first rows, later rows fit in."""
    out = run.stdout
    iterator = iter(rows)
    sample: list[list[str]] = []
    for data in iterator:
        sample.append([_cli_cell(data.get(name)) for name in fields])
        run.touch()
        if len(sample) >= _CLI_TABLE_SAMPLE:
            break
    widths = [
        min(max([len(name)] + [len(cells[index]) for cells in sample]), _CLI_CELL_WIDTH)
        for index, name in enumerate(fields)
    ]

    def line(cells: list[str]) -> str:
        fitted = [
            cell if len(cell) <= width else cell[: width - 1] + "…"
            for cell, width in zip(cells, widths, strict=True)
        ]
        padded = [cell.ljust(width) for cell, width in zip(fitted[:-1], widths, strict=False)]
        return "  ".join([*padded, *fitted[-1:]]).rstrip() + "\n"

    run._clear_progress()
    out.write(line([name.upper() for name in fields]))
    for cells in sample:
        out.write(line(cells))
    count = len(sample)
    for data in iterator:
        run._clear_progress()
        out.write(line([_cli_cell(data.get(name)) for name in fields]))
        count += 1
        run.touch()
    return count


# -- reading input


def _cli_read_text(path: str, what: str) -> str:
    """A file's text (``-``: standard input); a missing file is a usage error."""
    import sys

    try:
        if path == "-":
            _cli_stdin_notice(what)
            return sys.stdin.read()
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as error:
        raise _CliError(f"{what}: cannot read {path}: {_cli_reason(error)}") from None


def _cli_read_bytes(path: str, what: str) -> bytes:
    import sys

    try:
        if path == "-":
            _cli_stdin_notice(what)
            return sys.stdin.buffer.read()
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise _CliError(f"{what}: cannot read {path}: {_cli_reason(error)}") from None


def _cli_stdin_notice(what: str) -> None:
    """On a terminal, say that standard input is being read (not a hang)."""
    import sys

    if _cli_isatty(sys.stdin):
        print(f"pystmark: {what}: reading standard input (end with Ctrl-D)", file=sys.stderr)


def _cli_reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return " ".join(str(error).split())


def _cli_read_json(path: str, what: str) -> Any:
    text = _cli_read_text(path, what)
    try:
        return json.loads(text)
    except ValueError as error:
        raise _CliError(f"{what}: {path} is not valid JSON: {error}") from None


def _cli_lines(path: str, what: str) -> Iterator[tuple[int, str]]:
    """The non-blank lines of a file (``-``: standard input), numbered from 1."""
    for number, line in enumerate(_cli_read_text(path, what).splitlines(), 1):
        if line.strip():
            yield number, line


def _cli_date(text: str) -> date | datetime:
    """``2024-05-01``, ``2024-05-01T08:00:00`` (Postmark's US Eastern time) or ``7d`` ago."""
    import argparse

    value = text.strip()
    if value[:-1].isdigit() and value[-1:] in ("d", "D"):
        return date.today() - timedelta(days=int(value[:-1]))
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a date: {text!r} (give 2024-05-01, 2024-05-01T08:00:00 or 7d)"
        ) from None


def _cli_pair(text: str, separator: str, what: str) -> tuple[str, str]:
    name, found, value = text.partition(separator)
    if not found or not name.strip():
        raise _CliError(f"{what} must look like NAME{separator}VALUE, not {text!r}")
    return name.strip(), value.strip() if separator == ":" else value


def _cli_count(text: str) -> int:
    """A number of items: an integer >= 0."""
    import argparse

    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"not a number of items: {text!r}")
    return int(text)


def _cli_timeout(text: str) -> float | tuple[float, float]:
    """``30`` (connect and read) or ``5,30`` (connect, read)."""
    import argparse

    try:
        parts = [float(part) for part in text.split(",")]
    except ValueError:
        parts = []
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        return parts[0], parts[1]
    raise argparse.ArgumentTypeError(f"not a timeout: {text!r} (give 30 or 5,30)")


# -- sending


def _cli_send(run: _CliRun) -> int:
    args = run.args
    message = _cli_message(args)
    template = message.template_id is not None or bool(message.template_alias)
    message.validate(template=template)
    options = run.options(sending=True)
    run.doing = "send"
    run.sending = True
    run.waiting("send: Postmark to accept the message")
    sender = send_with_template if template else send
    response = sender(message, **options)
    run.sending = False
    if response.inactive_recipients:
        run.notice(
            "inactive recipients, not delivered to: " + ", ".join(response.inactive_recipients)
        )
    run.write_record(response.result)
    return _EXIT_OK


def _cli_message(args: Any) -> Message:
    """The message that ``send``'s flags (and ``--eml``) describe."""
    fields: dict[str, Any] = {}
    for name in ("sender", "reply_to", "subject", "tag", "message_stream", "track_opens"):
        value = getattr(args, name)
        if value is not None:
            fields[name] = value
    for name in ("to", "cc", "bcc"):
        values = getattr(args, name)
        if values:
            fields[name] = ", ".join(values)
    if args.track_links is not None:
        fields["track_links"] = args.track_links
    readers = [args.text_file, args.html_file, args.model, args.eml, *(args.attach or ())]
    if readers.count("-") > 1:
        raise _CliError("only one of the files given can be - (standard input)")
    if args.text is not None or args.text_file is not None:
        fields["text"] = (
            args.text if args.text is not None else (_cli_read_text(args.text_file, "--text-file"))
        )
    if args.html is not None or args.html_file is not None:
        fields["html"] = (
            args.html if args.html is not None else (_cli_read_text(args.html_file, "--html-file"))
        )
    if args.header:
        fields["headers"] = [_cli_pair(item, ":", "--header") for item in args.header]
    if args.metadata:
        fields["metadata"] = dict(_cli_pair(item, "=", "--metadata") for item in args.metadata)
    if args.template is not None:
        key = "template_id" if args.template.isdigit() else "template_alias"
        fields[key] = int(args.template) if args.template.isdigit() else args.template
        model = {} if args.model is None else _cli_read_json(args.model, "--model")
        if not isinstance(model, dict):
            raise _CliError(f"--model: {args.model} must hold a JSON object")
        fields["template_model"] = model
    elif args.model is not None:
        raise _CliError("--model needs --template")
    if args.inline_css is not None:
        fields["inline_css"] = args.inline_css
    message = Message(**fields)
    for path in args.attach or ():
        data = _cli_read_bytes(path, "--attach")
        message.attach_binary(data, os.path.basename(path))
    for item in args.inline or ():
        path, content_id = item, os.path.basename(item)
        if not os.path.exists(item) and ":" in item:
            path, content_id = item.rsplit(":", 1)
        data = _cli_read_bytes(path, "--inline")
        message.attach_binary(data, os.path.basename(path), content_id=content_id)
    if args.eml is not None:
        parsed = _cli_message_from_eml(_cli_read_bytes(args.eml, "--eml"))
        message = message.merged_with(parsed)
    return message


def _cli_message_from_eml(raw: bytes) -> Message:
    """A :class:`Message` from raw RFC 822 bytes, by :meth:`Message.from_email_message`."""
    import email.policy
    from email.parser import BytesParser

    parsed = BytesParser(policy=email.policy.default).parsebytes(raw)
    if not parsed.keys():
        raise _CliError("--eml: the file holds no RFC 822 message (no headers found)")
    return Message.from_email_message(parsed)


def _cli_send_batch(run: _CliRun) -> int:
    args = run.args
    skip: set[int] = set()
    if args.resume is not None:
        skip = _cli_resume_lines(run, args.resume)
    messages: list[tuple[int, Message, bool]] = []
    for number, line in _cli_lines(args.file, "send-batch"):
        if number in skip:
            continue
        where = f"{args.file} line {number}"
        try:
            data = json.loads(line)
        except ValueError as error:
            raise _CliError(f"{where}: not valid JSON: {error}") from None
        if not isinstance(data, dict):
            raise _CliError(f"{where}: a message must be a JSON object")
        try:
            message = Message.from_dict(data)
            template = message.template_id is not None or bool(message.template_alias)
            message.validate(template=template)
        except MessageError as error:
            raise _CliError(f"{where}: {error}") from None
        messages.append((number, message, template))
    options = run.options(sending=True)
    # One JSON line per message, written as each request is answered, so a run
    # that is stopped half way still tells which lines were sent.
    results: list[dict[str, Any]] = []
    stopped: PystmarkError | None = None
    for chunk in _cli_batches(messages):
        if stopped is not None:
            rows = [_cli_result(number, "unsent") for number, _, _ in chunk]
        else:
            batch = [message for _, message, _ in chunk]
            run.sending = True
            run.waiting(f"send-batch: Postmark to accept {len(batch)} messages")
            try:
                sender = send_batch_with_templates if chunk[0][2] else send_batch
                response = sender(batch, **options)
                rows = [
                    _cli_send_result(number, result)
                    for (number, _, _), result in zip(chunk, response.results, strict=True)
                ]
            except PystmarkError as error:
                stopped = error
                status = "unknown" if isinstance(error, SendOutcomeUnknownError) else "unsent"
                rows = [_cli_result(number, status, error) for number, _, _ in chunk]
            finally:
                run.sending = False
        run.stdout.write("".join(_cli_json(row) + "\n" for row in rows))
        run.stdout.flush()
        results.extend(rows)
        run.touch(len(rows))
    failed = [result for result in results if result["status"] != "sent"]
    if stopped is not None:
        unknown = isinstance(stopped, SendOutcomeUnknownError)
        run.notice(
            f"send-batch stopped: {stopped}"
            + ("" if unknown else "; the messages marked unsent were not sent")
        )
        if len(failed) == len(results):
            return _EXIT_ERROR
    elif failed:
        run.notice(f"{len(failed)} of {len(results)} messages were not accepted")
    return _EXIT_PARTIAL if failed else _EXIT_OK


def _cli_batches(
    messages: list[tuple[int, Message, bool]],
) -> Iterator[list[tuple[int, Message, bool]]]:
    """Requests of at most 500 messages, all with a template or all without."""
    chunk: list[tuple[int, Message, bool]] = []
    for item in messages:
        if chunk and (len(chunk) == MAX_BATCH_MESSAGES or chunk[0][2] != item[2]):
            yield chunk
            chunk = []
        chunk.append(item)
    if chunk:
        yield chunk


def _cli_send_result(number: int, result: SendResult) -> dict[str, Any]:
    return {
        "line": number,
        "status": "sent" if result.ok else "refused",
        "message_id": result.message_id or None,
        "to": result.to or None,
        "error_code": result.error_code,
        "message": result.message,
    }


def _cli_result(number: int, status: str, error: BaseException | None = None) -> dict[str, Any]:
    return {
        "line": number,
        "status": status,
        "message_id": None,
        "to": None,
        "error_code": getattr(error, "error_code", None),
        "message": None if error is None else str(error),
    }


def _cli_resume_lines(run: _CliRun, path: str) -> set[int]:
    """The lines a previous run's results mark as sent (or of unknown outcome)."""
    done: set[int] = set()
    unknown = 0
    for number, line in _cli_lines(path, "--resume"):
        try:
            result = json.loads(line)
            status, input_line = result["status"], int(result["line"])
        except (ValueError, TypeError, KeyError):
            raise _CliError(f"--resume: {path} line {number} is not a send-batch result") from None
        if status in ("sent", "unknown"):
            done.add(input_line)
            unknown += status == "unknown"
    if unknown:
        run.notice(
            f"--resume: skipping {unknown} message(s) whose outcome was unknown: they may have "
            "been delivered; check them (messages outbound) and send them again by hand"
        )
    return done


# -- reading: the table of listings and single reads


def _cli_list(run: _CliRun) -> int:
    """Run a listing from the command table: filters in, records out."""
    spec, args = run.args.spec, run.args
    filters = _cli_filter_values(args, spec.get("filters", ()))
    positional = [getattr(args, name) for name in spec.get("positional", ())]
    call = spec["call"]
    if spec.get("message_call") and args.message_id is not None:
        if filters:
            raise _CliError("--message-id cannot be combined with filters")
        call, positional = spec["message_call"], [args.message_id]
    options = run.options(spec.get("token", "server"))
    # Without --all or --max, a first screenful, and a notice when there is more.
    default = not args.all and args.max is None
    limit = None if args.all else (_CLI_DEFAULT_MAX if default else args.max)
    fetch = None if limit is None else limit + default
    run.waiting(f"{run.doing}: the first page")
    if spec.get("paged", True):
        items: Iterable[Any] = call(*positional, **filters, max_results=fetch, **options)
    else:
        everything = spec["items"](call(*positional, **filters, **options))
        items = everything if fetch is None else everything[:fetch]
    more: list[bool] = []
    if default:
        items = _cli_take(items, cast(int, limit), more)
    run.write_rows(items, spec["columns"])
    if more:
        run.notice(f"showing the first {limit}; use --max N or --all for more")
    return _EXIT_OK


#: Items a listing shows without --all or --max.
_CLI_DEFAULT_MAX = 100


def _cli_take(items: Iterable[Any], limit: int, more: list[bool]) -> Iterator[Any]:
    """The first ``limit`` items; ``more`` gets an entry if there is another."""
    for index, item in enumerate(items):
        if index >= limit:
            more.append(True)
            return
        yield item


def _cli_filter_values(args: Any, filters: Iterable[tuple[Any, ...]]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for flag, name, kind, _help in filters:
        value = getattr(args, name)
        if value is None or value == []:
            continue
        if kind == "metadata":
            value = dict(_cli_pair(item, "=", flag) for item in value)
        values[name] = value
    return values


def _cli_get(run: _CliRun) -> int:
    """Run a single read from the command table: one record out."""
    spec, args = run.args.spec, run.args
    positional = [getattr(args, name) for name in spec.get("positional", ())]
    filters = _cli_filter_values(args, spec.get("filters", ()))
    options = run.options(spec.get("token", "server"))
    call = spec["call"]
    if getattr(args, "inbound", False):
        call = spec["inbound_call"]
    run.waiting(f"{run.doing}: Postmark's answer")
    response = call(*positional, **filters, **options)
    if spec.get("text"):
        text = spec["text"](response)
        run.stdout.write(text if text.endswith("\n") or not text else text + "\n")
        run.stdout.flush()
        return _EXIT_OK
    result = spec["result"](response)
    if isinstance(result, list):
        run.write_rows(result, spec["columns"])
    else:
        run.write_record(result)
    return _EXIT_OK


def _cli_stats(run: _CliRun) -> int:
    args = run.args
    filters = _cli_filter_values(args, args.spec["filters"])
    run.waiting(f"stats {args.kind}: Postmark's answer")
    stats = get_stats(args.kind, **filters, **run.options()).stats
    if args.by_day:
        days = [day.to_dict() for day in stats.days]
        columns = list(dict.fromkeys(name for day in days for name in day)) or ["date"]
        run.write_rows(days, columns)
    else:
        run.write_record(stats.totals)
    return _EXIT_OK


def _cli_delivery_stats(response: DeliveryStatsResponse) -> list[dict[str, Any]]:
    rows = [
        {
            "type": "All" if entry.is_total else str(entry.type),
            "name": entry.name,
            "count": entry.count,
        }
        for entry in response.counts
    ]
    rows.append({"type": "Inactive", "name": "Inactive addresses", "count": response.inactive})
    return rows


def _cli_ids(run: _CliRun, given: Sequence[str], path: str | None, key: str) -> list[str]:
    """Ids from the arguments and from a file: one per line, or JSONL with ``key``."""
    ids = list(given)
    if path is not None:
        for number, line in _cli_lines(path, "--file"):
            text = line.strip()
            if text.startswith("{"):
                try:
                    value = json.loads(text)[key]
                except (ValueError, KeyError, TypeError):
                    raise _CliError(f"--file: {path} line {number} has no {key!r}") from None
                text = str(value)
            ids.append(text)
    if not ids:
        raise _CliError(f"give at least one {key.replace('_', ' ')} (or --file)")
    return ids


def _cli_activate(run: _CliRun) -> int:
    args = run.args
    ids = _cli_ids(run, args.ids, args.file, "id")
    for value in ids:
        if not value.isdigit():
            raise _CliError(f"not a bounce id: {value!r}")
    options = run.options()
    results: list[dict[str, Any]] = []
    for bounce_id in ids:
        run.waiting(f"bounces activate: bounce {bounce_id}")
        try:
            response = activate_bounce(bounce_id, **options)
        except (APIError, TransportError) as error:
            results.append(
                {
                    "id": int(bounce_id),
                    "status": "failed",
                    "email": None,
                    "inactive": None,
                    "message": str(error),
                }
            )
            continue
        bounce = response.bounce
        results.append(
            {
                "id": bounce.id,
                "status": "activated",
                "email": bounce.email,
                "inactive": bounce.inactive,
                "message": response.message,
            }
        )
    run.write_rows(results, ("id", "status", "email", "inactive", "message"))
    return _cli_partial(run, results, "bounces")


def _cli_partial(run: _CliRun, results: list[dict[str, Any]], what: str) -> int:
    """0 when every item succeeded, 3 when some failed, 1 when all failed."""
    failed = [result for result in results if result["status"] in ("failed", "Failed")]
    if not failed:
        return _EXIT_OK
    run.notice(f"{len(failed)} of {len(results)} {what} failed")
    return _EXIT_ERROR if len(failed) == len(results) else _EXIT_PARTIAL


def _cli_suppressions(run: _CliRun) -> int:
    args = run.args
    addresses = _cli_ids(run, args.addresses, args.file, "email_address")
    change = create_suppressions if args.spec["action"] == "add" else delete_suppressions
    run.waiting(f"{run.doing}: Postmark's answer")
    results = change(addresses, args.stream, **run.options())
    rows = [result.to_dict() for result in results]
    run.write_rows(rows, ("email_address", "status", "message"))
    return _cli_partial(run, rows, "addresses")


# -- templates as files


def _cli_template_dirs(root: str) -> list[tuple[str, str]]:
    """(kind folder, template folder) of each template under ``root``, layouts first."""
    found: list[tuple[str, str]] = []
    for kind in ("layouts", "templates"):
        base = os.path.join(root, kind)
        if os.path.isdir(base):
            found.extend((kind, name) for name in sorted(os.listdir(base)))
    return found


def _cli_read_template(root: str, kind: str, name: str) -> dict[str, Any]:
    """One template folder: ``meta.json`` plus ``content.html`` / ``content.txt``."""
    folder = os.path.join(root, kind, name)
    meta = _cli_read_json(os.path.join(folder, "meta.json"), f"{kind}/{name}")
    if not isinstance(meta, dict):
        raise _CliError(f"{kind}/{name}/meta.json must hold a JSON object")
    unknown = set(meta) - {
        "Name",
        "Alias",
        "Subject",
        "TemplateType",
        "LayoutTemplate",
        "TemplateId",
    }
    if unknown:
        raise _CliError(f"{kind}/{name}/meta.json: unknown field(s) {', '.join(sorted(unknown))}")
    template: dict[str, Any] = {
        "name": meta.get("Name"),
        "alias": meta.get("Alias"),
        "subject": meta.get("Subject"),
        "template_type": "Layout" if kind == "layouts" else "Standard",
        "declared_type": meta.get("TemplateType"),
        "layout_template": meta.get("LayoutTemplate"),
        "template_id": meta.get("TemplateId"),
        "html_body": None,
        "text_body": None,
        "folder": f"{kind}/{name}",
    }
    for file_name, key in (("content.html", "html_body"), ("content.txt", "text_body")):
        path = os.path.join(folder, file_name)
        if os.path.exists(path):
            template[key] = _cli_read_text(path, f"{kind}/{name}")
    return template


def _cli_template_problems(template: dict[str, Any]) -> list[str]:
    """What Postmark would refuse in a template read from files."""
    problems = []
    if not isinstance(template["name"], str) or not template["name"].strip():
        problems.append("meta.json needs a Name")
    if not isinstance(template["alias"], str | None):
        problems.append("Alias must be a string")
    if template["declared_type"] not in (None, template["template_type"]):
        problems.append(
            f"TemplateType is {template['declared_type']!r}, but the folder holds "
            f"{template['template_type']} templates"
        )
    if template["html_body"] is None and template["text_body"] is None:
        problems.append("needs content.html or content.txt")
    if template["template_type"] == "Standard" and not template["subject"]:
        problems.append("a standard template needs a Subject")
    if template["template_type"] == "Layout":
        for key in ("html_body", "text_body"):
            body = template[key]
            if body is not None and "{{{@content}}}" not in body.replace(" ", ""):
                problems.append(f"a layout's {key} must contain {{{{{{@content}}}}}}")
    return problems


def _cli_templates_validate(run: _CliRun) -> int:
    args = run.args
    entries = _cli_local_templates(args.directory)
    options = None if args.offline else run.options()
    rows: list[dict[str, Any]] = []
    for template in entries:
        problems = _cli_template_problems(template)
        if not problems and options is not None:
            run.waiting(f"templates validate: Postmark to check {template['folder']}")
            result = validate_template(
                subject=template["subject"],
                html_body=template["html_body"],
                text_body=template["text_body"],
                template_type=template["template_type"],
                **options,
            )
            problems = [f"line {issue.line}: {issue.message}" for issue in result.issues] or (
                [] if result.all_content_is_valid else ["Postmark found the content invalid"]
            )
        rows.append(
            {
                "folder": template["folder"],
                "alias": template["alias"],
                "valid": not problems,
                "problems": problems,
            }
        )
    run.write_rows(rows, ("folder", "alias", "valid", "problems"))
    invalid = sum(not row["valid"] for row in rows)
    if invalid:
        run.notice(f"{invalid} of {len(rows)} templates are not valid")
        return _EXIT_ERROR
    return _EXIT_OK


def _cli_local_templates(directory: str) -> list[dict[str, Any]]:
    if not os.path.isdir(directory):
        raise _CliError(f"{directory} is not a directory")
    entries = [
        _cli_read_template(directory, kind, name) for kind, name in _cli_template_dirs(directory)
    ]
    if not entries:
        raise _CliError(f"{directory} holds no templates/ or layouts/ folders")
    return entries


def _cli_templates_pull(run: _CliRun) -> int:
    args = run.args
    options = run.options()
    rows = []
    run.waiting("templates pull: the template list")
    listed = list(iter_templates(template_type="All", **options))
    for summary in sorted(listed, key=lambda item: item.template_type != "Layout"):
        run.waiting(f"templates pull: template {summary.alias or summary.template_id}")
        template = get_template(summary.template_id, **options).template
        kind = "layouts" if template.template_type == "Layout" else "templates"
        name = template.alias or str(template.template_id)
        if name in ("", ".", "..") or "/" in name or "\\" in name:
            raise _CliError(f"template {template.template_id}: cannot use {name!r} as a folder")
        folder = os.path.join(args.directory, kind, name)
        os.makedirs(folder, exist_ok=True)
        meta = {
            "Name": template.name,
            "Alias": template.alias,
            "TemplateType": template.template_type,
            "TemplateId": template.template_id,
        }
        if template.template_type != "Layout":
            meta["Subject"] = template.subject
            meta["LayoutTemplate"] = template.layout_template
        _cli_write_file(os.path.join(folder, "meta.json"), json.dumps(meta, indent=2) + "\n")
        for file_name, body in (
            ("content.html", template.html_body),
            ("content.txt", template.text_body),
        ):
            path = os.path.join(folder, file_name)
            if body is not None:
                _cli_write_file(path, body)
            elif os.path.exists(path):
                os.remove(path)
        rows.append(
            {
                "folder": f"{kind}/{name}",
                "alias": template.alias,
                "template_id": template.template_id,
                "name": template.name,
            }
        )
        run.touch()
    run.write_rows(rows, ("folder", "alias", "template_id", "name"))
    return _EXIT_OK


def _cli_write_file(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)


def _cli_templates_push(run: _CliRun) -> int:
    import sys

    args = run.args
    local = _cli_local_templates(args.directory)
    for template in local:
        problems = _cli_template_problems(template)
        if problems:
            raise _CliError(f"{template['folder']}: {'; '.join(problems)}")
    options = run.options()
    run.waiting("templates push: the template list")
    remote = {
        (item.alias or str(item.template_id)): item
        for item in iter_templates(template_type="All", **options)
    }
    by_id = {str(item.template_id): item for item in remote.values()}
    plan: list[tuple[str, dict[str, Any], Template | None]] = []
    for template in local:
        key = template["alias"] or str(template["template_id"] or "")
        found = remote.get(key) or by_id.get(str(template["template_id"]))
        if found is None:
            plan.append(("added", template, None))
            continue
        run.waiting(f"templates push: template {key}")
        current = get_template(found.template_id, **options).template
        if current.template_type != template["template_type"]:
            raise _CliError(
                f"{template['folder']}: is a {template['template_type']} here but a "
                f"{current.template_type} on the server (Postmark cannot change a template's type)"
            )
        changed = any(
            (template[field] or None) != (getattr(current, field) or None)
            for field in ("name", "subject", "html_body", "text_body", "layout_template")
            if template["template_type"] == "Standard"
            or field not in ("subject", "layout_template")
        )
        plan.append(("modified" if changed else "unchanged", template, current))
    rows = [
        {
            "action": action,
            "folder": template["folder"],
            "alias": template["alias"],
            "name": template["name"],
        }
        for action, template, _ in plan
    ]
    run.write_rows(rows, ("action", "folder", "alias", "name"))
    changes = [item for item in plan if item[0] != "unchanged"]
    counts = {
        action: sum(item[0] == action for item in plan)
        for action in ("added", "modified", "unchanged")
    }
    run.notice(", ".join(f"{count} {action}" for action, count in counts.items()))
    if not changes or args.dry_run:
        return _EXIT_OK
    if not args.yes:
        if not _cli_isatty(sys.stdin):
            raise _CliError("not pushing without confirmation: pass --yes (or --dry-run)")
        run.stderr.write(f"Push {len(changes)} template(s) to Postmark? [y/N] ")
        run.stderr.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            run.notice("nothing pushed")
            return _EXIT_OK
    for _, template, existing in changes:  # layouts first: they were read first
        run.waiting(f"templates push: Postmark to save {template['folder']}")
        run.doing = f"templates push ({template['folder']})"
        fields = {
            "name": template["name"],
            "subject": template["subject"],
            "html_body": template["html_body"],
            "text_body": template["text_body"],
        }
        if template["template_type"] == "Standard":
            fields["layout_template"] = template["layout_template"]
        if existing is not None:
            # What the folder no longer has is removed (None would leave it as it is).
            for field in ("html_body", "text_body", "layout_template"):
                if field in fields and fields[field] is None and getattr(existing, field):
                    fields[field] = ""
        if existing is None:
            create_template(
                alias=template["alias"],
                template_type=template["template_type"],
                **fields,
                **options,
            )
        else:
            edit_template(existing.template_id, **fields, **options)
        run.touch()
    run.notice(f"pushed {len(changes)} template(s)")
    return _EXIT_OK


# -- serve


def _cli_serve(argv: list[str], stderr: Any) -> int:
    """Forward ``pystmark serve ...`` to ``pystmark_testing.serve_main``."""
    try:
        import pystmark_testing  # type: ignore[import-not-found,unused-ignore]

        serve_main = pystmark_testing.serve_main
    except (ImportError, AttributeError) as error:
        print(
            f"pystmark: serve needs the pystmark_testing module, which is not available ({error})",
            file=stderr,
        )
        return _EXIT_USAGE
    try:
        return int(serve_main(list(argv)))
    except SystemExit as exit_request:  # its own --help and usage errors
        code = exit_request.code
        return code if isinstance(code, int) else _EXIT_USAGE if code else _EXIT_OK
    except KeyboardInterrupt:
        print("pystmark: interrupted", file=stderr)
        return _EXIT_INTERRUPTED


# -- the command table and the parser


def _cli_commands() -> dict[str, dict[str, Any]]:
    """Every command: area -> action -> how to run it (filters, call, columns)."""
    text = "text"
    dates = [
        ("--from-date", "from_date", "date", "from this date (YYYY-MM-DD, a datetime, or 7d ago)"),
        ("--to-date", "to_date", "date", "up to this date"),
    ]
    stream = [("--stream", "message_stream", text, "message stream id")]
    tracking = [
        ("--recipient", "recipient", text, "recipient address"),
        ("--tag", "tag", text, "tag"),
        *[
            (f"--{name.replace('_', '-')}", name, text, name.replace("_", " "))
            for name in (
                "client_name",
                "client_company",
                "client_family",
                "os_name",
                "os_family",
                "os_company",
                "platform",
                "country",
                "region",
                "city",
            )
        ],
        *stream,
        *dates,
    ]
    bounce_columns = [
        "id",
        "type",
        "email",
        "bounced_at",
        "inactive",
        "can_activate",
        "tag",
        "message_stream",
        "description",
    ]
    tracking_columns = [
        "received_at",
        "recipient",
        "message_id",
        "tag",
        "platform",
        "user_agent",
        "message_stream",
    ]
    return {
        "bounces": {
            "help": "read bounces, their raw source and stats; reactivate recipients",
            "list": {
                "run": _cli_list,
                "call": iter_bounces,
                "columns": bounce_columns,
                "help": "list bounces, newest first",
                "filters": [
                    (
                        "--type",
                        "bounce_type",
                        text,
                        "bounce type: HardBounce, SoftBounce, SpamComplaint... (any case)",
                    ),
                    ("--inactive", "inactive", "bool", "only inactive (or --no-inactive: active)"),
                    ("--email", "email_filter", text, "recipient address contains this"),
                    ("--tag", "tag", text, "tag"),
                    ("--message-id", "message_id", text, "the bounced message's id"),
                    *dates,
                    *stream,
                ],
                "examples": [
                    "pystmark bounces list --type HardBounce --from-date 7d --all --format csv",
                    "pystmark bounces list --inactive --max 10",
                ],
            },
            "get": {
                "run": _cli_get,
                "call": get_bounce,
                "positional": ["id"],
                "result": lambda response: response.bounce,
                "help": "show one bounce",
                "examples": ["pystmark bounces get 692560173"],
            },
            "dump": {
                "run": _cli_get,
                "call": get_bounce_dump,
                "positional": ["id"],
                "text": lambda response: response.dump,
                "formats": False,
                "help": "print a bounce's raw source",
                "examples": ["pystmark bounces dump 692560173 > bounce.eml"],
            },
            "activate": {
                "run": _cli_activate,
                "help": "reactivate bounced recipients, by bounce id",
                "examples": [
                    "pystmark bounces activate 692560173 692560174",
                    "pystmark bounces list --type HardBounce --inactive --all --format jsonl "
                    "| pystmark bounces activate --file -",
                ],
            },
            "stats": {
                "run": _cli_get,
                "call": get_delivery_stats,
                "result": _cli_delivery_stats,
                "columns": ["type", "name", "count"],
                "help": "bounce counts per type",
                "examples": ["pystmark bounces stats"],
            },
            "tags": {
                "run": _cli_get,
                "call": get_bounce_tags,
                "columns": ["tag"],
                "result": lambda response: [{"tag": tag} for tag in response.tags],
                "help": "tags of bounced messages",
                "examples": ["pystmark bounces tags"],
            },
        },
        "messages": {
            "help": "search sent and received messages; read details, sources, opens, clicks",
            "outbound": {
                "run": _cli_list,
                "call": iter_outbound_messages,
                "help": "search sent messages",
                "columns": [
                    "message_id",
                    "received_at",
                    "status",
                    "from_address",
                    "recipients",
                    "subject",
                    "tag",
                    "message_stream",
                ],
                "filters": [
                    ("--recipient", "recipient", text, "recipient address"),
                    ("--from-email", "from_email", text, "sender address"),
                    ("--tag", "tag", text, "tag"),
                    ("--status", "status", ["queued", "sent"], "delivery status"),
                    ("--subject", "subject", text, "subject"),
                    *stream,
                    *dates,
                    ("--metadata", "metadata", "metadata", "KEY=VALUE metadata (repeatable)"),
                ],
                "examples": ["pystmark messages outbound --recipient a@example.com --max 5"],
            },
            "inbound": {
                "run": _cli_list,
                "call": iter_inbound_messages,
                "help": "search received messages",
                "columns": ["message_id", "date", "status", "from_address", "to", "subject", "tag"],
                "filters": [
                    ("--recipient", "recipient", text, "recipient address"),
                    ("--from-email", "from_email", text, "sender address"),
                    ("--subject", "subject", text, "subject"),
                    ("--mailbox-hash", "mailbox_hash", text, "mailbox hash"),
                    ("--tag", "tag", text, "tag"),
                    (
                        "--status",
                        "status",
                        ["blocked", "processed", "queued", "failed", "scheduled"],
                        "status",
                    ),
                    *dates,
                ],
                "examples": ["pystmark messages inbound --status failed --all --format jsonl"],
            },
            "details": {
                "run": _cli_get,
                "call": get_outbound_message_details,
                "inbound_call": get_inbound_message_details,
                "positional": ["message_id"],
                "inbound": True,
                "result": lambda response: response.message,
                "help": "show a sent (or, with --inbound, received) message in full",
                "examples": ["pystmark messages details 0ac29aee-e1cd-480d-b08d-4f48548ff48d"],
            },
            "dump": {
                "run": _cli_get,
                "call": get_outbound_message_dump,
                "positional": ["message_id"],
                "text": lambda response: response.body,
                "formats": False,
                "help": "print a sent message's raw source",
                "examples": ["pystmark messages dump 0ac29aee-e1cd-480d-b08d-4f48548ff48d"],
            },
            "opens": {
                "run": _cli_list,
                "call": iter_opens,
                "message_call": iter_message_opens,
                "columns": tracking_columns,
                "filters": tracking,
                "help": "list opens (of every message, or of one with --message-id)",
                "examples": ["pystmark messages opens --from-date 1d --all --format csv"],
            },
            "clicks": {
                "run": _cli_list,
                "call": iter_clicks,
                "message_call": iter_message_clicks,
                "columns": [*tracking_columns[:3], "original_link", *tracking_columns[3:]],
                "filters": tracking,
                "help": "list clicks (on every message, or on one with --message-id)",
                "examples": ["pystmark messages clicks --message-id ID"],
            },
        },
        "suppressions": {
            "help": "list, add and remove suppressed addresses of a message stream",
            "list": {
                "run": _cli_list,
                "call": get_suppressions,
                "paged": False,
                "positional": ["stream"],
                "items": lambda response: response.suppressions,
                "columns": ["email_address", "suppression_reason", "origin", "created_at"],
                "filters": [
                    (
                        "--reason",
                        "suppression_reason",
                        ["HardBounce", "SpamComplaint", "ManualSuppression"],
                        "reason",
                    ),
                    ("--origin", "origin", ["Recipient", "Customer", "Admin"], "origin"),
                    ("--email", "email_address", text, "this address only"),
                    *dates,
                ],
                "help": "list a stream's suppressed addresses",
                "examples": ["pystmark suppressions list --reason HardBounce --format csv"],
            },
            "add": {
                "run": _cli_suppressions,
                "action": "add",
                "help": "suppress addresses (stop delivering to them)",
                "examples": ["pystmark suppressions add a@example.com b@example.com"],
            },
            "remove": {
                "run": _cli_suppressions,
                "action": "remove",
                "help": "remove suppressions (deliver again; not spam complaints)",
                "examples": ["pystmark suppressions remove --file addresses.txt --stream outbound"],
            },
        },
        "stats": {
            "run": _cli_stats,
            "help": "outbound statistics (totals, or --by-day)",
            "filters": [("--tag", "tag", text, "tag"), *dates, *stream],
            "examples": [
                "pystmark stats overview --from-date 30d",
                "pystmark stats bounces --by-day --format csv",
            ],
        },
        "servers": {
            "help": "the account's servers (account token)",
            "list": {
                "run": _cli_list,
                "call": iter_servers,
                "token": "account",
                "columns": ["id", "name", "color", "delivery_type", "server_link"],
                "filters": [("--name", "name", text, "name contains this")],
                "help": "list servers",
                "examples": ["pystmark servers list --format json"],
            },
            "get": {
                "run": _cli_get,
                "call": get_account_server,
                "token": "account",
                "positional": ["server_id"],
                "result": lambda response: response.server,
                "help": "show one server (its API tokens included)",
                "examples": ["pystmark servers get 1234"],
            },
        },
        "streams": {
            "help": "the server's message streams",
            "list": {
                "run": _cli_list,
                "call": get_message_streams,
                "paged": False,
                "items": lambda response: response.message_streams,
                "columns": ["id", "name", "message_stream_type", "description", "archived_at"],
                "filters": [
                    (
                        "--type",
                        "stream_type",
                        ["All", "Transactional", "Broadcasts", "Inbound"],
                        "stream type",
                    ),
                    ("--include-archived", "include_archived", "bool", "archived streams too"),
                ],
                "help": "list message streams",
                "examples": ["pystmark streams list"],
            },
        },
        "webhooks": {
            "help": "the server's webhook configurations",
            "list": {
                "run": _cli_list,
                "call": get_webhooks,
                "paged": False,
                "items": lambda response: response.webhooks,
                "columns": ["id", "url", "message_stream", "triggers"],
                "filters": stream,
                "help": "list webhooks",
                "examples": ["pystmark webhooks list --stream outbound"],
            },
        },
        "templates": {
            "help": "templates and layouts as files: pull, push, validate; list",
            "list": {
                "run": _cli_list,
                "call": iter_templates,
                "columns": ["template_id", "alias", "name", "template_type", "layout_template"],
                "filters": [
                    ("--type", "template_type", ["All", "Standard", "Layout"], "template type"),
                    ("--layout", "layout_template", text, "templates using this layout"),
                ],
                "help": "list templates",
                "examples": ["pystmark templates list --type Layout"],
            },
            "pull": {
                "run": _cli_templates_pull,
                "directory": True,
                "help": "write every template and layout into DIR as files",
                "examples": ["pystmark templates pull ./postmark"],
            },
            "push": {
                "run": _cli_templates_push,
                "directory": True,
                "help": "create or update the server's templates from DIR (only what changed)",
                "examples": [
                    "pystmark templates push ./postmark --dry-run",
                    "pystmark templates push ./postmark --yes",
                ],
            },
            "validate": {
                "run": _cli_templates_validate,
                "directory": True,
                "help": "check DIR's templates (locally, then with Postmark)",
                "examples": ["pystmark templates validate ./postmark --offline"],
            },
        },
    }


_CLI_DESCRIPTION = """\
The Postmark API from the command line: send messages, read bounces, messages,
suppressions, stats, servers, streams and webhooks, keep templates as files.

Tokens come from --server-token / --account-token or from POSTMARK_SERVER_TOKEN
/ POSTMARK_ACCOUNT_TOKEN; --test uses Postmark's test token (validated, never
delivered). Data goes to stdout; notices and errors go to stderr.

exit status: 0 ok, 1 Postmark or network error, 2 usage or bad input (nothing
sent), 3 partial failure (some items of a batch failed), 130 interrupted."""


_CLI_EXAMPLES = """\
examples:
  pystmark send --from me@example.com --to you@example.com --subject Hi --text Hello
  pystmark bounces list --type HardBounce --from-date 7d --all --format csv > bounces.csv
  pystmark messages outbound --recipient you@example.com --max 10
  pystmark templates push ./templates --yes

Run 'pystmark COMMAND --help' for a command's options and examples."""


def _cli_parser() -> Any:
    import argparse

    formatter = argparse.RawDescriptionHelpFormatter
    connection = argparse.ArgumentParser(add_help=False)
    group = connection.add_argument_group("connection")
    group.add_argument(
        "--server-token", metavar="TOKEN", help="server API token (default: POSTMARK_SERVER_TOKEN)"
    )
    group.add_argument(
        "--account-token",
        metavar="TOKEN",
        help="account API token (default: POSTMARK_ACCOUNT_TOKEN)",
    )
    group.add_argument(
        "--test", action="store_true", help="use Postmark's test token (validated, never delivered)"
    )
    group.add_argument(
        "--base-url", metavar="URL", help=f"API root (default: POSTMARK_API_URL or {API_URL})"
    )
    group.add_argument(
        "--timeout",
        type=_cli_timeout,
        metavar="SECONDS",
        help="per-request timeout: 30, or connect,read as 5,30 (default: 5,30)",
    )
    group.add_argument(
        "--deadline",
        type=float,
        metavar="SECONDS",
        help=f"total seconds per call, retries included (default: {DEFAULT_DEADLINE:g})",
    )
    group.add_argument(
        "--max-retries",
        type=int,
        metavar="N",
        help=f"retries of a failure that is safe to retry (default: {DEFAULT_MAX_RETRIES})",
    )
    group.add_argument(
        "--quiet", "-q", action="store_true", help="no notices or progress on stderr (errors still)"
    )
    group.add_argument(
        "--verbose", "-v", action="store_true", help="log every request and retry on stderr"
    )
    output = argparse.ArgumentParser(add_help=False)
    group = output.add_argument_group("output")
    group.add_argument(
        "--format",
        "-f",
        choices=["table", "json", "jsonl", "csv"],
        help="table (default), json, jsonl (one record per line) or csv",
    )
    group.add_argument("--fields", metavar="A,B,...", help="the fields to show, in order")

    parser = argparse.ArgumentParser(
        prog="pystmark",
        description=_CLI_DESCRIPTION,
        formatter_class=formatter,
        epilog=_CLI_EXAMPLES,
    )
    parser.add_argument("--version", action="version", version=f"pystmark {__version__}")
    areas = parser.add_subparsers(dest="area", metavar="COMMAND", required=True)

    def leaf(parent: Any, name: str, spec: dict[str, Any], full_name: str) -> Any:
        examples = "\n".join(f"  {line}" for line in spec.get("examples", ()))
        parents = [connection] + ([output] if spec.get("formats", True) else [])
        command = parent.add_parser(
            name,
            help=spec["help"],
            description=spec["help"][:1].upper() + spec["help"][1:],
            parents=parents,
            formatter_class=formatter,
            epilog=f"examples:\n{examples}" if examples else None,
        )
        command.set_defaults(run=spec["run"], spec=spec, command_name=full_name)
        for argument in spec.get("positional", ()):
            if argument == "stream":
                command.add_argument(
                    "--stream", default="outbound", help="message stream id (default: outbound)"
                )
            else:
                command.add_argument(argument, metavar=argument.upper())
        if spec.get("directory"):
            command.add_argument("directory", metavar="DIR", help="the templates folder")
        if spec.get("inbound"):
            command.add_argument(
                "--inbound", action="store_true", help="a received message, not a sent one"
            )
        if spec.get("message_call"):
            command.add_argument("--message-id", help="only this message's events")
        if spec["run"] is _cli_list:
            command.add_argument(
                "--all",
                action="store_true",
                help="every item (past Postmark's 10,000 cap where possible)",
            )
            command.add_argument("--max", type=_cli_count, metavar="N", help="at most N items")
        if spec.get("filters"):
            group = command.add_argument_group("filters")
            for flag, dest, kind, text in spec["filters"]:
                if kind == "bool":
                    group.add_argument(
                        flag, dest=dest, action=argparse.BooleanOptionalAction, help=text
                    )
                elif kind == "date":
                    group.add_argument(flag, dest=dest, type=_cli_date, metavar="DATE", help=text)
                elif kind == "metadata":
                    group.add_argument(
                        flag, dest=dest, action="append", metavar="KEY=VALUE", help=text
                    )
                elif isinstance(kind, list):
                    group.add_argument(
                        flag,
                        dest=dest,
                        choices=kind,
                        metavar="VALUE",
                        help=f"{text}: {', '.join(kind)}",
                    )
                else:
                    group.add_argument(flag, dest=dest, metavar="TEXT", help=text)
        return command

    for area, actions in _cli_commands().items():
        if "run" in actions:  # a command without actions: stats
            command = leaf(areas, area, actions, area)
            command.add_argument(
                "kind", choices=list(STATS), metavar="KIND", help=f"one of: {', '.join(STATS)}"
            )
            command.add_argument("--by-day", action="store_true", help="one row per day")
            continue
        examples = [
            f"  {spec['examples'][0]}"
            for name, spec in actions.items()
            if name != "help" and spec.get("examples")
        ]
        area_parser = areas.add_parser(
            area,
            help=actions["help"],
            description=actions["help"][:1].upper() + actions["help"][1:],
            formatter_class=formatter,
            epilog="examples:\n" + "\n".join(examples),
        )
        verbs = area_parser.add_subparsers(dest="action", metavar="ACTION", required=True)
        for name, spec in actions.items():
            if name != "help":
                command = leaf(verbs, name, spec, f"{area} {name}")
                if spec["run"] is _cli_activate:
                    command.add_argument("ids", nargs="*", metavar="ID", help="bounce ids")
                    command.add_argument(
                        "--file",
                        metavar="FILE",
                        help="more ids: one per line, or JSONL with 'id' (- for stdin)",
                    )
                elif spec["run"] is _cli_suppressions:
                    command.add_argument("addresses", nargs="*", metavar="EMAIL")
                    command.add_argument(
                        "--file", metavar="FILE", help="more addresses, one per line (- for stdin)"
                    )
                    command.add_argument(
                        "--stream", default="outbound", help="message stream id (default: outbound)"
                    )
                elif spec["run"] is _cli_templates_push:
                    command.add_argument(
                        "--yes", "-y", action="store_true", help="push without asking"
                    )
                    command.add_argument(
                        "--dry-run", action="store_true", help="only show what would change"
                    )
                elif spec["run"] is _cli_templates_validate:
                    command.add_argument(
                        "--offline",
                        action="store_true",
                        help="check the files only, without Postmark",
                    )
    _cli_send_parsers(areas, leaf)
    areas.add_parser(
        "serve", help="run the local Postmark test server (pystmark_testing)", add_help=False
    )
    return parser


def _cli_send_parsers(areas: Any, leaf: Callable[..., Any]) -> None:
    import argparse

    send_command = leaf(
        areas,
        "send",
        {
            "run": _cli_send,
            "help": "send one message (text, HTML, a template, or a .eml file)",
            "examples": [
                "pystmark send --from me@example.com --to you@example.com --subject Hi "
                "--text Hello",
                "pystmark send --from me@example.com --to you@example.com --subject Report "
                "--html-file report.html --attach report.pdf --inline logo.png:logo",
                "pystmark send --from me@example.com --to you@example.com --template welcome "
                "--model model.json",
                "pystmark send --eml message.eml --stream outbound",
            ],
        },
        "send",
    )
    group = send_command.add_argument_group("message")
    group.add_argument("--from", dest="sender", metavar="ADDRESS", help="sender (From)")
    for flag in ("--to", "--cc", "--bcc"):
        group.add_argument(
            flag,
            action="append",
            metavar="ADDRESSES",
            help="addresses, separated by commas (repeatable)",
        )
    group.add_argument("--reply-to", metavar="ADDRESS")
    group.add_argument("--subject")
    body = group.add_mutually_exclusive_group()
    body.add_argument("--text", help="the text body")
    body.add_argument("--text-file", metavar="FILE", help="the text body from a file (- for stdin)")
    html = group.add_mutually_exclusive_group()
    html.add_argument("--html", help="the HTML body")
    html.add_argument("--html-file", metavar="FILE", help="the HTML body from a file (- for stdin)")
    group.add_argument(
        "--attach", action="append", metavar="FILE", help="attach a file (repeatable)"
    )
    group.add_argument(
        "--inline",
        action="append",
        metavar="FILE[:CID]",
        help="attach inline, with a Content-ID (default: the file name)",
    )
    group.add_argument(
        "--header", action="append", metavar="'NAME: VALUE'", help="a custom header (repeatable)"
    )
    group.add_argument(
        "--metadata", action="append", metavar="KEY=VALUE", help="metadata (repeatable)"
    )
    group.add_argument("--tag")
    group.add_argument(
        "--stream",
        dest="message_stream",
        metavar="STREAM",
        help="message stream id (default: outbound)",
    )
    group.add_argument("--track-opens", action=argparse.BooleanOptionalAction)
    group.add_argument("--track-links", choices=[mode.value for mode in TrackLinks])
    group.add_argument("--template", metavar="ID|ALIAS", help="send with a server template")
    group.add_argument(
        "--model", metavar="FILE.json", help="the template model, a JSON object (- for stdin)"
    )
    group.add_argument(
        "--inline-css", action=argparse.BooleanOptionalAction, help="inline a template's CSS"
    )
    group.add_argument(
        "--eml",
        metavar="FILE",
        help="send a raw RFC 822 message; the flags above override its fields",
    )
    batch = leaf(
        areas,
        "send-batch",
        {
            "run": _cli_send_batch,
            "formats": False,
            "help": "send the messages of a JSONL file (one JSON message per line)",
            "examples": [
                "pystmark send-batch messages.jsonl > results.jsonl",
                "pystmark send-batch messages.jsonl --resume results.jsonl > more-results.jsonl",
            ],
        },
        "send-batch",
    )
    batch.add_argument(
        "file",
        metavar="FILE.jsonl",
        help="one message per line, Postmark or pystmark field names (- for stdin)",
    )
    batch.add_argument(
        "--resume",
        metavar="RESULTS.jsonl",
        help="skip the lines an earlier run's results mark as sent",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``pystmark`` command line; return its exit status.

    ``pystmark --help`` lists the commands; docs/cli.rst documents them, the
    output formats and the exit statuses (0 ok, 1 Postmark or network error,
    2 usage or bad input, 3 partial failure, 130 interrupted).
    """
    import sys

    arguments = list(sys.argv[1:] if argv is None else argv)
    stdout, stderr = sys.stdout, sys.stderr
    if arguments[:1] == ["serve"]:
        return _cli_serve(arguments[1:], stderr)
    run: _CliRun | None = None
    handler: logging.Handler | None = None
    level = logging.NOTSET
    try:
        try:
            args = _cli_parser().parse_args(arguments)
        except SystemExit as exit_request:  # --help, --version, usage errors
            return int(exit_request.code or 0) if not isinstance(exit_request.code, str) else 2
        run = _CliRun(args, stdout, stderr)
        if args.verbose:
            handler, level = _cli_log_to(stderr), logger.level
            logger.setLevel(logging.DEBUG)
        return int(args.run(run))
    except KeyboardInterrupt:
        if run is not None:
            run.close()
        sending = run is not None and run.sending
        print(
            "pystmark: interrupted"
            + ("; the message(s) may or may not have been accepted" if sending else ""),
            file=stderr,
        )
        return _EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly, and keep Python from
        # complaining when it flushes stdout at exit.
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stdout.fileno())
        return _EXIT_OK
    except _CliError as error:
        print(f"pystmark: {error}", file=stderr)
        return error.code
    except PystmarkError as error:  # before OSError: APIError is a requests.HTTPError
        before_io = isinstance(error, MessageError | ConfigurationError | BounceError)
        print(f"pystmark: {run.doing if run else 'pystmark'}: {error}", file=stderr)
        return _EXIT_USAGE if before_io else _EXIT_ERROR
    except OSError as error:  # writing a file or the output failed
        print(f"pystmark: {run.doing if run else 'pystmark'}: {error}", file=stderr)
        return _EXIT_ERROR
    finally:
        if run is not None:
            run.close()
        if handler is not None:
            logger.removeHandler(handler)
            logger.setLevel(level)


def _cli_log_to(stream: Any) -> logging.Handler:
    """Send pystmark's log (each request, each failed attempt) to ``stream``."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("pystmark: %(message)s"))
    logger.addHandler(handler)
    return handler


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
