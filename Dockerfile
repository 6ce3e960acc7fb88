FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 FLASK_APP=wsgi.py INSTANCE_PATH=/app/instance
WORKDIR /app

COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
RUN useradd --create-home --uid 10001 callbatch && mkdir -p /app/instance && chown callbatch /app/instance
USER callbatch

EXPOSE 8000
# The slim image has no curl: Python asks /healthz (the process answers; /readyz is for traffic).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)" || exit 1
# The same image runs every Procfile process: override the command with
# `flask worker` or `flask scheduler`; run `flask db upgrade` once per release.
CMD ["gunicorn", "--worker-class", "gthread", "--threads", "8", "--bind", "0.0.0.0:8000", "wsgi:app"]
