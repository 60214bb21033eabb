"""Running the stackflow CLI in-process the way a user's script does, reading its JSON contract."""

from __future__ import annotations

import json
from pathlib import Path

from stackflow.cli import main


def run_json(capsys, command: str, repo: Path, *stacks: str) -> tuple[int, dict[str, dict]]:
    """`stackflow COMMAND --repo REPO --format json --stack S…`: the exit code and the outcomes by
    `stack/component`."""
    argv = [command, "--repo", str(repo), "--format", "json"]
    for stack in stacks:
        argv += ["--stack", stack]
    code = main(argv)
    out = capsys.readouterr().out
    return code, {f"{r['stack']}/{r['component']}": r for r in json.loads(out)}
