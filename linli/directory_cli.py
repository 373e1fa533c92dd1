"""Placeholder: filled in by the stage's implementation."""

from __future__ import annotations

from typing import Any


def add_parser(subparsers: Any) -> None:
    pass
