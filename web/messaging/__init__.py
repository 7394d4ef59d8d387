"""Work queue (JetStream), job envelope, outbox, dead letters: how work moves between processes."""
