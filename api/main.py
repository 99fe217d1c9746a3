"""The ASGI entry point (`uvicorn api.main:app`); configuration comes from the environment."""

from api.app import create_app

app = create_app()
