from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "web.ingest"
    label = "ingest"

    def ready(self) -> None:
        from web.core.ttl import register_cleaner
        from web.db_router import register_ttl_model
        from web.ingest.tally import clean_counts

        # Beacon counts live in ttl.db; the daily ttl cleanup drops rows older than 48 h.
        register_ttl_model("ingest.beaconcount")
        register_cleaner("ingest.beacon_counts", clean_counts)
