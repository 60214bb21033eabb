"""The CLI contract: describe component|affected|dependents, deploy --base/--head/--affected-file."""

from __future__ import annotations

import json

import yaml

from stackflow.cli import main

from .gitrepos import TF, two_commits
from .test_affected import DEV, FILES, PROD


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_describe_component_yaml_and_json_with_provenance(tmp_path, capsys):
    repo = two_commits(tmp_path / "repo", FILES, {})
    code, out, _ = _run(capsys, "describe", "component", "vpc", "-s", DEV, "--repo", str(repo))
    assert code == 0 and yaml.safe_load(out)["vars"]["cidr"] == "10.0.0.0/16"
    code, out, _ = _run(capsys, "describe", "component", "vpc", "-s", DEV, "--repo", str(repo),
                        "--provenance", "--format", "json")
    assert json.loads(out)["provenance"]["vars.cidr"] == "stacks/catalog/base.yaml"


def test_describe_component_unknown_is_one_line_exit_2(tmp_path, capsys):
    repo = two_commits(tmp_path / "repo", FILES, {})
    code, _, err = _run(capsys, "describe", "component", "nope", "-s", DEV, "--repo", str(repo))
    assert code == 2 and "has no component 'nope'" in err and err.count("\n") == 1


def test_describe_dependents_lists_the_tree(tmp_path, capsys):
    repo = two_commits(tmp_path / "repo", FILES, {})
    code, out, _ = _run(capsys, "describe", "dependents", "vpc", "-s", DEV, "--repo", str(repo))
    data = json.loads(out)
    assert code == 0 and [d["component"] for d in data] == ["subnets"]
    assert [d["component"] for d in data[0]["dependents"]] == ["app"]


def test_describe_affected_json_and_blast_radius_text(tmp_path, capsys):
    repo = two_commits(tmp_path / "repo", FILES, {"components/terraform/vpc/main.tf": TF,
                                                  "stacks/deploy/prod.yaml": None})
    code, out, _ = _run(capsys, "describe", "affected", "--repo", str(repo), "--base", "HEAD~1",
                        "--head", "HEAD", "--include-dependents", "--format", "json")
    items = json.loads(out)
    assert code == 0 and [i["stack_slug"] for i in items if not i.get("deleted")] == [f"{DEV}-vpc"]
    code, out, _ = _run(capsys, "describe", "affected", "--repo", str(repo), "--base", "HEAD~1",
                        "--include-dependents", "--format", "text")
    assert code == 0 and "3 instance(s) to run: 1 affected, 2 dependent(s); 3 deleted" in out
    assert f"{PROD}/vpc  [deleted.stack]" in out


def test_deploy_change_and_stack_cannot_be_combined(tmp_path, capsys):
    repo = two_commits(tmp_path / "repo", FILES, {})
    code, _, err = _run(capsys, "deploy", "--repo", str(repo), "--base", "HEAD~1", "--stack", DEV)
    assert code == 2 and "drop --stack/--all" in err


def test_deploy_affected_file_and_base_cannot_be_combined(tmp_path, capsys):
    repo = two_commits(tmp_path / "repo", FILES, {})
    (tmp_path / "a.json").write_text("[]")
    code, _, err = _run(capsys, "plan", "--repo", str(repo), "--base", "HEAD~1",
                        "--affected-file", str(tmp_path / "a.json"))
    assert code == 2 and "cannot be combined" in err


def test_deploy_with_a_bad_affected_file_fails_before_anything_runs(tmp_path, capsys):
    repo = two_commits(tmp_path / "repo", FILES, {})
    bad = tmp_path / "a.json"
    bad.write_text(json.dumps([{"component": "vpc"}]))
    code, _, err = _run(capsys, "deploy", "--repo", str(repo), "--affected-file", str(bad))
    assert code == 2 and "a.json: entry [0]: missing field 'stack'" in err


