"""Cross-cutting pieces every app uses: health checks, S3 clients, the lean ASGI router."""
