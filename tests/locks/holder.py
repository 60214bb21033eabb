"""Another run, in its own process: takes a stack lock, says so, and holds it until it reads a
line on stdin (then releases) or is killed.

    python -m tests.locks.holder BUCKET RUN_NAME RUN_ID
"""

from __future__ import annotations

import sys

from stackflow.settings import load_settings
from stackflow.tasks.locks import LockHolder, StackLocks
from tests.locks.instances import s3_instance


def main() -> None:
    bucket, run_name, run_id = sys.argv[1:4]
    instance = s3_instance(bucket)
    locks = StackLocks(load_settings())
    lease = locks.acquire(instance, LockHolder(run_id, run_name, str(instance), "c0ffee"),
                          timeout_s=120)
    print("acquired", flush=True)
    sys.stdin.readline()
    locks.release(lease)
    print("released", flush=True)


if __name__ == "__main__":
    main()
