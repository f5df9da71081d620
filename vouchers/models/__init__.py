"""The voucher domain's tables: the ledger (ledger.py), cards and the people who hold them (cards.py),
enrolments with their payments, attendance and settlements (enrolments.py), processor events, flags and
reconciliation reports (payments.py)."""

from vouchers.cards.models import *  # noqa: F403
from vouchers.enrolments.models import *  # noqa: F403
from vouchers.ledger.models import *  # noqa: F403
from vouchers.payments.models import *  # noqa: F403
