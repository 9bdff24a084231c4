#!/usr/bin/env bash
# Replay journeyflow input files on Apache Flink through Beam's portable FlinkRunner (see deploy/flink/README.md).
#
#   deploy/flink/run-flink.sh INPUT OUTPUT [more journeyflow / Beam options]
#
# INPUT holds <stream>.jsonl / <stream>.avro; OUTPUT receives topics/ and tables/.  Both must be readable/writable
# by the SDK harnesses: local paths are fine with ENVIRONMENT_TYPE=LOOPBACK on the submitting machine; with DOCKER or
# PROCESS on a real cluster use a shared filesystem Beam knows (gs://..., hdfs://..., s3://... with its extras).
#
# Environment (all optional):
#   FLINK_MASTER          JobManager REST endpoint host:port (default localhost:8081); [local] = embedded Flink
#   FLINK_VERSION         the cluster's Flink minor version, one Beam publishes a runner for (1.19 ... 2.2);
#                         default: Beam's newest
#   ENVIRONMENT_TYPE      where the Python SDK harness runs: LOOPBACK (default: in this process), DOCKER, PROCESS
#   ENVIRONMENT_CONFIG    DOCKER: the SDK image (e.g. the one built from deploy/dataflow/Dockerfile);
#                         PROCESS: '{"command": "/opt/apache/beam/boot"}' on every TaskManager
#   FLINK_JOB_SERVER_JAR  path or URL of beam-runners-flink-<FLINK_VERSION>-job-server-<beam>.jar; default: Beam
#                         downloads it from Maven Central into ~/.apache_beam/cache/jars
#   SUBMIT_UBER_JAR       1: submit one uber jar through the Flink REST API instead of running a job server
#   PARALLELISM           default parallelism (default: the cluster's)
#   PYTHON                interpreter with journeyflow installed (default: .venv/bin/python, else python3)
set -euo pipefail

if [ $# -lt 2 ]; then
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
input=$1 output=$2
shift 2

root=$(cd "$(dirname "$0")/../.." && pwd)
python=${PYTHON:-}
if [ -z "$python" ]; then
  if [ -x "$root/.venv/bin/python" ]; then python=$root/.venv/bin/python; else python=python3; fi
fi

args=(
  --mode=replay
  --input="$input"
  --output="$output"
  --runner=FlinkRunner
  --flink_master="${FLINK_MASTER:-localhost:8081}"
  --environment_type="${ENVIRONMENT_TYPE:-LOOPBACK}"
)
[ -n "${FLINK_VERSION:-}" ] && args+=(--flink_version="$FLINK_VERSION")
[ -n "${ENVIRONMENT_CONFIG:-}" ] && args+=(--environment_config="$ENVIRONMENT_CONFIG")
[ -n "${FLINK_JOB_SERVER_JAR:-}" ] && args+=(--flink_job_server_jar="$FLINK_JOB_SERVER_JAR")
[ "${SUBMIT_UBER_JAR:-0}" = 1 ] && args+=(--flink_submit_uber_jar)
[ -n "${PARALLELISM:-}" ] && args+=(--parallelism="$PARALLELISM")

echo "+ $python -m journeyflow.pipelines.launch ${args[*]} $*" >&2
exec "$python" -m journeyflow.pipelines.launch "${args[@]}" "$@"
