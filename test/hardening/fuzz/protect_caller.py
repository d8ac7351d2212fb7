"""Schemathesis hook (SCHEMATHESIS_HOOKS=protect_caller): keeps the fuzzer off its own credential.

Schemathesis learns ids and names from responses (GET /v1/whoami names the calling token and its
service account) and would then rotate, revoke, disable or delete them, after which every request
answers 401 and the run fuzzes nothing. LATCHKEY_FUZZ_PROTECT lists, comma-separated, the values a
path parameter may not take (the calling token's id and its service account's name); a case that
uses one is sent with a value that names nothing instead. Everything else is untouched.
"""

import os

import schemathesis

PROTECTED = {v for v in os.environ.get("LATCHKEY_FUZZ_PROTECT", "").split(",") if v}
STANDIN = "fuzz-protected"


@schemathesis.hook
def before_call(context, case, kwargs):
    parameters = case.path_parameters or {}
    for key, value in list(parameters.items()):
        if isinstance(value, str) and value in PROTECTED:
            parameters[key] = STANDIN
