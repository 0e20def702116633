"""Sphinx configuration for pystmark's documentation."""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

import pystmark

project = "pystmark"
author = "The pystmark developers"
copyright = "2013-2026, The pystmark developers"
version = release = pystmark.__version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.viewcode"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
# No intersphinx: the docs build offline (CI has no network).
html_theme = "furo"
html_title = f"pystmark {release}"
exclude_patterns = ["_build"]
# Annotations such as ``date`` also match record attributes named ``date``
# (InboundMessage.date...); those ambiguous links are not worth a failed build.
suppress_warnings = ["ref.python"]