def test_deploy_of_a_change_that_affects_nothing_exits_0(tmp_path, capsys):
    repo = two_commits(tmp_path / "repo", FILES, {"README.md": "x\n"})
    code, _, err = _run(capsys, "deploy", "--repo", str(repo), "--base", "HEAD~1", "--head", "HEAD")
    assert code == 0 and "nothing to deploy" in err


def test_deploy_with_an_unknown_base_is_exit_2(tmp_path, capsys):
    repo = two_commits(tmp_path / "repo", FILES, {})
    code, _, err = _run(capsys, "deploy", "--repo", str(repo), "--base", "nope")
    assert code == 2 and "unknown git ref 'nope'" in err


def test_deploy_of_a_head_that_is_not_checked_out_is_refused(tmp_path, capsys):
    repo = two_commits(tmp_path / "repo", FILES, {"components/terraform/vpc/main.tf": TF})
    code, _, err = _run(capsys, "deploy", "--repo", str(repo), "--base", "HEAD~1",
                        "--head", "HEAD~1")
    assert code == 2 and "check out the head commit first" in err


# --- Atmos' describe affected flags: --stack, --exclude-locked, --repo-path, --ref/--sha, --file, yaml


def _affected_json(capsys, repo, *extra: str) -> list[dict]:
    code, out, err = _run(capsys, "describe", "affected", "--repo", str(repo), *extra)
    assert code == 0, err
    return json.loads(out)


def test_describe_affected_stack_filter_keeps_one_stack_and_still_finds_dependents(tmp_path, capsys):
    repo = two_commits(tmp_path / "repo", FILES, {"components/terraform/vpc/main.tf": TF,
                                                  "stacks/deploy/prod.yaml": None})
    every = _affected_json(capsys, repo, "--base", "HEAD~1")
    assert {(i["stack"], i.get("deleted", False)) for i in every} == {(DEV, False), (PROD, True)}
    only_dev = _affected_json(capsys, repo, "--base", "HEAD~1", "-s", DEV, "--include-dependents")
    assert [(i["component"], i["stack"]) for i in only_dev] == [("vpc", DEV)]  # prod's deletions left out
    assert [d["component"] for d in only_dev[0]["dependents"]] == ["subnets"]
    only_prod = _affected_json(capsys, repo, "--base", "HEAD~1", "--stack", PROD)
    assert {i["component"] for i in only_prod} == {"vpc", "subnets", "app"} and all(i["deleted"] for i in only_prod)
    code, _, err = _run(capsys, "describe", "affected", "--repo", str(repo), "--base", "HEAD~1", "-s", "plat-ue1-qa")
    assert code == 2 and "--stack 'plat-ue1-qa': no such stack in either commit" in err


def test_describe_affected_exclude_locked_leaves_locked_instances_out(tmp_path, capsys):
    files = {**FILES, "stacks/deploy/dev.yaml": FILES["stacks/deploy/dev.yaml"]
             + "components: {terraform: {vpc: {metadata: {locked: true}}}}\n"}
    repo = two_commits(tmp_path / "repo", files, {"components/terraform/vpc/main.tf": TF})
    assert {(i["stack"], i["component"]) for i in _affected_json(capsys, repo, "--base", "HEAD~1")} == {
        (DEV, "vpc"), (PROD, "vpc")}
    assert {(i["stack"], i["component"]) for i in _affected_json(
        capsys, repo, "--base", "HEAD~1", "--exclude-locked")} == {(PROD, "vpc")}


