"""A tool's parameter schema is checked on save so that validating the model's arguments is always bounded (no
regular expressions, only local references that resolve and do not recurse, bounded depth and expanded size); and
the forms of a header value scrubbed from what a tool answers. Pure functions: no server, no database."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from voice_ai.tools.spec import REDACTED, argument_problem, check_parameters, scrub, secret_forms


def obj(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties}


def nested(depth: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(depth):
        schema = obj(x=schema)
    return schema


def fanning(levels: int) -> dict[str, Any]:
    """Each definition refers to the previous one 4 times: small as written, 4**levels subschemas once expanded."""
    defs: dict[str, Any] = {"d0": {"type": "string"}}
    for i in range(1, levels + 1):
        defs[f"d{i}"] = {"allOf": [{"$ref": f"#/$defs/d{i - 1}"}] * 4}
    return obj(a={"$ref": f"#/$defs/d{levels}"}) | {"$defs": defs}


@pytest.mark.parametrize(
    ("schema", "why"),
    [
        (obj(a={"type": "string", "pattern": "^(a|aa)*$"}), "'pattern' is refused"),
        (obj(a={"type": "array", "items": {"type": "string", "pattern": "x"}}), "at properties/a/items"),
        (obj() | {"patternProperties": {"^x": {"type": "string"}}}, "'patternProperties' is refused"),
        (obj(a={"type": "string", "format": "regex"}), "format 'regex' is refused"),
        (obj(a={"$ref": "https://schemas.example.com/a.json"}), "only local references"),
        (obj(a={"$ref": "other.json#/x"}), "only local references"),
        (obj(a={"$ref": "#/$defs/missing"}), "does not resolve"),
        (obj(a={"$ref": "#"}), "recursive"),
        (obj(a={"$ref": "#/$defs/x"}) | {"$defs": {"x": {"anyOf": [{"$ref": "#/$defs/y"}]}, "y": {"$ref": "#/$defs/x"}}},
         "recursive"),
        # a reference into a place the walk would not see as a schema still obeys the rules
        (obj(a={"$ref": "#/x-hidden"}) | {"x-hidden": {"type": "string", "pattern": "^(a|aa)*$"}}, "'pattern'"),
        (obj(a={"$id": "https://x.example/s", "type": "string"}), "'$id' is refused"),
        (obj(a={"$dynamicRef": "#meta"}), "'$dynamicRef' is refused"),
        (nested(17), "nested deeper than"),
        (fanning(6), "too large once its references are expanded"),
    ],
)  # fmt: skip
def test_schemas_whose_validation_is_not_bounded_are_refused(schema: dict[str, Any], why: str) -> None:
    with pytest.raises(ValueError, match=why.replace("$", r"\$").replace("(", r"\(")):
        check_parameters(schema)


def test_ordinary_schemas_pass_including_local_references_and_a_property_named_pattern() -> None:
    check_parameters(obj(pattern={"type": "string"}, format={"type": "string", "format": "date"}))
    check_parameters(
        obj(a={"$ref": "#/$defs/code"}, b={"$ref": "#/$defs/code"}) | {"$defs": {"code": {"type": "string"}}}
    )
    check_parameters(nested(8))
    check_parameters(fanning(3))


def test_a_stored_schema_saved_before_the_rules_is_not_run_against_arguments() -> None:
    """A tool saved before these rules (a regex that backtracks, a reference that does not resolve): its arguments
    get an error the model or the admin reads; the regex never runs and nothing raises (the /test was a 500)."""
    slow = obj(a={"type": "string", "pattern": "^(a|aa)*$"})
    problem = argument_problem(slow, {"a": "a" * 60 + "b"})
    assert problem is not None and "cannot be checked" in problem[1] and "pattern" in problem[1]
    dangling = obj(a={"$ref": "#/$defs/missing"})
    problem = argument_problem(dangling, {"a": "x"})
    assert problem is not None and "does not resolve" in problem[1]
    assert argument_problem(obj(a={"type": "string"}), {"a": 5}) == (["a"], "5 is not of type 'string'")
    assert argument_problem(obj(a={"type": "string"}), {"a": "5"}) is None


def test_every_common_form_of_a_header_value_is_scrubbed() -> None:
    token = "tok-9f8e7d6c5b4a"
    basic = base64.b64encode(b"erp-user:s3cr3t-pass").decode()
    headers = {"Authorization": f"Bearer {token}", "X-Basic": f"Basic {basic}", "Accept-Language": "pt-BR"}
    forms = secret_forms(f"Bearer {token}")
    assert {f"Bearer {token}", token, base64.b64encode(token.encode()).decode()} <= forms
    answer = (
        f'{{"auth": "Bearer {token}", "raw": "{token}", "b64": "{base64.b64encode(token.encode()).decode()}", '
        f'"enc": "Bearer%20{token}", "basic": "{basic}", "user": "erp-user:s3cr3t-pass", "pw": "s3cr3t-pass", '
        '"lang": "pt-BR"}'
    )
    cleaned = scrub(answer, headers)
    for leaked in (token, basic, "s3cr3t-pass", base64.b64encode(token.encode()).decode()):
        assert leaked not in cleaned
    assert cleaned.count(REDACTED) == 7 and '"lang": "pt-BR"' in cleaned  # short values are not secrets worth it
