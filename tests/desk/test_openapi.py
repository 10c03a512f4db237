"""The committed OpenAPI description of the desk (`desk.api.openapi`) against the real router."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from desk.api.middleware import SESSION_COOKIE
from desk.api.openapi import (
    BOT_SCHEME,
    DESCRIPTION_PATH,
    METRICS_SCHEME,
    OPERATIONS,
    SESSION_SCHEME,
    Route,
    UndescribedRoute,
    desk_openapi,
    desk_routes,
    main,
    render_description,
)
from desk.api.schemas import LoginRequest, ResolveRequest

METHODS = ("get", "put", "post", "delete", "patch")


@pytest.fixture(scope="module")
def routes() -> list[Route]:
    return desk_routes()


@pytest.fixture(scope="module")
def committed() -> dict[str, Any]:
    described: dict[str, Any] = json.loads(DESCRIPTION_PATH.read_text(encoding="utf-8"))
    return described


def described_operations(description: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in description["paths"].items()
        for method in item
        if method in METHODS
    }


def test_the_committed_description_is_current() -> None:
    assert main(["--check"]) == 0, "run `python -m desk.api.openapi` and commit the result"


def test_every_route_is_described_and_every_description_routed(
    routes: list[Route], committed: dict[str, Any]
) -> None:
    registered = {(route.method, route.path) for route in routes}

    assert described_operations(committed) == registered
    assert len(registered) >= 60  # the router was really read


def test_a_route_added_without_a_description_stops_the_generator(routes: list[Route]) -> None:
    added = Route("POST", "/api/handoffs/{handoff_id}/escalate", "session", "Escalate.")

    with pytest.raises(UndescribedRoute, match=r"not described: POST /api/handoffs/\{handoff_id"):
        desk_openapi([*routes, added])


def test_a_description_without_its_route_stops_the_generator(routes: list[Route]) -> None:
    without_login = [r for r in routes if (r.method, r.path) != ("POST", "/api/login")]

    with pytest.raises(UndescribedRoute, match="described but not routed: POST /api/login"):
        desk_openapi(without_login)


def test_a_stale_file_fails_the_check(tmp_path: Path) -> None:
    stale = json.loads(DESCRIPTION_PATH.read_text(encoding="utf-8"))
    del stale["paths"]["/api/login"]
    path = tmp_path / "desk_openapi.json"
    path.write_text(render_description(stale), encoding="utf-8")

    assert main(["--check", "--path", str(path)]) == 1
    assert main(["--path", str(path)]) == 0
    assert main(["--check", "--path", str(path)]) == 0


def test_each_route_asks_for_the_credential_its_middleware_checks(
    routes: list[Route], committed: dict[str, Any]
) -> None:
    schemes = committed["components"]["securitySchemes"]
    assert schemes[SESSION_SCHEME] == {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE}
    assert schemes[BOT_SCHEME] == {"type": "http", "scheme": "bearer"}
    expected: dict[str, list[dict[str, list[str]]]] = {
        "session": [{SESSION_SCHEME: []}],
        "bot": [{BOT_SCHEME: []}],
        "public": [],
    }
    for route in routes:
        security = committed["paths"][route.path][route.method.lower()]["security"]
        if route.path == "/metrics":
            assert security == [{METRICS_SCHEME: []}]
        else:
            assert security == expected[route.kind], f"{route.method} {route.path}"
    kinds = {route.kind for route in routes}
    assert kinds == {"session", "bot", "public"}


def test_bodies_are_the_models_the_routes_parse(committed: dict[str, Any]) -> None:
    login = committed["paths"]["/api/login"]["post"]["requestBody"]["content"]
    resolve = committed["paths"]["/api/handoffs/{handoff_id}/resolve"]["post"]["requestBody"]
    schemas = committed["components"]["schemas"]

    assert login["application/json"]["schema"] == {"$ref": "#/components/schemas/LoginRequest"}
    assert schemas["LoginRequest"]["required"] == ["username", "password"]
    assert schemas["LoginRequest"]["additionalProperties"] is False
    assert set(schemas["ResolveRequest"]["properties"]) == set(ResolveRequest.__fields__)
    assert set(schemas["LoginRequest"]["properties"]) == set(LoginRequest.__fields__)
    assert resolve["required"] is True
    upload = committed["paths"]["/chat/uploads"]["post"]["requestBody"]["content"]
    assert upload["multipart/form-data"]["schema"]["properties"]["file"]["format"] == "binary"


def test_every_reference_resolves(committed: dict[str, Any]) -> None:
    def references(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            return found + [ref for value in node.values() for ref in references(value)]
        if isinstance(node, list):
            return [ref for value in node for ref in references(value)]
        return []

    refs = set(references(committed))
    assert "#/components/schemas/HandoffContext" in refs
    for ref in refs:
        node: Any = committed
        for part in ref.removeprefix("#/").split("/"):
            assert part in node, f"{ref} does not resolve"
            node = node[part]


def test_path_parameters_are_declared(committed: dict[str, Any]) -> None:
    for path, item in committed["paths"].items():
        names = {part[1:-1] for part in path.split("/") if part.startswith("{")}
        for method, operation in item.items():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == names, f"{method} {path}"


def test_operations_are_keyed_once() -> None:
    # A dict literal silently keeps the last of two equal keys; the count shows a lost one.
    source = Path(__file__).resolve().parents[2] / "desk" / "api" / "openapi.py"
    text = source.read_text(encoding="utf-8")
    body = text[text.index("OPERATIONS: Final") : text.index("assert set(CUTS)")]
    assert body.count("Operation(") == len(OPERATIONS)
