"""Real MSAL Python (Debian's python3-msal) as a test peer of effect-msal.

Run with the system interpreter: /usr/bin/python3 test/peers/msal_python.py

One process serves a whole test file (starting Python and importing MSAL costs about half a
second on a loaded machine): it first writes a hello line, {"id": 0, "answer": {"msal": version,
"python": interpreter}}, then reads one JSON message a line on stdin, {"id": n, "request": ...},
and answers each with one line on stdout, {"id": n, "answer": ...} or {"id": n, "error":
traceback}, until stdin closes. Each request gets a new application, token cache (read from its
file) and HTTP session: nothing is carried from one request to the next.

A request names the served test authority (`base`, http://127.0.0.1:port),
a serialized token cache file, the app and one action. Every request MSAL Python makes for
https://<host>/... goes to `base` instead, with the original host in `x-forwarded-host` (as
TestAuthority.layerHttpClientVia does for effect-msal): MSAL Python keeps its real https
authority URLs and the test authority answers as that host.

Actions:
  client_credentials  acquire_token_for_client(scopes)
  silent_app          acquire_token_silent(scopes, account=None): MSAL Python 1.21 serves app
                      tokens from the cache this way (1.23+ returns None)
  on_behalf_of        acquire_token_on_behalf_of(assertion, scopes)
  sign_in             initiate_auth_code_flow, the test authority's sign-in form, then
                      acquire_token_by_auth_code_flow
  silent_user         acquire_token_silent(scopes, the account whose username is `username`)
  accounts            get_accounts()

An answer: {"result": ..., "accounts": [...], "requests": [...]} where `requests` lists
"METHOD url" for every HTTP call MSAL Python made.
"""
import json
import os
import sys
import traceback
import urllib.parse

import msal
import requests


class Via(requests.Session):
    """Sends every request to the served test authority, keeping path, query and host."""

    def __init__(self, base, log):
        super().__init__()
        self._base = base.rstrip("/")
        self._log = log

    def request(self, method, url, *args, **kwargs):
        parts = urllib.parse.urlsplit(url)
        target = self._base + parts.path + ("?" + parts.query if parts.query else "")
        headers = dict(kwargs.pop("headers", None) or {})
        headers["x-forwarded-host"] = parts.hostname
        params = kwargs.get("params")
        shown = url
        if params:
            shown = url + ("&" if "?" in url else "?") + urllib.parse.urlencode(params)
        self._log.append("%s %s" % (method.upper(), shown))
        return super().request(method, target, *args, headers=headers, **kwargs)


def sign_in(session, flow, username):
    """Signs `username` in at the test authority's authorize form; the redirect's parameters."""
    auth = urllib.parse.urlsplit(flow["auth_uri"])
    form = dict(urllib.parse.parse_qsl(auth.query))
    form.update({"login": username, "consent": "accept"})
    answer = session.post(
        "%s://%s%s" % (auth.scheme, auth.netloc, auth.path), data=form, allow_redirects=False)
    location = answer.headers["location"]
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))


def public(result):
    """The result without MSAL Python's private keys."""
    if not isinstance(result, dict):
        return result
    return {k: v for k, v in result.items() if not k.startswith("_")}


def act(spec):
    """Runs one request with a new application, token cache and session; its answer."""
    log = []
    session = Via(spec["base"], log)
    try:
        cache = msal.SerializableTokenCache()
        path = spec["cache"]
        if os.path.exists(path):
            with open(path) as f:
                cache.deserialize(f.read())
        app = msal.ConfidentialClientApplication(
            spec["client_id"],
            client_credential=spec["secret"],
            authority=spec["authority"],
            token_cache=cache,
            http_client=session,
        )
        action = spec["action"]
        scopes = spec.get("scopes", [])
        result = None
        if action == "client_credentials":
            result = app.acquire_token_for_client(scopes)
        elif action == "silent_app":
            result = app.acquire_token_silent(scopes, account=None)
        elif action == "on_behalf_of":
            result = app.acquire_token_on_behalf_of(spec["assertion"], scopes)
        elif action == "sign_in":
            flow = app.initiate_auth_code_flow(scopes, redirect_uri=spec["redirect_uri"])
            response = sign_in(session, flow, spec["username"])
            result = app.acquire_token_by_auth_code_flow(flow, response)
        elif action == "silent_user":
            accounts = [a for a in app.get_accounts() if a.get("username") == spec["username"]]
            result = app.acquire_token_silent(scopes, account=accounts[0]) if accounts else None
        elif action != "accounts":
            raise ValueError("unknown action " + action)
        accounts = app.get_accounts()
        if cache.has_state_changed:
            with open(path, "w") as f:
                f.write(cache.serialize())
        return {"result": public(result), "accounts": accounts, "requests": log}
    finally:
        session.close()


def main():
    answers = sys.stdout
    sys.stdout = sys.stderr  # only answers go to the answers' stream

    def send(message):
        answers.write(json.dumps(message) + "\n")
        answers.flush()

    send({"id": 0, "answer": {"msal": msal.__version__, "python": sys.executable}})
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        if not line.strip():
            continue
        message = json.loads(line)
        try:
            send({"id": message["id"], "answer": act(message["request"])})
        except Exception:
            send({"id": message["id"], "error": traceback.format_exc()})


if __name__ == "__main__":
    main()
