"""Typed records that flow between the stages: events (``events``), candidates and decisions (``decisions``),
dead letters (``dead_letters``) and their reasons (``reasons``), analyst table schemas and rows (``tables``)."""