def test_describe_affected_against_an_already_cloned_target_repository(tmp_path, capsys):
    from .gitrepos import git

    repo = two_commits(tmp_path / "repo", FILES, {"components/terraform/vpc/main.tf": TF})
    clone = tmp_path / "target"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    git(clone, "checkout", "-q", "HEAD~1")  # the target: the commit before the change
    by_clone = _affected_json(capsys, repo, "--repo-path", str(clone))
    by_ref = _affected_json(capsys, repo, "--base", "HEAD~1")
    assert by_clone == by_ref and [(i["stack"], i["component"]) for i in by_clone] == [(DEV, "vpc"), (PROD, "vpc")]
    code, _, err = _run(capsys, "describe", "affected", "--repo", str(repo), "--repo-path", str(clone),
                        "--base", "HEAD~1")
    assert code == 2 and "--base and --repo-path both name the commit to compare with" in err


def test_describe_affected_takes_atmos_deprecated_ref_and_sha_and_writes_a_file(tmp_path, capsys):
    from .gitrepos import git

    repo = two_commits(tmp_path / "repo", FILES, {"components/terraform/vpc/main.tf": TF})
    sha = git(repo, "rev-parse", "HEAD~1").strip()
    by_base = _affected_json(capsys, repo, "--base", "HEAD~1")
    assert _affected_json(capsys, repo, "--ref", "HEAD~1") == by_base
    assert _affected_json(capsys, repo, "--sha", sha) == by_base
    out_file = tmp_path / "affected.yaml"
    code, out, _ = _run(capsys, "describe", "affected", "--repo", str(repo), "--sha", sha, "--format", "yaml",
                        "--file", str(out_file))
    assert code == 0 and out == "" and yaml.safe_load(out_file.read_text()) == by_base


def test_describe_affected_defaults_to_the_remotes_default_branch_as_atmos(tmp_path, capsys):
    from .gitrepos import git

    origin = two_commits(tmp_path / "origin", FILES, {})
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(origin), str(work))
    (work / "components/terraform/vpc/main.tf").write_text(TF)
    git(work, "commit", "-qam", "change")
    assert [(i["stack"], i["component"]) for i in _affected_json(capsys, work)] == [(DEV, "vpc"), (PROD, "vpc")]
    code, _, err = _run(capsys, "describe", "affected", "--repo", str(origin))  # no remote: say what to give
    assert code == 2 and "no --base given and refs/remotes/origin/HEAD does not exist" in err


def test_describe_affected_matrix_for_github_actions_as_atmos(tmp_path, capsys):
    repo = two_commits(tmp_path / "repo", FILES, {"components/terraform/vpc/main.tf": TF,
                                                  "stacks/deploy/prod.yaml": None})
    every = _affected_json(capsys, repo, "--base", "HEAD~1")
    code, out, err = _run(capsys, "describe", "affected", "--repo", str(repo), "--base", "HEAD~1", "--format", "matrix")
    assert code == 0, err
    assert out == json.dumps({"include": [{"stack": i["stack"], "component": i["component"],
                                           "component_path": i["component_path"],
                                           "component_type": "terraform"} for i in every]},
                             separators=(",", ":")) + "\n"
    github_output = tmp_path / "github_output"
    github_output.write_text("earlier=1\n")
    code, out, _ = _run(capsys, "describe", "affected", "--repo", str(repo), "--base", "HEAD~1", "--format", "matrix",
                        "--output-file", str(github_output))
    lines = github_output.read_text().splitlines()
    assert code == 0 and out == "" and lines[0] == "earlier=1" and lines[2] == f"count={len(every)}"
    assert json.loads(lines[1].removeprefix("matrix="))["include"][0]["component_type"] == "terraform"
    code, _, err = _run(capsys, "describe", "affected", "--repo", str(repo), "--base", "HEAD~1",
                        "--output-file", str(github_output))
    assert code == 2 and err.strip() == "stackflow: error: --output-file is only supported with --format matrix " \
                                        "(as Atmos)"


