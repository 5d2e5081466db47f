"""The differential search test: every backend against the reference matcher, over the
examples, with queries generated from the data (``test_matcher_differential.py``)."""
