"""``journeyflow journeys render|validate``: journey definitions as a diagram, or checked.

``render [FILE] --out HTML [--overwrite]`` writes a self-contained HTML page with one SVG per journey
(:func:`journeyflow.analytics.render.render_html`; a file at ``--out`` that render did not write is kept, exit 2,
unless ``--overwrite``); ``validate FILE [--attributes YAML]`` loads the file with the
engine config: schema, semantic checks and every condition type-checked against the built-in and declared fields,
and no trigger on a Segment event name the mapping (``--segment_mapping``, default the shipped one) turns into a
built-in event.  Exit 0;
a bad file raises a user error (exit 2, see :func:`journeyflow.cli.main`)."""
from __future__ import annotations

import argparse

from journeyflow.cli.common import HelpFormatter

HELP = "journey definitions: render, validate"


def add_args(p: argparse.ArgumentParser) -> None:
    """Subcommands ``render [FILE] --out HTML [--overwrite] [--attributes YAML] [--segment_mapping YAML]`` and ``validate FILE
    [--attributes YAML] [--segment_mapping YAML]``."""
    sub = p.add_subparsers(dest="journeys_cmd", required=True, metavar="{render,validate}")
    kw = {"formatter_class": HelpFormatter, "allow_abbrev": False}
    r = sub.add_parser("render", help="render journeys as a diagram (self-contained HTML with SVG)", **kw)
    r.add_argument("file", nargs="?", help="journeys YAML (default: the shipped set)")
    r.add_argument("--out", required=True, metavar="HTML", help="the HTML page to write")
    r.add_argument("--overwrite", action="store_true",
                   help="replace a file at --out that journeys render did not write (without it such a file is "
                        "kept: exit 2)")
    r.add_argument("--attributes", default=None, metavar="YAML", help="declared events, traits and computed "
                                                                     "attributes the conditions use")
    r.add_argument("--segment_mapping", default=None, metavar="YAML",
                   help="the Segment mapping the pipeline runs with (default: the shipped one), as for validate")
    v = sub.add_parser("validate", help="validate a journeys file (conditions type-checked against the declared "
                                        "fields)", **kw)
    v.add_argument("file", help="journeys YAML to check")
    v.add_argument("--attributes", default=None, metavar="YAML", help="declared events, traits and computed "
                                                                     "attributes (checked too)")
    v.add_argument("--segment_mapping", default=None, metavar="YAML",
                   help="the Segment mapping the pipeline runs with (default: the shipped one): a journey on a "
                        "mapped name in stream track (Signed In) never fires and is an error")


def run(ns: argparse.Namespace, rest: list[str]) -> int:
    """Load the journeys (the shipped set when no file), then render or report them; returns 0."""
    import os

    from journeyflow.config.engine import EngineConfig
    from journeyflow.config.errors import UserError
    if ns.file and not os.path.isfile(ns.file):  # (the loader's message names --journeys: not an option here)
        raise UserError(f"{ns.file}: {'is a directory, not a file' if os.path.isdir(ns.file) else 'no such file'}")
    if ns.journeys_cmd == "render" and ns.file and os.path.exists(ns.out) and os.path.samefile(ns.file, ns.out):
        raise UserError(f"--out {ns.out} is the journeys file itself: rendering would overwrite it with HTML")
    if ns.journeys_cmd == "render":
        from journeyflow.analytics.render import is_journeys_page
        from journeyflow.cli.common import check_output_file, check_replaced_file
        check_output_file(ns.out, "--out")
        check_replaced_file(ns.out, "--out", is_journeys_page, "a page journeys render wrote", ns.overwrite)
    cfg = EngineConfig.from_files(journeys=getattr(ns, "file", None), attributes=getattr(ns, "attributes", None),
                                  segment_mapping=getattr(ns, "segment_mapping", None))
    journeys = cfg.journeys()
    if ns.journeys_cmd == "render":
        from journeyflow.analytics.render import render_html
        with open(ns.out, "w") as f:
            f.write(render_html(journeys))
        print(f"wrote {len(journeys)} journeys to {ns.out}")
    else:
        attrs = cfg.attributes()
        extra = (f"; {ns.attributes}: {len(attrs.attributes)} computed attributes, {len(attrs.traits)} traits, "
                 f"{len(attrs.declarations.events)} declared events OK") if ns.attributes else ""
        print(f"{ns.file}: {len(journeys)} journeys OK (conditions type-checked){extra}")
    return 0
