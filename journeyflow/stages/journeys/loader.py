"""The journey file loader: YAML text → validated :class:`~.model.Journey` records, or every problem at once.

Errors are :class:`JourneyError` messages ``<file>:<line>: <json path>: <what is wrong>``, sorted by line.  Checks
run in order: size (:data:`MAX_FILE_BYTES`), strict YAML (``journeyflow.config.yaml``: no aliases, bounded nesting,
plain unique keys), the number of journeys (:data:`MAX_JOURNEYS`), ``schemas/journey.schema.json``, then the
semantic checks of :func:`_build_journey` (conditions compile, step targets exist, every step is reachable, no loop
without a wait, durations fit ``max_duration``).  A journey with schema errors still gets the checks that make
sense for it (:func:`_lint_broken`), so one run reports as much as possible.

File format (validated by ``schemas/journey.schema.json``, then by the semantic checks below)::

    version: 1
    journeys:
      - id: cart_abandonment            # stable id: state, timers and tables refer to it
        name: Cart abandonment
        category: sales                 # service | transactional | sales | marketing
        priority: 600                   # 0-1000, higher wins within a category
        exclusion_group: null           # at most one active journey per group
        entry: {event: add_to_cart, stream: web, when: "customer.cart_size > 0"}   # or a list of triggers
        # any event: a built-in type, or a user-named one (Segment track): {event: "Trial Ending Soon", stream:
        # track} (or declared in the attributes file, journeyflow.stages.attributes_loader)
        exit: [{event: order_placed}]   # events that end the membership early
        # exit/goal/wait-until: the event must name the entry event's order (field paths, e.g. properties.orderId)
        # exit: [{event: order_cancelled, same_as_entry: order_id}]
        goal: [{event: order_placed}]   # conversion events (reaching a goal also exits)
        reentry: {mode: after_cooldown, cooldown: 7d}   # never (default) | after_cooldown | always
        control_group_pct: 10           # 0-50: share of customers whose candidates are marked control
        max_duration: 30d               # default 90d
        steps:                          # run in order unless `next` / branch targets say otherwise
          - {id: wait_1h, wait: 1h}
          - id: reminder
            send: {channel: email, content_id: cart_reminder_1, product_from_event: true}
          - {id: task, create_task: {content_id: call_back}}
          - {id: case, route_case: {content_id: billing_queue}}
          - id: wait_order
            wait: {until: order_placed, timeout: 3d, on_event: thanks, on_timeout: check}
          - id: check
            branch: {cases: [{when: "customer.consent.sms", next: sms}], else: done}
          - {id: done, exit: true}
"""
from __future__ import annotations

import difflib
import logging
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from journeyflow.config.durations import format_duration, parse_duration
from journeyflow.config.yaml import MAX_CONFIG_BYTES, YamlDocument, format_path, parse_yaml, utf8_size
from journeyflow.stages.conditions import Condition, JourneyError, compile_condition, condition_name
from journeyflow.stages.journeys.model import (DEFAULT_MAX_DURATION_MS, STREAM_OF_TYPE, TASK_CHANNEL, Journey, Reentry,
                                               Step, Trigger)
from journeyflow.stages.journeys.names import spelling_clashes
from journeyflow.stages.journeys.never_fires import NEVER_FIRES, deletion_trigger_error, synonym_trigger_error
from journeyflow.stages.journeys.positions import condition_line
from journeyflow.stages.journeys.step_events import step_event_types
from journeyflow.stages.journeys.schema import describe_error, schema_validator
from journeyflow.stages.declarations import CUSTOM_STREAM, Declarations
from journeyflow.stages.segment.calls import event_name_text
from journeyflow.stages.typecheck import DYN as _ANY_EVENT  # a broken journey's event: not known

__all__ = ["MAX_CONDITION_CHARS", "MAX_FILE_BYTES", "MAX_JOURNEYS", "default_journeys", "load_journeys",
           "load_journeys_text"]

#: Largest accepted journey file, in bytes (1 MiB, the limit of every configuration file).
MAX_FILE_BYTES = MAX_CONFIG_BYTES
#: Most journeys in one file.
MAX_JOURNEYS = 200
#: All conditions of a file together, in characters: bounds the load time of an untrusted file.
MAX_CONDITION_CHARS = 200_000


