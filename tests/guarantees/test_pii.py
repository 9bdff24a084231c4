"""No raw email address or phone number leaves the pipeline except as a delivery address, and the hashing key comes
from the environment and is never written anywhere.

A small demo (``generate`` → ``run_replay`` → ``write_report``) runs with ``JOURNEYFLOW_HASH_KEY`` set and the logs
captured at DEBUG.  Every output file is then scanned for every email and phone number of the generator's ground
truth, in the forms they were written in and normalized (lower-cased email; E.164, national and international
phone formats): every topic (the channel topics' ``address`` field excepted: it is what the execution tools deliver
to), every Parquet file of every table (every string, list and struct value), ``report.html``, and anything else
written under the output directory.  The generator's malformed lines are derived from real records, so dead letters
carry real identifiers and the masking of their payloads is exercised too.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import phonenumbers
import pyarrow.parquet as pq
import pytest

from journeyflow.analytics.report import write_report
from journeyflow.tools.generator import generate
from journeyflow.stages.identity.keys import HASH_KEY_ENV, Hasher
from journeyflow.pipelines.replay import run_replay

KEY_A = "pii-test-key-Aq7#secret"
KEY_B = "pii-test-key-Bz9#secret"
#: Topics whose messages carry the delivery address (and may: the senders need it).
CHANNEL_TOPICS = ("decisions-email", "decisions-sms", "decisions-push", "decisions-call")


def _identifier_forms(inp: Path) -> tuple[set[str], set[str]]:
    """(email forms, phone forms) of every person's and every shared identifier, raw and normalized."""
    hasher = Hasher(b"only-for-normalizing")
    emails: set[str] = set()
    phones: set[str] = set()
    raw_phones: list[str] = []
    for line in (inp / "ground_truth.jsonl").read_text().splitlines():
        person = json.loads(line)
        for e in person["emails"]:
            emails.update({e, e.strip(), hasher.email(e)[1]})
        raw_phones += person["phones"]
    for line in (inp / "ground_truth_shared.jsonl").read_text().splitlines():
        shared = json.loads(line)
        if shared["kind"] == "phone":
            raw_phones.append(shared["value"])
    for p in raw_phones:
        number = phonenumbers.parse(p, "US")
        phones.update({p, p.strip(), hasher.phone(p)[1],
                       phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL),
                       phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)})
    assert len(emails) > 20 and len(phones) > 10, (len(emails), len(phones))
    return {e for e in emails if e}, {p for p in phones if len(p) >= 7}


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)


def _output_texts(out: Path) -> Iterator[tuple[str, str]]:
    """(where, text) for every file under ``out``; JSONL line by line, Parquet value by value."""
    files = sorted(p for p in out.rglob("*") if p.is_file())
    assert files
    for path in files:
        rel = str(path.relative_to(out))
        if path.suffix == ".jsonl":
            topic = path.stem
            for i, line in enumerate(path.read_text().splitlines(), 1):
                msg = json.loads(line)
                if topic in CHANNEL_TOPICS:
                    msg.pop("address", None)  # the delivery address: allowed here and only here
                yield f"{rel}:{i}", json.dumps(msg, ensure_ascii=False)
        elif path.suffix == ".parquet":
            table = pq.read_table(path)
            for column in table.column_names:
                for row, value in enumerate(table.column(column).to_pylist()):
                    for s in _strings(value):
                        yield f"{rel}[{row}].{column}", s
        else:
            yield rel, path.read_text(encoding="utf-8", errors="replace")


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("pii")
    inp = root / "in"
    generate(customers=40, days=5, seed=31, out=inp)
    mp = pytest.MonkeyPatch()
    handler = _ListHandler()
    root_logger = logging.getLogger()
    old_level = root_logger.level
    root_logger.addHandler(handler)
    root_logger.setLevel(logging.DEBUG)
    try:
        mp.setenv(HASH_KEY_ENV, KEY_A)
        summary = run_replay(["--input", str(inp), "--output", str(root / "out-a")])
        write_report(root / "out-a")
        mp.setenv(HASH_KEY_ENV, KEY_B)
        run_replay(["--input", str(inp), "--output", str(root / "out-b")])
    finally:
        root_logger.removeHandler(handler)
        root_logger.setLevel(old_level)
        mp.undo()
    return {"inp": inp, "a": root / "out-a", "b": root / "out-b", "summary": summary, "logs": handler.texts}


