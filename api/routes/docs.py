"""The API's description: `GET /openapi.json` for the operator, and `GET /docs` when asked for.

The schema names every route and field, the operator's own included, so only the operator reads
it (`Authorization: Bearer <ADMIN_TOKEN>`). The interactive page is a development aid, off unless
`API_DOCS=true`. Then Swagger UI comes from files installed with the service (the
`fastapi-offline` package ships them), never from a CDN, and the page's own script asks for the
operator's token and sends it to read the schema. No inline script: the page keeps the strict
content policy every answer carries. ReDoc is not offered: its bundle writes inline styles.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from api.deps import AdminDep

DOCS_PAGE_DIR: Final = Path(__file__).resolve().parent.parent / "docs_page"
DOCS_PATH: Final = "/docs"
SWAGGER_UI_PATH: Final = "/docs/swagger-ui"
DOCS_SCRIPT_PATH: Final = "/docs/page"
SWAGGER_UI_PACKAGE: Final = ("fastapi_offline", "static")

schema_router = APIRouter(tags=["operations"])
page_router = APIRouter(tags=["operations"])


@schema_router.get("/openapi.json", include_in_schema=False, dependencies=[AdminDep])
async def openapi(request: Request) -> JSONResponse:
    """The OpenAPI document of every route, for the operator."""
    return JSONResponse(request.app.openapi())


@page_router.get(DOCS_PATH, include_in_schema=False)
async def docs() -> FileResponse:
    """Swagger UI's page; its script asks for the operator's token to read the schema."""
    return FileResponse(
        DOCS_PAGE_DIR / "index.html", media_type="text/html", headers={"Cache-Control": "no-cache"}
    )


def install_docs(app: FastAPI, *, page: bool) -> None:
    """Serves the schema to the operator and, with `page`, Swagger UI from local files."""
    app.include_router(schema_router)
    if not page:
        return
    app.include_router(page_router)
    app.mount(SWAGGER_UI_PATH, StaticFiles(packages=[SWAGGER_UI_PACKAGE]), name="swagger-ui")
    app.mount(DOCS_SCRIPT_PATH, StaticFiles(directory=DOCS_PAGE_DIR), name="docs-page")
