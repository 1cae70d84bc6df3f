"""The web desk's routes on the server `thidua run` already runs (THIDUA_LISTEN), under /web.

Signing in: `/web` in the chat sends `/web/login/<token>`. That page posts the token back
(a line of script does it at once; without script, a button): link previewers, which fetch
but never post, cannot spend it, and the cookie, set by a same-site POST, passes
SameSite=Strict. The POST trades the token for a session cookie (HttpOnly, SameSite=Strict,
Secure when THIDUA_PUBLIC_URL is https) and redirects to /web/, so no token stays in the
address bar. Every other POST carries the session's CSRF token; a form without it is refused.

Store work runs in a worker thread (`asyncio.to_thread`), one short session per request.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any
from urllib.parse import quote

from aiohttp import web

from bot.channels.web import actions, views
from bot.channels.web.render import page
from bot.channels.web.views import Forbidden, NotFound, Store, Viewer
from bot.core import clock
from bot.core import models as m
from bot.core.db import session_scope
from bot.core.exports.names import file_name
from bot.core.exports.rows import Scope
from bot.core.i18n import _, language
from bot.core.settings import Settings
from bot.core.summary import current_phase
from bot.core.web_auth import SESSION_TTL, redeem_link, session_of, sign_out
from handlers.export import build

log = logging.getLogger(__name__)
COOKIE = "thidua_desk"
PREFIX = "/web"
FORMATS = ("xlsx", "csv", "docx")
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
STATIC = {"desk.css": "text/css", "desk.js": "text/javascript"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _html(body: str, status: int = 200) -> web.Response:
    return web.Response(
        text=body, status=status, content_type="text/html", charset="utf-8", headers=HEADERS
    )


def _see_other(url: str) -> web.Response:
    return web.Response(status=303, headers={"Location": url, "Cache-Control": "no-store"})


def _message(title: str, text: str, status: int, viewer: Viewer | None = None) -> web.Response:
    return _html(page("message.html.j2", title=title, text=text, viewer=viewer, nav=""), status)


def _refused_text(code: str) -> str:
    return {
        "action": _("Choose Accept or Return."),
        "reason": _("A return needs a reason: the person reads it in the chat."),
        "long": _("The reason is too long (at most 500 characters)."),
        "reviewed": _("This item was reviewed meanwhile: nothing was changed."),
        "phase": _("There is no such phase."),
        "closed": _("That phase is closed for reports: there is nobody to remind."),
        "channels": _("Reminders go out on Telegram or Zalo, and neither is set up here."),
    }.get(code, code)


class Desk:
    """The desk's routes and the session check in front of them."""

    def __init__(self, settings: Settings) -> None:
        self.secure = (settings.public_url or "").startswith("https://")

    def mount(self, app: web.Application) -> None:
        get, post = app.router.add_get, app.router.add_post
        get(PREFIX, self.to_desk)
        get(f"{PREFIX}/static/{{name}}", self.static)
        get(f"{PREFIX}/login/{{token}}", self.login_page)
        post(f"{PREFIX}/login", self.login)
        for path, handler in (
            ("/", self.signed(self.campaign)),
            ("/units", self.signed(self.units)),
            ("/reports", self.signed(self.reports)),
            ("/reports/{receipt}", self.signed(self.report)),
            ("/reports/{receipt}/evidence", self.signed(self.evidence)),
            ("/nominations", self.signed(self.nominations)),
            ("/nominations/{receipt}", self.signed(self.nomination)),
            ("/downloads", self.signed(self.downloads)),
            ("/downloads/{fmt}", self.signed(self.download)),
        ):
            get(PREFIX + path, handler)
        for path, handler in (
            ("/logout", self.signed(self.logout)),
            ("/{kind:reports|nominations}/{receipt}/review", self.signed(self.review)),
            ("/units/{code}/remind", self.signed(self.remind)),
        ):
            post(PREFIX + path, handler)

    # ---- signing in -------------------------------------------------------------------

    async def to_desk(self, _request: web.Request) -> web.StreamResponse:
        return _see_other(f"{PREFIX}/")

    async def static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in STATIC:
            raise web.HTTPNotFound()
        body = (resources.files("bot.channels.web") / "static" / name).read_bytes()
        return web.Response(
            body=body,
            content_type=STATIC[name],
            headers={"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"},
        )

    async def login_page(self, request: web.Request) -> web.StreamResponse:
        with language(None):
            return _html(page("login.html.j2", token=request.match_info["token"], viewer=None))

    async def login(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        token = str(form.get("token", ""))[:100]

        def redeem() -> str | None:
            with session_scope() as session:
                signed = redeem_link(session=session, token=token, now=clock.now())
                return signed.key if signed else None

        key = await asyncio.to_thread(redeem) if token else None
        if key is None:
            with language(None):
                return _message(
                    _("This link cannot be used"),
                    _(
                        "The link has expired (it works for 10 minutes) or was used already. "
                        "Send /web in the chat for a new one."
                    ),
                    403,
                )
        response = _see_other(f"{PREFIX}/")
        response.set_cookie(
            COOKIE,
            key,
            max_age=int(SESSION_TTL.total_seconds()),
            path=PREFIX,
            httponly=True,
            samesite="Strict",
            secure=self.secure,
        )
        return response

    # ---- the session check --------------------------------------------------------------

    def signed(self, view: Callable[..., Any]) -> Handler:
        """`view(store, viewer, request_data)` behind the session cookie (and, for a POST,
        the CSRF token), run in a worker thread with the reader's language."""

        async def handler(request: web.Request) -> web.StreamResponse:
            key = request.cookies.get(COOKIE, "")
            form: dict[str, str] = {}
            if request.method == "POST":
                form = {k: str(v) for k, v in (await request.post()).items() if isinstance(v, str)}
            data = {
                "match": dict(request.match_info),
                "query": {k: v for k, v in request.query.items()},
                "form": form,
            }
            result = await asyncio.to_thread(self._run, view, key, request.method, data)
            return result

        return handler

    def _run(
        self, view: Callable[..., Any], key: str, method: str, data: dict[str, Any]
    ) -> web.StreamResponse:
        with session_scope() as session:
            found = session_of(session=session, key=key, now=clock.now()) if key else None
            if found is None:
                with language(None):
                    return _message(
                        _("Please sign in"),
                        _("Send /web to the bot in a private chat: it answers with a link."),
                        401,
                    )
            web_session, person = found
            assert web_session.id is not None and person.id is not None  # stored rows
            unit = session.get(m.Unit, person.unit_id)
            viewer = Viewer(
                person_id=person.id,
                name=person.full_name,
                role=person.role,
                unit_id=person.unit_id,
                unit_code=unit.code if unit else "",
                lang=person.lang,
                csrf=web_session.csrf,
                session_id=web_session.id,
            )
            with language(person.lang):
                if method == "POST":
                    sent = data["form"].get("csrf", "")
                    if not hmac.compare_digest(sent.encode(), viewer.csrf.encode()):
                        return _message(
                            _("This form has expired"),
                            _("Open the page again and repeat what you did."),
                            403,
                            viewer,
                        )
                try:
                    store = views.open_store(session)
                    return view(store, viewer, data)
                except NotFound:
                    return _message(
                        _("Not found"),
                        _("There is no such page, or it is not yours to see."),
                        404,
                        viewer,
                    )
                except Forbidden:
                    return _message(
                        _("For the office only"),
                        _("This page is the office's (the clerk's)."),
                        403,
                        viewer,
                    )
                except actions.Refused as refused:
                    text = _refused_text(str(refused))
                    return _message(_("Nothing was changed"), text, 400, viewer)

    # ---- pages ------------------------------------------------------------------------

    @staticmethod
    def _show(template: str, context: dict[str, Any], viewer: Viewer, nav: str) -> web.Response:
        return _html(page(template, viewer=viewer, nav=nav, **context))

    def campaign(self, store: Store, viewer: Viewer, data: dict[str, Any]) -> web.Response:
        return self._show(*views.campaign_page(store, viewer), viewer, "campaign")

    def units(self, store: Store, viewer: Viewer, data: dict[str, Any]) -> web.Response:
        return self._show(*views.units_page(store, viewer, data["query"]), viewer, "units")

    def reports(self, store: Store, viewer: Viewer, data: dict[str, Any]) -> web.Response:
        return self._show(*views.reports_page(store, viewer, data["query"]), viewer, "reports")

    def report(self, store: Store, viewer: Viewer, data: dict[str, Any]) -> web.Response:
        found = views.report_page(store, viewer, data["match"]["receipt"], data["query"])
        return self._show(*found, viewer, "reports")

    def evidence(self, store: Store, viewer: Viewer, data: dict[str, Any]) -> web.StreamResponse:
        path, name = views.report_evidence(store, viewer, data["match"]["receipt"])
        return web.FileResponse(
            path,
            headers={
                "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )

    def nominations(self, store: Store, viewer: Viewer, data: dict[str, Any]) -> web.Response:
        found = views.nominations_page(store, viewer, data["query"])
        return self._show(*found, viewer, "nominations")

    def nomination(self, store: Store, viewer: Viewer, data: dict[str, Any]) -> web.Response:
        found = views.nomination_page(store, viewer, data["match"]["receipt"], data["query"])
        return self._show(*found, viewer, "nominations")

    def downloads(self, store: Store, viewer: Viewer, data: dict[str, Any]) -> web.Response:
        return self._show(*views.downloads_page(store, viewer), viewer, "downloads")

    def download(self, store: Store, viewer: Viewer, data: dict[str, Any]) -> web.Response:
        """The file `thidua export` writes (and `/export` sends), built on request."""
        if not viewer.office:
            raise Forbidden
        fmt = data["match"]["fmt"]
        if fmt not in FORMATS:
            raise NotFound
        asked = data["query"].get("phase", "")
        numbers = {p.number for p in store.campaign.phases}
        phase = int(asked) if asked.isdigit() and int(asked) in numbers else None
        if fmt == "docx" and phase is None:  # the report for signing covers one phase
            phase = current_phase(store.campaign, store.today).number
        scope = Scope(
            session=store.session,
            campaign_row=store.row,
            campaign=store.campaign,
            today=store.today,
            phase=phase,
        )
        content, mime = build(fmt, scope)
        name = file_name(store.campaign.code, fmt, phase, store.today)
        return web.Response(
            body=content,
            content_type=mime,
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "no-store",
            },
        )

    # ---- actions ------------------------------------------------------------------------

    def review(self, store: Store, viewer: Viewer, data: dict[str, Any]) -> web.Response:
        match = data["match"]
        return _see_other(
            actions.review_item(store, viewer, match["kind"], match["receipt"], data["form"])
        )

    def remind(self, store: Store, viewer: Viewer, data: dict[str, Any]) -> web.Response:
        return _see_other(actions.remind_unit(store, viewer, data["match"]["code"], data["form"]))

    def logout(self, store: Store, viewer: Viewer, data: dict[str, Any]) -> web.Response:
        web_session = store.session.get(m.WebSession, viewer.session_id)
        assert web_session is not None  # the session just checked
        sign_out(session=store.session, web_session=web_session, now=store.now)
        response = _see_other(f"{PREFIX}/")
        response.del_cookie(COOKIE, path=PREFIX)
        return response
