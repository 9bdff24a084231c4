variable "project" {
  description = "GCP project id that hosts journeyflow."
  type        = string
}

variable "region" {
  description = "Region of the Dataflow jobs, the bucket, the Artifact Registry repository and the BigQuery dataset."
  type        = string
  default     = "us-central1"
}

variable "prefix" {
  description = "Prefix of every resource name (e.g. \"dev-\"), so several deployments can share a project. Pass the same value as the pipeline's --topic_prefix and the Makefile's PREFIX."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^([a-z][-a-z0-9]*-)?$", var.prefix))
    error_message = "prefix must be empty or start with a lower-case letter, use [-a-z0-9] and end with '-'."
  }
}

variable "streams" {
  description = "Input streams: one topic in-<stream> and one subscription in-<stream>-journeyflow each (track: Segment-Spec messages)."
  type        = list(string)
  default     = ["web", "orders", "support", "crm", "engagement", "consent", "track"]
}

variable "output_topics" {
  description = "Topics the pipeline publishes to: one per execution target, the audit topic, the dead-letter topic and the field-warnings topic."
  type        = list(string)
  default = [
    "decisions-email",
    "decisions-sms",
    "decisions-push",
    "decisions-call",
    "decisions-crm-task",
    "decisions-service-case",
    "decisions-audit",
    "dead-letter",
    "field-warnings",
  ]
}

variable "message_retention" {
  description = "How long subscriptions keep messages (max 7 days; the input ones keep acknowledged messages too): the window to fix and restart a stopped job without losing input, and what a job started with resume=true replays."
  type        = string
  default     = "604800s"
}

variable "max_delivery_attempts" {
  description = "Deliveries of a message on an input or the state-transfer subscription before Pub/Sub forwards it to the pubsub-dead-letter topic (5..100; Pub/Sub counts 1 + nacks + expired ack deadlines). journeyflow acknowledges every message it reads, so only messages the runner's reader cannot hand over get there."
  type        = number
  default     = 5

  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100
    error_message = "max_delivery_attempts must be between 5 and 100 (Pub/Sub DeadLetterPolicy)."
  }
}

variable "bigtable_zone" {
  description = "Zone of the Bigtable cluster. Default: <region>-a."
  type        = string
  default     = null
}

variable "bigtable_min_nodes" {
  description = "Bigtable autoscaling: minimum nodes."
  type        = number
  default     = 1
}

variable "bigtable_max_nodes" {
  description = "Bigtable autoscaling: maximum nodes."
  type        = number
  default     = 3
}

variable "bigtable_cpu_target" {
  description = "Bigtable autoscaling: CPU utilization target (percent)."
  type        = number
  default     = 60
}

variable "declare_bigquery_tables" {
  description = "Declare the analyst tables from schemas/bigquery/*.json (day-partitioned). When false, the pipeline creates them itself (CREATE_IF_NEEDED) on first write."
  type        = bool
  default     = true
}

variable "deletion_protection" {
  description = "Protect the Bigtable instance and the BigQuery tables against terraform destroy."
  type        = bool
  default     = true
}

variable "temp_files_ttl_days" {
  description = "Objects under tmp/ and staging/ in the bucket are deleted after this many days."
  type        = number
  default     = 7
}
