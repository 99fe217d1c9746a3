"""The ASGI entry point (`uvicorn api.main:app`); configuration comes from the environment.

Settings the service cannot run with stop the process here with a few clear lines (exit code 1)
instead of a traceback.
"""

from api.app import create_app
from api.settings import SettingsError, load_settings

try:
    app = create_app(load_settings())
except SettingsError as error:
    raise SystemExit(f"Lex cannot start: {error}") from None
