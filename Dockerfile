# syntax=docker/dockerfile:1
#
# codearts-build-exporter container image.
#
#   docker build --build-arg VERSION="$(node -p 'require("./package.json").version')" \
#     --build-arg REVISION="$(git rev-parse HEAD)" -t codearts-build-exporter .
#   docker run -d -p 10987:10987 --read-only -e CODEARTS_TOKEN \
#     -v "$PWD/config/exporter.yml:/app/config/exporter.yml:ro" -v codearts-data:/app/data \
#     codearts-build-exporter
#   docker run --rm -p 8080:8080 codearts-build-exporter node dist/cli.js simulate --host 0.0.0.0 --port 8080
#
# .github/workflows/release.yml builds it for linux/amd64 and linux/arm64 on a tag v<version>.
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
# The runtime needs neither the benchmark nor `npm run demo`; the simulator stays (compose demo).
RUN npm run build && rm -rf dist/bench dist/demo.js dist/demo.js.map

# ---- deps: production dependencies only -----------------------------------------------------------
FROM node:24.11.1-alpine3.22 AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# ---- runtime ---------------------------------------------------------------------------------------
FROM node:24.11.1-alpine3.22 AS runtime

# Set by the release workflow: VERSION is package.json's version (the only copy), REVISION the commit,
# SOURCE the repository URL. The running exporter reads its version from package.json itself.
ARG VERSION
ARG REVISION
ARG SOURCE
LABEL org.opencontainers.image.title="codearts-build-exporter" \
      org.opencontainers.image.description="Prometheus exporter for Huawei Cloud CodeArts Build: build durations, queue times and status counts" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.base.name="docker.io/library/node:24.11.1-alpine3.22"

# tini as PID 1: forwards SIGTERM/SIGINT to node (which shuts down gracefully) and reaps zombies.
# The package managers of the base image are not needed at run time: npm, npx, corepack, yarn.
RUN apk add --no-cache tini \
 && rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
      /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-v*

ENV NODE_ENV=production
# Heap limits, one default from 100 to 10,000 jobs (job_histograms: false): old space 256 MiB, young
# generation capped at 3 x 8 MiB (Node 24 would let it grow to 3 x 64 MiB). Measured by `npm run bench`
# (scenarios rss100, rss1k, rss10k read this line): see docs/deployment.md, Sizing. 10,000 jobs with
# per-job histograms need --max-old-space-size=384; override NODE_OPTIONS where the container runs.
ENV NODE_OPTIONS="--max-old-space-size=256 --max-semi-space-size=8"
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

# /healthz says the process is alive; CodeArts outages show up in codearts_exporter_up instead.
# dist/healthcheck.js reads server.host/port from the same config file as the CMD, so it follows a
# changed port. Kubernetes ignores HEALTHCHECK and uses the probes of deploy/kustomize.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "dist/healthcheck.js", "--config", "/app/config/exporter.yml"]

ENTRYPOINT ["/sbin/tini", "--"]
CMD ["node", "dist/cli.js", "run", "--config", "/app/config/exporter.yml"]
