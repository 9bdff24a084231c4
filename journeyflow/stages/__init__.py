"""The stages of a decision in dataflow order, as plain Python (no Beam): parse → identity → state → journeys →
arbitration, and the per-customer processor that runs them (shared by the bounded fold and the streaming DoFn)."""
