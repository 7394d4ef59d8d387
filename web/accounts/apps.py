from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "web.accounts"
    label = "accounts"

    def ready(self) -> None:
        from web.db_router import register_ttl_model

        register_ttl_model("accounts.logincode")
        register_ttl_model("accounts.ratecounter")
        try:
            from web.core.ttl import register_cleaner
        except ImportError:  # the backups app owns the cleanup job; without it, no cleanup
            return
        from web.accounts.cleanup import clean_codes, clean_rate_counters

        register_cleaner("accounts.codes", clean_codes)
        register_cleaner("accounts.rate_counters", clean_rate_counters)