class _ListHandler(logging.Handler):
    """Every log record of the run, formatted (message, arguments, exception text): what any log sink would get."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.texts: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.texts.append(self.format(record))
        except Exception:  # noqa: BLE001 - a record whose arguments do not format: keep what it holds
            self.texts.append(f"{record.msg!r} {record.args!r}")


def test_the_demo_ran_and_wrote_every_kind_of_output(demo):
    out = demo["a"]
    assert demo["summary"].reconciles
    assert sum(demo["summary"].dead_letters.values()) > 0
    assert (out / "report.html").stat().st_size > 10_000
    assert {p.name for p in (out / "tables").iterdir()} >= {"decisions", "suppressed_candidates", "journey_steps",
                                                             "customer_snapshots", "identity_links", "dead_letter"}
    addresses = [json.loads(line).get("address") for t in ("decisions-email", "decisions-sms")
                 for line in (out / "topics" / f"{t}.jsonl").read_text().splitlines()]
    assert any(a and "@" in a for a in addresses), "the scan below would prove nothing without deliveries"


def test_no_raw_email_or_phone_in_any_output_file(demo):
    emails, phones = _identifier_forms(demo["inp"])
    found = []
    for where, text in _output_texts(demo["a"]):
        low = text.lower()
        found += [(where, e) for e in emails if e.lower() in low]
        found += [(where, p) for p in phones if p in text]
    assert not found, f"{len(found)} raw identifiers in the outputs, e.g. {found[:10]}"


def test_dead_letters_had_identifiers_to_mask(demo):
    # the malformed lines of the input carry real identifiers; their dead letters show only the masks
    lines = (demo["a"] / "topics" / "dead-letter.jsonl").read_text().splitlines()
    payloads = [json.loads(line)["payload"] for line in lines]
    assert any("<email>" in p or "<phone>" in p for p in payloads)


def test_no_raw_identifier_or_hash_key_in_the_logs(demo):
    emails, phones = _identifier_forms(demo["inp"])
    logs = "\n".join(demo["logs"])
    assert demo["logs"], "nothing was logged: the capture is not working"
    assert KEY_A not in logs and KEY_B not in logs
    low = logs.lower()
    assert not [e for e in emails if e.lower() in low]
    assert not [p for p in phones if p in logs]


def test_the_hash_key_is_never_written_to_an_output(demo):
    for where, text in _output_texts(demo["a"]):
        assert KEY_A not in text, where


def _links(out: Path) -> set[str]:
    t = pq.read_table(out / "tables" / "identity_links").to_pydict()
    return set(t["identifier_a"]) | set(t["identifier_b"])


def test_the_hash_key_comes_from_the_environment(demo):
    a, b = _links(demo["a"]), _links(demo["b"])
    hashed_a = {k for k in a if k.startswith(("email:", "phone:"))}
    hashed_b = {k for k in b if k.startswith(("email:", "phone:"))}
    assert hashed_a and hashed_b
    assert not hashed_a & hashed_b, "a different key must give different hashed ids"
    assert {k for k in a if k.startswith(("crm:", "anon:"))} == {k for k in b if k.startswith(("crm:", "anon:"))}
    # and they are the HMACs with the key that was in the environment
    truth = [json.loads(line) for line in (demo["inp"] / "ground_truth.jsonl").read_text().splitlines()]
    email = next(e for p in truth for e in p["emails"] if Hasher(KEY_A.encode()).email(e)[0] in hashed_a)
    assert Hasher(KEY_B.encode()).email(email)[0] in hashed_b
    assert Hasher(b"journeyflow-local-dev-key").email(email)[0] not in hashed_a | hashed_b
