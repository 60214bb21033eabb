"""After the load: the values whose templates read another instance's sections
(`(atmos.Component "vpc" .stack).vars.cidr`), rendered now that every instance is resolved.

Atmos resolves the other component when its template function runs; stackflow resolves stacks
one manifest at a time, so such a value is kept as a `PendingTemplate` and rendered here, with
`atmos.Component` giving the other instance as stackflow resolved it (`ComponentView`). An
instance read this way that has pending values itself is filled first; two that read each other
are a cycle, reported whole. A deferred output read through the other instance stays deferred,
and adds the edge to its parent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from stackflow.errors import ConfigError

from .atmos_config import AtmosConfig
from .component_outputs import (
    FUNCTIONS,
    ComponentView,
    PendingTemplate,
    deferred_value,
    render_value,
    view_of,
)
from .model import Dependency, InstanceRef, StackInstance
from .templates import RunTimeText, RunTimeValue, TemplateError
from .yaml_functions import decode_template_text

_SECTIONS = ("vars", "env")  # where a `PendingTemplate` may stand (`StackResolver` refuses others)


def fill_component_reads(
    instances: dict[InstanceRef, StackInstance],
    pending: list[InstanceRef],
    atmos: AtmosConfig,
    environ: Mapping[str, str],
    warn: Callable[[str], None],
) -> None:
    """Render every `PendingTemplate` of the `pending` instances, replacing them in `instances`."""
    filler = _Filler(instances, set(pending), atmos, environ, warn)
    for ref in pending:
        filler.instance(ref)


class _Filler:
    def __init__(self, instances: dict[InstanceRef, StackInstance], pending: set[InstanceRef],
                 atmos: AtmosConfig, environ: Mapping[str, str], warn: Callable[[str], None]) -> None:
        self.instances = instances
        self.pending = pending
        self.atmos = atmos
        self.environ = environ
        self.warn = warn
        self.visiting: list[InstanceRef] = []
        self.views: dict[InstanceRef, dict[str, Any]] = {}

    def instance(self, ref: InstanceRef) -> StackInstance:
        inst = self.instances[ref]
        if ref not in self.pending:
            return inst
        if ref in self.visiting:
            cycle = " → ".join(str(r) for r in [*self.visiting[self.visiting.index(ref):], ref])
            raise ConfigError(f"atmos.Component reads form a cycle: {cycle}")
        self.visiting.append(ref)
        parents: list[Dependency] = []
        filled = {name: self._fill(getattr(inst, name), inst, parents) for name in _SECTIONS}
        known = set(inst.dependencies)
        new = [dep for dep in dict.fromkeys(parents) if dep not in known]
        inst = replace(inst, **filled, dependencies=[*inst.dependencies, *new])
        self.instances[ref] = inst
        self.visiting.pop()
        self.pending.discard(ref)
        return inst

    def _fill(self, value: Any, inst: StackInstance, parents: list[Dependency]) -> Any:
        kind = type(value)
        if kind is dict:
            items = {key: self._fill(item, inst, parents) for key, item in value.items()}
            return value if all(items[key] is value[key] for key in value) else items
        if kind is list:
            items_list = [self._fill(item, inst, parents) for item in value]
            return value if all(a is b for a, b in zip(items_list, value)) else items_list
        if kind is PendingTemplate:
            return self._render(value, parents)
        return value

    def _render(self, pending: PendingTemplate, parents: list[Dependency]) -> Any:
        def component(component: Any, stack: Any) -> ComponentView:
            call = FUNCTIONS["atmos.Component"](component, stack)  # the same argument checks
            ref = InstanceRef(call.stack, call.component)
            if ref not in self.instances:
                stacks = {r.stack for r in self.instances}
                why = f"there is no stack {call.stack!r}" if call.stack not in stacks else \
                    f"stack {call.stack!r} has no component {call.component!r}"
                raise TemplateError(f"{call.describe()}: {why}")
            return ComponentView(call.component, call.stack, self._view(ref))

        def no_value(missing: str) -> None:
            self.warn(f"{pending.where}: {pending.path}: template value '{missing}' is not defined: rendered as "
                      "'<no value>', as Atmos does")

        try:
            result = render_value(pending.text, pending.data, evaluations=self.atmos.template_evaluations,
                                  environ=self.environ, functions={**FUNCTIONS, "atmos.Component": component},
                                  no_value=no_value, decoded=pending.decode)
            if isinstance(result, (RunTimeValue, RunTimeText)):
                value, found = deferred_value(result, pending.path, pending.origin, InstanceRef, decoded=pending.decode)
                parents.extend(Dependency(parent, "terraform.output", entry=pending.path) for parent in found)
                return value
        except TemplateError as exc:
            raise ConfigError(f"{pending.where}: {pending.path}: {exc}") from None
        return decode_template_text(result) if pending.decode else result

    def _view(self, ref: InstanceRef) -> dict[str, Any]:
        """The sections `atmos.Component` gives for `ref` (its `describe component`), built once."""
        view = self.views.get(ref)
        if view is None:
            inst = self.instance(ref)  # its own pending values first
            base = self.atmos.terraform_base_path
            path = inst.described_path
            view = self.views[ref] = view_of({
                "atmos_component": inst.component,
                "atmos_stack": inst.stack,
                "stack": inst.stack,
                "component": path[len(base) + 1:] if base and path.startswith(base + "/") else path,
                "component_path": path,
                "workspace": inst.workspace,
                "command": inst.command,
                "metadata": inst.metadata,
                "vars": inst.vars,
                "settings": inst.settings,
                "env": inst.env,
                "providers": inst.providers,
                "backend_type": inst.backend_type,
                "backend": inst.backend,
                "remote_state_backend_type": inst.remote_state_backend_type,
                "remote_state_backend": inst.remote_state_backend,
                **inst.reported_sections,
                "inheritance": list(inst.inheritance),
            })
        return view
