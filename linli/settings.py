"""One settings object, built once at start-up and passed down.

Values come from environment variables with the ``LINLI_`` prefix (nested sections use a
double underscore, e.g. ``LINLI_INGEST__BATCH_SIZE``) or from a YAML file named by
``--config`` / ``LINLI_CONFIG``; the environment wins over the file.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from linli.errors import ConfigError

Locale = Literal["zh-CN", "en"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EdgeSettings(_Section):
    """The building's edge agent."""

    config: Path | None = None
    """YAML file describing the agent (community, building) and its door sources."""
    spool_dir: Path = Path("var/edge")
    """Where the durable spool (SQLite) and the rejected-lines file live."""
    max_inflight: int = Field(200, ge=1, le=20000)
    """QoS 1 messages handed to the broker and not yet acknowledged. paho rescans them on
    every acknowledgement, so more is slower: ~9,000 msg/s at 100, ~5,000 at 1,000."""
    poll_interval_s: float = Field(0.2, gt=0, le=10)
    status_interval_s: float = Field(30.0, gt=0)
    spool_max_mb: float | None = Field(None, gt=0)
    """Cap on the spool's database file (MB; the WAL beside it is checkpointed into it).
    Reached, the agent behaves as on a full disk: it stops reading its sources, keeps
    publishing, says ``spool_full``. Unset: only the disk limits it."""
    receipts: bool = True
    """Keep events until ingest's storage receipt (``linli.receipts``). False: delete them
    on the broker's PUBACK, which a broker crash can lose (status ``no_receipts``), for a
    broker whose ACL does not let the receipts through: Mosquitto 2.0 grants a denied
    subscription and delivers nothing, so the agent cannot find out by itself."""


class IngestSettings(_Section):
    """The ingest service."""

    client_id: str = Field(default_factory=lambda: f"linli-ingest-{socket.gethostname()}")
    """Stable per replica: the broker keeps this session's messages while it is away."""
    batch_size: int = Field(5000, ge=1, le=50000)
    batch_wait_ms: int = Field(50, ge=1, le=10000)
    receive_maximum: int = Field(20000, ge=1, le=65535)
    session_expiry_s: int = Field(7 * 86400, ge=0)
    share_group: str = Field("ingest", pattern=r"^[A-Za-z0-9_-]{1,64}$", repr=False)
    """The replicas' shared-subscription group. Mosquitto's ACL file cannot refuse a
    subscription, so any client allowed to connect could join a group it can name and take
    a share of the events (then re-sent by the agents, delayed); a random name that only
    ingest knows keeps them out. Treated as a secret: never logged."""


class SilenceSettings(_Section):
    """The silence detector for elderly residents living alone (``rules.care``)."""

    detector: Literal["adaptive", "day", "24h", "48h"] = "adaptive"
    """``adaptive``: each resident's own usual silences per time of day; the others are the
    fixed rules Linli is compared with (no passage today by the check time; unseen for
    24 h; unseen for 48 h)."""
    window_days: float = Field(28.0, ge=3, le=120)
    """History a baseline is learned from."""
    full_days: float = Field(10.0, ge=1)
    """History after which a resident's own thresholds are used alone."""
    min_days: float = Field(3.0, ge=0)
    """Below this much history only the community prior counts."""
    shift_h: float = Field(2.0, ge=0, le=12)
    """A silence may run this much longer than any seen in a comparable time of day."""
    factor: float = Field(1.2, ge=1.0, le=3.0)
    margin_h: float = Field(1.0, ge=0, le=12)
    door_factor: float = Field(1.5, ge=1.0, le=3.0)
    door_margin_h: float = Field(4.0, ge=0, le=24)
    """For silence seen only at the door (no in-home sensor): a day without going out is
    common, so it gets more room than a silence inside the home."""
    door_floor_h: float = Field(24.0, gt=0)
    """No silence seen only at the door is unusual below this: a missed outing alone is no
    emergency."""
    night_floor_h: float = Field(8.0, ge=0, le=24)
    """At night (22:00–08:00 local) no silence at home shorter than this is unusual: a night
    without the usual trip to the toilet is no emergency."""
    floor_h: float = Field(2.0, gt=0)
    """No silence at home shorter than this is ever unusual."""
    out_floor_h: float = Field(10.0, gt=0)
    """Nobody seen going out is reported not back sooner than this."""
    inferred_out_floor_h: float = Field(24.0, gt=0)
    """Nor anybody only believed out (a door with no direction, then no activity at home)."""
    backstop_h: float = Field(47.0, gt=0, le=24 * 7)
    """No sign of life this long always alerts."""
    refresh_h: float = Field(6.0, gt=0)
    """How often a resident's baseline is learned again."""
    device_stale_s: float = Field(300.0, gt=0)
    """A door terminal, home device or agent whose status is older than this cannot vouch
    for its residents' silence."""
    device_backlog: int = Field(100, ge=0)
    """An agent holding more unsent events than this is still catching up."""
    absence_grace_h: float = Field(2.0, ge=0)
    """A registered absence ends; a reminder follows if not back after this."""


