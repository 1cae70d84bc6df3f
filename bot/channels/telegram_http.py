"""python-telegram-bot's HTTP transport on aiohttp instead of httpx.

PTB sends every Bot API call through a `BaseRequest`; its default, `HTTPXRequest`, costs about
1.9 ms of CPU a call on this project's machine, aiohttp about 0.4 ms (benchmarks/README.md).
The bot makes one to three calls per update and up to 300 a second for a push, so the
transport was most of its CPU. aiohttp is already the bot's web server. PTB documents
`BaseRequest` as the seam for exactly this; the calls, their parameters and the parsing of the
answers stay PTB's.

Like httpx, it verifies servers against certifi's CA bundle (HTTPS to api.telegram.org works on
a machine without system certificates) and honours HTTP(S)_PROXY and NO_PROXY from the
environment, read once per server: aiohttp's own `trust_env` reads them, and ~/.netrc, on
every request (7 % of a push's CPU).
"""

from __future__ import annotations

import ssl
from urllib.parse import urlencode, urlsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp
import certifi
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.core import metrics

_FORM = "application/x-www-form-urlencoded"


def _given(value: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(value, DefaultValue) else value


class AiohttpRequest(BaseRequest):
    """A pool of `connection_pool_size` keep-alive connections, with PTB's four timeouts.

    aiohttp's `connect` timeout covers waiting for a free connection and opening one, so it is
    the pool and connect timeouts together; `sock_read` is the read timeout; a write timeout
    has no aiohttp counterpart, so the four together bound the whole call.
    """

    __slots__ = ("_connect", "_pool", "_pool_size", "_proxies", "_read", "_session", "_write")

    def __init__(
        self,
        connection_pool_size: int = 8,
        *,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read, self._write = read_timeout, write_timeout
        self._connect, self._pool = connect_timeout, pool_timeout
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[tuple[str, str], str | None] = {}  # (scheme, host) -> proxy

    @property
    def read_timeout(self) -> float | None:
        return self._read

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self._pool_size, ssl=ssl.create_default_context(cafile=certifi.where())
                ),
                headers={"User-Agent": self.USER_AGENT},
            )
            self._proxies.clear()

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        read = _given(read_timeout, self._read)
        write = _given(write_timeout, self._write)
        connect = _given(connect_timeout, self._connect)
        pool = _given(pool_timeout, self._pool)
        parts = (read, write, connect, pool)
        timeout = aiohttp.ClientTimeout(
            total=None if None in parts else sum(p for p in parts if p is not None),
            connect=None if connect is None or pool is None else connect + pool,
            sock_connect=connect,
            sock_read=read,
        )
        api_method = url.rsplit("/", 1)[-1]
        try:
            async with self._session.request(
                method, url, data=_body(request_data), timeout=timeout, proxy=self._proxy(url)
            ) as response:
                body = await response.read()
        except TimeoutError as exc:
            metrics.api_call("telegram", api_method, 0)
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            metrics.api_call("telegram", api_method, 0)
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc
        metrics.api_call("telegram", api_method, response.status)
        return response.status, body

    def _proxy(self, url: str) -> str | None:
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname or "")
        if key not in self._proxies:
            bypass = not key[1] or proxy_bypass(key[1])
            self._proxies[key] = None if bypass else getproxies().get(key[0])
        return self._proxies[key]


def _body(request_data: RequestData | None) -> aiohttp.FormData | aiohttp.Payload | None:
    """The parameters as a form (PTB encodes each value as JSON), multipart if files go too.

    A form without files is URL-encoded here: given a dict, aiohttp builds a `FormData`, and
    with it a multipart writer and its random boundary, only to URL-encode the same dict (a
    tenth of a reply's CPU in the transport).
    """
    if request_data is None:
        return None
    fields = request_data.json_parameters
    files = request_data.multipart_data
    if not files:
        return (
            aiohttp.BytesPayload(urlencode(fields).encode(), content_type=_FORM)
            if fields
            else None
        )
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    for name, (filename, content, mime) in files.items():
        form.add_field(name, content, filename=filename, content_type=mime)
    return form
