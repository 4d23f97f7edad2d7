# lastmile gateway image. Config is mounted at /etc/lastmile/gateway.yaml; secrets come
# from the environment (${ENV_VAR} references in the file), never from the image.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY gateway ./gateway
COPY adapters ./adapters
COPY schemas ./schemas
COPY sandbox ./sandbox
RUN python -m venv /opt/lastmile \
 && /opt/lastmile/bin/pip install --no-cache-dir --disable-pip-version-check -c constraints.txt .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/lastmile --create-home lastmile
COPY --from=build /opt/lastmile /opt/lastmile
ENV PATH=/opt/lastmile/bin:$PATH \
    LASTMILE_AUDIT_DB=/var/lib/lastmile/audit.sqlite \
    PYTHONUNBUFFERED=1
USER lastmile
WORKDIR /var/lib/lastmile
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=2s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)" || exit 1
ENTRYPOINT ["lastmile"]
CMD ["serve", "--config", "/etc/lastmile/gateway.yaml", "--host", "0.0.0.0"]
