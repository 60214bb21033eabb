"""The offline test bed: real terraform 1.0.3 + the real aws provider 3.39.0 against moto.

Not part of the `stackflow` package and never imported by it; tests and the demo use it.
See /work/shared/TESTBED.md for the recipe and `python -m testbed --help` for the commands.
"""

from testbed.errors import SandboxError

__all__ = ["SandboxError"]
