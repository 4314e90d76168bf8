"""The carrier normaliser: a merchant's carrier name onto Rakuten's transporter names."""

from __future__ import annotations

import pytest

from connectors.rakuten import OTHER_TRANSPORTER, TRANSPORTERS, normalise_carrier
from connectors.rakuten.textfold import squash


@pytest.mark.parametrize(
    ("carrier", "expected"),
    [
        ("mondial relay", "Mondial Relay"),
        ("Mondial-Relay", "Mondial Relay"),
        ("MONDIAL_RELAY", "Mondial Relay"),
        ("  Mondial   Relay ", "Mondial Relay"),
        ("colissimo", "Colissimo"),
        ("Chronopost", "Chronopost"),
        ("Colis Privé", "Colis Prive"),
        ("colis-prive", "Colis Prive"),
        ("So Colissimo", "So Colissimo"),
        ("Mondial Relay Prépayé", "Mondial Relay prépayé"),
        ("s.f. express", "S.F. Express"),
        ("dpd uk", "DPD UK"),
        ("Federal Express", "Fedex"),
        ("DHL Express", "DHL"),
        ("postnl", "PostNL International"),
    ],
)
def test_carrier_names_match_without_regard_to_case_accents_spaces_or_punctuation(
    carrier: str, expected: str
) -> None:
    assert normalise_carrier(carrier) == expected


@pytest.mark.parametrize(("code", "expected"), [("dhl", "DHL"), ("ups", "UPS"), ("fedex", "Fedex"),
                                                ("dpd", "DPD"), ("gls", "GLS"), ("tnt", "TNT")])
def test_common_lower_case_codes_match_their_carriers(code: str, expected: str) -> None:
    assert normalise_carrier(code) == expected


@pytest.mark.parametrize("carrier", ["La Poste", "Relais Colis", "Coursier du coin", "", "   ", "-"])
def test_any_other_carrier_is_sent_as_autre(carrier: str) -> None:
    assert normalise_carrier(carrier) == OTHER_TRANSPORTER == "Autre"


def test_every_rakuten_name_maps_to_itself_and_no_two_names_fold_alike() -> None:
    assert [normalise_carrier(name) for name in TRANSPORTERS] == list(TRANSPORTERS)
    assert len({squash(name) for name in TRANSPORTERS}) == len(TRANSPORTERS)

