"""FHIR operations (operations.html), one module per operation."""
