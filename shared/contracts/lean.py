"""Lean readers of contract models: the same fields and rules, plain values.

Validating a batch of ``view.recorded`` events into their pydantic models costs a
model instance per object and a ``uuid.UUID`` per id, and was the largest single cost
of counting a view. :func:`lean` derives from a contract model a reader that checks the
same JSON against the same fields, types and constraints, and gives plain dicts (a
TypedDict) with ids as canonical text: any spelling the model accepts is accepted and
normalised to what ``str(UUID(...))`` gives. It costs much less than the model
(docs/benchmarks.md; a pydantic dataclass saves nothing: its instances cost as much).

One difference a reader must know: an optional field left out of the JSON is left out
of the dict (``.get()`` it) where the model would fill in its default.

The contract still lives once, in :mod:`shared.contracts.events`; ``tests/unit/test_lean.py``
holds each reader to its model, input by input.
"""

from __future__ import annotations

import functools
import types
from typing import Annotated, Any, Literal, NotRequired, Union, get_args, get_origin
from uuid import UUID

from pydantic import AfterValidator, BaseModel, Field, StringConstraints
from typing_extensions import TypedDict

CANONICAL_UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"

#: A UUID as its canonical text: checked by one regex in the common case, through
#: ``UUID`` (and back to text) for any other spelling the model would accept.
UuidText = Annotated[
    Annotated[str, StringConstraints(pattern=CANONICAL_UUID)]
    | Annotated[UUID, AfterValidator(str)],
    Field(union_mode="left_to_right"),
]


@functools.cache
def lean(model: type[BaseModel]) -> Any:
    """A TypedDict mirroring ``model`` (see the module docstring)."""
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        annotation = _lean_type(info.annotation)
        if info.metadata:
            annotation = Annotated[(annotation, *info.metadata)]  # type: ignore[valid-type]
        fields[name] = annotation if info.is_required() else NotRequired[annotation]
    # Extra keys are ignored, as by the contract models (pydantic's default for TypedDicts).
    return TypedDict(f"Lean{model.__name__}", fields)  # type: ignore[operator]


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
