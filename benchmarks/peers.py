"""Other Postmark clients, each in its own virtual environment.

The runner (``python -m benchmarks --peers``) runs this file by path with the
peer venv's interpreter in isolated mode (``python -I``: no PYTHONPATH, no
script directory or current directory on ``sys.path``), so ``import pystmark``
finds the 0.5.3 installed in that venv, never this project's ``pystmark.py``:
``<venv>/bin/python -I benchmarks/peers.py <peer> '<json config>'`` or
``... peers.py <peer> import``. Every client is checked to be the version
asked for, loaded from the venv's site-packages, before it is measured.

Only the standard library and the peer library are imported. The output is
the same JSON line as ``benchmarks/worker.py`` prints. A workload the peer
cannot do prints ``"items": null``.
"""

import sys
import time

# Each peer: its label in the table, the requirement installed into its venv,
# the module checked (name and version), the module the import workload times,
# the environment variable that passes the CA (None: the client takes a
# ``verify`` option) and the workloads it cannot do, with the reason.
PEERS: dict[str, dict] = {
    "pystmark053": {
        "label": "pystmark 0.5.3",
        "requirement": "pystmark==0.5.3",
        "module": "pystmark",
        "version": "0.5.3",
        "import": "pystmark",
        "ca_env": None,
        "skip": {"bounces_all": "impossible: ``get_bounces`` pages by offset only"},
    },
    "postmarker": {
        "label": "postmarker 1.0",
        "requirement": "postmarker==1.0",
        "module": "postmarker",
        "version": "1.0",
        "import": "postmarker.core",
        "ca_env": "REQUESTS_CA_BUNDLE",
        "skip": {"bounces_all": "impossible: ``bounces.all`` pages by offset only"},
    },
    "postmark_python": {
        "label": "postmark-python 0.4.0",
        "requirement": "postmark-python==0.4.0",
        "module": "postmark",
        "version": "0.4.0",
        "import": "postmark",
        "ca_env": "SSL_CERT_FILE",
        "skip": {"bounces_all": "impossible: ``bounces.stream`` stops at 10,000"},
    },
}

# Postmark's offset limit: count + offset <= 10,000.
OFFSET_CAP = 10_000


# The fields every benchmark message shares (one string each, as the folded
# constants of a literal in a user's code would be).
SENDER = "sender@example.com"
TEXT_BODY = "Hello from the benchmark. " * 8
HTML_BODY = "<p>Hello from the benchmark.</p>" * 8
TAG = "bench"
STREAM = "outbound"


def _message(index: int) -> dict:
    # Also the message of benchmarks/worker.py, which imports it from here;
    # each client's batch_message builds the same fields as its own type.
    return {
        "From": SENDER,
        "To": f"user{index}@example.com",
        "Subject": f"Hello {index}",
        "TextBody": TEXT_BODY,
        "HtmlBody": HTML_BODY,
        "Tag": TAG,
        "MessageStream": STREAM,
    }


def _keyword_messages(new_message, size: int) -> list:
    """``size`` messages with the values of :func:`_message`, built as pystmark takes them.

    By keyword arguments, the same in this project and in pystmark 0.5.3: the
    batch of each one's ``Message`` objects (``benchmarks/worker.py`` imports it).
    """
    return [
        new_message(
            sender=SENDER,
            to=f"user{index}@example.com",
            subject=f"Hello {index}",
            text=TEXT_BODY,
            html=HTML_BODY,
            tag=TAG,
            message_stream=STREAM,
        )
        for index in range(size)
    ]


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        import os

        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _attachment_data(config: dict) -> bytes:
    import os

    return os.urandom(config["size"])


def check_installed(peer: str) -> None:
    """Fail loudly unless the peer's module is the expected version from this venv."""
    import os

    module_name, version = PEERS[peer]["module"], PEERS[peer]["version"]
    __import__(module_name)
    module = sys.modules[module_name]
    found = getattr(module, "__version__", None)
    path = os.path.realpath(getattr(module, "__file__", None) or "")
    venv = os.path.realpath(sys.prefix)
    in_venv = sys.prefix != sys.base_prefix and path.startswith(venv + os.sep)
    if found != version or not in_venv or "site-packages" not in path:
        raise SystemExit(
            f"{peer}: expected {module_name} {version} from {venv}'s site-packages, "
            f"got {found} from {path}"
        )


