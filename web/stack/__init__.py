"""The embedded single-box stack: the real servers as supervised processes (`manage.py up`)."""
