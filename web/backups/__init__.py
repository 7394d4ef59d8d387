"""Backups: offsite tiers, restore, cron job runs."""
