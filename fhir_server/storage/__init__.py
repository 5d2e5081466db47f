"""Storage: one small async protocol (``protocol.py``) and two backends (sqlite, mongo)."""
