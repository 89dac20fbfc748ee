"""Lean readers of contract models: the same fields and rules, cheaper values.

Validating a batch of 500 ``view.recorded`` events into their pydantic models costs
about 5 µs per event, most of it spent making a ``uuid.UUID`` per id and a model
instance per nested object; that was the largest single cost of counting a view.
:func:`lean` derives from a contract model a reader that checks the same JSON against
the same fields, types, constraints and defaults, and builds slotted dataclasses with
ids as canonical strings (any spelling the model accepts is accepted and normalised to
what ``str(UUID(...))`` gives). Attribute access is the model's, so handlers read a lean
event as they would the model. The contract still lives once, in :mod:`shared.events`;
``tests/unit/test_lean.py`` holds each reader to its model, input by input.
"""

from __future__ import annotations

import dataclasses
import functools
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic.dataclasses import dataclass as pydantic_dataclass

CANONICAL_UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"

#: A UUID as its canonical text: checked by one regex in the common case, through
#: ``UUID`` (and back to text) for any other spelling the model would accept.
UuidText = Annotated[
    Annotated[str, StringConstraints(pattern=CANONICAL_UUID)]
    | Annotated[UUID, AfterValidator(str)],
    Field(union_mode="left_to_right"),
]


@functools.cache
def lean(model: type[BaseModel]) -> type[Any]:
    """A slotted pydantic dataclass mirroring ``model`` (see the module docstring)."""
    fields: list[tuple[str, Any, Any]] = []
    for name, info in model.model_fields.items():
        annotation = _lean_type(info.annotation)
        if info.metadata:
            annotation = Annotated[(annotation, *info.metadata)]  # type: ignore[valid-type]
        if info.default_factory is not None:
            factory = info.default_factory
            default = dataclasses.field(default_factory=lambda f=factory: _lean_value(f()))  # type: ignore[misc]
        elif info.is_required():
            default = dataclasses.field()
        else:
            default = dataclasses.field(default=_lean_value(info.default))
        fields.append((name, annotation, default))
    namespace = {"__annotations__": {n: a for n, a, _d in fields}, **{n: d for n, _a, d in fields}}
    shape = type(f"Lean{model.__name__}", (), namespace)
    # kw_only: a required field may follow one with a default, as in the model.
    return pydantic_dataclass(
        shape, frozen=True, slots=True, kw_only=True, config=ConfigDict(extra="ignore")
    )


def _lean_type(annotation: Any) -> Any:
    if annotation is UUID:
        return UuidText
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return lean(annotation)
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is None or origin is Literal:
        return annotation
    if origin is Annotated:
        return Annotated[(_lean_type(args[0]), *annotation.__metadata__)]
    if origin in (Union, types.UnionType):
        return Union[tuple(_lean_type(a) for a in args)]  # noqa: UP007
    return origin[tuple(a if a is Ellipsis else _lean_type(a) for a in args)]


def _lean_value(value: Any) -> Any:
    return str(value) if isinstance(value, UUID) else value