class SafetySettings(_Section):
    """The safety rules (``rules.safety``): door alarms, doors held open, repeated denied
    access and tailgating. Every window is counted back from the evaluation's clock."""

    lookback_min: float = Field(60.0, gt=0)
    """Events older than this never raise an alert: a backlog of last month replayed at
    start-up pages nobody, while an alarm that arrives late within this time still does."""
    denied_count: int = Field(5, ge=2)
    """Denied attempts at one door that raise the repeated-denied-access alert …"""
    denied_window_min: float = Field(10.0, gt=0)
    """… when they fall within this many minutes."""
    denied_quiet_min: float = Field(30.0, gt=0)
    """The repeated-denied-access alert resolves itself after this long without a denial
    at its door; a burst that is already this old when it is first seen raises nothing."""
    tailgating_window_s: float = Field(5.0, gt=0, le=60)
    """A person the camera counts going in is covered by a granted passage at the door
    within this many seconds either side."""
    tailgating_min_confidence: float = Field(0.8, ge=0, le=1)
    """Camera counts below this confidence are left out entirely: they neither raise an
    alert nor use up a granted passage."""
    tailgating_min_excess: int = Field(1, ge=1)
    """People counted in beyond the granted passages, in one episode, that make it
    tailgating."""
    tailgating_settle_s: float = Field(30.0, ge=0)
    """Camera counts younger than this are judged later, so that the door's own records
    of the same moment (sent by another source of the agent) have time to arrive."""
    tailgating_quiet_min: float = Field(30.0, gt=0)
    """The tailgating alert resolves itself after this long without a new episode."""

    @model_validator(mode="after")
    def _windows_fit(self) -> SafetySettings:
        if self.denied_window_min > self.lookback_min:
            raise ValueError("denied_window_min must not exceed lookback_min")
        if self.tailgating_settle_s < self.tailgating_window_s:
            raise ValueError("tailgating_settle_s must be at least tailgating_window_s")
        return self


class RulesSettings(_Section):
    """The rules engine and the alert loop."""

    interval_s: float = Field(60.0, gt=0)
    """How often every rule is evaluated (it also runs when events arrive)."""
    silent_check_at: dt.time = dt.time(20, 0)
    """Local time of day after which a resident unseen since midnight raises an alert,
    for communities that do not set their own."""
    silent_max_hours: float = Field(24.0, gt=0)
    """A resident unseen for this long raises an alert whatever the time of day."""
    escalate_after_min: float = Field(30.0, gt=0)
    """An alert not acknowledged within this time goes to the next tier."""
    max_tier: int = Field(3, ge=2, le=10)
    """Escalation stops here: tier 1 is the grid's workers, every tier above is the
    control room being told again."""
    feedback_due_min: float = Field(240.0, gt=0)
    """After acknowledging, the on-site feedback is due within this time; the assignee and
    the control room are reminded once it is overdue."""
    silence: SilenceSettings = Field(default_factory=SilenceSettings)


    safety: SafetySettings = Field(default_factory=SafetySettings)
    """Thresholds and windows of the safety rules."""


class PushSettings(_Section):
    """The notifier that pushes alerts to grid workers' phones."""

    max_attempts: int = Field(6, ge=1, le=50)
    backoff_initial_s: float = Field(5.0, gt=0)
    backoff_max_s: float = Field(600.0, gt=0)
    timeout_s: float = Field(10.0, gt=0)
    poll_interval_s: float = Field(2.0, gt=0)


