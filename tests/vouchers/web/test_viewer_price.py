"""The catalog asks the voucher domain for a viewer's price through a data-only interface.

courses.services.viewer_price calls the function vouchers.init_app registered: it returns the API's `price`
object as plain data (refusal codes, no links, nothing tied to a request), so the catalog's page and API can
render it however they like (templates/macros/price.html builds the links from the codes).
"""

from __future__ import annotations

import json

from courses import services as catalog
from tests.support.vouchers import VoucherWorld


def test_the_viewer_price_is_plain_data_the_run_api_shows_as_is(app, client, world: VoucherWorld, today):
    learner, without_card = world.learner(), world.learner(card=False)
    run = world.run(fee=1_000_000)
    price = catalog.viewer_price(run, learner.id, today)  # no request: nothing in it may need one
    assert json.loads(json.dumps(price)) == price
    assert (price["self_pay"], price["card_draw"], price["balance_after"], price["refusal"]) == (
        150_000,
        850_000,
        2_150_000,
        None,
    )
    refused = catalog.viewer_price(run, without_card.id, today)
    assert refused["refusal"]["code"] == "no_card" and "url" not in json.dumps(refused)
    assert catalog.viewer_price(run, None, today) is None  # anonymous: the generic price
