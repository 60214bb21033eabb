"""Atmos' `atmos.Component` and `atmos.Store` template functions, as stackflow runs them in a
component's values.

`vpc_id: '{{ (atmos.Component "vpc" .stack).outputs.vpc_id }}'` reads another instance's
Terraform output, like `!terraform.output vpc {{ .stack }} vpc_id`. Atmos runs `terraform output`
while it loads the stacks; the loader never runs anything, so it keeps the value as the same
deferred reference `!terraform.output` gives (the flow fills it with the parent's real output
right before the child plans) and the same implicit dependency edge.

What this can honour, and so what is accepted: the call's output used as a whole value
(`.outputs.NAME`, deeper fields `.outputs.NAME.key`), or printed into text (a
`TerraformOutputText` the flow prints). Refused with a one-line error: testing it, giving it to a
function (both need the value while loading), and the other sections Atmos' call returns
(`.vars`, `.settings`, …).

`{{ atmos.Store "ssm" .stack "vpc" "vpc_id" }}` reads a store, like `!store ssm <stack> vpc vpc_id`:
kept as that same `StoreRef` (fields read below it become its `| query`), which the flow reads
right before the instance plans. Where Atmos gives null on a failed read, the run fails naming
the parameter (a silent null would reach terraform); printed into text or transformed, it is
refused.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from .templates import RunTimeValue, TemplateError


@dataclass(frozen=True)
class ComponentCall(RunTimeValue):
    """`atmos.Component "C" "STACK"`: only its `outputs` can be read."""

    component: str
    stack: str

    def field(self, name: str) -> Any:
        if name == "outputs":
            return ComponentOutput(self.component, self.stack)
        raise TemplateError(
            f"{self.describe()}: reading .{name} is not supported (stackflow reads only .outputs.NAME, "
            "as a deferred Terraform output; other sections would need the other stack resolved first)"
        )

    def describe(self) -> str:
        return f'atmos.Component "{self.component}" "{self.stack}"'


@dataclass(frozen=True)
class ComponentOutput(RunTimeValue):
    """`(atmos.Component "C" "STACK").outputs[.NAME[.path]]`."""

    component: str
    stack: str
    output: str | None = None
    path: str = ""  # below the output, as `!terraform.output` writes it (`.key.sub`)

    def field(self, name: str) -> Any:
        if self.output is None:
            return replace(self, output=name)
        return replace(self, path=f"{self.path}.{name}")

    def describe(self) -> str:
        read = "" if self.output is None else f".{self.output}{self.path}"
        return f'the Terraform output (atmos.Component "{self.component}" "{self.stack}").outputs{read}'


@dataclass(frozen=True)
class StoreCall(RunTimeValue):
    """`atmos.Store "STORE" "STACK" "COMPONENT" "KEY"`, and the fields read below it."""

    store: str
    stack: str
    component: str
    key: str
    path: str = ""  # `.a.b` read below the value: the `| query` of the same `!store`

    def field(self, name: str) -> Any:
        return replace(self, path=f"{self.path}.{name}")

    def describe(self) -> str:
        words = " ".join(f'"{word}"' for word in (self.store, self.stack, self.component, self.key))
        return f"the store value (atmos.Store {words}){self.path}"

    def store_args(self) -> str:
        """The arguments of the `!store` that reads the same value."""
        text = " ".join(_word(word) for word in (self.store, self.stack, self.component, self.key))
        return f"{text} | query {self.path}" if self.path else text


def _word(text: str) -> str:
    """One argument of a YAML function, quoted (as Atmos' parser reads quotes) when it must be."""
    if text and not any(char.isspace() or char in "|'\"" for char in text):
        return text
    return '"' + text.replace('"', '""') + '"'


def atmos_store(store: Any, stack: Any, component: Any, key: Any) -> StoreCall:
    """The template function: four non-empty strings, as Atmos' `storeFunc`."""
    for what, value in (("store", store), ("stack", stack), ("component", component), ("key", key)):
        if not isinstance(value, str) or not value:
            raise TemplateError(f"atmos.Store: the {what} must be a non-empty string, not {value!r}")
    return StoreCall(store, stack, component, key)


def atmos_component(component: Any, stack: Any) -> ComponentCall:
    """The template function: two non-empty strings, as Atmos' `componentFunc(component, stack)`."""
    for what, value in (("component", component), ("stack", stack)):
        if not isinstance(value, str) or not value:
            raise TemplateError(f"atmos.Component: the {what} must be a non-empty string, not {value!r}")
    return ComponentCall(component, stack)


FUNCTIONS = {"atmos.Component": atmos_component, "atmos.Store": atmos_store}
