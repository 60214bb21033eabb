"""`make demo` answers its own production gates, as a reviewer would in the Prefect UI.

Runs beside the demo's deploy: every few seconds it approves any paused gate, with the reviewer
name `make-demo`, until the deploy process (pid in argv[1]) ends.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request

from stackflow.tasks.approvals import answer_gate


def _post(url: str, body: dict) -> list[dict]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def main() -> int:
    deploy_pid, api = int(sys.argv[1]), os.environ["PREFECT_API_URL"]
    while True:
        try:
            os.kill(deploy_pid, 0)
        except ProcessLookupError:
            return 0
        try:
            gates = _post(f"{api}/flow_runs/filter", {"flow_runs": {"state": {"type": {"any_": ["PAUSED"]}},
                                                                    "name": {"like_": "approve "}}})
            for gate in gates:
                run = _get(f"{api}/task_runs/{gate['parent_task_run_id']}")["flow_run_id"]
                instance = gate["name"].removeprefix("approve ")
                answer_gate(run, instance, approve=True, reason="approved by make demo",
                            name="make-demo")
                print(f"make demo: approved the production gate of {instance}", flush=True)
        except Exception as exc:  # a gate answered meanwhile, a server hiccup: try again
            print(f"make demo: approver: {exc}", file=sys.stderr, flush=True)
        time.sleep(3)


if __name__ == "__main__":
    sys.exit(main())
