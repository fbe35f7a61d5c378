# The segmentation assistant on a plain server: one container, one process, the shop's data in a volume.
#
#   docker build -t segments .
#   docker run -d --name segments -p 8501:8501 -v segments-data:/app/data \
#       -v "$PWD/.streamlit/secrets.toml:/app/.streamlit/secrets.toml:ro" segments
#
# See docs/deploy.md (reverse proxy, secrets, why one container per database).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # The installed package would otherwise look for data/ inside site-packages.
    SEGMENTS_DB=/app/data/shop.duckdb

WORKDIR /app

# Dependencies first, exactly as pinned in pyproject.toml, so a code change does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Then the project itself (the `segments` command; serve.py, app.py and ui/ run from /app). serve.py puts
# the password gate in front of the upload and download endpoints too (ui/gate.py).
COPY . .
RUN pip install --no-deps . \
    && useradd --create-home --uid 10001 segments \
    && mkdir -p /app/data \
    && chown segments:segments /app/data

USER segments
VOLUME ["/app/data"]
EXPOSE 8501

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"

# First start on an empty volume: build the demo shop, so the app opens on something to explore.
CMD ["sh", "-c", "[ -f \"$SEGMENTS_DB\" ] || segments demo --db \"$SEGMENTS_DB\"; exec streamlit run serve.py --server.address 0.0.0.0 --server.port 8501"]
