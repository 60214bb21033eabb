"""The one exception the test bed raises on purpose; its message is a single line."""

from __future__ import annotations


class SandboxError(Exception):
    """The sandbox could not be built, started, found or stopped."""
