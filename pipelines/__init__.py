"""Pipelines: bounded replay (files) and streaming (Pub/Sub) built from the same transforms."""
