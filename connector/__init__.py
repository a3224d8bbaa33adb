"""hr-connector: keeps Microsoft Entra ID users in step with the HR system.

The pipeline, one package or module per stage: ``readers`` (HR sources to records),
``checks`` (is the source usable?), ``mapping`` (records to desired Entra users),
``plan`` (desired against current: what to change), ``apply`` (the only writer),
``report`` (what happened, for people and machines), ``graph`` (Microsoft Graph client)
and ``sandbox`` (a local Graph emulator). ``cli`` is a thin layer over all of them.
"""

__version__ = "0.1.0"
