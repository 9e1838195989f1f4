"""The HTTP layer: thin routes that parse requests, call services, and render envelopes."""
