# Cython declarations for the compiled build of engine.py (an "augmenting .pxd": the .py stays plain Python and is what
# runs without the compiled core).  JourneyEngine becomes an extension type, so its methods read their own attributes
# from the object's struct instead of a type-and-descriptor look-up per read (issue 22).  Every instance attribute
# __init__ and on_event set is declared here; __dict__ keeps others.  Its class attributes (methods) cannot be
# replaced: wrap an instance instead (tests/guarantees/test_poison.py).
cdef class JourneyEngine:
    cdef dict __dict__
    cdef public object journeys, open_ticket_ms, soft_bounces, attributes, _by_id, _index, _may_overrun, _holders
    cdef public object _holder_ids, _observe, heard_types, _has_until, _moment
