"""One module per FHIR interaction (http.html), written once over the storage protocol."""
