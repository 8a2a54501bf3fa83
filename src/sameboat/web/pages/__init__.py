"""Server-rendered pages. Parse, authorise, call a service, render."""

from sameboat.web.pages import (
    account,
    admin,
    booking,
    continuity,
    directory,
    listener,
    member,
    public,
    supervise,
    talk,
)

ROUTERS = [
    m.router for m in (public, account, member, directory, listener, admin, talk, supervise, continuity, booking)
]
