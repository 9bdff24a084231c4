"""Configuration: one strict YAML loader, one duration parser, the engine config, user-error types."""
