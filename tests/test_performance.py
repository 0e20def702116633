"""The performance features: concurrent batches, the pooled session, lean encoding."""

import base64
import json
import re
import threading

import pytest
import requests
import responses
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

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
    assert pystmark._check_addresses("to", value) == count


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


# ---- The plain-dict shortcut must agree with Message, or step aside ----

_TEXT = st.sampled_from(
    ["", "x", "Hello", "a\nb", "a\rb", "a\x00b", "Zoë ✓", "x" * 1001, " spaced "]
)
_ADDRESS = st.sampled_from(
    [
        "a@example.com",
        "",
        "Name <a@example.com>",
        "a@example.com, b@example.com",
        "a@example.com\n",
        "a\x00@example.com",
        "no-at-sign",
        "a@b@c",
        '"q"@example.com',
        "a@",
        "a@-b.com",
        "a..b@example.com",
        "a@b_c.com",
        "a@bücher.de",
        "jösé@example.com",
        "a@[127.0.0.1]",
        "a" * 65 + "@example.com",
        "=?utf-8?q?x?=@example.com",
        "group: a@example.com;",
    ]
)
_PLAIN_FIELD_VALUES = {
    "From": _ADDRESS,
    "sender": _ADDRESS,
    "To": _ADDRESS,
    "to": _ADDRESS,
    "Cc": _ADDRESS,
    "Bcc": _ADDRESS,
    "ReplyTo": _ADDRESS,
    "reply_to": _ADDRESS,
    "Subject": _TEXT,
    "subject": _TEXT,
    "Tag": _TEXT,
    "HtmlBody": _TEXT,
    "TextBody": _TEXT,
    "text": _TEXT,
    "MessageStream": _TEXT,
    "TrackOpens": st.booleans(),
    "Metadata": st.just({"k": "v"}),
    "TemplateId": st.just(5),
}


@st.composite
def _plain_dicts(draw):
    # A valid message, then up to three changes: most examples sit near the edge.
    message = {"From": "a@example.com", "To": "b@example.com", "TextBody": "t"}
    for _ in range(draw(st.integers(0, 3))):
        key = draw(st.sampled_from(sorted(_PLAIN_FIELD_VALUES)))
        if draw(st.integers(0, 5)) == 0:
            message.pop(key, None)
        elif draw(st.integers(0, 5)) == 0:
            message[key] = draw(st.sampled_from([None, 1, b"bytes", ["a@example.com"]]))
        else:
            message[key] = draw(_PLAIN_FIELD_VALUES[key])
    return message


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(message=_plain_dicts(), template=st.sampled_from([False, None, True]))
def test_plain_dict_shortcut_agrees_with_message(message, template):
    shortcut = pystmark._plain_payload(message, template)
    event("shortcut taken" if shortcut is not None else "left to Message")
    if shortcut is None:
        return  # Message decides, and reports any error
    # Whatever the shortcut accepts, Message accepts and encodes to the same object.
    payload, bound = shortcut
    full = pystmark.Message.from_dict(message)._encode(template=template)
    encoded = pystmark._encode_plain(payload)
    assert json.loads(encoded) == json.loads(full)
    assert len(encoded) <= bound
    # The same fields as a Message object take the shortcut too, to the same bytes.
    as_message = pystmark.Message.from_dict(message)
    message_shortcut = pystmark._plain_payload(as_message, template)
    assert message_shortcut is not None
    assert pystmark._encode_plain(message_shortcut[0]) == full


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    messages=st.lists(_plain_dicts(), min_size=1, max_size=4),
    template=st.sampled_from([False, None, True]),
    as_messages=st.booleans(),
)
def test_plain_messages_checked_together_agree_with_each_alone(messages, template, as_messages):
    # Messages checked together (field by field) are taken only if each alone
    # is, to the same objects, sent as the same bytes.
    if as_messages:
        try:
            messages = [pystmark.Message.from_dict(message) for message in messages]
        except pystmark.MessageError:
            return
    together = pystmark._plain_payloads(messages, template)
    alone = [pystmark._plain_payload(message, template) for message in messages]
    event("taken together" if together is not None else "left to each alone")
    if together is None:
        return
    payloads, bound = together
    assert payloads == [shortcut[0] for shortcut in alone]
    # Keys in the same order too, and one object per message.
    assert pystmark._encode_plain(payloads) == pystmark._encode_plain(
        [shortcut[0] for shortcut in alone]
    )
    assert len(set(map(id, payloads))) == len(payloads)
    assert bound >= max(shortcut[1] for shortcut in alone)
    assert pystmark._encode_plain_list(payloads) == pystmark._encode_plain(payloads)


