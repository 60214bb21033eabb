"""prefect.yaml for real: a server and a worker as separate processes, a run triggered over REST."""

from __future__ import annotations

import os

import pytest

from .prefect_services import stop_process

pytestmark = [pytest.mark.terraform, pytest.mark.prefect_server, pytest.mark.xdist_group("e2e")]



def test_deployment_from_prefect_yaml_runs_on_a_worker_when_triggered_over_rest(
    prefect_server, sandbox, fixture_repo, tmp_path
):
    repo = fixture_repo("tiny")
    project = tmp_path / "project"  # a checkout of stackflow, as a user would deploy from
    env = sandbox.env(os.environ)
    env["STACKFLOW_HOME"] = str(tmp_path / "stackflow-home")
    deployment = prefect_server.deploy_project(project, env)

    worker = prefect_server.start_worker("stackflow", project, env, tmp_path / "worker.log")
    try:
        run = prefect_server.request(
            "POST", f"/deployments/{deployment['id']}/create_flow_run",
            {"parameters": {"repo": str(repo), "stacks": ["twins"], "mode": "apply"}},
        )
        final = prefect_server.wait_flow_run(run["id"], timeout=600)
    finally:
        stop_process(worker)
    log = (tmp_path / "worker.log").read_text()
    assert final["state"]["type"] == "COMPLETED", log[-3000:]

    task_runs = prefect_server.request("POST", "/task_runs/filter",
                                       {"flow_runs": {"id": {"any_": [run["id"]]}}})
    names = {t["name"] for t in task_runs}
    assert {"plan twins/queue-a", "apply twins/queue-a", "plan twins/topic", "apply twins/topic"} <= names
    artifacts = prefect_server.request("POST", "/artifacts/filter",
                                       {"artifacts": {"flow_run_id": {"any_": [run["id"]]}}})
    summary = next(a for a in artifacts if a["key"] == "stackflow-deploy-summary")
    assert {"plan-twins-queue-a", "plan-twins-queue-b", "plan-twins-topic"} <= {a["key"] for a in artifacts}
    assert "`twins/topic` | succeeded" in summary["data"]
    assert "queue/twins-queue-a/terraform.tfstate" in sandbox.state_keys()
