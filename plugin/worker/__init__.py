"""Workers: the in-process loop (``loop``), Celery scale-out (``scaleout``) and ``backfill``."""
