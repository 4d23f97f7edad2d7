"""Plan the operations of the selected entity sets and the service's functions/actions."""

from __future__ import annotations

from typing import Any

from adapters.codegen.loader import GeneratorError
from adapters.codegen.modelplan import ClassPlan, FieldPlan
from adapters.codegen.naming import Names, class_name, field_name
from adapters.codegen.odata.csdl import (
    EntitySet,
    Property,
    Service,
    ServiceCallable,
    StructuredType,
)
from adapters.codegen.odata.plan import (
    ODataOperationPlan,
    ServicePlanner,
    callable_doc,
    edm_of,
    is_filterable,
    operation_name,
    option_field,
    query_options,
    reference_property,
    set_label,
)
from adapters.codegen.odata.types import SKIPPED

ETAG_INPUT = "The ETag read with the record (sent as If-Match); a stale one is refused."


def plan_service(
    service: Service, planner: ServicePlanner, prefix: str, wanted: list[str]
) -> list[ODataOperationPlan]:
    sets = [s for s in service.entity_sets if s.entity_type in service.types]
    if wanted:
        unknown = sorted(set(wanted) - {s.name for s in sets})
        if unknown:
            raise GeneratorError(f"{service.source}: no entity set {', '.join(unknown)}")
        sets = [s for s in sets if s.name in wanted]
    used: set[str] = set()
    functions = Names({"operations", "send", "lookup", "client", "ODataClient"})
    ops: list[ODataOperationPlan] = []
    for entity_set in sets:
        ops += _entity_set_ops(service, planner, prefix, entity_set, used, functions)
    set_of_type: dict[str, EntitySet] = {}
    for entity_set in sorted(sets, key=lambda s: s.singleton):  # entity sets before singletons
        set_of_type.setdefault(entity_set.entity_type, entity_set)
    for found in service.callables:
        if found.bound_to is not None:
            bound_set = set_of_type.get(found.bound_to)
            if bound_set is None:
                continue  # bound to a type outside the selection
            ops.append(_callable_op(service, planner, prefix, found, bound_set, used, functions))
        elif found.imported and (not wanted or found.entity_set in wanted or not found.entity_set):
            ops.append(_callable_op(service, planner, prefix, found, None, used, functions))
    return ops


def _names(
    prefix: str, resource: str, verb: str, used: set[str], functions: Names
) -> tuple[str, str]:
    name = operation_name(prefix, resource, verb, used)
    return name, functions.take(name.split(".", 1)[1].replace(".", "_"))


def _entity_set_ops(
    service: Service,
    planner: ServicePlanner,
    prefix: str,
    entity_set: EntitySet,
    used: set[str],
    functions: Names,
) -> list[ODataOperationPlan]:
    type_ = service.types[entity_set.entity_type]
    entity = planner.structured(type_.qname)
    props = [p for p in service.all_properties(type_) if p.type not in SKIPPED]
    by_name = {p.name: p for p in props}
    types = {p.name: edm_of(service, p) for p in props}
    keys = {k: types[k] for k in service.key_of(type_) if k in by_name}
    key_props = [(by_name[k], True, False) for k in keys]
    about = set_label(entity_set, type_.label) or f"The {entity_set.name} entity set."
    stem = class_name(entity_set.name)
    ops: list[ODataOperationPlan] = []

    def add(verb: str, input_cls: ClassPlan, output_cls: ClassPlan, doc: str, **kw: Any) -> None:
        name, function = _names(prefix, entity_set.name, verb, used, functions)
        ops.append(ODataOperationPlan(
            name, function, function.upper(), verb, input_cls, output_cls,
            entity_set=entity_set.name, keys=keys, types=types, documentation=doc, **kw,
        ))  # fmt: skip

    def with_etag(plan: ClassPlan) -> ClassPlan:
        names = Names({f.name for f in plan.fields})
        option_field(plan, names, "etag", "str", ETAG_INPUT)
        return plan

    if keys and not entity_set.singleton:
        get_in = planner.record(f"{stem}Key", f"The key of one record of {entity_set.name}.",
                                key_props)  # fmt: skip
        query_options(planner, get_in, props, paging=False)
        add("get", get_in, entity, f"Reads one record of {entity_set.name} by its key. {about}")
    filters = {p.name: types[p.name] for p in props if is_filterable(service, p)}
    if not entity_set.singleton:
        query_in = planner.record(
            f"{stem}Query",
            f"Filters on {entity_set.name} (each field given must equal its value) and paging.",
            [(by_name[name], False, False) for name in filters],
        )
        query_options(planner, query_in, props, paging=True)
        page = planner.page(f"{stem}Page", f"Records of {entity_set.name}.", entity)
        add("query", query_in, page,
            f"Finds records of {entity_set.name} by equality filters, with paging. {about}",
            filters=filters, collection=True)  # fmt: skip
    if entity_set.creatable and not entity_set.singleton:
        # A key the server numbers (SAP's SalesOrder, Business Central's id) is optional here
        fields = [(p, not p.nullable and p.name not in keys, True) for p in props if p.creatable]
        create_in = planner.record(f"{stem}Create", f"A new record of {entity_set.name}.", fields)
        deep_insert(service, planner, create_in, type_)
        add("create", create_in, entity, f"Creates a record of {entity_set.name}. {about}",
            method="POST", effect="WRITE", risk="MEDIUM", idempotent=False,
            reference_property=reference_property([p for p, _, _ in fields]))  # fmt: skip
    if entity_set.updatable and keys and not entity_set.singleton:
        changes = [(p, False, True) for p in props if p.updatable and p.name not in keys]
        update_in = with_etag(planner.record(
            f"{stem}Update",
            f"The key of a record of {entity_set.name}, its ETag, and the fields to change.",
            key_props + changes,
        ))  # fmt: skip
        updated = planner.record(
            f"{stem}Updated",
            "What the backend answers to a change: the record, or only its new ETag.",
            [(p, False, True) for p in props],
            answer=True,
        )
        planner.etag_field(updated, Names({f.name for f in updated.fields}))
        add("update", update_in, updated,
            f"Changes fields of a record of {entity_set.name}. {about}",
            method="PATCH", effect="WRITE", risk="MEDIUM")  # fmt: skip
    if entity_set.deletable and keys and not entity_set.singleton:
        done = planner.empty(f"{stem}Deleted", "The backend deleted the record.")
        delete_in = with_etag(planner.record(
            f"{stem}Delete", f"The key of the record of {entity_set.name} to delete.", key_props
        ))  # fmt: skip
        add("delete", delete_in, done, f"Deletes a record of {entity_set.name}. {about}",
            method="DELETE", effect="WRITE", risk="HIGH")  # fmt: skip
    return ops


