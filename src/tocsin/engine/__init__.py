"""The worker: due timers and outbox delivery."""
