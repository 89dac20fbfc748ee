"""Building one shape from another by field name (an ORM row into a contract, a
contract into a row), so that a new field is added once, not in every copy."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def like_named(source: object, names: Iterable[str]) -> dict[str, Any]:
    """The attributes of ``source`` among ``names``; those it does not have are left out."""
    return {name: getattr(source, name) for name in names if hasattr(source, name)}


def copy_into(model: type[M], source: object, **values: Any) -> M:
    """``model`` from the like-named attributes of ``source``, ``values`` over them;
    pydantic converts the rest as it validates (lists to tuples, dicts to blocks)."""
    fields = like_named(source, model.model_fields.keys() - values.keys())
    return model.model_validate(fields | values)
