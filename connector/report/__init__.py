"""Reports for people and machines: ``validation`` (a source's problems, records as
tables), ``sync`` (a run's JSON contract, CSV, Markdown, terminal, and the dispatch to every
format), ``html`` (the self-contained HTML page, from ``templates/``) and ``xlsx`` (the
Excel workbook). Pure: they render data, the caller writes it."""
