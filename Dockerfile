# lastmile gateway images. Two targets:
#
#   docker build -t lastmile .                    # production (the default, last stage)
#   docker build -t lastmile-demo --target demo . # with the simulated legacy systems
#
# The production image holds the gateway, the adapters and the schemas, and nothing else:
# the sandboxes (simulated ERP and WMS, with their fault switches) are never copied into its
# build, so its wheel cannot contain them (setuptools packages only what the build context
# has). The demo image adds them, for `lastmile demo` and `lastmile sandbox`.
#
# Config is mounted at /etc/lastmile/gateway.yaml; secrets come from the environment
# (${ENV_VAR} references in the file) or from mounted files, never from the image. The audit
# trail (SQLite by default) and the checkpoint signing key live on the volume
# /var/lib/lastmile, owned by the non-root user lastmile (uid 10001). See docs/production.md.

# ---- build stages ------------------------------------------------------------------------
FROM python:3.11-slim AS build-production
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY gateway ./gateway
COPY adapters ./adapters
COPY schemas ./schemas
RUN python -m venv /opt/lastmile \
 && /opt/lastmile/bin/pip install --no-cache-dir --disable-pip-version-check -c constraints.txt .

FROM build-production AS build-demo
COPY sandbox ./sandbox
RUN /opt/lastmile/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps \
      --force-reinstall -c constraints.txt .

# ---- runtime -----------------------------------------------------------------------------
FROM python:3.11-slim AS runtime
RUN useradd --system --uid 10001 --home-dir /var/lib/lastmile --create-home lastmile \
 && install -d -o lastmile -g lastmile -m 0700 /var/lib/lastmile/keys
ENV PATH=/opt/lastmile/bin:$PATH \
    LASTMILE_AUDIT_DB=/var/lib/lastmile/audit.sqlite \
    LASTMILE_AUDIT_KEY_FILE=/var/lib/lastmile/keys/audit-signing.pem \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /var/lib/lastmile
VOLUME ["/var/lib/lastmile"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=2s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)" || exit 1
ENTRYPOINT ["lastmile"]
CMD ["serve", "--config", "/etc/lastmile/gateway.yaml", "--host", "0.0.0.0"]

FROM runtime AS demo
COPY --from=build-demo /opt/lastmile /opt/lastmile
USER 10001:10001

FROM runtime AS production
COPY --from=build-production /opt/lastmile /opt/lastmile
USER 10001:10001