def _chunks(items: list, size: int = 500) -> list:
    return [items[start : start + size] for start in range(0, len(items), size)]


class Pystmark053:
    """pystmark 0.5.3's simple API: one ``requests.request`` (a new connection) per call."""

    def __init__(self, config: dict) -> None:
        import pystmark

        # 0.5.3 has no base-URL option: every call joins its endpoint to this
        # module constant, so the benchmark points it at the local server.
        pystmark.POSTMARK_API_URL_SECURE = config["url"] + "/"
        self.pystmark = pystmark
        # Extra keyword arguments go to requests.request: verify takes the CA.
        self.options = {"api_key": "bench-token", "verify": config["ca"], "timeout": (10, 60)}

    def single(self, config: dict) -> int:
        send = self.pystmark.send
        for index in range(config["size"]):
            response = send(_message(index), **self.options)
            response.raise_for_status()
            assert response.message.error_code == 0
        return config["size"]

    def batch(self, config: dict) -> int:
        return self._send_batch([_message(index) for index in range(config["size"])])

    def batch_message(self, config: dict) -> int:
        # 0.5.3's Message takes the same keyword arguments as this project's.
        return self._send_batch(_keyword_messages(self.pystmark.Message, config["size"]))

    def _send_batch(self, messages: list) -> int:
        # send_batch refuses more than 500 messages: chunk as a user would.
        sent = 0
        for chunk in _chunks(messages):
            response = self.pystmark.send_batch(chunk, **self.options)
            response.raise_for_status()
            sent += sum(1 for item in response.messages if item.error_code == 0)
        return sent

    def bounces(self, config: dict) -> int | None:
        # No pager: a user's count/offset loop over get_bounces, which cannot
        # go past Postmark's offset cap.
        limit = config["size"]
        if limit > OFFSET_CAP:
            return None
        total, offset = 0, 0
        while total < limit:
            count = min(500, limit - total)
            response = self.pystmark.get_bounces(count=count, offset=offset, **self.options)
            response.raise_for_status()
            page = response.bounces
            total += sum(bounce.id is not None for bounce in page)  # touch one field
            if len(page) < count:
                break
            offset += len(page)
        return total

    def attachment(self, config: dict) -> int:
        data = _attachment_data(config)
        before = _rss()
        message = self.pystmark.Message.load_message(_message(0))
        message.attach_binary(data, "report.pdf", content_type="application/octet-stream")
        self.pystmark.send(message, **self.options).raise_for_status()
        return before


class Postmarker:
    """postmarker 1.0's ``PostmarkClient`` (one ``requests.Session``)."""

    def __init__(self, config: dict) -> None:
        from postmarker.core import PostmarkClient

        # No CA option: the runner sets REQUESTS_CA_BUNDLE for this process.
        self.client = PostmarkClient(
            server_token="bench-token", root_api_url=config["url"] + "/", timeout=(10, 60)
        )

    def single(self, config: dict) -> int:
        send = self.client.emails.send
        for index in range(config["size"]):
            assert send(**_message(index))["ErrorCode"] == 0
        return config["size"]

    def batch(self, config: dict) -> int:
        return self._send_batch([_message(index) for index in range(config["size"])])

    def batch_message(self, config: dict) -> int:
        # The Email objects of the client's own factory (which also sends its
        # defaults: TrackLinks "None" and the unset fields as nulls).
        new_email = self.client.emails.Email
        emails = [
            new_email(
                From=SENDER,
                To=f"user{index}@example.com",
                Subject=f"Hello {index}",
                TextBody=TEXT_BODY,
                HtmlBody=HTML_BODY,
                Tag=TAG,
                MessageStream=STREAM,
            )
            for index in range(config["size"])
        ]
        return self._send_batch(emails)

    def _send_batch(self, messages: list) -> int:
        # send_batch takes Email objects or dicts and splits into requests of 500 itself.
        results = self.client.emails.send_batch(*messages)
        return sum(1 for item in results if item["ErrorCode"] == 0)

    def bounces(self, config: dict) -> int | None:
        # bounces.all pages by count/offset itself, up to the offset cap.
        if config["size"] > OFFSET_CAP:
            return None
        bounces = self.client.bounces.all(count=config["size"])
        return sum(bounce.ID is not None for bounce in bounces)  # touch one field

    def attachment(self, config: dict) -> int:
        data = _attachment_data(config)
        before = _rss()
        email = self.client.emails.Email(**_message(0))
        email.attach_binary(data, "report.pdf")
        assert email.send()["ErrorCode"] == 0
        return before