_BUILTIN = Declarations()


def default_journeys() -> tuple[Journey, ...]:
    """The default journey set shipped in ``journeyflow/defaults/journeys.yaml``."""
    ref = resources.files("journeyflow.defaults") / "journeys.yaml"
    return load_journeys_text(ref.read_text(encoding="utf-8"), "journeyflow/defaults/journeys.yaml")


def load_journeys(path: str | Path, declarations: Declarations | None = None) -> tuple[Journey, ...]:
    """Load and validate a journey file (conditions type-checked against ``declarations``: the built-in fields
    when None).  Raises JourneyError listing every problem found."""
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as e:
        raise JourneyError(f"{p}:1: $: cannot read the file ({e.strerror})") from None
    if size > MAX_FILE_BYTES:
        raise JourneyError(f"{p}:1: $: file is {size} bytes, larger than the 1 MiB limit")
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise JourneyError(f"{p}:1: $: file is not UTF-8 ({e.reason} at byte {e.start})") from None
    return load_journeys_text(text, str(p), declarations)


def load_journeys_text(text: str, filename: str = "<string>",
                       declarations: Declarations | None = None) -> tuple[Journey, ...]:
    """Parse, validate (JSON Schema, then semantic checks; conditions type-checked against ``declarations``, the
    built-in event and customer fields when None) and build journeys from YAML text."""
    decl = declarations if declarations is not None else _BUILTIN
    n = utf8_size(text, MAX_FILE_BYTES)
    if n > MAX_FILE_BYTES:
        raise JourneyError(f"{filename}:1: $: file is {n} bytes, larger than the 1 MiB limit")
    doc = _Doc(parse_yaml(text, filename))
    doc.text = text
    data = doc.data
    if doc.errors:
        raise JourneyError(doc.sorted_errors())
    if isinstance(data, dict) and isinstance(data.get("journeys"), list) and len(data["journeys"]) > MAX_JOURNEYS:
        raise JourneyError(doc.msg(("journeys",), f"{len(data['journeys'])} journeys, more than the limit of "
                                                  f"{MAX_JOURNEYS}"))
    bad: set[int] = set()
    for err in schema_validator().iter_errors(data):
        for path, message in describe_error(err):
            doc.add(path, message)
            if len(path) >= 2 and path[0] == "journeys" and isinstance(path[1], int):
                bad.add(path[1])
            elif len(path) < 2:
                bad.add(-1)
    journeys: list[Journey] = []
    if -1 not in bad:
        first_id: dict[str, int] = {}
        for i, jd in enumerate(data["journeys"]):
            jid = jd.get("id") if isinstance(jd, dict) else None
            duplicate = False
            if isinstance(jid, str):
                if jid in first_id:
                    duplicate = True
                    doc.add(("journeys", i, "id"), f"duplicate journey id '{jid}' (first defined at line "
                                                     f"{doc.line(('journeys', first_id[jid], 'id'))})")
                else:
                    first_id[jid] = i
            if i in bad:
                _lint_broken(jd, ("journeys", i), doc, decl)
                continue
            j = _build_journey(jd, ("journeys", i), doc, decl)
            if j is not None and not duplicate:
                journeys.append(j)
        for path, message in spelling_clashes(data["journeys"], decl, doc.line):
            doc.add(path, message)
    if doc.errors:
        raise JourneyError(doc.sorted_errors())
    return tuple(journeys)


