"""The embedded SQLite backend (the default store): a file under ./data, nothing to install."""
