"""One deploy run's worth of ledger writes, from 4 threads, as fast as possible (a test workload).

    python -m tests.ledger.ledger_writer URL HOME INDEX INSTANCES
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from stackflow.flows.recorder import RunInfo, StepRecord
from stackflow.stacks_loader.model import InstanceRef
from stackflow.stacks_loader.outcome import StackOutcome
from stackflow.tasks.ledger.recorder import LedgerRecorder
from stackflow.tasks.ledger.store import Ledger


def main(url: str, home: str, index: str, count: str) -> None:
    recorder = LedgerRecorder(Ledger.open(url, Path(home)), heartbeat_s=0.05)
    refs = [InstanceRef(f"s{index}", f"c{i}") for i in range(int(count))]
    recorder.run_started(RunInfo(flow_run_id=f"writer-{index}", flow_run_name=f"writer {index}",
                                 repo="/repo", commit="c", mode="apply",
                                 selection=[str(r) for r in refs]))

    def one(ref: InstanceRef) -> None:
        t = time.time()
        recorder.step_ended(StepRecord(ref, "plan", 1, t, time.time(), ok=True, plan_checksum="x"))
        recorder.step_ended(StepRecord(ref, "apply", 1, t, time.time(), ok=True))
        recorder.instance_finished(StackOutcome(ref.stack, ref.component, "succeeded", "applied",
                                                duration_s=0.1))

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, refs))
    recorder.run_finished("succeeded")


if __name__ == "__main__":
    main(*sys.argv[1:])
