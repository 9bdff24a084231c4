"""The Dataflow path, offline: the real pipelines translated by DataflowRunner with ``--dry_run`` (the job graph
Dataflow would receive, nothing submitted), the launcher's checks, and the deployment files kept consistent with
the code (Flex Template metadata vs JourneyflowOptions, Makefile parameters, terraform names, Dockerfile pins)."""
from __future__ import annotations

import argparse
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, WorkerOptions
from apache_beam.portability.api import beam_runner_api_pb2
from apache_beam.runners.dataflow.internal import apiclient

from journeyflow.config.engine import EngineConfig
from journeyflow.model.decisions import ALL_TOPICS
from journeyflow.model.events import STREAMS
from journeyflow.model.tables import TABLES
from journeyflow.adapters import bigtable_store
from journeyflow.pipelines import launch
from journeyflow.pipelines.options import JourneyflowOptions
from journeyflow.pipelines.replay import build_replay
from journeyflow.adapters.pubsub_names import STATE_TRANSFER
from journeyflow.pipelines.stream import build_stream, parse_duration_ms

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PROJECT = "test-project"
DATASET = f"{PROJECT}:journeyflow"
STORE = f"bigtable://{PROJECT}/journeyflow/identity"
IMAGE = f"us-central1-docker.pkg.dev/{PROJECT}/journeyflow/journeyflow:test"
DRY_RUN = ["--runner=DataflowRunner", "--dry_run=True", "--no_auth", f"--project={PROJECT}",
           "--region=us-central1", "--temp_location=gs://bucket/tmp"]
#: A launcher environment with a real (test-only) hashing key: a Dataflow launch without one is refused.
KEY_ENV = {"JOURNEYFLOW_HASH_KEY": "test-only-hash-key-0123456789abcdef"}
STREAM_TABLES = TABLES  # every analyst table, the same as replay (streaming snapshots: one row per customer flush)

# Top-level steps whose labels Dataflow's --update matches: renaming any of them needs a transform name mapping.
STREAM_STEPS = ({f"Read_{s}" for s in STREAMS} | {f"Raw_{s}" for s in STREAMS}
                | {"AllInputs", "ParseAndValidate", "ResolveIdentities", "Read_state_transfer", "DecodeTransfer",
                   "ShareAddressStatus", "KeyedInputs", "DecideOrdered", "TransferMessages", "Write_state_transfer", "AllDeadLetters",
                   "DecisionMessages", "DeadLetterMessages", "AllMessages", "WriteTopics", "DecisionRows",
                   "SuppressedRows", "StepRows", "DeadLetterRows", "FieldWarningMessages", "FieldWarningRows"}
                | {f"BigQuery_{t}" for t in STREAM_TABLES})
# Replay's core stages (its output writers are labelled by journeyflow.transforms.sinks.files).
# (a batch job is never updated: these changed in the sixth session, issue 22; one Outputs_<records> step per list)
REPLAY_STEPS = {"ReadFiles", "ParseAndValidate", "ResolveIdentities", "ShareAddressStatus", "EventTimes",
                "DecideForCustomers", "AllDeadLetters", "WriteOutputs",
                *(f"Outputs_{s}" for s in ("decisions", "steps", "snapshots", "links", "dead", "warnings"))}


@pytest.fixture(scope="module")
def config() -> EngineConfig:
    return EngineConfig.from_files()


def translate(build, argv: list[str]):
    """Runs ``build(p)`` through DataflowRunner --dry_run; returns the Dataflow job (``.proto`` and the portable
    ``.proto_pipeline`` it carries)."""
    p = beam.Pipeline(options=PipelineOptions(argv))
    build(p)
    return p.run().job


def top_level(pipeline: beam_runner_api_pb2.Pipeline) -> list[str]:
    """Labels of the user's top-level steps (children of the pipeline's root transform)."""
    transforms = pipeline.components.transforms
    names = []
    for root in pipeline.root_transform_ids:
        names += [transforms[t].unique_name for t in transforms[root].subtransforms]
    return names


def all_names(pipeline: beam_runner_api_pb2.Pipeline) -> list[str]:
    return sorted(t.unique_name for t in pipeline.components.transforms.values())


def by_name(pipeline: beam_runner_api_pb2.Pipeline) -> dict[str, beam_runner_api_pb2.PTransform]:
    return {t.unique_name: t for t in pipeline.components.transforms.values()}