def test_describe_affected_takes_the_arguments_atmos_github_action_passes(tmp_path, capsys):
    # cloudposse/github-action-atmos-affected-stacks builds Go-style flags: --flag=true|false
    from .gitrepos import git

    repo = two_commits(tmp_path / "repo", FILES, {"components/terraform/vpc/main.tf": TF})
    clone = tmp_path / "base-ref"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    git(clone, "checkout", "-q", "HEAD~1")
    with_all = _affected_json(capsys, repo, "--base", "HEAD~1", "--include-dependents")
    out_file = tmp_path / "affected-stacks.json"
    code, _, err = _run(capsys, "describe", "affected", "--repo", str(repo), "--include-settings=false",
                        f"--repo-path={clone}", "--include-dependents=true", f"--file={out_file}")
    assert code == 0, err
    action = json.loads(out_file.read_text())
    assert [i["stack_slug"] for i in action] == [i["stack_slug"] for i in with_all]
    assert all(i["settings"] is None for i in action) and any(i["dependents"] for i in action)
    assert all(d["settings"] is None for i in action for d in i["dependents"])
    assert any(i["settings"] is not None for i in with_all)  # stackflow's default includes them
    assert _affected_json(capsys, repo, "--base", "HEAD~1", "--include-dependents=false",
                          "--exclude-locked=false") == _affected_json(capsys, repo, "--base", "HEAD~1")
    code, _, err = _run(capsys, "describe", "affected", "--repo", str(repo), "--base", "HEAD~1",
                        "--include-dependents=maybe")
    assert code == 2 and "'maybe' is not a boolean (true or false)" in err and err.count("\n") == 1


def test_describe_affected_skip_and_process_switches_as_far_as_stackflow_honours_them(tmp_path, capsys):
    repo = two_commits(tmp_path / "repo", FILES, {"components/terraform/vpc/main.tf": TF})
    plain = _affected_json(capsys, repo, "--base", "HEAD~1")
    # the GitHub action's skip-atmos-functions input: stackflow never runs these while loading
    assert _affected_json(capsys, repo, "--base", "HEAD~1", "--skip=terraform.output",
                          "--skip", "store,!exec", "--process-functions=true", "--process-templates") == plain
    for argv, message in ((("--skip=env",), "--skip env: stackflow resolves !env while loading"),
                          (("--process-templates=false",), "--process-templates=false is not supported")):
        code, _, err = _run(capsys, "describe", "affected", "--repo", str(repo), "--base", "HEAD~1", *argv)
        assert code == 2 and message in err and err.count("\n") == 1


def test_describe_affected_stack_filter_on_a_stack_the_change_does_not_reach_is_empty(tmp_path, capsys):
    """The comparison resolves only the stacks a change reaches; a stack outside them still exists."""
    repo = two_commits(tmp_path / "repo", FILES, {
        "stacks/deploy/dev.yaml": FILES["stacks/deploy/dev.yaml"] + "components: {terraform: {vpc: {vars: {cidr: 10.9.0.0/16}}}}\n",
    })
    assert [(i["component"], i["stack"]) for i in _affected_json(capsys, repo, "--base", "HEAD~1")] == [("vpc", DEV)]
    assert _affected_json(capsys, repo, "--base", "HEAD~1", "--stack", PROD) == []
    code, _, err = _run(capsys, "describe", "affected", "--repo", str(repo), "--base", "HEAD~1", "-s", "plat-ue1-qa")
    assert code == 2 and "--stack 'plat-ue1-qa': no such stack in either commit" in err


def test_describe_stacks_takes_atmos_filters_comma_separated_or_repeated(tmp_path, capsys):
    repo = two_commits(tmp_path / "repo", FILES, {})
    code, out, _ = _run(capsys, "describe", "stacks", "--repo", str(repo), "-s", DEV, "--components", "vpc,subnets",
                        "--sections=vars", "--sections", "workspace", "--component-types", "terraform",
                        "--format", "json")
    data = json.loads(out)
    assert code == 0 and list(data) == [DEV]
    assert {name: sorted(doc) for name, doc in data[DEV]["components"]["terraform"].items()} == {
        "subnets": ["vars", "workspace"], "vpc": ["vars", "workspace"]}
    code, _, err = _run(capsys, "describe", "stacks", "--repo", str(repo), "--components", "vcp")
    assert code == 2 and err == "stackflow: error: describe stacks --components: no component 'vcp' in any stack\n"


