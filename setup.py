"""Packaging shim: the metadata lives in pyproject.toml.

It also writes pystmark's type information into the wheel. PEP 561 lets a
package carry a ``py.typed`` marker, but not a single module such as
``pystmark.py``; type checkers look for a stub-only package named
``pystmark-stubs`` instead. The stub is made at build time from
``pystmark.py`` itself, so it can never drift from the code (CI checks the
built wheel with stubtest, mypy and pyright).
"""

from __future__ import annotations

import ast
import os

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithStubs(build_py):
    """``build_py`` that also writes a stub package per module (``pystmark-stubs``...).

    The stub is ``pystmark.py`` itself (see :func:`make_stub`): a stub file
    may hold full source, and mypy and pyright read it, annotations and
    docstrings included. Editable installs get no stub, so that type checkers
    read the live source rather than a copy that goes stale.
    """

    def run(self) -> None:
        """Build as usual, then add the stub package."""
        super().run()
        if not self.editable_mode:
            for source, target in self._stub_files():
                self.mkpath(os.path.dirname(target))
                with open(source, encoding="utf-8") as file:
                    stub = make_stub(file.read())
                with open(target, "w", encoding="utf-8") as file:
                    file.write(stub)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        """The usual outputs and the stub files."""
        outputs = list(super().get_outputs(include_bytecode))
        if not self.editable_mode:
            outputs += [target for _, target in self._stub_files()]
        return outputs

    def _stub_files(self) -> list[tuple[str, str]]:
        """(module file, its stub) for each top-level module: ``<name>-stubs/__init__.pyi``."""
        return [
            (f"{name}.py", os.path.join(self.build_lib, f"{name}-stubs", "__init__.pyi"))
            for name in self.py_modules or ()
        ]


def make_stub(source: str) -> str:
    """The text of a module as a stub: unchanged, less overload implementations.

    A stub may not hold the implementation of an ``@overload``-ed function
    (type checkers report it as an error); everything else stays as written.
    """
    lines = source.splitlines(keepends=True)
    dropped: list[tuple[int, int]] = []
    blocks = (
        block
        for node in ast.walk(ast.parse(source))
        for block in (getattr(node, "body", None), getattr(node, "orelse", None))
        if isinstance(block, list)
    )
    for block in blocks:
        overloaded: set[str] = set()
        for child in block:
            if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if any(_is_overload(decorator) for decorator in child.decorator_list):
                overloaded.add(child.name)
            elif child.name in overloaded:
                first = min([child.lineno] + [d.lineno for d in child.decorator_list])
                dropped.append((first, child.end_lineno or child.lineno))
    for first, last in sorted(dropped, reverse=True):
        del lines[first - 1 : last]
    return "".join(lines)


def _is_overload(decorator: ast.expr) -> bool:
    name = decorator.attr if isinstance(decorator, ast.Attribute) else None
    if isinstance(decorator, ast.Name):
        name = decorator.id
    return name == "overload"


setup(cmdclass={"build_py": BuildPyWithStubs})
