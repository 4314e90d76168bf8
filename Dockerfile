FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY workers ./workers
COPY events ./events
COPY connectors ./connectors
COPY db ./db
RUN pip install --no-cache-dir .
USER nobody
ENTRYPOINT ["rakuten-worker"]
CMD ["run"]
