"""The retry schedule on a fake clock: every delay, every timeout, and the deadline.

A scripted session plays a sequence of faults; ``pystmark._monotonic``,
``_sleep`` and ``_random`` are replaced, so nothing really sleeps. The oracle
below is the retry table of docs/reliability.rst, written out independently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import urllib3.exceptions
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import pystmark

KINDS = ["refused", "timeout", "reset", "429", "503", "maint", "500", "502", "401", "200"]
ALWAYS = {"refused", "429", "503", "maint"}
IDEMPOTENT = {"timeout", "reset", "500", "502"}


@dataclass
class Fault:
    kind: str
    duration: float
    retry_after: int | None = None


@dataclass
class Clock:
    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


class ScriptedSession(requests.Session):
    def __init__(self, script: list[Fault], clock: Clock) -> None:
        super().__init__()
        self.script = list(script)
        self.clock = clock
        self.timeouts: list[tuple[float, float]] = []
        self.started: list[float] = []

    def request(self, method: str | bytes, url: str | bytes, **kwargs: Any) -> Any:  # type: ignore[override]
        assert kwargs["allow_redirects"] is False
        assert kwargs["verify"] is True
        self.timeouts.append(kwargs["timeout"])
        self.started.append(self.clock.now)
        fault = self.script.pop(0)
        self.clock.now += fault.duration
        if fault.kind == "refused":
            reason = urllib3.exceptions.NewConnectionError(None, "refused")  # type: ignore[arg-type]
            raise requests.ConnectionError(urllib3.exceptions.MaxRetryError(None, str(url), reason))  # type: ignore[arg-type]
        if fault.kind == "timeout":
            raise requests.ReadTimeout("read timed out")
        if fault.kind == "reset":
            raise requests.ConnectionError(urllib3.exceptions.ProtocolError("Connection aborted."))
        response = requests.Response()
        response.reason = "X"
        if fault.retry_after is not None:
            response.headers["Retry-After"] = str(fault.retry_after)
        status = {"maint": 422}.get(fault.kind) or int(fault.kind)
        response.status_code = status
        body: Any = {"ErrorCode": 100 if fault.kind == "maint" else 0, "Message": "x"}
        if status == 200:
            body = {**body, "MessageID": "m", "To": "t", "Id": "b", "Status": "Sent"}
        response._content = json.dumps(body).encode()
        return response


@dataclass
class Config:
    max_retries: int
    backoff_base: float
    backoff_cap: float
    max_retry_after: float
    deadline: float
    timeout: tuple[float, float]


def expected(
    send: bool, script: list[Fault], randoms: list[float], config: Config, start: float
) -> tuple[str, int, list[float]]:
    """The outcome class name, attempts and sleeps the retry table prescribes.

    Times are kept on the same clock as the library's (from ``start``, with the
    deadline at ``start + deadline``): a wait that ends within a rounding error
    of the deadline then falls on the same side of it for both.
    """
    now, sleeps = start, []
    deadline_at = start + config.deadline
    for attempt, fault in enumerate(script, start=1):
        remaining = deadline_at - now
        if remaining <= 0:
            return "DeadlineExceededError", attempt - 1, sleeps
        now += fault.duration
        if fault.kind == "200":
            return "ok", attempt, sleeps
        transport = fault.kind in ("refused", "timeout", "reset")
        # A read timeout shortened to the time left means the deadline passed.
        clipped = fault.kind == "timeout" and remaining < config.timeout[1]
        if transport and (now >= deadline_at or clipped):
            late = "SendOutcomeUnknownError" if send and fault.kind != "refused" else None
            return late or "DeadlineExceededError", attempt, sleeps
        retryable = fault.kind in ALWAYS or (fault.kind in IDEMPOTENT and not send)
        name = {
            "refused": "ConnectionFailedError",
            "timeout": "RequestTimeoutError",
            "reset": "ConnectionFailedError",
            "429": "RateLimitError",
            "503": "ServiceUnavailableError",
            "maint": "ServiceUnavailableError",
            "500": "InternalServerError",
            "502": "UnexpectedResponseError",
            "401": "UnauthorizedError",
        }[fault.kind]
        if send and fault.kind in IDEMPOTENT:
            name = "SendOutcomeUnknownError"
        ceiling = min(config.backoff_cap, config.backoff_base * 2 ** (attempt - 1))
        delay = randoms[attempt - 1] * ceiling
        if fault.retry_after is not None and fault.kind in ALWAYS - {"refused"}:
            if fault.retry_after > config.max_retry_after:
                retryable = False
            delay = max(delay, fault.retry_after)
        if not retryable or attempt > config.max_retries or now + delay >= deadline_at:
            return name, attempt, sleeps
        sleeps.append(delay)
        now += delay
    raise AssertionError("script too short")


faults = st.builds(
    Fault,
    kind=st.sampled_from(KINDS),
    duration=st.sampled_from([0.0, 0.01, 0.4, 3.0, 29.0]),
    retry_after=st.none() | st.integers(0, 60),
)
configs = st.builds(
    Config,
    max_retries=st.integers(0, 4),
    backoff_base=st.sampled_from([0.0, 0.1, 0.5, 2.0]),
    backoff_cap=st.sampled_from([0.5, 8.0, 30.0]),
    max_retry_after=st.sampled_from([0.0, 5.0, 30.0]),
    deadline=st.sampled_from([0.5, 10.0, 60.0]),
    timeout=st.sampled_from([(5.0, 30.0), (1.0, 2.0)]),
)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    send=st.booleans(),
    script=st.lists(faults, min_size=6, max_size=6),
    randoms=st.lists(st.floats(0, 1, exclude_max=True), min_size=6, max_size=6),
    config=configs,
)
# A wait that ends a rounding error before the deadline: on the library's clock
# (t = 1000.0) it reaches the deadline, so no retry is made.
@example(
    send=False,
    script=[Fault("503", 0.0)] + [Fault("200", 0.0)] * 5,
    randoms=[0.9999999999999998] * 6,
    config=Config(4, 2.0, 0.5, 0.0, 0.5, (5.0, 30.0)),
)
def test_retry_schedule(
    send: bool, script: list[Fault], randoms: list[float], config: Config
) -> None:
    clock = Clock()
    session = ScriptedSession(script, clock)
    draws = iter(randoms)
    options: dict[str, Any] = {
        "api_key": "tok",
        "session": session,
        "max_retries": config.max_retries,
        "backoff_base": config.backoff_base,
        "backoff_cap": config.backoff_cap,
        "max_retry_after": config.max_retry_after,
        "deadline": config.deadline,
        "timeout": config.timeout,
    }
    patch = pytest.MonkeyPatch()
    patch.setattr(pystmark, "_monotonic", clock.monotonic)
    patch.setattr(pystmark, "_sleep", clock.sleep)
    patch.setattr(pystmark, "_random", lambda: next(draws))
    started = clock.now
    try:
        if send:
            message = {"sender": "a@example.com", "to": "b@example.com", "text": "x"}
            pystmark.Sender(**options).send(message)
        else:
            pystmark.BulkSender(**options).get_status("b")
        outcome, attempts = "ok", len(session.timeouts)
    except pystmark.PystmarkError as error:
        outcome, attempts = type(error).__name__.lstrip("_"), error.attempts
        assert error.__cause__ is not None or outcome in (
            "RateLimitError",
            "ServiceUnavailableError",
            "InternalServerError",
            "UnexpectedResponseError",
            "UnauthorizedError",
        )
    finally:
        patch.undo()
    name, want_attempts, want_sleeps = expected(send, script, randoms, config, started)
    outcome = outcome.replace("SendInternalServerError", "SendOutcomeUnknownError")
    outcome = outcome.replace("SendUnexpectedResponseError", "SendOutcomeUnknownError")
    assert (outcome, attempts) == (name, want_attempts)
    assert clock.sleeps == pytest.approx(want_sleeps)
    # Invariants, whatever the oracle says.
    assert len(session.timeouts) <= config.max_retries + 1
    for start, (connect, read) in zip(session.started, session.timeouts, strict=True):
        remaining = started + config.deadline - start
        assert remaining > 0
        assert connect == min(config.timeout[0], remaining)
        assert read == min(config.timeout[1], remaining)
    for index, delay in enumerate(clock.sleeps):
        ceiling = min(config.backoff_cap, config.backoff_base * 2**index)
        assert delay <= ceiling or delay <= config.max_retry_after
    assert sum(clock.sleeps) < config.deadline or not clock.sleeps


def test_a_wait_that_overshoots_the_deadline_ends_the_call(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    session = ScriptedSession([Fault("503", 0.0), Fault("200", 0.0)], clock)

    def oversleep(seconds: float) -> None:
        clock.now += seconds + 10.0

    monkeypatch.setattr(pystmark, "_monotonic", clock.monotonic)
    monkeypatch.setattr(pystmark, "_sleep", oversleep)
    monkeypatch.setattr(pystmark, "_random", lambda: 0.5)
    with pytest.raises(pystmark.DeadlineExceededError) as caught:
        pystmark.BulkSender(api_key="tok", session=session, deadline=5.0).get_status("b")
    assert caught.value.attempts == 1
    assert isinstance(caught.value.__cause__, pystmark.ServiceUnavailableError)
    assert len(session.timeouts) == 1


def test_a_request_requests_refuses_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Refusing(requests.Session):
        def request(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            raise requests.exceptions.InvalidURL("bad url")

    with pytest.raises(pystmark.ConfigurationError) as caught:
        pystmark.BulkSender(api_key="tok", session=Refusing()).get_status("b")
    assert caught.value.attempts == 1
    assert isinstance(caught.value.__cause__, requests.exceptions.InvalidURL)
