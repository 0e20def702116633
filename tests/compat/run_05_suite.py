"""Run pystmark 0.5.3's own test suite against this checkout's pystmark.

Usage (from the project root)::

    python tests/compat/run_05_suite.py            # run, compare with EXPECTED
    python tests/compat/run_05_suite.py --table    # also print the result table (rst)

pystmark 0.5.3's public API, as its test suite exercises it, is the
compatibility contract. The script downloads the 0.5.3 source distribution
with pip into ``tests/compat/.cache/`` (ignored by git) when it is not there
yet, checks its SHA-256, and extracts only ``tests/test_pystmark.py`` into a
temporary directory: 0.5's code is never copied into this repository. The
suite then runs under pytest, offline, against ``pystmark.py`` of this
checkout:

* every socket connection is refused, so a request that escaped the suite's
  mocks fails instead of reaching Postmark;
* ``mock`` (the suite's import) is ``unittest.mock``; ``voluptuous`` must be
  installed (``pip install voluptuous``);
* retries are off (``pystmark.configure(max_retries=0)``): the suite's mocks
  answer instantly, and 0.5 had no retries.

Every test must end as ``EXPECTED`` says: ``pass``, or a failure that is a
deliberate fix of 0.5 behaviour (``fix``, documented in docs/migration.rst) or
a test of a private name or of exact error wording (``private``, ``wording``).
The exit status is 0 when all do, 1 otherwise. The suite is not part of the
default ``pytest`` run because it needs PyPI the first time.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ElementTree
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(__file__).resolve().parent / ".cache"
VERSION = "0.5.3"
SDIST = f"pystmark-{VERSION}.tar.gz"
SHA256 = "4d73827f0b00dc03fade324ab682fb4af7039c53e7f648a453eafec836d12018"
SUITE = f"pystmark-{VERSION}/tests/test_pystmark.py"

# Refuses sockets, provides ``mock``, turns retries off; loaded by pytest.
CONFTEST = """
import socket

import pystmark


def _refuse(sock, address):
    raise OSError(f"0.5 suite runner: no network (tried {address!r})")


socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
pystmark.configure(max_retries=0)
"""

# Why each test that fails is expected to. The others must pass.
FIX_SEND_TIME = "fix: errors raise when the answer arrives, not on raise_for_status()"
FIX_VALIDATE = "fix: messages are validated at send time (a template send needs a template)"
FIX_RECIPIENTS = "fix: the limit is Postmark's 50 per field, not 20 in all"
FIX_HTTPS = "fix: no plain-http API URL (secure=False is refused)"
FIX_BATCH_SPLIT = "fix: batches over 500 are split, not refused"
FIX_BATCH_COUNT = "fix: a batch answer must list every message (the mock answers 10 of 20)"
FIX_CONTENT_ID = "fix: a content_id without 'cid:' gets the prefix instead of an error"
FIX_NO_EXTENSION = "fix: a file without an extension is attached as application/octet-stream"
FIX_CONTENT_TYPE = "fix: a missing ContentType is guessed from the name, not an error"
FIX_BOUNCE_TYPE = "fix: an unknown bounce type goes to Postmark (new types keep working)"
FIX_BAD_JSON = "fix: a 2xx answer that is not JSON raises UnexpectedResponseError, not empty data"
PRIVATE = "private"
WORDING = "wording: same error class, new text"

EXPECTED: dict[str, str] = {
    # Private names: _get_api_url, _get_headers, _fields, _detect_content_type, ...
    "SenderTest::test_advanced_api": PRIVATE + " (Sender._get_api_url, _get_headers)",
    "TemplateSenderTest::test_advanced_api": PRIVATE + " (Sender._get_api_url, _get_headers)",
    "SenderArgsTest::test_api_key_on_send": PRIVATE + " (Sender._get_api_url, _get_headers)",
    "ResponseTest::test_pyst_response_setter_wrap": PRIVATE + " (Response._requests_response)",
    "MessageTest::test_load_message_native": PRIVATE + " (Message._fields)",
    "MessageErrorTest::test_detect_content_type": PRIVATE + " (Message._detect_content_type)",
    "MessageErrorTest::test_attach_binary_default_content_type": PRIVATE
    + " (Message._detect_content_type)",
    "BouncesTest::test_bounce_type": PRIVATE + " (Bounces._get_headers, _get_api_url)",
    "BouncesTest::test_email_filter": PRIVATE + " (Bounces._get_headers, _get_api_url)",
    "BouncesTest::test_inactive_false": PRIVATE + " (Bounces._get_headers, _get_api_url)",
    "BouncesTest::test_inactive_true": PRIVATE + " (Bounces._get_headers, _get_api_url)",
    "BouncesTest::test_message_id": PRIVATE + " (Bounces._get_headers, _get_api_url)",
    "BouncesTest::test_message_id_with_count": PRIVATE + " (Bounces._get_headers, _get_api_url)",
    "BounceDumpTest::test_dump_of_fetched_message": PRIVATE + " (BouncedMessage._sender)",
    "UserWarningsTest::test_missing_attributes": PRIVATE + " (Interface._get_api_url, _request)",
    "InterfaceTest::test_get_headers": PRIVATE + " (Interface._get_headers, _headers)",
    # The mock's json() raises: a 2xx answer that cannot be read is an error,
    # where 0.5 read it as empty data.
    "BouncesTest::test_bad_json_response": FIX_BAD_JSON,
    "BounceTest::test_bad_json_response": FIX_BAD_JSON,
    "BounceDumpTest::test_bad_json_response": FIX_BAD_JSON,
    "BounceTagsTest::test_bad_json_response": FIX_BAD_JSON,
    "BounceActivateTest::test_bad_json_response": FIX_BAD_JSON,
    "DeliveryStatsTest::test_bad_json_response": FIX_BAD_JSON,
    # Same error class (MessageError / ValueError), other text.
    "SenderArgsTest::test_missing_api_key": WORDING,
    "MessageErrorTest::test_missing_to": WORDING,
    "MessageErrorTest::test_missing_html_and_text": WORDING,
    "MessageErrorTest::test_bad_headers_extra_fields": WORDING,
    "MessageErrorTest::test_bad_headers_missing_name": WORDING,
    "MessageErrorTest::test_bad_headers_missing_value": WORDING,
    "MessageErrorTest::test_bad_headers_not_dict": WORDING,
    "MessageErrorTest::test_bad_attachment_extra_field": WORDING,
    "MessageErrorTest::test_bad_attachment_missing_name": WORDING,
    "MessageErrorTest::test_bad_attachment_missing_content": WORDING,
    "MessageErrorTest::test_attach_bad_filename": WORDING,
    "MessageErrorTest::test_attach_file_banned_extension": WORDING,
    "MessageErrorTest::test_too_many_recipients": WORDING + " (limit 50: " + FIX_RECIPIENTS + ")",
    # Deliberate fixes of 0.5 behaviour (docs/migration.rst).
    "SenderErrorTest::test_401": FIX_SEND_TIME,
    "SenderErrorTest::test_422": FIX_SEND_TIME,
    "SenderErrorTest::test_500": FIX_SEND_TIME,
    "SenderErrorTest::test_unhandled_status": FIX_SEND_TIME,
    "ErrorTest::test_bad_json_response": FIX_SEND_TIME,
    "ErrorTest::test_error_str_formatted_postmark": FIX_SEND_TIME,
    "SenderArgsTest::test_secure_overrides": FIX_HTTPS,
    "TemplateSenderTest::test_send_message": FIX_VALIDATE,
    "TemplateSenderTest::test_send_with_template": FIX_VALIDATE,
    "BatchTemplateSenderTest::test_send_batch_templates": FIX_VALIDATE,
    "BatchTemplateSenderTest::test_simple_api": FIX_VALIDATE,
    "BatchTemplateSenderTest::test_send_batch_templates_too_many_messages": FIX_VALIDATE,
    "BatchSenderTest::test_batch_send": FIX_BATCH_COUNT,
    "BatchSenderTest::test_simple_api": FIX_BATCH_COUNT,
    "BatchSenderTest::test_batch_send_too_many_messages": FIX_BATCH_SPLIT,
    "MessageErrorTest::test_attach_binary_bad_content_id": FIX_CONTENT_ID,
    "MessageErrorTest::test_attach_file_no_extension": FIX_NO_EXTENSION,
    "MessageErrorTest::test_bad_attachment_missing_content_type": FIX_CONTENT_TYPE,
    "BouncesTest::test_bad_bounce_type": FIX_BOUNCE_TYPE,
}


def fetch_sdist(cache: Path) -> Path:
    """The cached sdist, downloaded with pip first if it is missing."""
    path = cache / SDIST
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--no-binary",
                ":all:",
                f"pystmark=={VERSION}",
                "--dest",
                str(cache),
            ],
            check=True,
        )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != SHA256:
        raise SystemExit(f"{path}: SHA-256 {digest}, expected {SHA256}")
    return path


def run_suite(sdist: Path, workdir: Path) -> dict[str, str]:
    """Run 0.5's suite in ``workdir``; return test id -> "pass" or the failure's first line."""
    with tarfile.open(sdist) as archive:
        source = archive.extractfile(SUITE)
        assert source is not None
        (workdir / "test_pystmark.py").write_bytes(source.read())
    (workdir / "conftest.py").write_text(CONFTEST)
    (workdir / "mock.py").write_text("from unittest.mock import *  # noqa: F403\n")
    (workdir / "pytest.ini").write_text("[pytest]\n")
    report = workdir / "report.xml"
    env = {name: value for name, value in os.environ.items() if not name.startswith("POSTMARK_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(workdir)])
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-c",
            str(workdir / "pytest.ini"),
            "--rootdir",
            str(workdir),
            f"--junitxml={report}",
            str(workdir / "test_pystmark.py"),
        ],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        check=False,
    )
    results: dict[str, str] = {}
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        test_id = f"{case.get('classname', '').rsplit('.', 1)[-1]}::{case.get('name')}"
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        results[test_id] = "pass" if problem is None else (problem.get("message") or "failed")
    return results


def main(argv: list[str] | None = None) -> int:
    """Run the suite and compare each test's outcome with ``EXPECTED``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=CACHE, help="where the sdist is kept")
    parser.add_argument("--table", action="store_true", help="print the result table (rst)")
    args = parser.parse_args(argv)
    sdist = fetch_sdist(args.cache)
    with tempfile.TemporaryDirectory() as workdir:
        results = run_suite(sdist, Path(workdir))
    if not results:
        print("0.5's suite did not run (is voluptuous installed?)")
        return 1
    wrong = []
    for test_id, outcome in results.items():
        expected = EXPECTED.get(test_id, "pass")
        if (outcome == "pass") != (expected == "pass"):
            wrong.append(f"{test_id}: expected {expected}, got {outcome[:200]}")
    counts = {"pass": 0, "fix": 0, "private": 0, "wording": 0}
    for test_id in results:
        counts[EXPECTED.get(test_id, "pass").split(":")[0].split(" ")[0]] += 1
    if args.table:
        print(".. list-table::\n   :header-rows: 1\n\n   * - pystmark 0.5.3 test\n     - result")
        for test_id in sorted(results):
            print(f"   * - ``{test_id}``\n     - {EXPECTED.get(test_id, 'pass')}")
        print()
    print(
        f"{len(results)} tests: {counts['pass']} pass, {counts['fix']} deliberate fixes, "
        f"{counts['private']} private names, {counts['wording']} error wording"
    )
    for line in wrong:
        print("UNEXPECTED", line)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
