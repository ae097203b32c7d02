"""`/docs`: the Swagger UI page with its assets served from this process (the `swagger-ui-bundle` package).

FastAPI's default page loads Swagger UI from a CDN and is blank offline; this one works on a closed network.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_PATH = "/docs/assets"


def install_docs(app: FastAPI) -> None:
    """Serve `/docs` and its assets locally (the app must be created with `docs_url=None`)."""
    import swagger_ui_bundle

    app.mount(ASSETS_PATH, StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - docs",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png",
        )


__all__ = ["ASSETS_PATH", "install_docs"]
