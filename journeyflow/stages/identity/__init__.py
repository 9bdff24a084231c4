"""Identity unification (plain Python, no Beam): the one home of every identity concept.

Called per event (or per link) by the Beam stages, and testable and benchmarkable on its own:

* :mod:`.keys` — identifier kinds and rank, normalization, keyed hashing of PII (:class:`~.keys.Hasher`);
* :mod:`.rules` — which events link which identifiers, merge-protection guards (:class:`~.rules.LinkRules`);
* :mod:`.graph` — the union-find with canonical roots (:class:`~.graph.IdentityGraph`, :func:`~.graph.resolve`);
* :mod:`.clusters` — bounded replay: all links resolved at once, events keyed by final cluster;
* :mod:`.online` — streaming: links applied to an identity store, merge control events;
* :mod:`.opt_outs` — an opt-out or an account deletion naming several customers reaches each of them (replay and
  streaming copies);
* :mod:`.score` — pairwise precision/recall of a clustering against ground truth.

The stores behind the online path live in :mod:`journeyflow.adapters` (memory, SQLite, Bigtable) and apply the
same rules by calling the same functions (:func:`~.graph.pick_root`, :meth:`~.rules.Guard.refusal`).
"""
