"""Rakuten's transporter names, and the mapping of a merchant's carrier name onto them.

Rakuten publishes no list; the names below are the two peer copies of rakuten-api.md §8b.
Whether Rakuten compares them without regard to case is unknown, so the exact spelling of
the list is what gets sent. A carrier that matches no name is sent as ``Autre``, and
``settrackingpackageinfos`` then needs a tracking URL.
"""

from __future__ import annotations

from .textfold import squash

__all__ = ["OTHER_TRANSPORTER", "TRANSPORTERS", "normalise_carrier"]

#: The transporter name Rakuten takes for any carrier it does not list.
OTHER_TRANSPORTER = "Autre"

#: Rakuten's transporter names, spelled as the peers send them (rakuten-api.md §8b).
TRANSPORTERS: tuple[str, ...] = (
    "Colis Prive", "So Colissimo", "Colissimo", "Geodis", "WeDo Logistics", "4PX",
    OTHER_TRANSPORTER, "DPD", "Mondial Relay", "Mondial Relay prépayé", "Chronopost", "TNT",
    "UPS", "Fedex", "Tatex", "GLS", "DHL", "France Express", "Kiala", "Cubyn", "DPD Germany",
    "DPD UK", "B2C Europe", "TrackYourParcel", "Yun Express", "China EMS", "Swiss Post",
    "Courrier Suivi", "PostNL International", "Royal Mail", "CNE Express", "S.F. Express",
    "Singapore Post", "Hong Kong Post", "Bpost",
)  # fmt: skip

# Other spellings merchants use for the same carriers; squashed forms (see textfold.squash).
# Only unambiguous ones: "La Poste" could be Colissimo or Courrier Suivi, so it is not here.
_ALIASES = {
    "federalexpress": "Fedex",
    "fedexexpress": "Fedex",
    "dhlexpress": "DHL",
    "tntexpress": "TNT",
    "upsexpress": "UPS",
    "mondialrelaypoint": "Mondial Relay",
    "mondialrelayprepaid": "Mondial Relay prépayé",
    "chronopostexpress": "Chronopost",
    "postnl": "PostNL International",
    "colisprivee": "Colis Prive",
}

_BY_KEY: dict[str, str] = {squash(name): name for name in TRANSPORTERS} | _ALIASES


def normalise_carrier(carrier: str) -> str:
    """Return Rakuten's transporter name for a carrier name, or ``Autre`` when none matches.

    Case, accents, spaces, dashes and punctuation are ignored (``"mondial-relay"`` is
    ``"Mondial Relay"``, ``"colis privé"`` is ``"Colis Prive"``); lower-case codes such as
    ``dhl``, ``ups``, ``fedex``, ``dpd`` and ``gls`` match their carriers too.
    """
    return _BY_KEY.get(squash(carrier), OTHER_TRANSPORTER)
