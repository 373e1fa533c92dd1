"""Reading the audit log (admins and auditors); every read is itself audited."""
