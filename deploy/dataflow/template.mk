# journeyflow on Dataflow (Flex Template).  Included from the main Makefile: `include deploy/dataflow/template.mk`.
# Runbook: README.md, "Running on Dataflow".  Needs gcloud, authenticated (`gcloud auth login`), and the resources
# of deploy/terraform (names below match its defaults for the same PREFIX).
#
#   make template PROJECT=my-project                 # build + push the image (Cloud Build), write the template spec
#   make launch   PROJECT=my-project                 # start the streaming job $(JOB)
#   make update   PROJECT=my-project [TRANSFORM_NAME_MAPPINGS=Old=New]   # replace it in place, state kept
#   make drain    PROJECT=my-project                 # stop it after finishing in-flight work
#   make launch-replay PROJECT=my-project REPLAY_INPUT=gs://... REPLAY_OUTPUT=gs://...

PROJECT          ?=
REGION           ?= us-central1
PREFIX           ?=
REPO             ?= $(PREFIX)journeyflow
TEMPLATE_BUCKET  ?= $(PREFIX)$(PROJECT)-journeyflow
JF_NOW           := $(shell date -u +%Y%m%d-%H%M%S)
TAG              ?= $(JF_NOW)
IMAGE            ?= $(REGION)-docker.pkg.dev/$(PROJECT)/$(REPO)/journeyflow:$(TAG)
TEMPLATE         ?= gs://$(TEMPLATE_BUCKET)/journeyflow.json
JOB              ?= $(PREFIX)journeyflow-stream
SERVICE_ACCOUNT  ?= $(PREFIX)journeyflow-worker@$(PROJECT).iam.gserviceaccount.com
HASH_KEY_SECRET  ?= $(PREFIX)journeyflow-hash-key
IDENTITY_STORE   ?= bigtable://$(PROJECT)/$(PREFIX)journeyflow/identity
TABLES           ?= $(PROJECT):$(subst -,_,$(PREFIX)journeyflow)
ALLOWED_LATENESS ?= 5m
MAX_WORKERS      ?= 10
# Renamed steps for `make update`, comma-separated OLD=NEW pairs, e.g. DecideOrdered=DecideInOrder
TRANSFORM_NAME_MAPPINGS ?=
REPLAY_INPUT     ?=
REPLAY_OUTPUT    ?=
JF_BUILD_CONFIG  ?= build/journeyflow-cloudbuild.json

JF_REQUIRE_PROJECT = @test -n "$(PROJECT)" || { echo "set PROJECT=<gcp project id> (make $@ PROJECT=...)" >&2; exit 2; }

# Everything a job launch needs but the parameters.
JF_RUN_FLAGS = --project $(PROJECT) --region $(REGION) \
	--template-file-gcs-location $(TEMPLATE) \
	--service-account-email $(SERVICE_ACCOUNT) \
	--staging-location gs://$(TEMPLATE_BUCKET)/staging \
	--temp-location gs://$(TEMPLATE_BUCKET)/tmp \
	--max-workers $(MAX_WORKERS) \
	--additional-user-labels app=journeyflow

JF_STREAM_PARAMS = --enable-streaming-engine \
	--parameters mode=stream \
	--parameters identity_store=$(IDENTITY_STORE) \
	--parameters tables=$(TABLES) \
	--parameters allowed_lateness=$(ALLOWED_LATENESS) \
	$(if $(PREFIX),--parameters topic_prefix=$(PREFIX))

.PHONY: template launch launch-replay update drain

## template: build the image with Cloud Build, push it to Artifact Registry, write the Flex Template spec
template:
	$(JF_REQUIRE_PROJECT)
	@mkdir -p $(dir $(JF_BUILD_CONFIG))
	@printf '%s\n' '{"steps": [{"name": "gcr.io/cloud-builders/docker", "args": ["build", "-f", "deploy/dataflow/Dockerfile", "--build-arg", "SDK_IMAGE=$(IMAGE)", "--build-arg", "HASH_KEY_SECRET=$(HASH_KEY_SECRET)", "-t", "$(IMAGE)", "."]}], "images": ["$(IMAGE)"]}' > $(JF_BUILD_CONFIG)
	gcloud builds submit . --project $(PROJECT) --region $(REGION) --config $(JF_BUILD_CONFIG)
	gcloud dataflow flex-template build $(TEMPLATE) --project $(PROJECT) \
		--image $(IMAGE) --sdk-language PYTHON --metadata-file deploy/dataflow/metadata.json
	@echo "template $(TEMPLATE) -> image $(IMAGE)"

## launch: start the streaming job (Pub/Sub in, decision topics + BigQuery out)
launch:
	$(JF_REQUIRE_PROJECT)
	gcloud dataflow flex-template run "$(JOB)" $(JF_RUN_FLAGS) $(JF_STREAM_PARAMS)

## launch-replay: batch replay of REPLAY_INPUT/<stream>.jsonl|.avro into REPLAY_OUTPUT/topics and /tables
launch-replay:
	$(JF_REQUIRE_PROJECT)
	@test -n "$(REPLAY_INPUT)" -a -n "$(REPLAY_OUTPUT)" || { echo "set REPLAY_INPUT=gs://... REPLAY_OUTPUT=gs://..." >&2; exit 2; }
	gcloud dataflow flex-template run "$(PREFIX)journeyflow-replay-$(JF_NOW)" $(JF_RUN_FLAGS) \
		--parameters mode=replay \
		--parameters input=$(REPLAY_INPUT) \
		--parameters output=$(REPLAY_OUTPUT)

## update: replace the running streaming job $(JOB) in place (same job name; state and watermarks are kept)
update:
	$(JF_REQUIRE_PROJECT)
	gcloud dataflow flex-template run "$(JOB)" $(JF_RUN_FLAGS) $(JF_STREAM_PARAMS) \
		--update $(if $(TRANSFORM_NAME_MAPPINGS),--transform-name-mappings=$(TRANSFORM_NAME_MAPPINGS))

## drain: stop reading, finish in-flight work, then stop the streaming job $(JOB)
drain:
	$(JF_REQUIRE_PROJECT)
	@id=$$(gcloud dataflow jobs list --project $(PROJECT) --region $(REGION) --status active \
		--filter="name=$(JOB)" --format="value(id)" | head -n 1); \
	test -n "$$id" || { echo "no active job named $(JOB) in $(REGION)" >&2; exit 1; }; \
	echo "draining $(JOB) ($$id)"; \
	gcloud dataflow jobs drain "$$id" --project $(PROJECT) --region $(REGION)
