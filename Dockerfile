# syntax=docker/dockerfile:1
# One image for every Linli service; docker-compose.yml picks the command (`linli ingest`,
# `linli api`, …). Built in stages so that no compiler, node or build cache ships: the web
# UI is built from its lockfile in a node stage and only its output is packaged.

FROM node:20-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web ./
RUN npm run build

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY linli ./linli
COPY edge ./edge
COPY ingest ./ingest
COPY rules ./rules
COPY api ./api
COPY --from=web /src/api/ui ./api/ui
COPY hardware ./hardware
# Linli and every dependency as wheels; tzdata because "today" is evaluated in each
# community's zone and a slim image may lack the system zone database.
RUN pip wheel --wheel-dir /wheels . tzdata

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels linli tzdata
# A fixed, unprivileged uid; the folders that compose mounts volumes on belong to it, so
# that fresh named volumes are writable by the services.
RUN groupadd --system --gid 10001 linli \
 && useradd --system --uid 10001 --gid linli --home-dir /var/lib/linli \
        --shell /usr/sbin/nologin linli \
 && mkdir -p /var/lib/linli/sim /var/lib/linli/edge /var/lib/linli/tls \
        /var/lib/linli/mqtt-ca /var/lib/linli/mqtt-tls \
 && chown -R linli:linli /var/lib/linli
WORKDIR /var/lib/linli
USER 10001:10001
EXPOSE 8443
# Health checks are per service in docker-compose.yml (they differ by command); python
# is all they need, so the image carries no curl.
HEALTHCHECK NONE
CMD ["linli", "--help"]
