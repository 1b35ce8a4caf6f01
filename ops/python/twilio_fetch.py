"""Reads a call from the fake Twilio with the official `twilio` helper library, as a customer's code would read it from Twilio.

Usage: twilio_fetch.py BASE_URL ACCOUNT_SID AUTH_TOKEN CALL_SID TO [LIMIT]

`twilio.rest.Client(ACCOUNT_SID, AUTH_TOKEN)` is pointed at the fake by its `http_client`: every URL the library builds
for https://api.twilio.com (the first request and each `next_page_uri` it follows) is sent to BASE_URL instead, so the
library's own request building, paging and parsing are what run. Prints one JSON object: the account (`accounts(sid).fetch()`),
the call (`calls(CALL_SID).fetch()`) and the calls to TO (`calls.list(to=TO, limit=LIMIT)`), each call with the fields
the library parsed. A Twilio error is printed as {"error": {...}} with exit status 1.
"""

import json
import sys

from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

TWILIO = "https://api.twilio.com"


class FakeTwilioHttpClient(TwilioHttpClient):
    """The library's own HTTP client, with Twilio's API host replaced by the fake's base URL."""

    def __init__(self, base_url):
        super().__init__(timeout=10)
        self.base_url = base_url.rstrip("/")

    def request(self, method, url, **kwargs):
        if url.startswith(TWILIO):
            url = self.base_url + url[len(TWILIO):]
        return super().request(method, url, **kwargs)


def when(instant):
    return instant.isoformat() if instant is not None else None


def call_json(call):
    return {
        "sid": call.sid,
        "account_sid": call.account_sid,
        "to": call.to,
        "from": call._from,
        "status": call.status,
        "answered_by": call.answered_by,
        "duration": call.duration,
        "start_time": when(call.start_time),
        "end_time": when(call.end_time),
        "queue_time": call.queue_time,
        "direction": call.direction,
    }


def main(argv):
    base_url, account_sid, auth_token, call_sid, to = argv[1:6]
    limit = int(argv[6]) if len(argv) > 6 else 20
    client = Client(account_sid, auth_token, http_client=FakeTwilioHttpClient(base_url))
    try:
        account = client.api.v2010.accounts(account_sid).fetch()
        fetched = client.calls(call_sid).fetch()
        listed = client.calls.list(to=to, limit=limit)
    except TwilioRestException as error:
        print(json.dumps({"error": {"status": error.status, "code": error.code, "message": error.msg, "uri": error.uri}}))
        return 1
    print(json.dumps({
        "account": {
            "sid": account.sid,
            "status": account.status,
            "type": account.type,
            "auth_token": account.auth_token,
            "friendly_name": account.friendly_name,
            "owner_account_sid": account.owner_account_sid,
        },
        "fetch": call_json(fetched),
        "list": [call_json(call) for call in listed],
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