@pytest.fixture(scope="module")
def stream_jobs(config):
    """The streaming job translated twice: built directly, and through the launcher (as the Flex Template runs it),
    recording whether the launcher waited for the job."""
    from journeyflow.pipelines import stream

    def build(p):
        build_stream(p, PROJECT, "", config, STORE, 300_000, tables_dataset=DATASET)

    first = translate(build, [*DRY_RUN, "--streaming", "--tables", DATASET])
    waits = []
    real = stream.run_stream
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(stream, "run_stream", lambda argv, wait=True: waits.append(wait) or real(argv, wait))
        mp.setenv(launch.SDK_IMAGE_ENV, IMAGE)
        mp.setenv(launch.HASH_KEY_SECRET_ENV, "journeyflow-hash-key")
        mp.setattr(launch, "access_secret", lambda name: KEY_ENV["JOURNEYFLOW_HASH_KEY"])
        second = launch.launch(["--mode=stream", *DRY_RUN, f"--identity_store={STORE}", "--allowed_lateness=5m",
                                f"--tables={DATASET}"]).job
    return first, second, waits


@pytest.fixture(scope="module")
def replay_input(tmp_path_factory) -> Path:
    """Replay lists its input files when the graph is built (on the launcher): a local directory here."""
    d = tmp_path_factory.mktemp("replay-in")
    for stream in STREAMS:
        (d / f"{stream}.jsonl").write_text('{"event_id": "e1"}\n')
    return d


@pytest.fixture(scope="module")
def replay_jobs(config, replay_input):
    def build(p):
        build_replay(p, str(replay_input), "gs://bucket/replay-out", config)

    first = translate(build, DRY_RUN)
    # the second translation goes through the launcher's own Dataflow replay path
    second = launch.submit_replay([*DRY_RUN, f"--input={replay_input}", "--output=gs://bucket/replay-out"]).job
    return first, second


# ------------------------------------------------------------------------------------------------ streaming
def test_stream_translates_to_a_streaming_dataflow_job_with_the_expected_top_level_steps(stream_jobs):
    job = stream_jobs[0]
    assert job.proto.type == apiclient.dataflow.JobType.JOB_TYPE_STREAMING
    names = top_level(job.proto_pipeline)
    assert len(names) == len(set(names)), "duplicate top-level labels"
    assert set(names) == STREAM_STEPS


def test_stream_reads_every_subscription_natively_and_writes_every_topic(stream_jobs):
    pipeline = stream_jobs[0].proto_pipeline
    steps = by_name(pipeline)
    for stream in STREAMS:
        read = steps[f"Read_{stream}/Read"]
        assert read.spec.urn == "beam:transform:pubsub_read:v1"  # Dataflow's native source, not a DoFn
        payload = beam_runner_api_pb2.PubSubReadPayload.FromString(read.spec.payload)
        assert payload.subscription == f"projects/{PROJECT}/subscriptions/in-{stream}-journeyflow"
        assert payload.timestamp_attribute == "ts" and payload.with_attributes
    transfer = beam_runner_api_pb2.PubSubReadPayload.FromString(steps["Read_state_transfer/Read"].spec.payload)
    assert transfer.subscription == f"projects/{PROJECT}/subscriptions/{STATE_TRANSFER}-journeyflow"

    writes = {n: t for n, t in steps.items() if t.spec.urn == "beam:transform:pubsub_write:v1"}
    topics = {}
    for name, t in writes.items():
        topics[name.split("/")[-2]] = beam_runner_api_pb2.PubSubWritePayload.FromString(t.spec.payload).topic
    assert topics == {**{f"Write_{topic}": f"projects/{PROJECT}/topics/{topic}" for topic in ALL_TOPICS},
                      "Write_state_transfer": f"projects/{PROJECT}/topics/{STATE_TRANSFER}"}
    for topic in ALL_TOPICS:
        assert f"WriteTopics/Write_{topic}" in steps


def test_stream_writes_each_analyst_table_to_bigquery(stream_jobs):
    steps = by_name(stream_jobs[0].proto_pipeline)
    for table in STREAM_TABLES:
        assert steps[f"BigQuery_{table}/Write"].spec.urn.startswith("beam:transform:write_to_big_query")


