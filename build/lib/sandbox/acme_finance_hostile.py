"""Hostile and broken SOAP replies, the kind a compromised or buggy backend might send.

Each is a real attack payload, not a placeholder: the gateway must refuse it quickly
and in bounded memory. ``xxe`` tries to read a local file through an external entity,
``billion_laughs`` expands to about 3 GB if a parser resolves its entities, ``huge``
is a well-formed reply larger than any sane size limit, ``malformed`` is cut off, and
``garbage`` is well-formed but has a locale-formatted amount and date (for invoice reads).
"""

from __future__ import annotations

NS = "urn:acme:erp:fi"

BILLION_LAUGHS_DTD = """<!DOCTYPE soap:Envelope [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>"""
XXE_DTD = """<!DOCTYPE soap:Envelope [
 <!ENTITY xxe SYSTEM "file:///etc/passwd">
]>"""


def _customer_reply(version: str, operation: str, name1: str, dtd: str = "") -> bytes:
    return f"""<?xml version="1.0" encoding="utf-8"?>
{dtd}
<soap:Envelope xmlns:soap="{version}"><soap:Body><n0:{operation}Response xmlns:n0="{NS}">
<CUSTOMER><KUNNR>0000100001</KUNNR><NAME1>{name1}</NAME1><LAND1>DE</LAND1><ORT01>X</ORT01>
<STCD1>X</STCD1><IBAN>X</IBAN><SMTP_ADDR>x@example.com</SMTP_ADDR><TELF1>1</TELF1>
<WAERS>EUR</WAERS><SPERR/></CUSTOMER><RETURN/>
</n0:{operation}Response></soap:Body></soap:Envelope>""".encode()


def _garbage_invoice(version: str, operation: str) -> bytes:
    """An invoice reply whose amount and date are in a locale format, not XSD's."""
    return f"""<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="{version}"><soap:Body><n0:{operation}Response xmlns:n0="{NS}">
<HEADER><BELNR>9000000001</BELNR><GJAHR>2026</GJAHR><KUNNR>0000100001</KUNNR>
<BLDAT>05.10.2026</BLDAT><ZFBDT>2026-11-04</ZFBDT><WRBTR>1.190,00 EUR</WRBTR>
<MWSBP>190.00</MWSBP><OPBTR>1190.00</OPBTR><WAERS>EUR</WAERS><STATUS>O</STATUS></HEADER>
<ITEMS/><RETURN/></n0:{operation}Response></soap:Body></soap:Envelope>""".encode()


def hostile_body(mode: str, version: str, operation: str, size_bytes: int) -> bytes:
    """The reply body for one of the hostile fault modes."""
    if mode == "garbage":
        return _garbage_invoice(version, operation)
    if mode == "xxe":
        return _customer_reply(version, operation, "&xxe;", XXE_DTD)
    if mode == "billion_laughs":
        return _customer_reply(version, operation, "&lol9;", BILLION_LAUGHS_DTD)
    if mode == "huge":
        return _customer_reply(version, operation, "A" * size_bytes)
    # malformed: the reply breaks off in the middle of a record
    return _customer_reply(version, operation, "Baeckerei")[:200]
