"""Credentials written inside URLs or connection strings, masked wherever they surface.

`AGENT_LLM_BASE_URL=http://user:SECRET@host/v1` is a common way to pass a proxy's
credentials; such a value reaches readiness details, `/v1/info`, `/v1/models/status`,
exception messages and the request lines HTTP clients log. `mask_url` is the one
function every one of those paths uses: it takes a URL or any text holding URLs.
"""

from __future__ import annotations

import re

# scheme://userinfo@ : the userinfo runs to the authority's last '@' (a password may
# hold an unencoded '@'); the authority ends at '/', '?', '#' or whitespace
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^/?#\s]*@")
_CONNINFO_PASSWORD = re.compile(r"(?P<key>\bpassword\s*=\s*)(?:'(?:[^'\\]|\\.)*'|[^\s'\"]+)")
MASK = "***"


def mask_url(text: str) -> str:
    """`text` with the userinfo of every URL (and any libpq `password=`) masked."""
    if "@" not in text and "password" not in text:
        return text
    text = _USERINFO.sub(rf"\g<scheme>{MASK}@", text)
    return _CONNINFO_PASSWORD.sub(rf"\g<key>{MASK}", text)
