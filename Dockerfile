# One image for every process of the topology (bot/production.py, docs/deployment.md):
#   python -m bot.production run migrate|actions|rasa|web|nginx
# Build after `make train` (the image carries models/minzheng.tar.gz):
#   docker build -t minzheng:latest .
FROM python:3.10-slim-bookworm

ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 \
    SQLALCHEMY_SILENCE_UBER_WARNING=1
# nginx from Debian (the same package as on a host); it runs as the unprivileged user below
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends nginx \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 minzheng \
    && mkdir -p /etc/minzheng /var/lib/nginx /var/log/nginx /tmp/nginx/tmp \
    && chown -R minzheng /var/lib/nginx /var/log/nginx /tmp/nginx

WORKDIR /app
COPY requirements.txt ./
RUN pip install --quiet "pip<25" && pip install --quiet -r requirements.txt && pip check
COPY . .
RUN test -f models/minzheng.tar.gz || { echo "run make train before docker build"; exit 1; }
RUN mkdir -p /app/var && chown -R minzheng /app/var

USER minzheng
ENTRYPOINT ["python", "-m", "bot.production", "run"]
CMD ["web"]
