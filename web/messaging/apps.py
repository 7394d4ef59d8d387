from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "web.messaging"
    label = "messaging"
    verbose_name = "Messaging (jobs, outbox, dead letters)"

    def ready(self) -> None:
        from web.db_router import register_ttl_model

        # The outbox churns and only holds rows while NATS is down (see ADR in the docs).
        register_ttl_model("messaging.outboxjob")
