"""Live events: NATS pub/sub fanned out to browsers as Server-Sent Events."""