_SAME_OR_NOT = st.sampled_from(["same", "other", "Zoë %s ✓ \u2028", '"q"\\', ""])


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    texts=st.lists(st.tuples(_SAME_OR_NOT, _SAME_OR_NOT), min_size=1, max_size=5),
    order=st.permutations(["From", "To", "Subject", "TextBody"]),
)
def test_a_batch_body_is_the_json_encoders_bytes(texts, order):
    # Encoded field by field (a text the same in each object once), the body
    # is byte for byte what the json module makes of the list.
    payloads = []
    for index, (subject, text) in enumerate(texts):
        fields = {"From": "a@example.com", "To": f"r{index}@e.com", "Subject": subject}
        fields["TextBody"] = text
        payloads.append({key: fields[key] for key in order})
    expected = json.dumps(payloads, ensure_ascii=False, separators=(",", ":")).encode()
    assert pystmark._encode_plain_list(payloads) == expected
    # Objects with their keys in different orders are encoded as they are.
    mixed = [*payloads, dict(reversed(payloads[0].items()))]
    assert pystmark._encode_plain_list(mixed) == pystmark._encode_plain(mixed)


def test_a_batch_of_messages_is_checked_together_and_sent_as_dicts_are():
    # The common batch (the same sender and bodies, one recipient each) is
    # taken together, as dicts and as Message objects, to the same objects.
    fields = {"From": "a@example.com", "Subject": "s", "TextBody": "t", "Tag": "x"}
    dicts = [{**fields, "To": f"r{index}@example.com"} for index in range(600)]
    messages = [pystmark.Message.from_dict(item) for item in dicts]
    payloads, bound = pystmark._plain_payloads(dicts, False)
    assert payloads == dicts and payloads[0] is dicts[0]
    from_messages = pystmark._plain_payloads(messages, False)
    assert from_messages == (payloads, bound)
    assert from_messages is not None and len(set(map(id, from_messages[0]))) == 600
    for start, stop in ((0, 1), (0, 2), (5, 8)):
        some = pystmark._plain_payloads(messages[start:stop], False)
        assert some is not None and some[0] == dicts[start:stop]
    # One message unlike the others: each is checked alone, still without Message.
    odd = [*dicts[:3], {**fields, "To": "Name <n@example.com>"}]
    assert pystmark._plain_payloads(odd, False) is None
    assert all(pystmark._plain_payload(item, False) for item in odd[:3])
    messages[1].cc = ["c@example.com"]  # a list: left to Message
    assert pystmark._plain_payloads(messages[:3], False) is None
    messages[2].cc = "c@example.com"  # set in some messages only
    assert pystmark._plain_payloads(messages[2:4], False) is None


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    text=st.text(st.characters(codec="utf-8"), max_size=30)
    | st.sampled_from(['\x00\x1f"\\', "\u2028\U0001f600", "é" * 10]),
    subject=st.text(st.characters(codec="utf-8", exclude_characters="\r\n\x00"), max_size=20),
)
def test_plain_size_bound_is_never_below_the_encoded_size(text, subject):
    message = {"From": "a@example.com", "To": "b@example.com", "TextBody": text or "t"}
    message["Subject"] = subject
    shortcut = pystmark._plain_payload(message, False)
    assert shortcut is not None
    payload, bound = shortcut
    assert len(pystmark._encode_plain(payload)) <= bound


@pytest.mark.parametrize(
    "message",
    [
        {"From": "a@example.com", "To": "b@example.com", "TextBody": "t"},
        {"sender": "a@example.com", "to": "b@example.com", "cc": "c@example.com", "html": "<p>"},
        {"From": "a@e.com", "Bcc": "b@e.com", "TextBody": "Zoë ✓ \u2028", "Tag": "x" * 1000},
    ],
)
def test_plain_dict_shortcut_takes_the_common_messages(message):
    # The shortcut is an optimisation only if it is taken for ordinary messages.
    shortcut = pystmark._plain_payload(message, False)
    assert shortcut is not None
    assert pystmark._encode_plain(shortcut[0]) == pystmark._encode_json(shortcut[0])
    as_message = pystmark.Message.from_dict(message)
    assert pystmark._plain_payload(as_message, False) == shortcut


