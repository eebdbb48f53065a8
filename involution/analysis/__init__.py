"""The canary analysis: Prometheus's numbers per track, exact tests, advance, hold or roll back."""