def test_stream_step_names_are_identical_across_translations(stream_jobs):
    first, second, _ = stream_jobs
    assert top_level(first.proto_pipeline) == top_level(second.proto_pipeline)
    assert all_names(first.proto_pipeline) == all_names(second.proto_pipeline)


def test_launcher_submits_the_streaming_job_without_waiting_on_the_template_image(stream_jobs):
    _, job, waits = stream_jobs
    assert waits == [False]
    assert job.options.view_as(WorkerOptions).sdk_container_image == IMAGE
    assert job.proto.type == apiclient.dataflow.JobType.JOB_TYPE_STREAMING


# --------------------------------------------------------------------------------------------------- replay
def test_replay_translates_to_a_batch_dataflow_job_with_the_expected_top_level_steps(replay_jobs):
    job, _ = replay_jobs
    assert job.proto.type == apiclient.dataflow.JobType.JOB_TYPE_BATCH
    names = top_level(job.proto_pipeline)
    assert len(names) == len(set(names))
    assert REPLAY_STEPS <= set(names)


def test_replay_step_names_are_identical_across_translations(replay_jobs):
    first, second = replay_jobs
    assert top_level(first.proto_pipeline) == top_level(second.proto_pipeline)
    assert all_names(first.proto_pipeline) == all_names(second.proto_pipeline)


# ------------------------------------------------------------------------------------------- launcher checks
def test_launcher_refuses_a_dataflow_stream_with_a_per_worker_identity_store():
    with pytest.raises(launch.LaunchError, match="identity_store"):
        launch.dataflow_argv("stream", [*DRY_RUN, f"--sdk_container_image={IMAGE}"], environ={})
    with pytest.raises(launch.LaunchError, match="identity_store"):
        launch.dataflow_argv("stream", [*DRY_RUN, "--identity_store=memory://", f"--sdk_container_image={IMAGE}"],
                             environ={})


def test_launcher_refuses_a_dataflow_replay_on_local_paths():
    with pytest.raises(launch.LaunchError, match="--input.*\n.*--output"):
        launch.dataflow_argv("replay", [*DRY_RUN, "--input=data/demo", "--output=out",
                                        f"--sdk_container_image={IMAGE}"], environ={})


def test_launcher_needs_journeyflow_on_the_workers():
    argv = [*DRY_RUN, f"--identity_store={STORE}"]
    with pytest.raises(launch.LaunchError, match="sdk_container_image"):
        launch.dataflow_argv("stream", argv, environ={})
    assert launch.dataflow_argv("stream", argv, environ={launch.SDK_IMAGE_ENV: IMAGE, **KEY_ENV})[-1] == \
        f"--sdk_container_image={IMAGE}"
    explicit = [*argv, "--sdk_container_image=other"]
    assert launch.dataflow_argv("stream", explicit, environ={launch.SDK_IMAGE_ENV: IMAGE, **KEY_ENV}) == explicit


def test_launcher_requires_a_mode_and_recognizes_dataflow_spellings():
    assert launch.split_mode(["--mode", "replay", "--input=x"]) == ("replay", ["--input=x"])
    with pytest.raises(SystemExit):
        launch.split_mode(["--input=x"])
    for runner in ("DataflowRunner", "dataflow", "apache_beam.runners.dataflow.dataflow_runner.DataflowRunner"):
        assert launch.is_dataflow(runner)
    for runner in (None, "", "FlinkRunner", "DirectRunner", "BundleBasedDirectRunner"):
        assert not launch.is_dataflow(runner)


def test_launcher_off_dataflow_waits_and_prints_the_local_replay_summary(monkeypatch, capsys):
    from journeyflow.pipelines import replay

    class Summary:
        reconciles = True

        def render(self):
            return "records read 3"

    calls = []
    monkeypatch.setattr(replay, "run_replay", lambda argv: calls.append(("run_replay", argv)) or Summary())
    assert launch.main(["--mode=replay", "--input=in", "--output=out", "--runner=FlinkRunner"]) == 0
    assert "records read 3" in capsys.readouterr().out
    Summary.reconciles = False
    assert launch.main(["--mode=replay", "--input=in", "--output=out"]) == 3

    class Result:  # output on a remote filesystem: no local summary, but still waited for
        def wait_until_finish(self):
            calls.append("waited")

    monkeypatch.setattr(launch, "submit_replay", lambda argv: calls.append(("submit_replay", argv)) or Result())
    assert launch.main(["--mode=replay", "--input=in", "--output=gs://b/out", "--runner=FlinkRunner"]) == 0
    assert [c if isinstance(c, str) else c[0] for c in calls] == ["run_replay", "run_replay", "submit_replay",
                                                                  "waited"]
    assert launch.main(["--mode=stream", "--identity_store=sqlite:///x.db", "--runner=DataflowRunner"]) == 2