@pytest.mark.parametrize(
    "change",
    [
        lambda m: m.add_header("X-A", "b"),
        lambda m: m.metadata.update(k="v"),
        lambda m: setattr(m, "track_opens", True),
        lambda m: setattr(m, "track_links", "None"),
        lambda m: setattr(m, "inline_css", False),
        lambda m: setattr(m, "template_alias", ""),
        lambda m: setattr(m, "template_model", {}),
        lambda m: setattr(m, "to", ["b@example.com"]),
        lambda m: delattr(m, "tag"),
    ],
)
def test_message_shortcut_leaves_other_fields_to_message(change):
    message = pystmark.Message(sender="a@example.com", to="b@example.com", text="t", tag="x")
    assert pystmark._plain_payload(message, False) is not None
    change(message)
    assert pystmark._plain_payload(message, False) is None


def test_message_shortcut_sends_what_message_sends():
    message = pystmark.Message(sender="a@example.com", to="b@example.com", text="t", subject="")
    payload, _ = pystmark._plain_payload(message, False)
    assert pystmark._encode_plain(payload) == message._encode(template=False)


@responses.activate
def test_a_reused_message_dict_is_sent_as_it_was_when_given():
    # A generator that changes one dict between messages: each is sent as it was.
    responses.add_callback(
        responses.POST,
        "https://api.postmarkapp.com/email/batch",
        callback=lambda request: (
            200,
            {},
            json.dumps(
                [{"ErrorCode": 0, "Message": "OK", "To": m["To"]} for m in json.loads(request.body)]
            ),
        ),
    )

    def messages():
        message = {"From": "a@example.com", "TextBody": "t"}
        for index in range(3):
            message["To"] = f"r{index}@example.com"
            yield message

    response = pystmark.send_batch(messages(), api_key="k")
    assert [result.to for result in response] == [f"r{n}@example.com" for n in range(3)]


@responses.activate
def test_large_plain_messages_are_split_exactly_at_50_mb():
    # About 6 MB of text each: the estimate is over the limit, the exact size is not.
    responses.add_callback(
        responses.POST,
        "https://api.postmarkapp.com/email/batch",
        callback=lambda request: (
            200,
            {},
            json.dumps([{"ErrorCode": 0, "Message": "OK"} for _ in json.loads(request.body)]),
        ),
    )
    text = "x" * (2 * 1024 * 1024)
    messages = [
        {"From": "a@example.com", "To": f"r{n}@example.com", "TextBody": text, "HtmlBody": text}
        for n in range(14)
    ]
    pystmark.send_batch(messages, api_key="k")
    sizes = [len(call.request.body) for call in responses.calls]
    assert [len(json.loads(call.request.body)) for call in responses.calls] == [12, 2]
    assert all(size <= pystmark.MAX_BATCH_BYTES for size in sizes)


@responses.activate
def test_a_batch_mixing_plain_and_other_messages_sends_each_as_it_is():
    # 1,100 messages: the first 500 plain dicts, then 500 with one message
    # that needs Message (a display name), then 100 Message objects.
    responses.add_callback(responses.POST, URL, callback=_answer_batch)
    dicts = [
        {"From": "a@example.com", "To": f"r{n}@example.com", "TextBody": "t"} for n in range(1000)
    ]
    dicts[700]["To"] = "Name <n@example.com>"
    messages = [
        *dicts,
        *(pystmark.Message(sender="a@e.com", to="b@e.com", text=str(n)) for n in range(100)),
    ]
    response = pystmark.send_batch(messages, api_key="k")
    bodies = [json.loads(call.request.body) for call in responses.calls]
    assert [len(body) for body in bodies] == [500, 500, 100]
    compact = json.dumps(dicts[:500], ensure_ascii=False, separators=(",", ":")).encode()
    assert responses.calls[0].request.body == compact
    assert [item for body in bodies for item in body][:1000] == dicts
    assert bodies[2][7] == {"From": "a@e.com", "To": "b@e.com", "TextBody": "7"}
    assert [result.index for result in response] == list(range(1100))


