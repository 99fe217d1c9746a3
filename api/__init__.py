"""The HTTP service and composition root: settings, wiring, routes, running turns and streams."""
