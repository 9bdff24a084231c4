# journeyflow on Dataflow: everything the streaming and replay jobs use, except the jobs themselves (those are
# launched from the Flex Template: deploy/dataflow/template.mk) and the BigQuery tables when
# declare_bigquery_tables = false (the pipeline then creates them, CREATE_IF_NEEDED).
#
# Names follow the pipeline's conventions (journeyflow/adapters/pubsub_names.py), all behind var.prefix (= --topic_prefix):
#   topics in-<stream>, subscriptions in-<stream>-journeyflow, state-transfer(-journeyflow), output topics, and
#   pubsub-dead-letter(-sub): where Pub/Sub forwards a message of an input or the state-transfer subscription that
#   was delivered var.max_delivery_attempts times without being acknowledged (README, Bad input messages).

locals {
  p             = var.prefix
  labels        = { app = "journeyflow" }
  dataset_id    = replace("${var.prefix}journeyflow", "-", "_")
  bigtable_zone = coalesce(var.bigtable_zone, "${var.region}-a")
  worker        = "serviceAccount:${google_service_account.worker.email}"
  # The Pub/Sub service agent forwards undeliverable messages: it must be able to publish to the dead-letter topic
  # and to acknowledge on the source subscriptions (Pub/Sub DeadLetterPolicy.dead_letter_topic, "Handle message
  # failures").
  pubsub_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"

  schema_dir = "${path.module}/../../schemas/bigquery"
  table_specs = var.declare_bigquery_tables ? {
    for f in fileset(local.schema_dir, "*.json") :
    trimsuffix(f, ".json") => jsondecode(file("${local.schema_dir}/${f}"))
  } : {}

  services = [
    "artifactregistry.googleapis.com",
    "bigquery.googleapis.com",
    "bigtable.googleapis.com",
    "bigtableadmin.googleapis.com",
    "cloudbuild.googleapis.com",
    "compute.googleapis.com",
    "dataflow.googleapis.com",
    "pubsub.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
  ]

  # Project-level roles of the launcher/worker service account.  roles/viewer is what Google documents for the
  # Flex Template launcher VM ("Configure Flex Templates", permissions to run a Flex Template).
  worker_project_roles = [
    "roles/dataflow.worker",
    "roles/pubsub.subscriber",
    "roles/pubsub.publisher",
    "roles/pubsub.viewer",
    "roles/bigquery.jobUser",
    "roles/viewer",
  ]
}

data "google_project" "this" {
  project_id = var.project
}

resource "google_project_service" "apis" {
  for_each           = toset(local.services)
  service            = each.value
  disable_on_destroy = false
}

# ------------------------------------------------------------------------------------------------- Pub/Sub
resource "google_pubsub_topic" "input" {
  for_each                   = toset(var.streams)
  name                       = "${local.p}in-${each.key}"
  message_retention_duration = var.message_retention # lets a subscription seek back in time to re-read input
  labels                     = local.labels
  depends_on                 = [google_project_service.apis]
}

resource "google_pubsub_subscription" "input" {
  for_each                   = google_pubsub_topic.input
  name                       = "${local.p}in-${each.key}-journeyflow"
  topic                      = each.value.id
  ack_deadline_seconds       = 60
  message_retention_duration = var.message_retention
  retain_acked_messages      = true # replayed by a job started with resume=true (README, Delivery guarantees)
  labels                     = local.labels

  # A message the reader cannot hand over (e.g. a `ts` attribute Beam's reader rejects, apache/beam#15037) would
  # otherwise be redelivered forever.
  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.pubsub_dead_letter.id
    max_delivery_attempts = var.max_delivery_attempts
  }

  expiration_policy {
    ttl = "" # never expires, even while the job is stopped
  }
}

# A merge hands the absorbed customer's state to the surviving key through this topic (see README, Identity).
resource "google_pubsub_topic" "state_transfer" {
  name                       = "${local.p}state-transfer"
  message_retention_duration = var.message_retention
  labels                     = local.labels
  depends_on                 = [google_project_service.apis]
}

resource "google_pubsub_subscription" "state_transfer" {
  name                       = "${local.p}state-transfer-journeyflow"
  topic                      = google_pubsub_topic.state_transfer.id
  ack_deadline_seconds       = 60
  message_retention_duration = var.message_retention
  labels                     = local.labels

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.pubsub_dead_letter.id
    max_delivery_attempts = var.max_delivery_attempts
  }

  expiration_policy {
    ttl = ""
  }
}

# Pub/Sub's own dead-letter topic (not journeyflow's `dead-letter` output topic, which carries the records the
# pipeline read and refused): messages of the input and state-transfer subscriptions that were never acknowledged.
# Inspect or re-publish them from its subscription (README, Bad input messages).
resource "google_pubsub_topic" "pubsub_dead_letter" {
  name                       = "${local.p}pubsub-dead-letter"
  message_retention_duration = var.message_retention
  labels                     = local.labels
  depends_on                 = [google_project_service.apis]
}

resource "google_pubsub_subscription" "pubsub_dead_letter" {
  name                       = "${local.p}pubsub-dead-letter-sub"
  topic                      = google_pubsub_topic.pubsub_dead_letter.id
  ack_deadline_seconds       = 60
  message_retention_duration = var.message_retention
  labels                     = local.labels

  expiration_policy {
    ttl = ""
  }
}

