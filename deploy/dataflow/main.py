"""Dataflow Flex Template entry point (``FLEX_TEMPLATE_PYTHON_PY_FILE`` in deploy/dataflow/Dockerfile).

The template launcher runs ``python main.py --mode=stream|replay --<parameter>=<value> ...`` with the template's
parameters and Dataflow's own options (project, region, staging/temp locations, job name, ``--update``...).  All
the work is in the installed package: :func:`journeyflow.pipelines.launch.main`, which submits the job and returns
without waiting for it.
"""
import sys

from journeyflow.pipelines.launch import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], default_runner="DataflowRunner"))
