"""The HTTP API and control-room UI of Linli (FastAPI, async psycopg pool).

``api.app.create_app(settings)`` builds the application; ``api.server.start_in_thread``
runs it under uvicorn in a background thread; ``linli api`` (``api.cli``) serves it.
Each domain (events, residents, alerts, devices, health, dead_letters, communities) is a
sub-package with ``models.py`` (pydantic), ``queries.py`` (named SQL), ``service.py``
(data access) and ``views.py`` (thin routers). Nothing heavy is imported here, so that
``linli --help`` stays fast.
"""