class _Doc:
    """A parsed journey file: its data, the line of every JSON path, and the errors found so far."""

    def __init__(self, yd: YamlDocument):
        self.filename = yd.source
        self.yaml = yd
        self.errors: list[tuple[int, str, str]] = []
        self.condition_chars = 0
        self.text = ""  # the YAML text (file lines of multi-line conditions)
        for issue in yd.issues:
            self.add_raw(issue.line, issue.path, ("invalid YAML: " if issue.syntax else "") + issue.message)
        if yd.empty:
            self.add_raw(1, (), "the file is empty (expected a mapping with 'journeys')")
        self.data = yd.data

    def condition_budget(self, text: str, path: tuple) -> bool:
        """False (and one error) once the conditions of the file exceed MAX_CONDITION_CHARS in total."""
        before = self.condition_chars
        self.condition_chars += len(text)
        if self.condition_chars <= MAX_CONDITION_CHARS:
            return True
        if before <= MAX_CONDITION_CHARS:
            self.add(path, f"the conditions of this file exceed {MAX_CONDITION_CHARS} characters in total")
        return False

    # -- errors
    def line(self, path: tuple) -> int:
        return self.yaml.line(path)

    def msg(self, path: tuple, message: str) -> str:
        return f"{self.filename}:{self.line(path)}: {format_path(path)}: {message}"

    def add(self, path: tuple, message: str) -> None:
        self.errors.append((self.line(path), format_path(path), message))

    def add_raw(self, line: int, path: tuple, message: str) -> None:
        self.errors.append((line, format_path(path), message))

    def sorted_errors(self) -> list[str]:
        seen = set()
        out = []
        for line, path, message in sorted(self.errors, key=lambda e: (e[0], e[1])):
            s = f"{self.filename}:{line}: {path}: {message}"
            if s not in seen:
                seen.add(s)
                out.append(s)
        return out


# -------------------------------------------------------------------------------- semantic checks + build
def _check_event(etype: str, stream: str | None, path: tuple, doc: _Doc, decl: Declarations,
                 key: str = "event") -> bool:
    """A trigger's event must be a built-in type (in its stream), a declared event, or a user-named event of
    stream ``track``; an error goes to ``doc`` (False) otherwise."""
    own = STREAM_OF_TYPE.get(etype) or (decl.events[etype].stream if etype in decl.events else None)
    if own is not None:
        if stream is not None and stream != own:
            doc.add(path + ("stream",), f"event '{etype}' is not in stream '{stream}' (it is in '{own}')")
            return False
        return True
    if stream in (None, CUSTOM_STREAM):
        if etype != event_name_text(etype):  # (never sent so: a Segment track call's event is read so)
            doc.add(path + (key,), f"event name {etype!r} has spaces around it or characters nobody sees (event names "
                                   f"are read without them: write {event_name_text(etype)!r})")
            return False
        if etype in decl.mapped:  # the Segment mapping turns these messages into built-in events
            ms, mt = decl.mapped[etype]
            doc.add(path + (key,), f"event '{etype}' never reaches stream '{CUSTOM_STREAM}': the Segment mapping "
                                   f"turns it into {ms} '{mt}' " + (f"(use {key}: {mt}, stream: {ms})" if mt not in
                                   NEVER_FIRES else "(an account deletion: no trigger fires on it, nothing runs after it)"))
            return False
    if stream == CUSTOM_STREAM:
        near = decl.near_miss(etype)
        if near is not None:
            meant = f"'{near}'" if near not in decl.mapped else \
                f"'{near}', which the Segment mapping turns into {decl.mapped[near][0]} '{decl.mapped[near][1]}' " \
                f"({key}: {decl.mapped[near][1]}, stream: {decl.mapped[near][0]})"
            doc.add(path + (key,), f"event '{etype}' is neither declared nor mapped: did you mean {meant}? (a "
                                   f"misspelt event never fires; declare '{etype}' under events in the attributes "
                                   f"file if the name is right)")
            return False
        return True
    if (said := synonym_trigger_error(etype, stream, key)) is not None or stream is not None:  # (never_fires)
        doc.add(path + ((key,) if said else ("stream",)), said or f"event '{etype}' is not in stream '{stream}' (a "
                f"user-named event is in stream '{CUSTOM_STREAM}')")
        return False
    hint = difflib.get_close_matches(etype, [*STREAM_OF_TYPE, *decl.events], n=1)
    user_named = f"a user-named event needs stream: {CUSTOM_STREAM}, or a declaration in the attributes file"
    if hint and etype == etype.lower() and " " not in etype:  # a misspelt built-in type (add_to_card)
        doc.add(path + (key,), f"{etype!r} is not a known value (did you mean '{hint[0]}'?)")
    else:  # named as Segment names events (Order Delivered): the stream first, then the near built-in name
        doc.add(path + (key,), f"{etype!r} is not a known value ({user_named}" + (
            f"; or did you mean '{hint[0]}'?)" if hint else ")"))
    return False