def deep_insert(
    service: Service,
    planner: ServicePlanner,
    create_in: ClassPlan,
    type_: StructuredType,
) -> None:
    """Each to-many navigation (a sales order's ``to_Item``) becomes an optional list of
    new records: one request creates the order with its items. Whether the target's own
    set is creatable does not matter: items are often creatable only inside their order
    (``Insertable=false`` on the set, ``sap:creatable="false"`` on SAP's sub-sets)."""
    names = Names({f.name for f in create_in.fields})
    taken = {f.alias for f in create_in.fields}
    for nav in type_.navigations:
        target = service.types.get(nav.target)
        if not nav.collection or target is None or not target.is_entity or target is type_:
            continue
        if nav.name in taken:
            continue
        item = planner.deep_record(target)
        doc = f"New {target.name} records created with this one (deep insert)."
        annotation = f"list[{item.name}] | None"
        fp = FieldPlan(names.take(field_name(nav.name)), nav.name, annotation, False, doc)
        fp.complex, fp.min_occurs, fp.max_occurs, fp.nillable = item, 0, None, True
        create_in.fields.append(fp)


def _callable_op(
    service: Service,
    planner: ServicePlanner,
    prefix: str,
    found: ServiceCallable,
    bound_set: EntitySet | None,
    used: set[str],
    functions: Names,
) -> ODataOperationPlan:
    resource = bound_set.name if bound_set is not None else found.entity_set or "service"
    name, function = _names(prefix, resource, found.name, used, functions)
    stem = class_name(function)
    keys: dict[str, str] = {}
    fields: list[tuple[Property, bool, bool]] = []
    if bound_set is not None and not found.bound_collection:
        type_ = service.types[bound_set.entity_type]
        by_name = {p.name: p for p in service.all_properties(type_)}
        keys = {k: edm_of(service, by_name[k]) for k in service.key_of(type_) if k in by_name}
        fields += [(by_name[k], True, False) for k in keys]
    taken = set(keys)
    for param in found.parameters:
        if param.name in taken:
            continue  # a parameter named like a key property: the key wins
        fields.append((param, not param.nullable, True))
    doc = (
        callable_doc(found) or f"Calls the {'action' if found.action else 'function'} {found.name}."
    )
    input_cls = planner.record(f"{stem}Input", f"The input of {found.name}.", fields)
    output_cls, collection = _answer(service, planner, found, stem)
    write = found.action or found.method != "GET"
    return ODataOperationPlan(
        name, function, function.upper(), "action" if found.action else "function",
        input_cls, output_cls, entity_set=bound_set.name if bound_set else found.entity_set,
        target=found.name, namespace=found.namespace,
        method="GET" if found.method == "GET" else "POST", keys=keys,
        types={p.name: edm_of(service, p) for p in found.parameters if p.name not in taken},
        bound=found.bound_to is not None, collection=collection,
        effect="WRITE" if write else "READ", risk="MEDIUM" if write else "LOW",
        idempotent=not write, documentation=doc,
    )  # fmt: skip


def _answer(
    service: Service, planner: ServicePlanner, found: ServiceCallable, stem: str
) -> tuple[ClassPlan, bool]:
    returns = found.returns
    if returns is None:
        return planner.empty(f"{stem}Output", f"{found.name} answers no content."), False
    if returns in service.types:
        record = planner.structured(returns)
        if not found.returns_collection:
            return record, False
        return planner.wrapper(f"{stem}Output", f"What {found.name} answers.", record, None), True
    prop = Property("value", returns, found.returns_collection)
    return planner.wrapper(f"{stem}Output", f"What {found.name} answers.", None, prop), False
