"""The voucher domain's tables: the ledger (ledger.py), cards and the people who hold them (cards.py),
enrolments with their payments, attendance and settlements (enrolments.py), processor events, flags and
reconciliation reports (payments.py)."""

from vouchers.models.cards import *  # noqa: F403
from vouchers.models.enrolments import *  # noqa: F403
from vouchers.models.ledger import *  # noqa: F403
from vouchers.models.payments import *  # noqa: F403