def test_config_files_on_gcs_are_copied_to_local_files_for_the_launcher(monkeypatch, tmp_path):
    from apache_beam.io.filesystems import FileSystems

    shipped = (ROOT / "journeyflow" / "defaults" / "journeys.yaml").read_bytes()
    opened = []

    def fake_open(url, *args, **kwargs):
        opened.append(url)
        return io.BytesIO(shipped)

    monkeypatch.setattr(FileSystems, "open", staticmethod(fake_open))
    argv = launch.localize_config_files(["--mode=x", "--journeys", "gs://cfg/my-journeys.yaml"], str(tmp_path))
    assert opened == ["gs://cfg/my-journeys.yaml"]
    assert argv[-1] == f"--journeys={tmp_path / 'journeys-my-journeys.yaml'}"
    jf = PipelineOptions(argv).view_as(JourneyflowOptions)
    assert Path(jf.journeys).read_bytes() == shipped
    assert EngineConfig.from_files(jf.journeys).journeys()  # the copy is what EngineConfig validates
    assert launch.localize_config_files(["--policy=/etc/policy.yaml"]) == ["--policy=/etc/policy.yaml"]


def test_worker_boot_reads_the_hash_key_secret_then_execs_beam_boot():
    from journeyflow.stages.identity.keys import HASH_KEY_ENV

    calls = []
    real = KEY_ENV[HASH_KEY_ENV]
    env = {launch.HASH_KEY_SECRET_ENV: "journeyflow-hash-key"}
    launch.worker_boot(["--id=1", "--provision_endpoint=localhost:1"], environ=env,
                       read_secret=lambda name: calls.append(name) or real,
                       execv=lambda path, args: calls.append((path, args)))
    assert env[HASH_KEY_ENV] == real
    assert calls == ["journeyflow-hash-key",
                     (launch.BEAM_BOOT, [launch.BEAM_BOOT, "--id=1", "--provision_endpoint=localhost:1"])]

    calls.clear()  # the key already set (a real one): no Secret Manager call
    launch.worker_boot([], environ={launch.HASH_KEY_SECRET_ENV: "x", HASH_KEY_ENV: real},
                       read_secret=lambda name: calls.append(name) or "", execv=lambda path, args: None)
    assert calls == []


def test_secret_version_names():
    assert launch.secret_version_name("k", "p") == "projects/p/secrets/k/versions/latest"
    assert launch.secret_version_name("projects/q/secrets/k", "p") == "projects/q/secrets/k/versions/latest"
    assert launch.secret_version_name("projects/q/secrets/k/versions/3", None) == "projects/q/secrets/k/versions/3"
    with pytest.raises(launch.LaunchError):
        launch.secret_version_name("k", None)


# ------------------------------------------------------------------------------------- deployment files
def journeyflow_actions() -> dict[str, argparse.Action]:
    parser = argparse.ArgumentParser()
    JourneyflowOptions._add_argparse_args(parser)
    group = next(g for g in parser._action_groups if g.title == "journeyflow")
    return {a.dest: a for a in group._group_actions}


@pytest.fixture(scope="module")
def metadata() -> dict:
    return json.loads((DEPLOY / "dataflow" / "metadata.json").read_text())


def test_metadata_declares_exactly_the_journeyflow_options_plus_mode(metadata):
    names = [p["name"] for p in metadata["parameters"]]
    assert len(names) == len(set(names))
    assert set(names) == set(journeyflow_actions()) | {"mode"}
    for p in metadata["parameters"]:
        assert p["label"].strip() and p["helpText"].strip(), p["name"]
        assert isinstance(p["isOptional"], bool)
        for rx in p.get("regexes", []):
            re.compile(rx)
    assert [p["name"] for p in metadata["parameters"] if not p["isOptional"]] == ["mode"]


