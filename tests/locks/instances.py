"""Stack instances for the lock tests, each on its own (made-up) S3 state."""

from __future__ import annotations

from stackflow.stacks_loader.model import StackInstance


def s3_instance(bucket: str, stack: str = "plat-ue1-dev", component: str = "vpc") -> StackInstance:
    return StackInstance(
        stack=stack, component=component, component_path=f"components/terraform/{component}",
        stack_file=f"{stack}.yaml", backend_type="s3",
        backend={"bucket": bucket, "key": "terraform.tfstate", "workspace_key_prefix": component},
        workspace=stack,
    )
