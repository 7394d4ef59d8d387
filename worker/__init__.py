"""The worker process: JetStream pull consumers that do the background work."""
