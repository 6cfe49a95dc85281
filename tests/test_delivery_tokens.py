"""Signed delivery tokens: unforgeable, bound to purpose, delivery and campaign."""

from __future__ import annotations

import pytest

from commhub import delivery_tokens
from commhub.delivery_tokens import DeliveryTokens, Purpose, find_delivery
from commhub.store.base import Store
from tests.store_fixtures import store, store_url  # noqa: F401
from tests.test_store import campaign_of

SECRET = "k" * 40


def test_token_names_its_delivery_and_verifies_only_for_its_campaign_and_purpose() -> None:
    tokens = DeliveryTokens(SECRET)
    token = tokens.make(Purpose.UNSUBSCRIBE, 4321, "cmp_aa")
    assert delivery_tokens.TOKEN_RE.match(token)
    assert delivery_tokens.delivery_id(token) == 4321
    assert tokens.verify(Purpose.UNSUBSCRIBE, token, "cmp_aa")
    assert tokens.verify(Purpose.UNSUBSCRIBE, token.upper(), "cmp_aa")  # MTAs may change case
    assert not tokens.verify(Purpose.UNSUBSCRIBE, token, "cmp_bb")  # a reused delivery id
    assert not tokens.verify(Purpose.BOUNCE, token, "cmp_aa")
    assert not DeliveryTokens("j" * 40).verify(Purpose.UNSUBSCRIBE, token, "cmp_aa")


def test_no_other_spelling_or_delivery_id_verifies() -> None:
    tokens = DeliveryTokens(SECRET)
    token = tokens.make(Purpose.UNSUBSCRIBE, 7, "cmp_aa")
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    accepted = []
    for i in range(len(token)):
        for c in alphabet:
            forged = token[:i] + c + token[i + 1 :]
            if forged != token and tokens.verify(Purpose.UNSUBSCRIBE, forged, "cmp_aa"):
                accepted.append(forged)
    assert accepted == []
    # Another delivery's id with this token's tag: the tag covers the id.
    other = tokens.make(Purpose.UNSUBSCRIBE, 8, "cmp_aa")
    assert not tokens.verify(Purpose.UNSUBSCRIBE, other[:11] + token[11:], "cmp_aa")


@pytest.mark.parametrize("junk", ["", "M-1", "a" * 30, "a" * 32, "1" * 31, "A" * 31 + "!"])
def test_junk_is_no_token(junk: str) -> None:
    assert delivery_tokens.delivery_id(junk) is None
    assert not DeliveryTokens(SECRET).verify(Purpose.BOUNCE, junk, "cmp_aa")


async def test_find_delivery_returns_only_what_a_genuine_token_names(store: Store) -> None:  # noqa: F811
    campaign_id = await campaign_of(store, 1)
    (row,) = await store.list_deliveries(campaign_id)
    tokens = DeliveryTokens(SECRET)
    token = tokens.make(Purpose.UNSUBSCRIBE, row.id, campaign_id)
    ref = await find_delivery(store, tokens, Purpose.UNSUBSCRIBE, token)
    assert ref is not None and (ref.id, ref.campaign_id, ref.member_id) == (
        row.id,
        campaign_id,
        row.member_id,
    )
    assert await find_delivery(store, tokens, Purpose.BOUNCE, token) is None
    assert await find_delivery(store, DeliveryTokens("j" * 40), Purpose.UNSUBSCRIBE, token) is None
    assert await find_delivery(store, None, Purpose.UNSUBSCRIBE, token) is None  # no secret set
    # Rightly signed, but for a delivery this database does not have (it was reset).
    elsewhere = tokens.make(Purpose.UNSUBSCRIBE, row.id + 1000, campaign_id)
    assert await find_delivery(store, tokens, Purpose.UNSUBSCRIBE, elsewhere) is None
    assert await find_delivery(store, tokens, Purpose.UNSUBSCRIBE, "M-1") is None
