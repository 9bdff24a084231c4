"""qa13d: ``journeyflow stream --tables`` is checked with the other option values, before Pub/Sub is touched.

Before: a ``--tables`` value BigQuery cannot name (``my-proj:web-analytics``: a dataset id has no hyphen;
``a:b:c``) passed every check, the start rewound the input subscriptions and forgot the local identity store's
links (``--resume``), and only then did building the BigQuery sink raise Beam's ValueError (a traceback).  Now it
is refused first: exit 2, one line naming ``--tables`` and the form it takes.  ``DATASET`` and ``PROJECT:DATASET``
still start."""
from __future__ import annotations

import pytest

from journeyflow.cli import main
from tests.cli.test_qa8d_stream_options import no_side_effects  # noqa: F401 (autouse: no rewind, reset or run)




@pytest.mark.parametrize("value", ["my-proj:web-analytics", "a:b:c", "proj:", "two words"])
def test_a_dataset_bigquery_cannot_name_is_refused_first(value, capsys):
    assert main(["stream", "--project", "p", "--tables", value]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--tables" in err[0] and "PROJECT:DATASET" in err[0], err


@pytest.mark.parametrize("value", [None, "", "journeyflow", "my-proj:journeyflow_tables"])
def test_a_dataset_it_can_name_passes(value):
    from journeyflow.transforms.sinks.bigquery import check_dataset
    check_dataset(value)
