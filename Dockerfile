# syntax=docker/dockerfile:1
#
# codearts-build-exporter container image.
#
#   docker build -t codearts-build-exporter .
#   docker run -d -p 10987:10987 -e CODEARTS_TOKEN \
#     -v "$PWD/config/exporter.yml:/app/config/exporter.yml:ro" -v codearts-data:/app/data \
#     codearts-build-exporter
#   docker run --rm -p 8080:8080 codearts-build-exporter node dist/cli.js simulate --host 0.0.0.0 --port 8080
#
# Node.js 24 LTS on Alpine, pinned to a full version. For reproducible builds pin the digest too:
#   FROM node:24.11.1-alpine3.22@sha256:<digest>   (docker buildx imagetools inspect node:24.11.1-alpine3.22)

# ---- build: all dependencies, compile TypeScript to dist/ ---------------------------------------
FROM node:24.11.1-alpine3.22 AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- deps: production dependencies only -----------------------------------------------------------
FROM node:24.11.1-alpine3.22 AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# ---- runtime ---------------------------------------------------------------------------------------
FROM node:24.11.1-alpine3.22 AS runtime

ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="codearts-build-exporter" \
      org.opencontainers.image.description="Prometheus exporter for Huawei Cloud CodeArts Build: build durations, queue times and status counts" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="docker.io/library/node:24.11.1-alpine3.22"

# tini as PID 1: forwards SIGTERM/SIGINT to node (which shuts down gracefully) and reaps zombies.
RUN apk add --no-cache tini

ENV NODE_ENV=production
WORKDIR /app

# Application files stay owned by root (read-only for the app user); only /app/data is writable.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# The state file lives in /app/data (state.path ./data/state.json, relative to WORKDIR). The
# config is mounted at /app/config/exporter.yml.
RUN mkdir -p /app/data /app/config && chown 1000:1000 /app/data
VOLUME /app/data

# The official image's `node` user (uid/gid 1000); numeric so Kubernetes can verify runAsNonRoot.
USER 1000:1000

EXPOSE 10987

# /healthz only says the process is alive; CodeArts outages show up in codearts_exporter_up instead.
# Assumes the default port (server.port 10987).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["wget", "-q", "-T", "3", "-O", "/dev/null", "http://127.0.0.1:10987/healthz"]

ENTRYPOINT ["/sbin/tini", "--"]
CMD ["node", "dist/cli.js", "run", "--config", "/app/config/exporter.yml"]
