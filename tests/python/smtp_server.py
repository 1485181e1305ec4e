"""A real SMTP server for the e-mail notice tests (crates/autostop/tests/cli/channels.rs): aiosmtpd, pinned in
tests/python/requirements.txt and installed by .ci/setup into .test-env/python.

    smtp_server.py --security starttls|tls --cert CERT.pem --key KEY.pem --out DIR

Listens on 127.0.0.1 on a free port and prints `{"port": N}` on one line once it accepts connections. With
`starttls` the connection starts in plain text and every command but EHLO/HELO/NOOP/QUIT is refused until
STARTTLS; with `tls` it is TLS from the first byte (SMTPS). Either way AUTH is required before MAIL, and only the
user name and password in the environment variables SMTP_SERVER_USER and SMTP_SERVER_PASSWORD are accepted (a
wrong pair gets `535`). Each message accepted is parsed with Python's e-mail parser and written to DIR as
NNNN.json: envelope sender and recipients, the authenticated user, whether the session was TLS, the subject, To
header, and the decoded plain-text and HTML bodies. Runs until killed.
"""

import argparse
import asyncio
import email
import email.policy
import json
import logging
import os
import ssl
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Keep:
    """Writes every message it is given to a folder, one JSON file each, in arrival order."""

    def __init__(self, out, implicit_tls):
        self.out = out
        self.implicit_tls = implicit_tls
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        plain = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "authenticated_as": session.auth_data,
            "tls": self.implicit_tls or session.ssl is not None,
            "subject": str(message["Subject"]),
            "to": str(message["To"]),
            "content_type": message.get_content_type(),
            "text": plain.get_content() if plain is not None else None,
            "html": html.get_content() if html is not None else None,
        }
        self.count += 1
        path = os.path.join(self.out, f"{self.count:04}.json")
        with open(path + ".tmp", "w", encoding="utf-8") as file:
            json.dump(record, file)
        os.replace(path + ".tmp", path)
        return "250 2.0.0 message kept"


def authenticator(user, password):
    """Accepts exactly `user` and `password` (bytes)."""

    def check(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == user and auth_data.password == password
        return AuthResult(success=ok, handled=False, auth_data=user.decode() if ok else None)

    return check


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--security", choices=["starttls", "tls"], required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    user = os.environ["SMTP_SERVER_USER"].encode()
    password = os.environ["SMTP_SERVER_PASSWORD"].encode()
    implicit = args.security == "tls"
    # aiosmtpd itself still sets its deprecated Session.login_data after AUTH.
    warnings.filterwarnings("ignore", message="Session.login_data is deprecated")
    if implicit:
        # aiosmtpd warns when AUTH does not wait for STARTTLS; with SMTPS the connection is TLS from the first byte.
        warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
        logging.getLogger("mail.log").setLevel(logging.ERROR)
    handler = Keep(args.out, implicit)
    loop = asyncio.get_running_loop()

    def session():
        return SMTP(
            handler,
            hostname="localhost",
            tls_context=None if implicit else context,
            require_starttls=not implicit,
            auth_required=True,
            # SMTPS is TLS from the first byte; with STARTTLS, AUTH is offered only after it.
            auth_require_tls=not implicit,
            authenticator=authenticator(user, password),
            loop=loop,
        )

    server = await loop.create_server(session, "127.0.0.1", 0, ssl=context if implicit else None)
    print(json.dumps({"port": server.sockets[0].getsockname()[1]}), flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
