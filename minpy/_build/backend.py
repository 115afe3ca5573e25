"""Build backend: setuptools, behind a Python version check.

MinPy runs on MXNet 1.9.1, which needs ``numpy<1.24``; those NumPy versions
have no wheels past Python 3.11, and pip resolving them on a newer Python
fails deep inside a NumPy source build. The check turns that into one line
before pip looks at any dependency.
"""
from __future__ import annotations

import sys

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F401,F403  (the PEP 517 hooks)

SUPPORTED = (3, 11)


def check_python(version: tuple = tuple(sys.version_info[:2])) -> None:
    """Raise SystemExit with the reason when this Python cannot run MinPy."""
    if tuple(version) != SUPPORTED:
        have = ".".join(map(str, version))
        raise SystemExit(
            f"MinPy needs Python 3.11 (this is Python {have}): MXNet 1.9.1 requires "
            "numpy<1.24, which has no wheels for other Python versions. "
            "Create the environment with python3.11 -m venv.")


def get_requires_for_build_wheel(config_settings=None):
    check_python()
    return _setuptools.get_requires_for_build_wheel(config_settings)


def get_requires_for_build_editable(config_settings=None):
    check_python()
    return _setuptools.get_requires_for_build_editable(config_settings)


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    check_python()
    return _setuptools.prepare_metadata_for_build_wheel(metadata_directory, config_settings)
