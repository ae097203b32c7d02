"""Pure stage logic: change detection, dedupe, priority scoring and extraction. No Kafka imports here."""
