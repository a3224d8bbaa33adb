"""Reports for people and machines: ``validation`` (a source's problems, records as
tables), ``sync`` (a run's JSON contract, CSV, Markdown, terminal) and ``html`` (the
self-contained HTML page). Pure: they render data, the caller writes it."""
