"""One message per invalid field, in Arabic and English, from pydantic's error types.

pydantic names each failure by a stable ``type`` with its limits in ``ctx``; its own
``msg`` is English only. Our validators' messages (``value_error``) are already
written in both languages and pass through.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

#: error type → "Arabic / English", formatted with the error's ``ctx``.
MESSAGES: dict[str, str] = {
    "missing": "هذا الحقل مطلوب. / This field is required.",
    "extra_forbidden": "حقل غير معروف. / Unknown field.",
    "string_type": "يجب أن يكون نصاً. / Must be text.",
    "string_too_short": "عدد الأحرف {min_length} على الأقل. / At least {min_length} character{s_min}.",
    "string_too_long": "عدد الأحرف {max_length} على الأكثر. / At most {max_length} character{s_max}.",
    "string_pattern_mismatch": "الصيغة غير صحيحة. / Not in the expected form.",
    "too_short": "عدد العناصر {min_length} على الأقل. / At least {min_length} item{s_min}.",
    "too_long": "عدد العناصر {max_length} على الأكثر. / At most {max_length} item{s_max}.",
    "int_parsing": "يجب أن يكون عدداً صحيحاً. / Must be a whole number.",
    "int_type": "يجب أن يكون عدداً صحيحاً. / Must be a whole number.",
    "int_from_float": "يجب أن يكون عدداً صحيحاً. / Must be a whole number.",
    "float_parsing": "يجب أن يكون عدداً. / Must be a number.",
    "float_type": "يجب أن يكون عدداً. / Must be a number.",
    "greater_than_equal": "القيمة {ge} على الأقل. / At least {ge}.",
    "less_than_equal": "القيمة {le} على الأكثر. / At most {le}.",
    "greater_than": "يجب أن تكون القيمة أكبر من {gt}. / Must be more than {gt}.",
    "less_than": "يجب أن تكون القيمة أقل من {lt}. / Must be less than {lt}.",
    "literal_error": "القيم المقبولة: {expected_ar}. / One of {expected}.",
    "enum": "القيم المقبولة: {expected_ar}. / One of {expected}.",
    "bool_parsing": "يجب أن تكون القيمة true أو false. / Must be true or false.",
    "bool_type": "يجب أن تكون القيمة true أو false. / Must be true or false.",
    "list_type": "يجب أن يكون قائمة. / Must be a list.",
    "dict_type": "يجب أن يكون كائن JSON. / Must be a JSON object.",
    "model_type": "يجب أن يكون كائن JSON. / Must be a JSON object.",
    "model_attributes_type": "يجب أن يكون كائن JSON. / Must be a JSON object.",
    "uuid_parsing": "ليس معرّفاً صحيحاً (UUID). / Not a valid UUID.",
    "uuid_type": "ليس معرّفاً صحيحاً (UUID). / Not a valid UUID.",
    "datetime_parsing": "ليس تاريخاً ووقتاً بصيغة ISO 8601. / Not an ISO 8601 date and time.",
    "datetime_from_date_parsing": "ليس تاريخاً ووقتاً بصيغة ISO 8601. / Not an ISO 8601 date and time.",
    "datetime_type": "ليس تاريخاً ووقتاً بصيغة ISO 8601. / Not an ISO 8601 date and time.",
    "date_parsing": "ليس تاريخاً بصيغة YYYY-MM-DD. / Not a date (YYYY-MM-DD).",
    "date_from_datetime_parsing": "ليس تاريخاً بصيغة YYYY-MM-DD. / Not a date (YYYY-MM-DD).",
    "date_type": "ليس تاريخاً بصيغة YYYY-MM-DD. / Not a date (YYYY-MM-DD).",
    "timezone_aware": "يجب أن يتضمن المنطقة الزمنية. / Must include a time zone.",
    "url_parsing": "ليس رابطاً صحيحاً. / Not a valid URL.",
    "url_scheme": "ليس رابطاً صحيحاً. / Not a valid URL.",
    "url_type": "ليس رابطاً صحيحاً. / Not a valid URL.",
    "json_invalid": "ليس JSON صحيحاً. / Not valid JSON.",
}
#: pydantic prefixes a validator's own message with this.
_VALUE_ERROR = "Value error, "


def field_message(error: Mapping[str, Any]) -> str:
    """The message for one of pydantic's ``errors()``, in both languages."""
    kind = str(error.get("type", ""))
    ctx = dict(error.get("ctx") or {})
    template = MESSAGES.get(kind)
    if template is not None:
        expected = str(ctx.get("expected", ""))
        ctx["expected_ar"] = expected.replace(" or ", " أو ")
        ctx["s_min"] = "" if ctx.get("min_length") == 1 else "s"
        ctx["s_max"] = "" if ctx.get("max_length") == 1 else "s"
        try:
            return template.format(**ctx)
        except (KeyError, IndexError, ValueError):
            pass  # a context this pydantic did not give: the plain message below
    msg = str(error.get("msg", "")).removeprefix(_VALUE_ERROR)
    if " / " in msg:  # ours: already in both languages
        return msg
    return f"قيمة غير صحيحة. / {msg}"


def field_errors(errors: Iterable[Any], *, request: bool = False) -> list[dict[str, str]]:
    """``[{"field": "a.b", "message": …}]`` for pydantic's ``errors()``. ``request``: FastAPI's
    errors, whose location starts with where the value came from (body, query, path…),
    left out of the field's name (an article's own ``body`` field stays)."""
    fields = []
    for e in errors:
        loc = list(e.get("loc", ()))
        if request and loc and loc[0] in ("body", "query", "path", "header", "cookie"):
            loc = loc[1:]
        fields.append({"field": ".".join(map(str, loc)) or "body", "message": field_message(e)})
    return fields
