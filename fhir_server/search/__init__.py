"""Backend-agnostic search: registry, write-time extraction, parse -> IR, reference matcher.

Spec: http://hl7.org/fhir/R4/search.html
"""