class ApiSettings(_Section):
    """The HTTP API and UI."""

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    public_url: str | None = None
    """The address people open (e.g. ``https://linli.example.org``): push links start with
    it. Unset: ``http://{host}:{port}``."""
    session_hours: float = Field(24.0 * 14, gt=0)
    """A login lasts this long at most (a grid worker's phone logs in once a fortnight) …"""
    session_idle_h: float = Field(72.0, gt=0)
    """… and ends earlier after this long unused."""
    cookie_secure: Literal["auto", "always", "never"] = "auto"
    """The cookies' Secure flag: ``auto`` sets it when the request came over HTTPS."""
    login_window_min: float = Field(15.0, gt=0)
    login_max_failures: int = Field(5, ge=1)
    """Failed logins for one name within the window before it is locked for the window."""
    login_max_failures_per_ip: int = Field(20, ge=1)
    """Failed logins from one address within the window before it is refused."""
    link_hours: float = Field(24.0, gt=0)
    """How long the link in a push opens its alert."""
    tls_cert: Path | None = None
    """PEM certificate (chain) to serve HTTPS with; unset: plain HTTP (behind a proxy)."""
    tls_key: Path | None = None
    """Its private key (PEM, unencrypted); set both or neither."""
    cors_origins: list[str] = Field(default_factory=list)
    """Other sites' origins (``https://app.example.org``) whose pages may call the API
    with the user's cookies. Empty: no cross-origin access at all."""
    max_body_bytes: int = Field(64 * 1024, ge=1024)
    """Largest request body; larger ones get 413 before they are read."""
    max_body_bytes_by_path: dict[str, int] = Field(
        default_factory=lambda: {
            "/api/v1/alerts/{alert_id}/photos": 6 * 1024 * 1024,
            "/api/v1/communities/{community}/buildings/{building}/devices/{device}/frame":
                6 * 1024 * 1024})
    """Exceptions to ``max_body_bytes`` by route path (``{name}`` matches one segment)."""
    provision_dir: Path | None = None
    """Where the installer's console writes the broker's ``broker/passwd`` and
    ``broker/acl`` when it issues an agent's MQTT credentials (the layout of
    ``linli hardware provision --out``). Unset: the broker's files are not touched; the
    console shows the password-file line to add by hand."""
    agent_broker_url: str | None = None
    """``mqtt://host:port`` (no credentials) where agents reach the broker; unset: the host
    and port of ``LINLI_MQTT_URL``."""

    @model_validator(mode="after")
    def _check(self) -> ApiSettings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("set both api.tls_cert and api.tls_key, or neither")
        for origin in self.cors_origins:
            scheme, sep, host = origin.partition("://")
            if scheme not in ("http", "https") or not sep or not host or set("/*") & set(host):
                raise ValueError(f"api.cors_origins: {origin!r} is not an origin such as "
                                 "https://app.example.org (no path, no wildcard)")
        for path, limit in self.max_body_bytes_by_path.items():
            if not path.startswith("/") or limit < 1024:
                raise ValueError(f"api.max_body_bytes_by_path: {path!r}: a path from / "
                                 "and a limit of at least 1024 bytes")
        return self


class Settings(BaseSettings):
    """Everything a Linli process needs to know, in one object."""

    model_config = SettingsConfigDict(
        env_prefix="LINLI_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    database_url: SecretStr | None = None
    """PostgreSQL URL. Unset means: only ``linli demo`` may start a private server."""
    mqtt_url: SecretStr | None = None
    """``mqtt://user:password@host:port`` or ``mqtts://`` for TLS."""
    locale: Locale = "zh-CN"
    """Language of user-facing text (alerts, pushes, UI)."""
    timezone: str = "Asia/Shanghai"
    """Default time zone of communities that do not set their own."""
    log_level: str = "INFO"

    edge: EdgeSettings = Field(default_factory=EdgeSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    rules: RulesSettings = Field(default_factory=RulesSettings)
    push: PushSettings = Field(default_factory=PushSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)

    def require_database_url(self) -> str:
        """The database URL, or a ConfigError naming the variable to set."""
        if self.database_url is None:
            raise ConfigError("LINLI_DATABASE_URL is not set (a postgresql:// URL)")
        return self.database_url.get_secret_value()

    def require_mqtt_url(self) -> str:
        """The broker URL, or a ConfigError naming the variable to set."""
        if self.mqtt_url is None:
            raise ConfigError("LINLI_MQTT_URL is not set (mqtt://user:password@host:port)")
        return self.mqtt_url.get_secret_value()


class _FileSource(PydanticBaseSettingsSource):
    """Values read from the YAML settings file (lowest priority)."""

    def __init__(self, settings_cls: type[BaseSettings], values: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._values = values

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return self._values


def load_settings(config_file: Path | str | None = None, **overrides: Any) -> Settings:
    """Build the settings: ``overrides`` > environment > YAML file > defaults.

    Errors name the offending field, e.g. ``ingest.batch_size: Input should be ...``.
    """
    file_values: dict[str, Any] = {}
    path = config_file or os.environ.get("LINLI_CONFIG")
    if path:
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read settings file {path}: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"settings file {path} must hold a mapping")
        file_values = loaded

    class _Loaded(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings, _FileSource(settings_cls, file_values))

    try:
        return _Loaded(**overrides)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc)) from exc


def format_validation_error(exc: ValidationError) -> str:
    """One line per bad field: ``a.b: message``."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(root)"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)
