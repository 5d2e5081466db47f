"""FHIR R4 (4.0.1) server for health-insurance and social-protection schemes."""

__version__ = "0.1.0"
FHIR_VERSION = "4.0.1"