def _build_journey(jd: dict, jp: tuple, doc: _Doc, decl: Declarations = _BUILTIN) -> Journey | None:
    """Semantic checks on one schema-valid journey, and the typed model.  Errors go to ``doc``."""
    n_err = len(doc.errors)
    v = jd.get("entry")
    step_events = [(td["event"], td.get("stream")) for td in ([v] if isinstance(v, dict) else v or ())]
    entry_types = [decl.event_type(e, s) for e, s in step_events]  # (what same_as_entry compares with)
    step_types = step_event_types(jd["steps"], step_events, decl)  # ``event`` in each step's conditions

    def cond(text: str | None, path: tuple, etype=None) -> Condition | None:
        if text is None or not doc.condition_budget(text, path):
            return None
        where = f"{doc.filename}:{doc.line(path)}: {format_path(path)}"
        try:
            return compile_condition(text, where, decl.variables(etype), condition_name(jd, path, where))
        except JourneyError as e:
            line = condition_line(doc.text, doc.yaml.lines.get(path, doc.line(path)), text, e.offset)
            for message in e.errors:
                doc.add_raw(line if e.offset is not None else doc.line(path), path,
                            message[len(where) + 2:] if message.startswith(where + ": ") else message)
            return None

    def trigger(td: dict, path: tuple, type_key: str = "event") -> Trigger:
        etype, stream = td[type_key], td.get("stream")
        if _check_event(etype, stream, path, doc, decl, type_key) and (never := deletion_trigger_error(
                etype, stream, "until" if type_key == "until" else path[len(jp)])):  # (journeys.never_fires)
            doc.add(path + (type_key,), never)
        same = td.get("same_as_entry") or ()
        same = (same,) if isinstance(same, str) else tuple(same)
        for message in decl.same_as_entry_errors(same, decl.event_type(etype, stream), entry_types):
            doc.add(path + ("same_as_entry",), message)
        return Trigger(etype, stream, cond(td.get("when"), path + ("when",), decl.event_type(etype, stream)), same)

    def triggers(key: str) -> tuple[Trigger, ...]:
        v = jd.get(key)
        if isinstance(v, dict):
            return (trigger(v, jp + (key,)),)
        return tuple(trigger(td, jp + (key, i)) for i, td in enumerate(v or ()))

    entry, exits, goals = triggers("entry"), triggers("exit"), triggers("goal")

    # steps: unique ids, targets exist
    sds = jd["steps"]
    ids: dict[str, int] = {}
    for k, sd in enumerate(sds):
        sid = sd["id"]
        if sid in ids:
            doc.add(jp + ("steps", k, "id"), f"duplicate step id '{sid}' (first defined at line "
                                             f"{doc.line(jp + ('steps', ids[sid], 'id'))})")
        else:
            ids[sid] = k

    broken_graph = len(ids) != len(sds)  # duplicate step ids

    def target(t: str | None, path: tuple) -> str | None:
        nonlocal broken_graph
        if t is not None and t not in ids:
            broken_graph = True
            hint = difflib.get_close_matches(t, list(ids), n=1)
            doc.add(path, f"unknown step '{t}'" + (f" (did you mean '{hint[0]}'?)" if hint else
                                                   f" (steps: {', '.join(ids)})"))
        return t

    steps: list[Step] = []
    longest_wait = 0
    for k, sd in enumerate(sds):
        sp = jp + ("steps", k)
        sid = sd["id"]
        default_next = sds[k + 1]["id"] if k + 1 < len(sds) else None
        nxt = target(sd.get("next"), sp + ("next",)) if "next" in sd else default_next
        if "send" in sd:
            s = sd["send"]
            if s.get("product_from_event") and not any({"product_id", "product_ids"} & set(t.fields)
                                                       for t in entry_types if t.kind == "struct"):
                many = len(step_events) > 1  # (the send would name no product, ever)
                doc.add(sp + ("send", "product_from_event"), (
                    f"the entry event{'s' if many else ''} ({', '.join(repr(e) for e, _ in step_events)}) "
                    f"{'carry' if many else 'carries'} no product_id or product_ids: a send could never name its "
                    "product (a Segment 'Product Added' or 'Product Viewed' is add_to_cart or product_view, stream web)"))
            steps.append(Step(sid, "send", nxt, channel=s["channel"], content_id=s["content_id"],
                              product_from_event=bool(s.get("product_from_event", False))))
        elif "create_task" in sd or "route_case" in sd:
            kind = "create_task" if "create_task" in sd else "route_case"
            steps.append(Step(sid, kind, nxt, channel=TASK_CHANNEL[kind], content_id=sd[kind]["content_id"]))
        elif "wait" in sd:
            w = sd["wait"]
            if isinstance(w, str):
                ms = _duration(w, sp + ("wait",), doc)
                steps.append(Step(sid, "wait", nxt, wait_ms=ms))
            else:
                ms = _duration(w["timeout"], sp + ("wait", "timeout"), doc)
                until = trigger(w, sp + ("wait",), "until")
                steps.append(Step(sid, "wait", nxt, wait_ms=ms, until=until,
                                  on_event=target(w.get("on_event"), sp + ("wait", "on_event")) or nxt,
                                  on_timeout=target(w.get("on_timeout"), sp + ("wait", "on_timeout")) or nxt))
            longest_wait = max(longest_wait, ms or 0)
        elif "branch" in sd:
            b = sd["branch"]
            cases = []
            for c, cd in enumerate(b["cases"]):
                cp = sp + ("branch", "cases", c)
                cases.append((cond(cd["when"], cp + ("when",), step_types[sid]),
                              target(cd["next"], cp + ("next",))))
            els = target(b.get("else"), sp + ("branch", "else")) if "else" in b else nxt
            steps.append(Step(sid, "branch", nxt, cases=tuple(cases), else_=els))
        else:  # exit
            if "next" in sd:
                doc.add(sp + ("next",), "an exit step ends the journey: it cannot have next")
            steps.append(Step(sid, "exit", None))

    # reachability and loops without a wait (only meaningful once all targets exist)
    if not broken_graph:
        by_id = {s.id: s for s in steps}
        reach, todo = {steps[0].id}, [steps[0].id]
        while todo:
            for t in by_id[todo.pop()].targets:
                if t not in reach:
                    reach.add(t)
                    todo.append(t)
        for k, s in enumerate(steps):
            if s.id not in reach:
                doc.add(jp + ("steps", k, "id"), f"step '{s.id}' is unreachable (no step leads to it)")
        loop = _loop_without_wait(steps)
        if loop:
            k = next(i for i, s in enumerate(steps) if s.id == loop[0])
            doc.add(jp + ("steps", k), f"steps {' -> '.join(loop)} loop without a wait")

    if goals and not any(s.kind == "wait" for s in steps):  # membership = attribution window: ends at entry
        logging.getLogger(__name__).warning(doc.msg(jp + ("goal",), (  # (a warning: its decisions are right)
            "the journey has no wait step: a membership ends at entry with its last step, so its goal is never "
            "attributed (0 in both arms); add a wait after the last action")))
    # reentry, durations
    rd = jd.get("reentry") or {"mode": "never"}
    cooldown = 0
    if "cooldown" in rd:
        if rd["mode"] != "after_cooldown":
            doc.add(jp + ("reentry", "cooldown"), f"cooldown is only used with mode after_cooldown (mode is "
                                                  f"{rd['mode']})")
        cooldown = _duration(rd["cooldown"], jp + ("reentry", "cooldown"), doc) or 0
    max_ms = DEFAULT_MAX_DURATION_MS
    if "max_duration" in jd:
        max_ms = _duration(jd["max_duration"], jp + ("max_duration",), doc) or DEFAULT_MAX_DURATION_MS
        if longest_wait > max_ms:
            doc.add(jp + ("max_duration",), f"{jd['max_duration']} is shorter than the longest wait "
                                            f"({format_duration(longest_wait)}): the journey could never finish")
    elif longest_wait > max_ms:
        doc.add(jp + ("steps",), f"a wait of {format_duration(longest_wait)} is longer than the default "
                                 f"max_duration ({format_duration(max_ms)}): set max_duration")

    if len(doc.errors) != n_err:
        return None
    return Journey(
        id=jd["id"], name=jd.get("name") or jd["id"], category=jd["category"], priority=int(jd["priority"]),
        exclusion_group=jd.get("exclusion_group"), entry=entry, steps=tuple(steps), exit=exits, goal=goals,
        reentry=Reentry(rd["mode"], cooldown), control_group_pct=float(jd.get("control_group_pct", 0)),
        max_duration_ms=max_ms)


