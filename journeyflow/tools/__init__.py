"""Developer tooling, not needed by pipeline workers: generator, benchmarks, Pub/Sub publisher/consumer,
emulators, local-runner tuning."""
