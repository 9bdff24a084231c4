"""Typed records that flow between the stages: events, decisions, dead letters."""
