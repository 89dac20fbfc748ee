# One image for every service; the command picks the service:
#   docker run newsroom python -m services.views
# The gateway runs one worker per core it may use (NEWSROOM_GATEWAY_WORKERS sets another
# number), all on its ports.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
COPY newsroom ./newsroom
RUN pip install . && useradd --system --uid 10001 newsroom && mkdir /data && chown newsroom /data
USER newsroom
ENV NEWSROOM_DATA_DIR=/data NEWSROOM_HOST=0.0.0.0 NEWSROOM_FORWARDED_ALLOW_IPS=*
EXPOSE 8000 8001 8002 8003
CMD ["python", "-m", "services.gateway"]
