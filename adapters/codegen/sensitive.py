"""Which free-text fields to mark ``Sensitive``, guessed from their names and documentation.

Every generator (WSDL, OpenAPI, OData) asks :func:`guess_sensitive`. A generated read
that leaks a tax number is worse than a mask someone removes after review, so the guess
is generous, and each hit carries a ``# TODO confirm`` in the generated model.

Names alone miss ERP fields: SAP calls the VAT id ``STCD1`` and the e-mail address
``SMTP_ADDR``, so the common SAP field names are known by name, and the schema's own
documentation (``xs:documentation``, an OpenAPI ``description``, a CSDL ``sap:label`` or
``Core.Description``) is read as well: ``STCD1`` is documented "Tax number (VAT id)".
"""

from __future__ import annotations

import re

from adapters.codegen.naming import field_name

SENSITIVE_NAMES = (
    ("tax_id", re.compile(r"(^|_)(vat|tax)_(registration|reg|id|no|number|num)(_|$)|"
                          r"(^|_)(taxid|vatid|ssn)(_|$)|social_security")),
    ("bank_account", re.compile(r"(^|_)(iban|swift|bic)(_|$)|bank_(account|acct)|"
                                r"card_(no|number|num)(_|$)|routing_number")),
    ("personal_contact", re.compile(r"(^|_)(e_?mail|phone|mobile|fax)(_|$)|birth")),
)  # fmt: skip
"""Patterns over the snake_case field name."""

_SAP_TAX = ("STCD1", "STCD2", "STCD3", "STCD4", "STCD5", "STCEG", "STCDT")
_SAP_BANK = ("BANKN", "BKONT", "IBAN", "SWIFT", "BANK_ACCT", "BANKACCOUNT")
_SAP_CONTACT = (
    "SMTP_ADDR", "E_MAIL", "TELF1", "TELF2", "TELFX", "TELBX", "TELTX", "TELX1",
    "TEL_NUMBER", "TELNR_LONG", "MOB_NUMBER", "FAX_NUMBER", "GBDAT", "BIRTHDT",
)  # fmt: skip
SAP_FIELDS = {
    **dict.fromkeys(_SAP_TAX, "tax_id"),  # KNA1/LFA1 STCD1..5, the VAT registration STCEG
    **dict.fromkeys(_SAP_BANK, "bank_account"),  # KNBK/LFBK, BUT0BK
    **dict.fromkeys(_SAP_CONTACT, "personal_contact"),  # ADR2/ADR3/ADR6, KNA1, BUT000
}
"""SAP's DDIC field names (upper case, as they appear in WSDLs and ``$metadata``)."""

SENSITIVE_DOCUMENTATION = (
    ("tax_id", re.compile(r"\b(vat|tax)\s*(registration\s*)?(id|no|number|identification)\b|"
                          r"\btax\s*code\b|\bsocial\s*security\b|\bfiscal\s*code\b", re.I)),
    ("bank_account", re.compile(r"\biban\b|\bbank\s*account\b|"
                                r"\bswift\b|\bcard\s*number\b|\brouting\s*number\b", re.I)),
    ("personal_contact", re.compile(r"\be-?mail\b|\b(tele)?phone\b|\bmobile\b|\bfax\b|"
                                    r"\bbirth\b|\bdate\s*of\s*birth\b", re.I)),
)  # fmt: skip
"""Patterns over the documentation a schema gives the field; the first phrase decides."""


def guess_sensitive(name: str, documentation: str = "") -> str:
    """The :class:`schemas.common.Sensitive` category ``name`` or its documentation
    suggests, or ``""``. Callers ask only for free-text fields: an enumeration or a flag
    named ``emailPreference`` is not personal data."""
    sap = SAP_FIELDS.get(name.upper().replace("-", "_"))
    if sap:
        return sap
    snake = field_name(name).rstrip("_")
    by_name = next((category for category, words in SENSITIVE_NAMES if words.search(snake)), "")
    if by_name:
        return by_name
    hits = [
        (found.start(), category)
        for category, words in SENSITIVE_DOCUMENTATION
        if (found := words.search(documentation))
    ]
    return min(hits)[1] if hits else ""
