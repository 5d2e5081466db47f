"""Insurance business rules (openIMIS semantics, see ../shared/docs/DOMAIN.md §4-§6) as pure functions."""
