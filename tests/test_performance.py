"""The performance features: concurrent batches, the pooled session, lean encoding."""

import base64
import json
import threading

import pytest
import requests
import responses

import pystmark

URL = "https://api.postmarkapp.com/email/batch"


def _messages(count):
    return [
        {"sender": "a@example.com", "to": f"u{i}@example.com", "subject": "s", "text": "t"}
        for i in range(count)
    ]


def _answer_batch(request):
    body = json.loads(request.body)
    return (
        200,
        {},
        json.dumps(
            [{"ErrorCode": 0, "Message": "OK", "MessageID": m["To"], "To": m["To"]} for m in body]
        ),
    )


@responses.activate
def test_max_workers_sends_each_chunk_once_and_keeps_input_order():
    seen = []
    lock = threading.Lock()

    def callback(request):
        with lock:
            seen.extend(m["To"] for m in json.loads(request.body))
        return _answer_batch(request)

    responses.add_callback(responses.POST, URL, callback=callback)
    result = pystmark.send_batch(_messages(1700), api_key="k", max_workers=3)
    expected = [f"u{i}@example.com" for i in range(1700)]
    assert sorted(seen) == sorted(expected) and len(seen) == 1700  # nothing sent twice
    assert [r.to for r in result] == expected
    assert [r.index for r in result] == list(range(1700))
    assert len(result.responses) == 4


@responses.activate
def test_max_workers_failure_reports_answered_and_unsent_messages():
    first_chunk_arrived = threading.Event()

    def callback(request):
        body = json.loads(request.body)
        if body[0]["To"] == "u500@example.com":
            first_chunk_arrived.wait(5)  # the first chunk is in flight before this fails
            return 422, {}, json.dumps({"ErrorCode": 300, "Message": "Invalid"})
        if body[0]["To"] == "u0@example.com":
            first_chunk_arrived.set()
        return _answer_batch(request)

    responses.add_callback(responses.POST, URL, callback=callback)
    with pytest.raises(pystmark.BatchSendError) as caught:
        pystmark.send_batch(_messages(1200), api_key="k", max_workers=2)
    error = caught.value
    answered = {r.index for r in error.results}
    assert set(range(500)) <= answered
    assert set(range(500, 1000)) <= set(error.unsent)
    assert answered.isdisjoint(error.unsent)
    assert answered | set(error.unsent) == set(range(1200))
    assert isinstance(error.__cause__, pystmark.InvalidEmailRequestError)


@responses.activate
def test_max_workers_raises_the_error_itself_when_nothing_was_answered():
    responses.add(responses.POST, URL, status=401, json={"ErrorCode": 10, "Message": "Bad"})
    with pytest.raises(pystmark.UnauthorizedError):
        pystmark.send_batch(_messages(1001), api_key="k", max_workers=4)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_max_workers_is_checked_before_any_io(bad):
    with pytest.raises(pystmark.ConfigurationError):
        pystmark.send_batch(_messages(1), api_key="k", max_workers=bad)


def test_pooled_session_honours_proxy_and_ca_bundle_environment(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "internal.example")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/custom.pem")
    session = pystmark._PooledSession()
    settings = session.merge_environment_settings(
        "https://api.postmarkapp.com/email", {}, None, None, None
    )
    assert settings["proxies"]["https"] == "http://proxy.example:3128"
    assert settings["verify"] == "/etc/ssl/custom.pem"
    bypass = session.merge_environment_settings("https://internal.example/x", {}, None, None, None)
    assert "https" not in bypass["proxies"]
    # A call's own settings still win.
    own = session.merge_environment_settings(
        "https://api.postmarkapp.com/email", {"https": "http://mine:1"}, None, "/ca.pem", None
    )
    assert own["proxies"]["https"] == "http://mine:1" and own["verify"] == "/ca.pem"
    # Same answers as a plain, environment-trusting requests.Session.
    plain = requests.Session().merge_environment_settings(
        "https://api.postmarkapp.com/email", {}, None, None, None
    )
    assert plain["proxies"]["https"] == settings["proxies"]["https"]
    assert plain["verify"] == settings["verify"]


@responses.activate
def test_pooled_session_sends_headers_body_and_query_like_requests():
    responses.add(
        responses.POST,
        "https://api.postmarkapp.com/email",
        json={"ErrorCode": 0, "Message": "OK", "MessageID": "m", "To": "b@example.com"},
    )
    pystmark.send(
        {"sender": "a@example.com", "to": "b@example.com", "subject": "s", "text": "t"},
        api_key="tok",
        headers={"X-Extra": "1"},
    )
    sent = responses.calls[0].request
    assert sent.headers["X-Postmark-Server-Token"] == "tok"
    assert sent.headers["X-Extra"] == "1"
    assert sent.headers["User-Agent"] == pystmark.USER_AGENT
    assert sent.headers["Content-Length"] == str(len(sent.body))
    assert json.loads(sent.body)["To"] == "b@example.com"
    assert "Cookie" not in sent.headers


def test_attachment_body_is_the_base64_of_the_data_at_slice_boundaries():
    step = pystmark._ENCODE_STEP
    for size in (0, 1, step - 1, step, step + 1, 2 * step + 2):
        data = bytes(range(256)) * (size // 256) + bytes(size % 256)
        text = base64.b64encode(data).decode()
        message = pystmark.Message(
            sender="a@example.com",
            to="b@example.com",
            subject="s",
            text="t",
            attachments=[
                pystmark.Attachment("a.pdf", data),
                pystmark.Attachment("b.pdf", content=text),
            ],
        )
        body = json.loads(message._encode(template=False))
        assert [a["Content"] for a in body["Attachments"]] == [text, text]


@pytest.mark.parametrize(
    ("value", "count"),
    [
        ("a@example.com", 1),
        ('"A, B" <a@example.com>', 1),
        ("a@example.com, b@example.com", 2),
        (["a@example.com", "b@example.com"], 2),
        ("Name <a@example.com>", 1),
    ],
)
def test_address_counting_fast_path_agrees_with_the_parser(value, count):
    assert pystmark._count_addresses("to", value) == count


@responses.activate
def test_pooled_session_query_cookies_and_hooks_still_work():
    responses.add(responses.GET, "https://api.postmarkapp.com/bounces", json={"Bounces": []})
    seen = []
    interface = pystmark.Interface(api_key="tok")
    endpoint = pystmark.Endpoint("GET", "/bounces")
    interface._call(
        endpoint,
        {"cookies": {"c": "1"}, "hooks": {"response": [lambda r, **kw: seen.append(r.url)]}},
        params={"count": 500, "offset": 0, "inactive": True, "tag": None},
    )
    interface._call(endpoint, {}, params={"count": 2, "offset": 4})
    first, second = (call.request for call in responses.calls)
    assert first.url.endswith("/bounces?count=500&offset=0&inactive=true")
    assert first.headers["Cookie"] == "c=1"
    assert seen == [first.url]
    assert second.url.endswith("/bounces?count=2&offset=4")
    assert "Cookie" not in second.headers
