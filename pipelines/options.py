"""journeyflow's pipeline options registered with Beam, and the whole option set as one parser.

``python -m journeyflow.pipelines.options --help`` lists every pipeline option, journeyflow's (declared in
:mod:`journeyflow.config.options`) and Beam's; :func:`unknown_options` is how the command line rejects a misspelled
one instead of letting Beam discard it with a warning."""
from __future__ import annotations

import argparse
import sys

from apache_beam.options.pipeline_options import PipelineOptions

from journeyflow.config.options import add_pipeline_options


class JourneyflowOptions(PipelineOptions):
    """journeyflow's options for both pipelines (group "journeyflow"): :data:`journeyflow.config.options.OPTIONS`.
    ``deploy/dataflow/metadata.json`` declares the same names (checked by a test)."""

    @classmethod
    def _add_argparse_args(cls, parser):
        add_pipeline_options(parser)


def options_parser(include_journeyflow: bool = True, prog: str | None = None) -> argparse.ArgumentParser:
    """An argument parser with every registered ``PipelineOptions`` class's options (Beam's own and, unless
    ``include_journeyflow`` is false, journeyflow's), built the way ``PipelineOptions.get_all_options`` builds it."""
    from apache_beam.options.pipeline_options import _BeamArgumentParser
    parser = _BeamArgumentParser(allow_abbrev=False, prog=prog,
                                 description="Apache Beam pipeline options" + (" and journeyflow's"
                                                                               if include_journeyflow else ""))
    seen: dict[str, type] = {}
    for cls in PipelineOptions.__subclasses__():
        seen.setdefault(str(cls), cls)
    for cls in seen.values():
        if include_journeyflow or cls is not JourneyflowOptions:
            cls._add_argparse_args(parser)  # pylint: disable=protected-access
    return parser


def option_strings(parser: argparse.ArgumentParser) -> list[str]:
    """Every ``--flag`` ``parser`` accepts."""
    return sorted(s for s in parser._option_string_actions if s.startswith("--"))  # noqa: SLF001


def unknown_options(argv: list[str]) -> list[str]:
    """The arguments of ``argv`` that no pipeline option accepts (a misspelled ``--runer``, a stray value), in
    order; values of unknown flags (``--runer DataflowRunner``) are not repeated."""
    _, unknown = options_parser().parse_known_args(list(argv))
    out: list[str] = []
    skip = False
    for a in unknown:
        if skip and not a.startswith("-"):
            skip = False
            continue
        out.append(a)
        skip = a.startswith("-") and "=" not in a
    return out


if __name__ == "__main__":
    options_parser(prog="python -m journeyflow.pipelines.options").parse_args(sys.argv[1:])
