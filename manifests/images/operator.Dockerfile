# syntax=docker/dockerfile:1
# The jobpool operator (`operator/main.ts`). Build from the repository root:
#
#   docker build -f manifests/images/operator.Dockerfile -t ghcr.io/jobpool/operator:0.1.0 .
#
# Dependencies are fetched at build time into a DENO_DIR that is read-only at
# run time; the operator runs as uid 65532 with --cached-only and needs no
# writable filesystem. Its /metrics, /healthz and /readyz are on
# OPERATOR_METRICS_PORT (8080).

ARG DENO_VERSION=2.9.6

FROM denoland/deno:debian-${DENO_VERSION} AS deps
ENV DENO_DIR=/deno-dir \
    DENO_NO_UPDATE_CHECK=1
WORKDIR /app
COPY deno.json deno.lock ./
COPY src/ src/
COPY operator/ operator/
RUN deno install --frozen --entrypoint operator/main.ts \
 && chmod -R a+rX,go-w /deno-dir /app

FROM denoland/deno:distroless-${DENO_VERSION}
LABEL org.opencontainers.image.title="jobpool operator" \
      org.opencontainers.image.description="JobWorkerPool operator: worker Deployments, KEDA ScaledObjects, Strimzi KafkaTopics" \
      org.opencontainers.image.source="https://github.com/jobpool/jobpool"
ENV DENO_DIR=/deno-dir \
    DENO_NO_UPDATE_CHECK=1 \
    DENO_NO_PROMPT=1 \
    OPERATOR_METRICS_PORT=8080
WORKDIR /app
COPY --from=deps /deno-dir /deno-dir
COPY --from=deps /app /app
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["deno"]
CMD ["run", "--cached-only", "--frozen", "--v8-flags=--max-semi-space-size=2,--optimize-for-size", "--allow-net", "--allow-env", "--allow-read", "--allow-sys", "operator/main.ts"]
