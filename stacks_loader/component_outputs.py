"""Atmos' `atmos.Component` and `atmos.Store` template functions, as stackflow runs them in a
component's values.

`vpc_id: '{{ (atmos.Component "vpc" .stack).outputs.vpc_id }}'` reads another instance's
Terraform output, like `!terraform.output vpc {{ .stack }} vpc_id`. Atmos runs `terraform output`
while it loads the stacks; the loader never runs anything, so it keeps the value as the same
deferred reference `!terraform.output` gives (the flow fills it with the parent's real output
right before the child plans) and the same implicit dependency edge.

What this can honour, and so what is accepted: the call's output used as a whole value
(`.outputs.NAME`, deeper fields `.outputs.NAME.key`), or printed into text (a
`TerraformOutputText` the flow prints). Refused with a one-line error: testing it or giving it to
a function (both need the value while loading).

The call's other sections (`.vars`, `.settings`, `.metadata`, `.workspace`, …) are the other
instance as stackflow resolves it, so they are known only once every stack is: a value reading
one is left as a `PendingTemplate` (in `vars` or `env`) and rendered again after the load
(`component_reads.py`), with `atmos.Component` then giving a `ComponentView`. A value in it that
is itself a deferred output (`!terraform.output` in the other instance's vars) stays deferred:
the reader gets the same reference, and the same edge to that parent.

`{{ atmos.Store "ssm" .stack "vpc" "vpc_id" }}` reads a store, like `!store ssm <stack> vpc vpc_id`:
kept as that same `StoreRef` (fields read below it become its `| query`), which the flow reads
right before the instance plans. Where Atmos gives null on a failed read, the run fails naming
the parameter (a silent null would reach terraform); printed into text or transformed, it is
refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .model import InstanceRef, StoreRef, TerraformOutputRef, TerraformOutputText
from .templates import Encoded, RunTimeText, RunTimeValue, TemplateError, render


class NeedsInstances(TemplateError):
    """A template reads a section of another instance: it can render only once all are resolved."""


@dataclass(frozen=True)
class ComponentCall(RunTimeValue):
    """`atmos.Component "C" "STACK"`: only its `outputs` can be read."""

    component: str
    stack: str

    def field(self, name: str) -> Any:
        if name == "outputs":
            return ComponentOutput(self.component, self.stack)
        raise NeedsInstances(f"{self.describe()}: .{name} is known once every stack is resolved")

    def describe(self) -> str:
        return f'atmos.Component "{self.component}" "{self.stack}"'


@dataclass(frozen=True)
class ComponentView(RunTimeValue):
    """`atmos.Component "C" "STACK"` once every instance is resolved: its sections (`view_of`)."""

    component: str
    stack: str
    sections: Mapping[str, Any] = field(compare=False)

    def field(self, name: str) -> Any:
        if name == "outputs":
            return ComponentOutput(self.component, self.stack)
        if name not in self.sections:
            raise TemplateError(f"{self.describe()} has no section {name!r} (it has: "
                                f"{', '.join(sorted(self.sections))}, outputs)")
        return self.sections[name]

    def describe(self) -> str:
        return f'atmos.Component "{self.component}" "{self.stack}"'


@dataclass(frozen=True)
class ParentOutput(RunTimeValue):
    """A deferred output met inside another instance's sections, and fields read below it."""

    ref: TerraformOutputRef
    path: str = ""

    def field(self, name: str) -> Any:
        return replace(self, path=f"{self.path}.{name}")

    def describe(self) -> str:
        return f"the Terraform output {self.ref}{self.path}"


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


