"""One workload in one process: ``python -m benchmarks.worker '<json config>'``.

Prints one JSON line: ``wall`` and ``cpu`` of the measured phase, and for the
attachment workload ``extra_rss`` (peak RSS minus RSS before the send). The
parent measures the whole process's CPU and peak memory with ``os.wait4``.
Only ``sys``, ``time`` and ``benchmarks.peers`` (which imports nothing
more) are imported before the import workload runs.
"""

import sys

# Shared with benchmarks/peers.py, which must run alone in a peer's venv; it
# imports only sys and time itself.
from benchmarks.peers import (
    _attachment_data,
    _keyword_messages,
    _message,
    _rss,
    run_workload,
    time_import,
)


class Plain:
    """What a careful user writes with a plain ``requests.Session`` (keep-alive)."""

    def __init__(self, config: dict) -> None:
        import requests

        self.url = config["url"]
        self.verify = config["ca"]
        self.session = requests.Session()
        self.session.headers.update(
            {"Accept": "application/json", "X-Postmark-Server-Token": "bench-token"}
        )

    def post(self, path: str, payload: object) -> object:
        response = self.session.post(
            self.url + path, json=payload, verify=self.verify, timeout=(10, 60)
        )
        response.raise_for_status()
        return response.json()

    def get(self, path: str, params: dict) -> dict:
        response = self.session.get(
            self.url + path, params=params, verify=self.verify, timeout=(10, 60)
        )
        response.raise_for_status()
        return response.json()

    def single(self, config: dict) -> int:
        for index in range(config["size"]):
            assert self.post("/email", _message(index))["ErrorCode"] == 0
        return config["size"]

    def batch(self, config: dict) -> int:
        messages = [_message(index) for index in range(config["size"])]
        if config.get("max_workers"):
            return self._batch_threads(messages, config)
        sent = 0
        for start in range(0, len(messages), 500):
            results = self.post("/email/batch", messages[start : start + 500])
            sent += sum(1 for item in results if item["ErrorCode"] == 0)
        return sent

    def _batch_threads(self, messages: list, config: dict) -> int:
        """The same requests from ``max_workers`` threads, a session each."""
        import threading
        from concurrent.futures import ThreadPoolExecutor

        local = threading.local()

        def post(chunk: list) -> int:
            if not hasattr(local, "plain"):
                local.plain = Plain(config)
            results = local.plain.post("/email/batch", chunk)
            return sum(1 for item in results if item["ErrorCode"] == 0)

        chunks = [messages[start : start + 500] for start in range(0, len(messages), 500)]
        with ThreadPoolExecutor(config["max_workers"]) as pool:
            return sum(pool.map(post, chunks))

    # The baseline of the batch built as each client's message type: a plain
    # loop has no type of its own, so it is the same dict loop.
    batch_message = batch

    def bounces(self, config: dict) -> int:
        # Pages of 500; at the 10,000 offset cap, restart below the last
        # timestamp seen (todate is inclusive, so skip what was already read).
        total, offset, todate, seen = 0, 0, None, set()
        limit = config["size"]
        while total < limit:
            count = min(500, 10_000 - offset, limit - total)
            params = {"count": count, "offset": offset}
            if todate:
                params["todate"] = todate
            page = self.get("/bounces", params)["Bounces"]
            fresh = [item for item in page if item["ID"] not in seen]
            total += sum(item["ID"] is not None for item in fresh)  # touch one field
            if len(page) < count:
                break
            offset += len(page)
            if offset >= 10_000:
                todate = page[-1]["BouncedAt"][:19]
                seen = {item["ID"] for item in page if item["BouncedAt"][:19] == todate}
                offset = 0
        return total

    def attachment(self, config: dict) -> int:
        import base64

        data = _attachment_data(config)
        before = _rss()
        payload = _message(0)
        payload["Attachments"] = [
            {
                "Name": "report.pdf",
                "Content": base64.b64encode(data).decode("ascii"),
                "ContentType": "application/octet-stream",
            }
        ]
        self.post("/email", payload)
        return before


class Adapter(Plain):
    """The plain loop's requests through ``HTTPAdapter.send``, called directly.

    The floor of a client that sends through requests' adapter, as pystmark
    does so that ``responses`` and other test tools see its requests: no
    session, no checks, each request prepared from a URL and headers made
    once (the session's headers, as the plain loop sends them).
    """

    def __init__(self, config: dict) -> None:
        import json

        import requests

        super().__init__(config)
        self.dumps, self.loads = json.dumps, json.loads
        self.new_request = requests.PreparedRequest
        self.adapter = self.session.get_adapter(self.url)
        probe = requests.PreparedRequest()
        probe.prepare_headers({**self.session.headers, "Content-Type": "application/json"})
        self.headers = probe.headers

    def post(self, path: str, payload: object) -> object:
        prepared = self.new_request()
        prepared.method = "POST"
        prepared.url = self.url + path
        prepared.body = self.dumps(payload).encode()
        prepared.headers = self.headers.copy()
        prepared.headers["Content-Length"] = str(len(prepared.body))
        response = self.adapter.send(prepared, verify=self.verify, timeout=(10, 60))
        response.raise_for_status()
        return self.loads(response.content)


class Pystmark:
    """The same workloads through pystmark's simple API."""

    def __init__(self, config: dict) -> None:
        import pystmark

        self.pystmark = pystmark
        self.options = {
            "api_key": "bench-token",
            "base_url": config["url"],
            "verify": config["ca"],
            "timeout": (10, 60),
        }

    def single(self, config: dict) -> int:
        send = self.pystmark.send
        for index in range(config["size"]):
            assert send(_message(index), **self.options).error_code == 0
        return config["size"]

    def batch(self, config: dict) -> int:
        return self._send_batch([_message(index) for index in range(config["size"])], config)

    def batch_message(self, config: dict) -> int:
        # The documented way: a Message per email, the same fields as _message.
        return self._send_batch(_keyword_messages(self.pystmark.Message, config["size"]), config)

    def _send_batch(self, messages: list, config: dict) -> int:
        options = dict(self.options)
        if config.get("max_workers"):
            options["max_workers"] = config["max_workers"]
        response = self.pystmark.send_batch(messages, **options)
        return sum(1 for result in response if result.ok)

    def bounces(self, config: dict) -> int | None:
        iter_bounces = getattr(self.pystmark, "iter_bounces", None)
        if iter_bounces is None:
            return None
        total = 0
        for bounce in iter_bounces(max_results=config["size"], **self.options):
            total += bounce.id is not None  # touch one field, as the plain loop does
        return total

    def attachment(self, config: dict) -> int:
        data = _attachment_data(config)
        before = _rss()
        message = _message(0)
        message["Attachments"] = [self.pystmark.Attachment("report.pdf", data)]
        self.pystmark.send(message, **self.options)
        return before


def main(argv: list[str]) -> int:
    """Run the workload named in the JSON config; print the measurements."""
    if argv[1] == "import":
        print(time_import(argv[2]))
        return 0
    import json

    config = json.loads(argv[1])
    kind = {"pystmark": Pystmark, "requests-adapter": Adapter}.get(config["client"], Plain)
    client = kind(config)
    print(json.dumps(run_workload(client, config)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
