FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    FHIR_HOST=0.0.0.0 FHIR_PORT=8080 FHIR_STORE=sqlite:////data/fhir.db
WORKDIR /app
COPY pyproject.toml README.md ./
COPY fhir_server ./fhir_server
COPY profiles ./profiles
RUN pip install --no-cache-dir . && useradd --system --uid 10001 fhir && mkdir /data && chown fhir /data
USER fhir
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8080/health')" || exit 1
CMD ["fhir-server", "serve"]