def test_metadata_regexes_accept_the_option_defaults_and_typical_values(metadata):
    regexes = {p["name"]: p.get("regexes", []) for p in metadata["parameters"]}

    def ok(name, value):
        return all(re.search(rx, value) for rx in regexes[name])

    for name, action in journeyflow_actions().items():
        if action.default:
            assert ok(name, action.default), (name, action.default)
    good = {"mode": ["stream", "replay"], "identity_store": [STORE, "memory://"], "tables": [DATASET, "p:d_1"],
            "allowed_lateness": ["0s", "500ms", "30s", "5m", "1h", "2d", "1000"], "until": ["end", "1790848800000",
            "2026-10-01T00:00:00+00:00"], "input": ["gs://b/in"], "journeys": ["gs://b/j.yaml", "/etc/j.yaml"],
            "project_id": [PROJECT], "topic_prefix": ["prod-"], "default_region": ["GB"]}
    bad = {"mode": ["batch"], "identity_store": ["redis://x"], "tables": ["journeyflow", "p.d"],
           "allowed_lateness": ["5 minutes", "-1s"], "input": ["data/demo"], "default_region": ["us"]}
    for name, values in good.items():
        assert all(ok(name, v) for v in values), name
    for name, values in bad.items():
        assert not any(ok(name, v) for v in values), name
    for v in good["allowed_lateness"]:  # what the metadata lets through, the pipeline parses
        parse_duration_ms(v)


def test_makefile_passes_only_declared_parameters(metadata):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    declared = {p["name"] for p in metadata["parameters"]}
    outs = {}
    for target in ("launch", "update", "launch-replay"):
        out = subprocess.run(["make", "-s", "-n", "-f", str(DEPLOY / "dataflow" / "template.mk"), target,
                              f"PROJECT={PROJECT}", "PREFIX=dev-", "REPLAY_INPUT=gs://b/in",
                              "REPLAY_OUTPUT=gs://b/out", "TRANSFORM_NAME_MAPPINGS=A=B"],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout
        passed = dict(re.findall(r"--parameters (\w+)=(\S+)", out))
        assert passed and set(passed) <= declared, (target, passed)
        for name, value in passed.items():
            assert all(re.search(rx, value) for p in metadata["parameters"] if p["name"] == name
                       for rx in p.get("regexes", [])), (target, name, value)
        outs[target] = out
    assert passed["mode"] == "replay" and dict(re.findall(r"--parameters (\w+)=(\S+)", outs["launch"]))["mode"] \
        == "stream"
    assert "--update" in outs["update"] and "--transform-name-mappings=A=B" in outs["update"]
    assert "--update" not in outs["launch"]


def hcl_list_default(text: str, variable: str) -> list[str]:
    block = re.search(r'variable "%s" \{(.*?)\n\}' % variable, text, re.S).group(1)
    return re.findall(r'"([^"]+)"', block.split("default", 1)[1])


def test_terraform_names_match_the_pipeline():
    variables = (DEPLOY / "terraform" / "variables.tf").read_text()
    assert hcl_list_default(variables, "streams") == list(STREAMS)
    assert hcl_list_default(variables, "output_topics") == list(ALL_TOPICS)
    main = (DEPLOY / "terraform" / "main.tf").read_text()
    assert 'name                       = "${local.p}in-${each.key}-journeyflow"' in main
    assert '"${local.p}%s-journeyflow"' % STATE_TRANSFER in main
    families = set(re.findall(r'family = "(\w+)"', main))
    assert families == {bigtable_store.FAMILY, bigtable_store.CHILDREN}


def test_dockerfile_pins_the_installed_beam_and_launches_deploy_main():
    import apache_beam

    dockerfile = (DEPLOY / "dataflow" / "Dockerfile").read_text()
    assert re.search(r"^ARG BEAM_VERSION=(\S+)$", dockerfile, re.M).group(1) == apache_beam.__version__
    assert "FROM apache/beam_python3.11_sdk:${BEAM_VERSION}" in dockerfile
    assert "python311-template-launcher-base" in dockerfile
    assert "COPY deploy/dataflow/main.py main.py" in dockerfile and "WORKDIR /template" in dockerfile
    assert "FLEX_TEMPLATE_PYTHON_PY_FILE=/template/main.py" in dockerfile
    for line in re.findall(r"^COPY (?!--)(.+)$", dockerfile, re.M):
        for src in line.split()[:-1]:
            assert (ROOT / src).exists(), src