class PostmarkPython:
    """postmark-python 0.4.0 through its synchronous wrapper, ``postmark.sync``.

    The wrapper runs the async client's calls on a background event loop thread.
    """

    def __init__(self, config: dict) -> None:
        import os

        import postmark
        import postmark.sync

        # No CA option: the runner sets SSL_CERT_FILE (read by httpx) for this process.
        if os.environ.get("POSTMARK_SSL_VERIFY", "true").lower() == "false":
            raise SystemExit("POSTMARK_SSL_VERIFY=false would switch verification off")
        self.postmark = postmark
        self.client = postmark.sync.ServerClient("bench-token", timeout=60, base_url=config["url"])

    def single(self, config: dict) -> int:
        send = self.client.outbound.send
        for index in range(config["size"]):
            assert send(_message(index)).error_code == 0
        return config["size"]

    def batch(self, config: dict) -> int:
        return self._send_batch([_message(index) for index in range(config["size"])])

    def batch_message(self, config: dict) -> int:
        # The pydantic model send_batch takes (postmark.Message models a sent
        # message as read back, not one to send).
        new_email = self.postmark.Email
        emails = [
            new_email(
                sender=SENDER,
                to=f"user{index}@example.com",
                subject=f"Hello {index}",
                text_body=TEXT_BODY,
                html_body=HTML_BODY,
                tag=TAG,
                message_stream=STREAM,
            )
            for index in range(config["size"])
        ]
        return self._send_batch(emails)

    def _send_batch(self, messages: list) -> int:
        # send_batch refuses more than 500 messages: chunk as a user would.
        sent = 0
        for chunk in _chunks(messages):
            sent += sum(1 for item in self.client.outbound.send_batch(chunk) if item.success)
        return sent

    def bounces(self, config: dict) -> int | None:
        # bounces.stream pages itself; it refuses max_bounces over the offset cap.
        if config["size"] > OFFSET_CAP:
            return None
        bounces = self.client.bounces.stream(batch_size=500, max_bounces=config["size"])
        return sum(bounce.id is not None for bounce in bounces)  # touch one field

    def attachment(self, config: dict) -> int:
        import base64

        data = _attachment_data(config)
        before = _rss()
        message = _message(0)
        message["Attachments"] = [
            self.postmark.Attachment(
                name="report.pdf",
                content=base64.b64encode(data).decode("ascii"),
                content_type="application/octet-stream",
            )
        ]
        assert self.client.outbound.send(message).error_code == 0
        return before

    def close(self) -> None:
        self.client.close()


CLIENTS = {"pystmark053": Pystmark053, "postmarker": Postmarker, "postmark_python": PostmarkPython}


def time_import(module: str) -> str:
    """Import ``module``; its CPU and wall time as the worker's JSON line."""
    cpu, wall = time.process_time(), time.perf_counter()
    __import__(module)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return f'{{"cpu": {cpu!r}, "wall": {wall!r}, "items": 1}}'


def run_workload(client, config: dict) -> dict:
    """Run the config's workload on ``client``: CPU, wall time, items (and extra peak RSS).

    An attachment workload returns the RSS before its send; the extra peak is
    measured from there.
    """
    import resource

    workload = getattr(client, config["workload"])
    cpu, wall = time.process_time(), time.perf_counter()
    result = workload(config)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    out = {"cpu": cpu, "wall": wall, "items": result}
    if config["workload"] == "attachment":
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        out["extra_rss"] = peak - result
        out["items"] = 1
    return out


def main(argv: list[str]) -> int:
    """Run one workload for one peer; print the measurements as one JSON line."""
    peer = argv[1]
    if argv[2] == "import":
        line = time_import(PEERS[peer]["import"])
        check_installed(peer)
        print(line)
        return 0
    import json

    check_installed(peer)
    config = json.loads(argv[2])
    client = CLIENTS[peer](config)
    out = run_workload(client, config)
    if hasattr(client, "close"):
        client.close()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
