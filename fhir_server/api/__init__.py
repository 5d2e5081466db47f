"""The HTTP edge: routes, content negotiation, headers. Knows HTTP and nothing else."""
