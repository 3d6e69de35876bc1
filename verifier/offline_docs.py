"""``/docs`` of both HTTP services: the OpenAPI 3.1 document rendered by Swagger UI 5, served from
this machine (no CDN), for the counter API (:mod:`verifier.api.docs`) and the police backend
(:mod:`sync.backend.app`), which may not import ``verifier.api`` (pyproject.toml, layers contract).

Swagger UI reads OpenAPI 3.1 from version 5 on (the ``swagger-ui-bundle`` package carried 4.x,
which answers "Unable to render this definition"); its assets come from the PyPI package
``swagger-ui-py`` (module ``swagger_ui``, Swagger UI 5.x in ``swagger_ui/static``), mounted at
``/docs-assets``. The validator badge (which would call swagger.io) is off.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.staticfiles import StaticFiles

import swagger_ui

#: Swagger UI 5 (reads OpenAPI 3.1), shipped inside the swagger-ui-py wheel.
SWAGGER_STATIC = Path(swagger_ui.__file__).resolve().parent / "static"
ASSETS = "/docs-assets"


def install(app: FastAPI, title: str) -> None:
    """``GET /docs`` (Swagger UI over ``app.openapi_url``) and its assets, all local."""
    app.mount(ASSETS, StaticFiles(directory=SWAGGER_STATIC), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs():
        return get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json", title=title,
                                   swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{ASSETS}/swagger-ui.css",
                                   swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
                                   # the validator badge would call swagger.io: keep the page offline
                                   swagger_ui_parameters={"validatorUrl": None, "tryItOutEnabled": False})