resource "google_pubsub_topic_iam_member" "pubsub_agent_dead_letter" {
  topic  = google_pubsub_topic.pubsub_dead_letter.name
  role   = "roles/pubsub.publisher"
  member = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "pubsub_agent_input" {
  for_each     = google_pubsub_subscription.input
  subscription = each.value.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "pubsub_agent_state_transfer" {
  subscription = google_pubsub_subscription.state_transfer.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}

resource "google_pubsub_topic" "output" {
  for_each   = toset(var.output_topics)
  name       = "${local.p}${each.key}"
  labels     = local.labels
  depends_on = [google_project_service.apis]
}

# Example consumer subscriptions (one per topic) for the execution tools; they drop redeliveries by the
# decision_id attribute.  Messages carry the customer id as ordering key (see README on Dataflow's sink).
resource "google_pubsub_subscription" "output" {
  for_each                   = google_pubsub_topic.output
  name                       = "${local.p}${each.key}-sub"
  topic                      = each.value.id
  enable_message_ordering    = true
  ack_deadline_seconds       = 60
  message_retention_duration = var.message_retention
  labels                     = local.labels

  expiration_policy {
    ttl = ""
  }
}

# ------------------------------------------------------------------------------------------------ Bigtable
# Identity graph (journeyflow/adapters/bigtable_store.py): family g = parent/version/counts, family c = child pointers.
resource "google_bigtable_instance" "identity" {
  name                = "${local.p}journeyflow"
  display_name        = "${local.p}journeyflow identity graph"
  deletion_protection = var.deletion_protection
  labels              = local.labels

  cluster {
    cluster_id   = "${local.p}journeyflow-c1"
    zone         = local.bigtable_zone
    storage_type = "SSD"

    autoscaling_config {
      min_nodes  = var.bigtable_min_nodes
      max_nodes  = var.bigtable_max_nodes
      cpu_target = var.bigtable_cpu_target
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_bigtable_table" "identity" {
  name                = "identity"
  instance_name       = google_bigtable_instance.identity.name
  deletion_protection = var.deletion_protection ? "PROTECTED" : "UNPROTECTED"

  column_family {
    family = "g"
  }

  column_family {
    family = "c"
  }
}

resource "google_bigtable_gc_policy" "identity" {
  for_each        = toset(["g", "c"])
  instance_name   = google_bigtable_instance.identity.name
  table           = google_bigtable_table.identity.name
  column_family   = each.key
  deletion_policy = "ABANDON"                                     # GC policies cannot be deleted on replicated tables
  gc_rules        = jsonencode({ rules = [{ max_version = 1 }] }) # the store only reads the latest cell
}

# ------------------------------------------------------------------------------------------------ BigQuery
resource "google_bigquery_dataset" "journeyflow" {
  dataset_id  = local.dataset_id
  location    = var.region
  description = "journeyflow analyst tables (decisions, suppressed candidates, journey steps, customer snapshots, identity links, dead letters, field warnings)."
  labels      = local.labels
  depends_on  = [google_project_service.apis]
}

# Same schemas and day partitioning as the pipeline's WriteToBigQuery (schemas/bigquery/<table>.json).
resource "google_bigquery_table" "tables" {
  for_each            = local.table_specs
  dataset_id          = google_bigquery_dataset.journeyflow.dataset_id
  table_id            = each.key
  description         = each.value.description
  schema              = jsonencode(each.value.fields)
  deletion_protection = var.deletion_protection
  labels              = local.labels

  time_partitioning {
    type  = "DAY"
    field = each.value.partition_field
  }
}

# ------------------------------------------------------------------------------- Storage, images, secrets
resource "google_storage_bucket" "journeyflow" {
  name                        = "${local.p}${var.project}-journeyflow"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  labels                      = local.labels

  # Temp and staging files are rewritten constantly: soft delete would only bill for them (Beam warns about it).
  soft_delete_policy {
    retention_duration_seconds = 0
  }

  lifecycle_rule {
    condition {
      age            = var.temp_files_ttl_days
      matches_prefix = ["tmp/", "staging/"]
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_artifact_registry_repository" "journeyflow" {
  location      = var.region
  repository_id = "${local.p}journeyflow"
  format        = "DOCKER"
  description   = "journeyflow Flex Template / SDK container images"
  labels        = local.labels
  depends_on    = [google_project_service.apis]
}

# The identifier hashing key.  Terraform creates the secret, not its value (which would land in the state):
# add it with `gcloud secrets versions add` (README, Running on Dataflow).
resource "google_secret_manager_secret" "hash_key" {
  secret_id = "${local.p}journeyflow-hash-key"
  labels    = local.labels

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

# ------------------------------------------------------------------------------------------ Service account
resource "google_service_account" "worker" {
  account_id   = "${local.p}journeyflow-worker"
  display_name = "journeyflow Dataflow launcher and workers"
}

resource "google_project_iam_member" "worker" {
  for_each = toset(local.worker_project_roles)
  project  = var.project
  role     = each.value
  member   = local.worker
}

resource "google_bigtable_instance_iam_member" "worker" {
  instance = google_bigtable_instance.identity.name
  role     = "roles/bigtable.user"
  member   = local.worker
}

resource "google_bigquery_dataset_iam_member" "worker" {
  dataset_id = google_bigquery_dataset.journeyflow.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = local.worker
}

resource "google_storage_bucket_iam_member" "worker" {
  bucket = google_storage_bucket.journeyflow.name
  role   = "roles/storage.objectAdmin"
  member = local.worker
}

resource "google_artifact_registry_repository_iam_member" "worker" {
  location   = google_artifact_registry_repository.journeyflow.location
  repository = google_artifact_registry_repository.journeyflow.name
  role       = "roles/artifactregistry.reader"
  member     = local.worker
}

resource "google_secret_manager_secret_iam_member" "worker" {
  secret_id = google_secret_manager_secret.hash_key.id
  role      = "roles/secretmanager.secretAccessor"
  member    = local.worker
}
