# syntax=docker/dockerfile:1
# The jobpool worker (`deno task worker`). Build from the repository root:
#
#   docker build -f manifests/images/worker.Dockerfile -t ghcr.io/jobpool/worker:0.1.0 .
#
# Dependencies are fetched at build time into a DENO_DIR that is read-only at
# run time; the worker runs as uid 65532 with --cached-only, so it needs no
# network access to registries and no writable filesystem (give it an emptyDir
# on /tmp when the root filesystem is read-only).

ARG DENO_VERSION=2.9.6

FROM denoland/deno:debian-${DENO_VERSION} AS deps
ENV DENO_DIR=/deno-dir \
    DENO_NO_UPDATE_CHECK=1
WORKDIR /app
COPY deno.json deno.lock ./
COPY src/ src/
RUN deno install --frozen --entrypoint src/worker/main.ts \
 && chmod -R a+rX,go-w /deno-dir /app

FROM denoland/deno:distroless-${DENO_VERSION}
LABEL org.opencontainers.image.title="jobpool worker" \
      org.opencontainers.image.description="Kafka job worker (deno task worker)" \
      org.opencontainers.image.source="https://github.com/jobpool/jobpool"
ENV DENO_DIR=/deno-dir \
    DENO_NO_UPDATE_CHECK=1 \
    DENO_NO_PROMPT=1 \
    METRICS_PORT=9090
WORKDIR /app
COPY --from=deps /deno-dir /deno-dir
COPY --from=deps /app /app
USER 65532:65532
EXPOSE 9090
ENTRYPOINT ["deno"]
CMD ["run", "--cached-only", "--frozen", "--v8-flags=--max-semi-space-size=8,--heap-growing-percent=200", "--allow-net", "--allow-env", "--allow-read", "--allow-sys", "--allow-run", "src/worker/main.ts"]
