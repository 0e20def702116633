"""Check pystmark's types as a user's tools see them, from the built wheel.

Builds the wheel, installs it in a fresh virtualenv with mypy and pyright, then:

- ``mypy --strict`` and pyright (strict) pass on ``tests/typing_user/good.py``;
- on ``tests/typing_user/bad.py`` both report exactly the errors its
  ``# expect: mypy=<code> pyright=<rule>`` comments name, line by line;
- ``mypy.stubtest`` finds the built stub consistent with the module at run time;
- ``pyright --verifytypes`` reports the type completeness score of the stub's
  text (pyright refuses stub-only packages there, so it reads the same text as
  an inline-typed package), which must not fall below ``MIN_COMPLETENESS``.

Usage: ``python .ci/check_user_typing.py`` from the repository root.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "typing_user"
#: The distribution's modules, each with its stub package.
MODULES = ["pystmark", "pystmark_testing"]
#: What the user's venv gets besides the wheel (the checkers run from this one).
USER_PACKAGES = ["types-requests", "typing_extensions"]
#: pyright's completeness score of the stub (a fraction): every public name has a declared type.
MIN_COMPLETENESS = 1.0


def run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run ``command``; return its stdout (whatever its exit status)."""
    print("+", " ".join(str(part) for part in command), flush=True)
    done = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True
    )
    return done.stdout + done.stderr


def expected_errors() -> dict[str, set[tuple[int, str]]]:
    """The (line, code) pairs each checker must report for bad.py."""
    expected: dict[str, set[tuple[int, str]]] = {"mypy": set(), "pyright": set()}
    lines = (CASES / "bad.py").read_text().splitlines()
    for number, line in enumerate(lines, start=1):
        for tool, code in re.findall(r"(mypy|pyright)=(\w[\w-]*)", line.partition("# expect:")[2]):
            expected[tool].add((number, code))
    return expected


def mypy_errors(output: str) -> set[tuple[int, str]]:
    """(line, code) of each error mypy printed."""
    return {
        (int(line), code)
        for line, code in re.findall(r"^[^:\n]*:(\d+): error: .*\[([\w-]+)\]$", output, re.M)
    }


def pyright_errors(output: str) -> set[tuple[int, str]]:
    """(line, rule) of each error in pyright's JSON output."""
    report = json.loads(output[output.index("{") :])
    return {
        (item["range"]["start"]["line"] + 1, item.get("rule", "?"))
        for item in report["generalDiagnostics"]
        if item["severity"] == "error"
    }


def main() -> int:
    """Build, install and check; print what differs and return 1 if anything does."""
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="pystmark-typing-") as temp:
        work = Path(temp)
        run(
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "-w",
            work / "dist",
            ROOT,
            cwd=work,
        )
        (wheel,) = glob.glob(str(work / "dist" / "pystmark-*.whl"))
        venv = work / "user"
        run(sys.executable, "-m", "venv", venv, cwd=work)
        python = venv / "bin" / "python"
        run(python, "-m", "pip", "install", "-q", wheel, *USER_PACKAGES, cwd=work)
        mypy: list[str | Path] = [sys.executable, "-m", "mypy", "--strict"]
        mypy += ["--python-executable", python]
        pyright: list[str | Path] = [Path(sys.executable).parent / "pyright", "--outputjson"]
        pyright += ["--pythonpath", python]
        cases = work / "cases"
        shutil.copytree(CASES, cases)  # away from the checkout: only the wheel is seen

        good = run(*mypy, "good.py", cwd=cases)
        if mypy_errors(good) or "Success" not in good:
            problems.append(f"mypy --strict good.py:\n{good}")
        good = run(*pyright, "good.py", cwd=cases)
        if pyright_errors(good):
            problems.append(f"pyright good.py: {sorted(pyright_errors(good))}")

        expected = expected_errors()
        found = {
            "mypy": mypy_errors(run(*mypy, "bad.py", cwd=cases)),
            "pyright": pyright_errors(run(*pyright, "bad.py", cwd=cases)),
        }
        for tool in ("mypy", "pyright"):
            # Each expected error, and none on unmarked lines (pyright's strict mode
            # adds follow-on reports, such as unknown types, on the marked lines).
            marked = {line for line, _ in expected[tool]}
            missing = expected[tool] - found[tool]
            unexpected = {(line, code) for line, code in found[tool] if line not in marked}
            if missing or unexpected:
                problems.append(
                    f"{tool} bad.py: missing {sorted(missing)}, unexpected {sorted(unexpected)}"
                )

        # stubtest: the built stub against the module (the checkout's, the same text).
        site = next((venv / "lib").glob("python*/site-packages"))
        (work / "stubs").mkdir()
        for module in MODULES:
            shutil.copy(site / f"{module}-stubs" / "__init__.pyi", work / "stubs" / f"{module}.pyi")
        stub = site / "pystmark-stubs" / "__init__.pyi"
        allowlist = cases / "stubtest_allowlist.txt"
        stubtest = run(
            sys.executable, "-m", "mypy.stubtest", *MODULES, "--allowlist", allowlist,
            "--mypy-config-file", ROOT / "pyproject.toml",  # Django ships no types
            cwd=work, env={**os.environ, "MYPYPATH": str(work / "stubs")},
        )  # fmt: skip
        if "Success" not in stubtest:
            problems.append(f"stubtest:\n{stubtest}")

        # --verifytypes needs an inline-typed package: the stub's text as one.
        inline = work / "inline" / "pystmark"
        inline.mkdir(parents=True)
        shutil.copy(stub, inline / "__init__.py")
        (inline / "py.typed").write_text("")
        environment = {**os.environ, "PYTHONPATH": str(inline.parent)}
        environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment['PATH']}"
        verify = [*pyright[:2], "--verifytypes", "pystmark", "--ignoreexternal"]
        report = json.loads(run(*verify, cwd=work, env=environment))
        score = report["typeCompleteness"]["completenessScore"]
        print(f"pyright --verifytypes pystmark: type completeness {score:.1%}")
        if score < MIN_COMPLETENESS:
            problems.append(f"type completeness {score:.1%} < {MIN_COMPLETENESS:.0%}")

    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
