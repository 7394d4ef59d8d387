from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "web.accounts"
    label = "accounts"

    def ready(self) -> None:
        from web.db_router import register_ttl_model

        register_ttl_model("accounts.logincode")
        register_ttl_model("accounts.ratecounter")