# --- turning what a template gave into the deferred values the flow fills ----------------------
def deferred_value(
    value: RunTimeValue | RunTimeText,
    path: str,
    origin: str,
    ref_of: Callable[[str, str], InstanceRef],
    decoded: bool = False,
) -> tuple[Any, list[InstanceRef]]:
    """The value a component keeps for a template that gave `value` at `path` (`vars.x`), and
    the parents it must wait for: a `TerraformOutputRef` (or `TerraformOutputText`, outputs
    printed into text), or the `StoreRef` an `atmos.Store` value is. Outside vars, refused.
    `decoded`: the text is read back as JSON (`!template`), so `toJson` of an output is the output."""
    if isinstance(value, RunTimeText):
        parts: list[Any] = []
        parents: list[InstanceRef] = []
        for part in value.parts:
            if isinstance(part, str):
                parts.append(part)
                continue
            if isinstance(part, StoreCall):
                raise TemplateError(f"{part.describe()} is read when the stack runs: it can be a whole value, "
                                    "not printed into text")
            deferred, found = deferred_value(part, path, origin, ref_of, decoded=False)  # printed: text
            parts.append(deferred)
            parents += found
        return TerraformOutputText(tuple(parts)), parents
    if isinstance(value, Encoded):
        inner, parents = deferred_value(value.value, path, origin, ref_of)
        if decoded:  # read back whole: the value itself, typed
            return inner, parents
        if not isinstance(inner, TerraformOutputRef):
            raise TemplateError(f"{value.describe()}: a store value's JSON is not supported (read it whole, or "
                                "under !template)")
        # its JSON text, made when it is known
        return replace(inner, encoding=value.encoder, encoding_args=value.encoder_args), parents
    if not path.startswith("vars."):
        raise TemplateError(f"{value.describe()} is only supported in vars (like !terraform.output and !store): "
                            "it is known only when the stack runs")
    if isinstance(value, StoreCall):
        return StoreRef("store", value.store_args(), source_file=origin), []
    if isinstance(value, ParentOutput):
        ref = replace(value.ref, path=value.ref.path + value.path)
        return ref, [ref.parent]
    if not isinstance(value, ComponentOutput):
        raise TemplateError(f"{value.describe()} is not an output: read one, as "
                            "'(atmos.Component \"vpc\" .stack).outputs.vpc_id'")
    # `.outputs` whole: every output, as a map (an empty output name, as `!terraform.output vpc .`)
    ref = TerraformOutputRef(parent=ref_of(value.stack, value.component), output=value.output or "",
                             path=value.path, function="terraform.output", source_file=origin)
    return ref, [ref.parent]


def render_value(
    text: str,
    data: Mapping[str, Any],
    *,
    evaluations: int,
    environ: Mapping[str, str],
    functions: Mapping[str, Callable[..., Any]] | None,
    no_value: Callable[[str], None] | None = None,
    decoded: bool = False,
) -> Any:
    """`text` rendered as Atmos renders a component section: `templates.settings.evaluations`
    passes, each with the same (unrendered) section as its data. With `functions` (the component
    stage's `atmos.*`), a value known only at run time comes back as it is (not text)."""
    result: Any = text
    for left in range(evaluations - 1, -1, -1):
        result = render(result, data, missing_is_nil=True, no_value=no_value, environ=environ,
                        nested_ok=left > 0, functions=functions, whole=functions is not None, decoded=decoded)
        if type(result) is not str or "{{" not in result:
            break  # done, or a value known only at run time
    return result


@dataclass(frozen=True)
class PendingTemplate:
    """A component value whose template reads another instance's sections: rendered again once
    every instance is resolved (`component_reads.fill_component_reads`)."""

    text: str
    path: str  # `vars.x`
    where: str  # `file: stack 'S' component 'C'`, for errors
    origin: str  # the file that set the value
    decode: bool = False  # a `!template` value: read as JSON when it renders to JSON
    data: Mapping[str, Any] = field(default_factory=dict, compare=False)  # the template's data

    def __str__(self) -> str:  # never shown once a load ends; for messages before that
        return self.text


def view_of(sections: Mapping[str, Any]) -> dict[str, Any]:
    """Another instance's sections as `atmos.Component` gives them: deferred outputs in them become
    `ParentOutput`s (read whole, they stay deferred), everything else as resolved."""
    return {name: _viewed(value) for name, value in sections.items()}


def _viewed(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        items = {key: _viewed(item) for key, item in value.items()}
        return value if all(items[key] is value[key] for key in value) else items
    if kind is list:
        items_list = [_viewed(item) for item in value]
        return value if all(a is b for a, b in zip(items_list, value)) else items_list
    if isinstance(value, TerraformOutputRef):
        return ParentOutput(value)
    return value
