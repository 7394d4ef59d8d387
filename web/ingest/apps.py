from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "web.ingest"
    label = "ingest"

    def ready(self) -> None:
        from web.db_router import register_ttl_model

        register_ttl_model("ingest.beaconcount")
        try:  # the ttl cleanup registry (web/core/ttl.py; web/backups/cleanup.py before)
            from web.core.ttl import register_cleaner
        except ImportError:
            try:
                from web.backups.cleanup import register_cleaner
            except ImportError:  # no cleanup job in this install: nothing to register with
                return
        from web.ingest.tally import clean_counts

        register_cleaner("ingest.beacon_counts", clean_counts)
