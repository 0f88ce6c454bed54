"""Evidence formats (layer L1): bytes → frozen dataclasses. Pure: no crypto library, no I/O."""