def _lint_broken(jd: Any, jp: tuple, doc: _Doc, decl: Declarations = _BUILTIN) -> None:
    """The checks that still make sense for a journey with schema errors: conditions (type-checked against the
    fields every event has), step ids, step targets."""
    if not isinstance(jd, dict):
        return
    variables = decl.variables(decl.union_event_type([], True))

    def cond(text: Any, path: tuple) -> None:
        if isinstance(text, str) and doc.condition_budget(text, path):
            where = f"{doc.filename}:{doc.line(path)}: {format_path(path)}"
            try:
                compile_condition(text, where, {**variables, "event": _ANY_EVENT})
            except JourneyError as e:  # the faulty part's line, as in load (positions.condition_line)
                line = doc.line(path) if e.offset is None else condition_line(
                    doc.text, doc.yaml.lines.get(path, doc.line(path)), text, e.offset)
                for message in e.errors:
                    doc.add_raw(line, path, message[len(where) + 2:] if message.startswith(where + ": ") else message)

    for key in ("entry", "exit", "goal"):
        v = jd.get(key)
        for i, td in ([(None, v)] if isinstance(v, dict) else enumerate(v) if isinstance(v, list) else ()):
            if isinstance(td, dict):
                cond(td.get("when"), jp + ((key,) if i is None else (key, i)) + ("when",))
    sds = jd.get("steps")
    if not isinstance(sds, list):
        return
    ids: dict[str, int] = {}
    for k, sd in enumerate(sds):
        if isinstance(sd, dict) and isinstance(sd.get("id"), str):
            if sd["id"] in ids:
                doc.add(jp + ("steps", k, "id"), f"duplicate step id '{sd['id']}' (first defined at line "
                                                 f"{doc.line(jp + ('steps', ids[sd['id']], 'id'))})")
            else:
                ids[sd["id"]] = k

    def target(t: Any, path: tuple) -> None:
        if isinstance(t, str) and t not in ids:
            doc.add(path, f"unknown step '{t}'")

    for k, sd in enumerate(sds):
        if not isinstance(sd, dict):
            continue
        sp = jp + ("steps", k)
        target(sd.get("next"), sp + ("next",))
        w = sd.get("wait")
        if isinstance(w, dict):
            cond(w.get("when"), sp + ("wait", "when"))
            target(w.get("on_event"), sp + ("wait", "on_event"))
            target(w.get("on_timeout"), sp + ("wait", "on_timeout"))
        b = sd.get("branch")
        if isinstance(b, dict):
            target(b.get("else"), sp + ("branch", "else"))
            for c, cd in enumerate(b.get("cases") if isinstance(b.get("cases"), list) else ()):
                if isinstance(cd, dict):
                    cond(cd.get("when"), sp + ("branch", "cases", c, "when"))
                    target(cd.get("next"), sp + ("branch", "cases", c, "next"))


