"""Routes of the audit-log domain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.audit_log import service
from api.audit_log.models import AuditEntryRead, AuditQuery
from api.deps import ConnDep
from api.errors import ERROR_RESPONSES
from api.pagination import Page
from api.security import Principal, allow
from linli.accounts import Perm

router = APIRouter(tags=["audit"])


@router.get("/audit", response_model=Page[AuditEntryRead], responses=ERROR_RESPONSES)
async def list_audit(conn: ConnDep,
                     principal: Annotated[Principal, Depends(allow(Perm.AUDIT_READ))],
                     query: Annotated[AuditQuery, Query()]) -> Page[AuditEntryRead]:
    """The audit log of one's place, newest first: logins, reads of personal data, alert
    steps, account changes. Filter by user, action prefix, exact target and time; every
    read of the log is itself recorded (``read.audit``)."""
    return await service.list_audit(conn=conn, query=query, principal=principal)
