"""The cron process: APScheduler running the declared job table, as Litestream's child."""
