"""`!exec` at run time: the commands an instance's vars need, run in the repository, read as Atmos reads them."""

from __future__ import annotations

import pytest

from stackflow.errors import ConfigError
from stackflow.stacks_loader.exec_values import decode_exec_output, exec_refs_in, fill_exec
from stackflow.stacks_loader.model import ExecRef
from stackflow.stacks_loader.selection import select_target
from stackflow.tasks.exec_commands import ExecCommandError, ExecRunner
from tests.loader.repos import ctx, write_repo


def test_output_is_read_as_atmos_reads_it():
    assert decode_exec_output('{"a": [1, 2]}\n') == {"a": [1, 2]}
    assert decode_exec_output("42\n\n") == 42
    assert decode_exec_output("  text with spaces \n") == "  text with spaces "  # only trailing newlines go
    assert decode_exec_output("") == ""


def test_refs_are_found_at_any_depth_and_filled_without_changing_the_input():
    one, two = ExecRef("echo 1"), ExecRef("echo 2")
    vars_ = {"a": one, "b": {"c": [two, "x"]}, "d": 1}
    assert exec_refs_in(vars_) == {one, two}
    filled = fill_exec(vars_, {one: 1, two: "two"})
    assert filled == {"a": 1, "b": {"c": ["two", "x"]}, "d": 1} and vars_["a"] is one
    with pytest.raises(ConfigError, match=r"!exec echo 2: the command was not run"):
        fill_exec(vars_, {one: 1})


def test_runner_reports_a_timeout_and_a_command_that_cannot_start_in_one_line(tmp_path):
    runner = ExecRunner(tmp_path, {"PATH": "/usr/bin:/bin"}, timeout_s=0.5)
    with pytest.raises(ExecCommandError, match=r"^s/a: f.yaml: !exec sleep 5: timed out after 0.5s$"):
        runner.run([ExecRef("sleep 5", "f.yaml")], "s/a")
    with pytest.raises(ExecCommandError, match=r"^s/a: f.yaml: !exec true: could not run"):
        ExecRunner(tmp_path / "missing", {}).run([ExecRef("true", "f.yaml")], "s/a")


def test_a_run_needing_exec_outside_vars_is_refused_before_anything_plans(tmp_path):
    repo = write_repo(tmp_path, {
        "components/terraform/app/main.tf": 'variable "x" {}\n',
        "stacks/deploy/dev.yaml": ctx("components: {terraform: {app: {vars: {v: !exec echo 1}, env: {T: !exec echo 2}}}}\n"),
    })
    with pytest.raises(ConfigError, match=r"stack 'plat-ue1-dev' component 'app': env.T: !exec echo 2: stackflow runs "
                                          r"!exec commands for vars only, not in env, so this run is refused"):
        select_target(repo, {}, ["plat-ue1-dev"], allow_exec=True)
