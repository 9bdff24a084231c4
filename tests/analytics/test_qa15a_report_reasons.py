"""qa15a: the report classes a suppression for a deleted account as compliance (before: ``other``, beside
unknown codes), like ``consent`` and ``no_address``."""
from journeyflow.analytics.report_data import reason_class
from journeyflow.stages.arbitration.reasons import ACCOUNT_DELETED


def test_account_deleted_is_a_compliance_reason():
    assert reason_class(ACCOUNT_DELETED) == "compliance"

