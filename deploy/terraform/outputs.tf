output "bucket" {
  description = "Bucket for Dataflow temp/staging files, the Flex Template spec and replay input/output (Makefile TEMPLATE_BUCKET)."
  value       = google_storage_bucket.journeyflow.name
}

output "image_repository" {
  description = "Artifact Registry Docker repository for the template image (Makefile REPO)."
  value       = "${var.region}-docker.pkg.dev/${var.project}/${google_artifact_registry_repository.journeyflow.repository_id}"
}

output "worker_service_account" {
  description = "Service account for the launcher and the workers (gcloud dataflow flex-template run --service-account-email)."
  value       = google_service_account.worker.email
}

output "identity_store" {
  description = "Value of the pipeline's --identity_store."
  value       = "bigtable://${var.project}/${google_bigtable_instance.identity.name}/${google_bigtable_table.identity.name}"
}

output "tables" {
  description = "Value of the pipeline's --tables."
  value       = "${var.project}:${google_bigquery_dataset.journeyflow.dataset_id}"
}

output "hash_key_secret" {
  description = "Secret Manager secret for the identifier hashing key (add a version: see README, Running on Dataflow)."
  value       = google_secret_manager_secret.hash_key.id
}

output "input_topics" {
  description = "Topics the source systems publish to (with a 'ts' attribute in epoch ms)."
  value       = { for s, t in google_pubsub_topic.input : s => t.id }
}

output "input_subscriptions" {
  description = "Subscriptions the streaming pipeline reads."
  value       = { for s, sub in google_pubsub_subscription.input : s => sub.id }
}

output "output_subscriptions" {
  description = "Example subscriptions on the decision, audit and dead-letter topics (message ordering enabled)."
  value       = { for t, sub in google_pubsub_subscription.output : t => sub.id }
}

output "pubsub_dead_letter_subscription" {
  description = "Subscription on Pub/Sub's dead-letter topic: input or state-transfer messages never acknowledged after max_delivery_attempts deliveries (README, Bad input messages)."
  value       = google_pubsub_subscription.pubsub_dead_letter.id
}
