"""The OpenAPI document: 3.1, the bearer and session schemes declared, ``security`` on every authenticated
operation, and Swagger UI 5 served locally (the renderer that reads 3.1)."""

from __future__ import annotations

import re

from verifier.api.docs import SWAGGER_STATIC


def test_security_schemes_and_operations(api):
    spec = api.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearer"] == {**schemes["bearer"], "type": "http", "scheme": "bearer"}
    assert schemes["session"]["in"] == "cookie" and schemes["session"]["name"] == "chipid_session"
    public = {("get", "/api/v1/health"), ("post", "/api/v1/auth/login")}
    seen = 0
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if (method, path) in public:
                assert "security" not in op, (method, path)
            elif path.startswith("/api/v1/"):
                seen += 1
                assert op.get("security") == [{"bearer": []}, {"session": []}], (method, path)
    assert seen > 15
    # the role matrix closes the description
    matrix = spec["info"]["description"].split("role matrix")[1]
    assert "| `users.manage` |  |  |  |  | ✔ |" in matrix


def test_swagger_ui_5_is_served_locally(api):
    page = api.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(a.startswith("/docs-assets/") for a in assets), assets
    assert "http://" not in page.text and "https://" not in page.text.replace("https://swagger.io", "")
    js = api.get("/docs-assets/swagger-ui-bundle.js")
    assert js.status_code == 200
    # Swagger UI reads OpenAPI 3.1 from version 5 on; the bundle names its own version
    versions = {tuple(map(int, v.split("."))) for v in re.findall(r'"(5\.\d+\.\d+)"', (SWAGGER_STATIC / "swagger-ui-bundle.js").read_text())}
    assert versions and max(versions) >= (5, 0, 0)
    assert "OpenAPI31" in js.text
