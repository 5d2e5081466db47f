"""The scheme's services: load → decide (pure rules in ``insurance/``) → persist, in one unit of work.

Each module is named after the FHIR resource whose writes it governs (``insuree.py``
Patient, ``family.py`` Group, ``policy.py`` Coverage, ``premium.py`` PaymentNotice) and
registers a write hook (``hooks.py``); operations (``operations/record_premium.py``,
``operations/eligibility_submit.py`` ...) call the same services.
"""