def _duration(text: str, path: tuple, doc: _Doc) -> int | None:
    """The duration at ``path`` in ms, or None (and an error in ``doc``)."""
    try:
        return parse_duration(text)
    except ValueError as e:
        doc.add(path, str(e))
        return None


def _loop_without_wait(steps: list[Step]) -> list[str] | None:
    """A cycle through steps none of which is a wait (it would run forever within one event), or None."""
    by_id = {s.id: s for s in steps}
    color: dict[str, int] = {}
    for s0 in steps:
        if color.get(s0.id):
            continue
        stack: list[tuple[str, Iterator[str]]] = [(s0.id, iter(by_id[s0.id].targets))]
        color[s0.id] = 1
        trail = [s0.id]
        while stack:
            sid, it = stack[-1]
            if by_id[sid].kind == "wait":
                nxt = None  # a wait breaks the loop: do not follow its edges
            else:
                nxt = next(it, None)
            if nxt is None:
                color[sid] = 2
                stack.pop()
                trail.pop()
                continue
            c = color.get(nxt, 0)
            if c == 1:
                return trail[trail.index(nxt):] + [nxt]
            if c == 0:
                color[nxt] = 1
                trail.append(nxt)
                stack.append((nxt, iter(by_id[nxt].targets)))
    return None
