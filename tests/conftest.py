"""Fixtures shared by the whole suite."""

pytest_plugins = (
    "tests.support.fixtures",
    "tests.support.app_server",
    "tests.support.engines",
    "tests.support.storage",
)
