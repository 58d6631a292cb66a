"""From firings to advice and assessment: reconciliation, ranking, health score, why-not."""
