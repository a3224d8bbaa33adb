"""The configuration file (``hr-connector run --config``, ``serve --config``): one
validated YAML file; see ``model``."""

from connector.config.model import (
    Account,
    ApiSource,
    Certificate,
    Config,
    FolderSource,
    Paths,
    Policies,
    Retention,
    SecretRef,
    ServeConfig,
    SourceConfig,
    TenantConfig,
    load_config,
)

__all__ = ["Account", "ApiSource", "Certificate", "Config", "FolderSource", "Paths",
           "Policies", "Retention", "SecretRef", "ServeConfig", "SourceConfig",
           "TenantConfig", "load_config"]
