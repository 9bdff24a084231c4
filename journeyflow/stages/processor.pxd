# Cython declarations for the compiled build of processor.py (an "augmenting .pxd": the .py stays plain Python and is
# what runs without the compiled core).  CustomerProcessor becomes an extension type, so its methods read their own
# attributes from the object's struct instead of a type-and-descriptor look-up per read (issue 22).  Every instance
# attribute __init__ sets is declared here; __dict__ keeps other attributes (tests replace methods on an instance).
cdef class CustomerProcessor:
    cdef dict __dict__
    cdef public object engine, arbiter, retention, expire_every_ms, max_isolated, dormant_ms, _heard, _quiet_until
