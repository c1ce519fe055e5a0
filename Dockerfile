# docstore: the library and its `docstore` command (the compose file's importer).
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 docstore \
    && useradd --system --uid 10001 --gid docstore --home-dir /app --shell /usr/sbin/nologin docstore

WORKDIR /app
COPY pyproject.toml README.md ./
COPY docstore ./docstore
# The image imports into MongoDB and serves the API: the two extras those need.
RUN pip install --no-cache-dir "./[mongodb,server]"

# Where the compose file's importer writes its reports. Docker makes a new named volume
# with the ownership of the directory it is mounted on: without this directory the
# volume would be root's, and the importer (uid 10001) could not write to it.
RUN mkdir -p /reports && chown 10001:10001 /reports

USER 10001:10001
ENTRYPOINT ["docstore"]
CMD ["--help"]
