"""HR REST API readers: the generic one (``generic``, with ``auth`` and ``paging``), the
BambooHR and Personio presets, and ``presets`` to open one from a configuration."""