@pytest.mark.parametrize(
    "message",
    [
        {"From": "a@example.com", "from": "b@example.com", "To": "c@example.com"},  # unknown key
        {"sender": "a@example.com", "From": "b@example.com", "To": "c@e.com", "text": "t"},
        {"From": "a@example.com", "To": "b@example.com", "Subject": "s\r\nBcc: x@e.com"},
        {"From": "a@example.com", "To": "b@example.com", "TextBody": "t", "Tag": "x" * 1001},
        {"From": "a@example.com", "TextBody": "t"},
        {"From": "a@example.com", "To": "", "TextBody": "t"},
        {"From": "a@example.com", "To": ", ".join(["b@example.com"] * 51), "TextBody": "t"},
        {"From": "a@example.com", "To": "b@example.com", "Cc": "x\x00@e.com", "TextBody": "t"},
        {"From": "a@example.com", "To": "b@example.com", "TextBody": None},
        {"From": "a@example.com", "To": "b@example.com", "TextBody": ["t"]},
    ],
)
def test_plain_dict_shortcut_leaves_doubtful_messages_to_message(message):
    assert pystmark._plain_payload(message, False) is None


@responses.activate
def test_plain_dicts_are_still_checked_before_any_io():
    with pytest.raises(pystmark.MessageError, match="subject"):
        pystmark.send(
            {"From": "a@example.com", "To": "b@example.com", "Subject": "s\nBcc: x@e.com"},
            api_key="k",
        )
    with pytest.raises(pystmark.MessageError):
        pystmark.send_batch(
            [_messages(1)[0], {"From": "a@example.com", "TextBody": "no recipient"}], api_key="k"
        )
    assert len(responses.calls) == 0


# ---- The pooled session's short path ----


@responses.activate
def test_pooled_session_does_not_carry_one_calls_headers_into_the_next():
    responses.add(
        responses.POST,
        "https://api.postmarkapp.com/email",
        json={"ErrorCode": 0, "Message": "OK", "MessageID": "m", "To": "b@example.com"},
    )
    message = {"From": "a@example.com", "To": "b@example.com", "TextBody": "t"}
    pystmark.send(message, api_key="first", headers={"X-Extra": "1"})
    pystmark.send(message, api_key="second")
    first, second = (call.request for call in responses.calls)
    assert first.headers["X-Extra"] == "1" and "X-Extra" not in second.headers
    assert first.headers["X-Postmark-Server-Token"] == "first"
    assert second.headers["X-Postmark-Server-Token"] == "second"


@responses.activate
def test_pooled_session_applies_netrc_credentials_like_requests(monkeypatch):
    responses.add(responses.GET, "https://api.postmarkapp.com/server", json={"ID": 1})
    monkeypatch.setattr(requests.utils, "get_netrc_auth", lambda url, *a: ("user", "pw"))
    pystmark.close()  # the environment is read when a session is made
    try:
        pystmark.get_server(api_key="k")
    finally:
        pystmark.close()
    sent = responses.calls[0].request
    assert sent.headers["Authorization"] == "Basic " + base64.b64encode(b"user:pw").decode()
    assert sent.headers["X-Postmark-Server-Token"] == "k"


@responses.activate
def test_pooled_session_sends_credentials_in_the_base_url_as_basic_auth():
    responses.add(responses.GET, re.compile(r"https://.*api\.postmarkapp\.com/server"), json={})
    pystmark.get_server(api_key="k", base_url="https://user:pw@api.postmarkapp.com")
    sent = responses.calls[0].request
    assert sent.headers["Authorization"] == "Basic " + base64.b64encode(b"user:pw").decode()


@responses.activate
def test_pooled_session_takes_the_full_path_for_cookies_and_hooks():
    responses.add(
        responses.POST,
        "https://api.postmarkapp.com/email",
        json={"ErrorCode": 0, "Message": "OK", "MessageID": "m", "To": "b@example.com"},
    )
    seen = []
    pystmark.send(
        {"From": "a@example.com", "To": "b@example.com", "TextBody": "t"},
        api_key="k",
        cookies={"c": "1"},
        hooks={"response": [lambda response, **kwargs: seen.append(response.status_code)]},
    )
    assert responses.calls[0].request.headers["Cookie"] == "c=1"
    assert seen == [200]
