"""A property-based run over the whole OpenAPI document with Schemathesis: no input gives a 5xx.

The API runs for real (uvicorn on a free port, the test's own seeded database). Every
operation of ``/openapi.json`` gets Schemathesis' coverage cases (boundary values, missing
and wrongly typed fields) and generated valid and invalid requests (NUL characters
allowed), sent as an admin and as the control room of ``COMMUNITY``. Each request carries a
fresh API token of that user, made straight in the database, so that a generated logout,
password change or token revocation cannot log the rest of the run out. The run is
bounded and derandomized: the same requests every time, well under a minute, and no
assertion on time.

The tests are built with Schemathesis' own test builder rather than its pytest plugin,
whose lazy-schema tests do not run under pytest 9.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.hypothesis.builder import (
    HypothesisTestConfig,
    HypothesisTestMode,
    create_test,
)

from api.server import ApiServer
from linli.accounts import INSERT_TOKEN, new_token, token_hash
from tests.accounts import add_user
from tests.integration.test_api_seed import (
    BASE_TIME,
    COMMUNITY,
    Db,
    insert_alert,
    insert_dead_letter,
    insert_events,
    insert_notification,
    make_events,
)

EXAMPLES_PER_OPERATION = 15
"""Per operation and mode (valid, invalid): 30 requests per operation and role."""
ROLES = {
    "admin": {"role": "admin"},
    "control": {"role": "control_room", "community": COMMUNITY},
}


class Caller:
    """Fresh API tokens of one user (write scope), one per request."""

    def __init__(self, db: Db, user_id: int) -> None:
        self._db = db
        self._user_id = user_id

    def headers(self) -> dict[str, str]:
        token = new_token()
        self._db.execute(INSERT_TOKEN, {
            "user_id": self._user_id, "name": "fuzz", "token_hash": token_hash(token),
            "prefix": token[:8], "scope": "write",
            "expires_at": dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)})
        return {"Authorization": f"Bearer {token}"}


def seed_everything(db: Db) -> None:
    """The seeded directory plus events, alerts in each state, pushes and dead letters."""
    insert_events(db, make_events(20))
    open_id = insert_alert(db)
    insert_alert(db, status="acknowledged", subject="r-0002", title="李建国 今日未出现")
    insert_alert(db, status="resolved", raised_at=BASE_TIME - dt.timedelta(days=1))
    insert_alert(db, community="heping", subject="r-9999", title="other community")
    insert_notification(db, open_id, last_error="timeout")
    insert_dead_letter(db, "linli/v1/juxin/b01/door/events", b"\x00\xff not json", "invalid JSON")


@pytest.fixture(name="fuzz_caller", params=sorted(ROLES))
def fuzz_caller_fixture(request: pytest.FixtureRequest, seeded: Db) -> Caller:
    """The user the run acts as: an admin, then the control room."""
    seed_everything(seeded)
    return Caller(seeded, add_user(seeded, f"fuzz-{request.param}", **ROLES[request.param]))


def api_schema(url: str) -> Any:
    """The served API's OpenAPI document, loaded for a bounded, deterministic run."""
    # The live stream never ends: read its first events (retry, health), not 10 s of it.
    config = SchemathesisConfig.from_dict({"max-stream-events": 2, "generation": {
        "max-examples": EXAMPLES_PER_OPERATION, "deterministic": True,
        "with-security-parameters": False, "allow-x00": True,
    }})
    return schemathesis.openapi.from_url(f"{url}/openapi.json", config=config)


def test_no_input_gives_a_server_error(fuzz_caller: Caller, server: ApiServer) -> None:
    schema = api_schema(server.url)
    project = schema.config
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 10

    def call(case: Any) -> None:
        case.call_and_validate(headers=fuzz_caller.headers(), checks=[not_a_server_error])

    for operation in operations:
        test = create_test(operation=operation, test_func=call, config=HypothesisTestConfig(
            project=project,
            modes=[HypothesisTestMode.COVERAGE, HypothesisTestMode.FUZZING],
            settings=settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True,
                              deadline=None, database=None, print_blob=False,
                              suppress_health_check=list(HealthCheck))))
        try:
            test()
        except Unsatisfiable:  # nothing to make invalid, e.g. an operation without input
            continue
        except Exception as exc:  # one report for every operation that fails
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
