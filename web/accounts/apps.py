from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "web.accounts"
    label = "accounts"

    def ready(self) -> None:
        from web.db_router import register_ttl_model

        register_ttl_model("accounts.logincode")
        # The rate counter moved to web.core; its old migrations still run on ttl.db.
        register_ttl_model("accounts.ratecounter")
        from web.accounts.cleanup import clean_codes
        from web.core.ttl import register_cleaner

        register_cleaner("accounts.codes", clean_codes)
