"""The exception tree shared by every stage.

    LinliError                 anything Linli raises on purpose; the CLI prints it as one line
    ├── ConfigError            settings or a configuration file are wrong (names the field)
    ├── ContractError          a message breaks the MQTT/event contract (topic or payload)
    └── ServiceError           a service we depend on (database, broker) is missing or failed
"""


class LinliError(Exception):
    """Base class of the errors Linli raises deliberately."""


class ConfigError(LinliError):
    """Settings or a configuration file are invalid."""


class ContractError(LinliError):
    """A topic or payload does not follow the version 1 contract."""


class ServiceError(LinliError):
    """A dependency (database, broker, binary) is unavailable."""
