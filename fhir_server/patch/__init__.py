"""PATCH support: RFC 6902 JSON Patch and FHIRPath Patch (R4 http.html#patch, fhirpatch.html).

Both functions take the stored resource (lossless JSON: decimals are ``Decimal``) and
return a patched deep copy; the input is never modified. Errors are the package's
``FhirError`` family: a malformed patch document → ``InvalidError`` (400), a patch
that cannot be applied to this resource → ``UnprocessableError`` (422).
"""

from .fhirpath_patch import apply_fhirpath_patch
from .json_patch import apply_json_patch

__all__ = ["apply_fhirpath_patch", "apply_json_patch"]
