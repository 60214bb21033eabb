"""The redactor: credential patterns, known secret values, terraform's `sensitive` declarations."""

from __future__ import annotations

from pathlib import Path

from stackflow.stacks_loader.model import StackInstance
from stackflow.tasks.ledger.recorder import environment_secrets
from stackflow.tasks.ledger.redact import MASK, Redactor
from stackflow.tasks.ledger.sensitive import SensitiveWatch, sensitive_names
from stackflow.tasks.terraform import ApplyResult, PlanResult, PlanSummary


def test_credentials_are_masked_whatever_their_origin():
    r = Redactor()
    text = "\n".join([
        "Error: InvalidClientTokenId: AKIAIOSFODNN7EXAMPLE is not valid",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "bare secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY here",
        "Authorization: Bearer abcdef123456.ghijkl",
        "token ghp_0123456789abcdefghijklmnopqrstuvwxyzAB used",
        "slack xoxb-1234567890-abcdefghij",
        "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        'db_password = "hunter2"',
        '"client_secret": "s3cr3t-value"',
        "connecting to postgresql://app:pa55word@db.internal:5432/app",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY-----",
    ])
    out = r.redact(text)
    for secret in ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI", "abcdef123456", "ghp_0123", "xoxb-",
                   "eyJhbGci", "hunter2", "s3cr3t-value", "pa55word", "MIIEow"):
        assert secret not in out, secret
    assert "db_password = [REDACTED]" in out
    assert "postgresql://app:[REDACTED]@db.internal" in out
    assert "Authorization: Bearer [REDACTED]" in out


def test_ordinary_text_checksums_commits_and_terraform_masks_are_left_alone():
    r = Redactor()
    text = ("broken/vpc: terraform plan failed (exit 1): Error: invalid CIDR block 10.0.0.0/33 | "
            "commit 4dc8245ff81233ed70e1513431870e5d37b131ce plan "
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 "
            "arn:aws:sqs:us-east-1:123456789012:tiny-twins-alpha password = (sensitive value)")
    assert r.redact(text) == text


def test_known_secret_values_are_masked_longest_first_including_nested_ones():
    r = Redactor(["abcd1234", "abcd1234-and-more"])
    r.add({"nested": ["deep-secret-1", 5432]}, None, True, "no")  # short/None/bool values are skipped
    out = r.redact("x abcd1234-and-more y abcd1234 z deep-secret-1 port 5432 no")
    assert out == f"x {MASK} y {MASK} z {MASK} port {MASK} no"
    r.add_named({"db_password": "pw-from-name", "api_token": "tok-from-name", "region": "us-east-1",
                 "marked": "marked-by-terraform"}, sensitive={"marked"})
    out = r.redact("pw-from-name tok-from-name us-east-1 marked-by-terraform")
    assert out == f"{MASK} {MASK} us-east-1 {MASK}"


def test_environment_entries_named_like_secrets_are_secrets():
    env = {"AWS_SECRET_ACCESS_KEY": "s3cr3t", "GITHUB_TOKEN": "gh-tok", "AWS_ACCESS_KEY_ID": "AKIA",
           "HOME": "/root", "DB_PASSWORD": "pw123"}
    assert sorted(environment_secrets(env)) == ["gh-tok", "pw123", "s3cr3t"]


TF = '''
variable "db_password" {
  type      = string
  sensitive = true
}
variable "name" {
  type = string
}
output "connection" {
  value     = "x"
  sensitive = true
}
output "id" {
  value = "y"
}
'''


def test_sensitive_variables_and_outputs_are_read_from_the_component_code(tmp_path: Path):
    (tmp_path / "main.tf").write_text(TF)
    (tmp_path / "broken.tf").write_text("this is { not hcl")
    names = sensitive_names(tmp_path)
    assert names.variables == {"db_password"} and names.outputs == {"connection"}


class _Steps:
    def plan(self, instance, resolved_vars, *, read_outputs, destroy):
        return PlanResult(str(instance.ref), PlanSummary(add=1), 0.0,
                          outputs={"connection": "conn-string-from-state", "id": "i-123456"})

    def apply(self, instance, plan):
        return ApplyResult(str(instance.ref), {"connection": "conn-after-apply", "id": "i-abcdef"})

    def read_outputs(self, instance):
        return {"connection": "conn-read-directly"}


def test_sensitive_watch_teaches_values_before_the_plan_and_outputs_as_they_are_read(tmp_path: Path):
    (tmp_path / "components" / "db").mkdir(parents=True)
    (tmp_path / "components" / "db" / "main.tf").write_text(TF)
    instance = StackInstance("dev", "db", "components/db", "dev.yaml", env={"SOME_TOKEN": "env-tok-1"})
    redactor = Redactor()
    watch = SensitiveWatch(_Steps(), redactor, tmp_path)
    plan = watch.plan(instance, {"db_password": "pw-value", "name": "visible-name"},
                      read_outputs=True, destroy=False)
    watch.apply(instance, plan)
    watch.read_outputs(instance)
    text = ("pw-value visible-name conn-string-from-state i-123456 conn-after-apply i-abcdef "
            "conn-read-directly env-tok-1")
    assert redactor.redact(text) == (f"{MASK} visible-name {MASK} i-123456 {MASK} i-abcdef {MASK} "
                                     f"{MASK}")
