"""``/docs``: the OpenAPI 3.1 document rendered by Swagger UI 5, served from this machine (no CDN).

The page and its assets are mounted by :mod:`verifier.offline_docs` (shared with the police backend).
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

from fastapi import FastAPI

from verifier import offline_docs
from verifier.offline_docs import SWAGGER_STATIC  # noqa: F401 - where the assets come from
from verifier.users import PERMISSIONS, ROLES


def role_matrix() -> str:
    """The role matrix (:data:`verifier.users.PERMISSIONS`) as a Markdown table for the API description."""
    head = "| permission | " + " | ".join(ROLES) + " |\n|---|" + "---|" * len(ROLES) + "\n"
    return head + "\n".join(f"| `{p}` | " + " | ".join("✔" if r in roles else "" for r in ROLES) + " |"
                             for p, roles in PERMISSIONS.items())


def install(app: FastAPI) -> None:
    offline_docs.install(app, "chipid API")
    app.description = (app.description or "") + "\n\nWho may do what (role matrix):\n\n" + role_matrix()
