# Chronicle: the Discord bot in a container.
#   docker build -t chronicle .                                  # connect to your own model server
#   docker build --build-arg INCLUDE_LOCAL_MODEL=1 -t chronicle .  # bundle the demo model (builds llama.cpp)
#   docker run -d --name chronicle -v chronicle-data:/data \
#     -e DISCORD_TOKEN=... -e CHRONICLE_LLM_BASE_URL=http://host.docker.internal:11434/v1 \
#     -e CHRONICLE_LLM_MODEL=llama3.1 chronicle
FROM python:3.11-slim

ARG INCLUDE_LOCAL_MODEL=0

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CHRONICLE_DATABASE=/data/chronicle.db \
    CHRONICLE_LOG_FORMAT=json \
    MPLCONFIGDIR=/tmp/matplotlib

RUN groupadd --system chronicle \
    && useradd --system --gid chronicle --home-dir /app --no-create-home --shell /usr/sbin/nologin chronicle

WORKDIR /app

# The source tree stays here: the editable install points at it, and migrations/ is read from it.
COPY pyproject.toml README.md ./
COPY requirements ./requirements
COPY engine ./engine
COPY bot ./bot
COPY config ./config
COPY migrations ./migrations

# Exactly the locked versions, checked against their hashes (requirements/, from `make lock`).
# With the bundled model, llama-cpp-python is compiled from source; the compilers are removed afterwards
# (libgomp1, which the compiled library needs at run time, is kept).
RUN if [ "$INCLUDE_LOCAL_MODEL" = "1" ]; then \
        apt-get update \
        && apt-get install -y --no-install-recommends build-essential cmake libgomp1 \
        && pip install --require-hashes -r requirements/run-local.txt \
        && pip install --no-deps -e . \
        && apt-get purge -y --auto-remove build-essential cmake \
        && rm -rf /var/lib/apt/lists/*; \
    else \
        pip install --require-hashes -r requirements/run.txt \
        && pip install --no-deps -e .; \
    fi \
    && mkdir -p /data \
    && chown chronicle:chronicle /data

USER chronicle
VOLUME ["/data"]

CMD ["chronicle", "run"]