def test_describe_stacks_and_component_take_atmos_file_and_loading_switches(tmp_path, capsys):
    repo = two_commits(tmp_path / "repo", FILES, {})
    written = tmp_path / "stacks.json"
    code, out, _ = _run(capsys, "describe", "stacks", "--repo", str(repo), "--format", "json", "--file", str(written),
                        "--skip", "terraform.output,store", "--process-templates=true", "--process-functions", "true")
    assert code == 0 and out == "" and DEV in json.loads(written.read_text())
    written = tmp_path / "vpc.yaml"
    code, out, _ = _run(capsys, "describe", "component", "vpc", "-s", DEV, "--repo", str(repo), "--file", str(written))
    assert code == 0 and out == "" and yaml.safe_load(written.read_text())["vars"]["cidr"] == "10.0.0.0/16"
    for what in (["stacks"], ["component", "vpc", "-s", DEV]):
        code, _, err = _run(capsys, "describe", *what, "--repo", str(repo), "--process-templates=false")
        assert code == 2 and err.startswith("stackflow: error: --process-templates=false is not supported")
        code, _, err = _run(capsys, "describe", *what, "--repo", str(repo), "--skip", "include")
        assert code == 2 and err.startswith("stackflow: error: --skip include: stackflow resolves !include")


def test_describe_query_prints_the_value_at_a_yq_path_as_atmos(tmp_path, capsys):
    repo = two_commits(tmp_path / "repo", FILES, {})
    component = ("describe", "component", "vpc", "-s", DEV, "--repo", str(repo))
    assert _run(capsys, *component, "--query", ".vars.cidr") == (0, "10.0.0.0/16\n", "")  # no YAML end marker
    assert _run(capsys, *component, "-q", ".vars.cidr", "--format", "json") == (0, '"10.0.0.0/16"\n', "")
    assert _run(capsys, *component, "-q", ".vars.nope") == (0, "null\n", "")  # yq's null
    code, out, _ = _run(capsys, *component, "-q", ".vars", "--format", "json")
    assert code == 0 and json.loads(out)["cidr"] == "10.0.0.0/16"
    code, out, _ = _run(capsys, "describe", "stacks", "--repo", str(repo), "-q",
                        f".{DEV}.components.terraform.vpc.workspace", "--format", "text")
    assert (code, out) == (0, f"{DEV}\n")
    code, out, err = _run(capsys, *component, "-q", ".vars | keys")
    assert (code, out) == (2, "") and err.startswith("stackflow: error: --query: query '.vars | keys' is not supported")


def test_describe_dependents_and_affected_take_atmos_query_file_and_short_format(tmp_path, capsys):
    repo = two_commits(tmp_path / "repo", FILES, {"stacks/catalog/base.yaml": FILES["stacks/catalog/base.yaml"]
                                                  .replace("10.0.0.0/16", "10.9.0.0/16")})
    written = tmp_path / "dependents.yaml"
    code, out, _ = _run(capsys, "describe", "dependents", "vpc", "-s", DEV, "--repo", str(repo), "-f", "yaml",
                        "-q", ".[0].component", "--file", str(written), "--skip", "terraform.output")
    assert (code, out, written.read_text()) == (0, "", "subnets\n")
    code, out, _ = _run(capsys, "describe", "affected", "--repo", str(repo), "--base", "HEAD~1", "-q", ".[0].stack")
    assert (code, out) == (0, f'"{DEV}"\n')
    code, _, err = _run(capsys, "describe", "affected", "--repo", str(repo), "--base", "HEAD~1", "-q", ".[0]",
                        "--format", "text")
    assert code == 2 and "--query is only supported with --format json or yaml" in err
