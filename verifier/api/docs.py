"""``/docs``: the OpenAPI 3.1 document rendered by Swagger UI 5, served from this machine (no CDN).

Swagger UI reads OpenAPI 3.1 from version 5 on (the ``swagger-ui-bundle`` package carried 4.x,
which answers "Unable to render this definition"); its assets come from the PyPI package
``swagger-ui-py`` (module ``swagger_ui``, Swagger UI 5.x in ``swagger_ui/static``).

The document declares how to authenticate (OpenAPI 3.1 §4.8.27 Security Scheme Object): ``bearer``
(``Authorization: Bearer <token>``, integrators; RFC 6750) and ``session`` (the web pages' cookie;
writes also need the ``X-CSRF-Token`` header), from the dependencies of
:func:`verifier.api.auth.current_user`, so every operation that needs a user carries ``security``.
The API description ends with the role matrix.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.staticfiles import StaticFiles

import swagger_ui

from verifier.users import PERMISSIONS, ROLES

#: Swagger UI 5 (reads OpenAPI 3.1), shipped inside the swagger-ui-py wheel.
SWAGGER_STATIC = Path(swagger_ui.__file__).resolve().parent / "static"


def role_matrix() -> str:
    """The role matrix (:data:`verifier.users.PERMISSIONS`) as a Markdown table for the API description."""
    head = "| permission | " + " | ".join(ROLES) + " |\n|---|" + "---|" * len(ROLES) + "\n"
    return head + "\n".join(f"| `{p}` | " + " | ".join("✔" if r in roles else "" for r in ROLES) + " |"
                             for p, roles in PERMISSIONS.items())


def install(app: FastAPI) -> None:
    app.mount("/docs-assets", StaticFiles(directory=SWAGGER_STATIC), name="docs-assets")
    app.description = (app.description or "") + "\n\nWho may do what (role matrix):\n\n" + role_matrix()

    @app.get("/docs", include_in_schema=False)
    def docs():
        return get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json", title="chipid API",
                                   swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-assets/swagger-ui.css",
                                   swagger_favicon_url="/docs-assets/favicon-32x32.png",
                                   # the validator badge would call swagger.io: keep the page offline
                                   swagger_ui_parameters={"validatorUrl": None, "tryItOutEnabled": False})
