#!/usr/bin/env python3
# ruff: noqa  (a verbatim copy of shared/peers/loadgen.py, used only when that folder is absent)
"""Small HTTP/1.1 keep-alive load generator for loopback servers (stdlib only).

It only talks to 127.0.0.1, localhost (connected as 127.0.0.1) or ::1, over
plain http, and stops by itself: after --duration seconds (at most 600), after
--requests requests, or when the --bodies file is used up, whichever is first.
Connections are kept alive unless the server closes them (gunicorn's sync
workers close after every response; the client then reconnects, and the
connect time is part of the latency).

Examples:
  loadgen.py --url http://127.0.0.1:8600/token --basic ID:SECRET \\
      --form grant_type=client_credentials --concurrency 16 --duration 10
  loadgen.py --url http://127.0.0.1:8600/profiles/v2/me --bearer TOKEN -c 16 -d 10
  loadgen.py --url http://127.0.0.1:8600/token --basic ID:SECRET --bodies refresh.txt -c 16 -d 10
  # mint refresh tokens over HTTP with any server (writes one form body per line):
  loadgen.py --url http://127.0.0.1:8600/token --basic ID:SECRET \\
      --form grant_type=password --form username=bench --form password=bench-password \\
      --requests 200 -c 4 -d 600 --save-field refresh_token --save-to refresh.txt \\
      --save-format 'grant_type=refresh_token&refresh_token={}'

--bodies FILE: one request body per line (blank lines skipped); each line is
sent once, so one-shot credentials such as refresh tokens are never replayed.

Output: a one-line summary on stderr, then one line of JSON on stdout (the last
line): requests, ok, errors (non-2xx by status, and "exc:..." for transport
failures and timeouts), throughput_rps, ok_rps, latency_ms {p50,p90,p99,max,mean}
over all requests that got a response, connections opened, and client CPU time.
"""

import argparse
import asyncio
import base64
import collections
import json
import math
import resource
import signal
import sys
import time
import urllib.parse

LOOPBACK = {"127.0.0.1": "127.0.0.1", "localhost": "127.0.0.1", "::1": "::1"}
MAX_CONCURRENCY = 1024
MAX_DURATION_S = 600.0
MAX_REQUESTS = 10_000_000
MAX_TIMEOUT_S = 120.0
MAX_HEAD = 64 * 1024
MAX_BODY = 16 * 1024 * 1024


class Refused(Exception):
    pass


class TransportError(Exception):
    """A request failed before any byte of its response arrived."""


def parse_target(url):
    u = urllib.parse.urlsplit(url)
    if u.scheme != "http":
        raise Refused(f"only http:// URLs are supported, got {u.scheme!r}")
    host = (u.hostname or "").lower()
    if host not in LOOPBACK:
        raise Refused(f"refusing host {host!r}: loopback only (127.0.0.1, localhost, ::1)")
    if u.username is not None or u.password is not None:
        raise Refused("put credentials in --basic, not in the URL")
    port = u.port or 80
    path = u.path or "/"
    if u.query:
        path += "?" + u.query
    host_header = f"[{host}]" if ":" in host else host
    if u.port:
        host_header += f":{port}"
    return LOOPBACK[host], port, host_header, path


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100.0 * len(sorted_values)))
    return sorted_values[rank - 1]


class Connection:
    def __init__(self, reader, writer):
        self.reader = reader
        self.writer = writer
        self.used = 0

    def close(self):
        try:
            self.writer.close()
        except Exception:
            pass


async def read_response(reader, method):
    """Return (status, body, keep_alive). Raises TransportError if nothing arrived."""
    while True:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as e:
            if not e.partial:
                raise TransportError("connection closed before the response")
            raise
        except asyncio.LimitOverrunError:
            raise ValueError("response head too large")
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
            raise ValueError(f"bad status line {lines[0][:80]!r}")
        version, status = parts[0], int(parts[1])
        headers = {}
        for line in lines[1:]:
            if line:
                k, _, v = line.partition(b":")
                headers[k.strip().lower()] = v.strip()
        if 100 <= status < 200 and status != 101:
            continue  # 100 Continue and friends: the real response follows
        break
    conn = headers.get(b"connection", b"").lower()
    if version == b"HTTP/1.1":
        keep = b"close" not in conn
    else:
        keep = b"keep-alive" in conn
    if method == "HEAD" or status in (204, 304):
        return status, b"", keep
    te = headers.get(b"transfer-encoding", b"").lower()
    if b"chunked" in te:
        body = bytearray()
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass  # trailers
                break
            if len(body) + size > MAX_BODY:
                raise ValueError("response body too large")
            body += await reader.readexactly(size)
            await reader.readexactly(2)
        return status, bytes(body), keep
    if b"content-length" in headers:
        length = int(headers[b"content-length"])
        if length > MAX_BODY:
            raise ValueError("response body too large")
        return status, await reader.readexactly(length), keep
    body = await reader.read(MAX_BODY)  # until the server closes
    return status, body, False


class LoadGen:
    def __init__(self, args):
        self.args = args
        self.connect_host, self.port, self.host_header, self.path = parse_target(args.url)
        self.method = args.method or (
            "POST" if (args.form or args.data is not None or args.bodies) else "GET"
        )
        extra = []
        if args.basic:
            extra.append("Authorization: Basic " + base64.b64encode(args.basic.encode()).decode())
        if args.bearer:
            extra.append("Authorization: Bearer " + args.bearer)
        for h in args.header or []:
            name, sep, value = h.partition(":")
            if not sep or not name.strip():
                raise SystemExit(f"bad --header {h!r}, want 'Name: value'")
            extra.append(f"{name.strip()}: {value.strip()}")
        head = [
            f"{self.method} {self.path} HTTP/1.1",
            f"Host: {self.host_header}",
            "User-Agent: agave-peer-loadgen/1",
            "Accept: */*",
        ] + extra
        self.head = "\r\n".join(head) + "\r\n"
        self.content_type = args.content_type

        self.fixed_body = None
        if args.form:
            pairs = []
            for item in args.form:
                k, sep, v = item.partition("=")
                if not sep:
                    raise SystemExit(f"bad --form {item!r}, want key=value")
                pairs.append((k, v))
            self.fixed_body = urllib.parse.urlencode(pairs).encode()
        elif args.data is not None:
            self.fixed_body = args.data.encode()
        self.bodies = None
        if args.bodies:
            with open(args.bodies, "rb") as f:
                self.bodies = collections.deque(line.rstrip(b"\r\n") for line in f if line.strip())
            self.bodies_total = len(self.bodies)
        self.fixed_request = None
        if self.bodies is None:
            self.fixed_request = self.build(self.fixed_body)

        self.max_requests = args.requests
        self.issued = 0
        self.latencies = []
        self.statuses = collections.Counter()
        self.errors = collections.Counter()
        self.first_error = None
        self.connections = 0
        self.retries = 0
        self.saved = []
        self.last_done = None

    def build(self, body):
        if body is None:
            return (self.head + "\r\n").encode("latin-1")
        return (
            self.head + f"Content-Type: {self.content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode("latin-1") + body

    async def connect(self):
        reader, writer = await asyncio.open_connection(self.connect_host, self.port, limit=MAX_HEAD)
        self.connections += 1
        return Connection(reader, writer)

    async def exchange(self, state, request):
        """Send one request on the worker's connection; one retry on a stale kept-alive socket."""
        for attempt in (0, 1):
            if state[0] is None:
                state[0] = await self.connect()
            conn = state[0]
            reused = conn.used > 0
            try:
                conn.writer.write(request)
                await conn.writer.drain()
                status, body, keep = await read_response(conn.reader, self.method)
            except (TransportError, ConnectionError) as e:
                conn.close()
                state[0] = None
                # The server closed an idle kept-alive connection before reading
                # this request: nothing was processed, so resend it once.
                if reused and attempt == 0:
                    self.retries += 1
                    continue
                raise e if not isinstance(e, TransportError) else ConnectionResetError(str(e))
            except BaseException:
                conn.close()
                state[0] = None
                raise
            conn.used += 1
            if not keep:
                conn.close()
                state[0] = None
            return status, body
        raise AssertionError("unreachable")

    def next_request(self):
        if self.max_requests is not None and self.issued >= self.max_requests:
            return None
        if self.bodies is not None:
            if not self.bodies:
                return None
            request = self.build(self.bodies.popleft())
        else:
            request = self.fixed_request
        self.issued += 1
        return request

    async def worker(self):
        state = [None]
        timeout = self.args.timeout
        clock = time.perf_counter
        try:
            while clock() < self.deadline:
                request = self.next_request()
                if request is None:
                    break
                t0 = clock()
                try:
                    if hasattr(asyncio, "timeout"):
                        async with asyncio.timeout(timeout):
                            status, body = await self.exchange(state, request)
                    else:
                        status, body = await asyncio.wait_for(
                            self.exchange(state, request), timeout
                        )
                except (asyncio.TimeoutError, TimeoutError):
                    if state[0] is not None:
                        state[0].close()
                        state[0] = None
                    self.record_error(t0, "exc:timeout", f"no response within {timeout}s")
                    continue
                except Exception as e:  # transport failure
                    self.record_error(t0, "exc:" + type(e).__name__, repr(e))
                    await asyncio.sleep(0.01)  # no hot spin against a dead port
                    continue
                t1 = clock()
                if t0 < self.measure_from:
                    continue  # warm-up
                self.last_done = t1
                self.latencies.append(t1 - t0)
                self.statuses[status] += 1
                if not 200 <= status < 300:
                    self.errors[str(status)] += 1
                    if self.first_error is None:
                        self.first_error = f"{status}: {body[:300].decode('utf-8', 'replace')}"
                elif self.args.save_field:
                    self.save(body)
        finally:
            if state[0] is not None:
                state[0].close()

    def record_error(self, t0, key, detail):
        if t0 < self.measure_from:
            return
        self.last_done = time.perf_counter()
        self.errors[key] += 1
        if self.first_error is None:
            self.first_error = f"{key}: {detail[:300]}"

    def save(self, body):
        try:
            value = json.loads(body).get(self.args.save_field)
        except (ValueError, AttributeError):
            return
        if isinstance(value, str) and value:
            self.saved.append(self.args.save_format.replace("{}", urllib.parse.quote_plus(value)))

    def stop_now(self):
        self.deadline = 0.0

    async def run(self):
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self.stop_now)
            except (NotImplementedError, RuntimeError):
                pass
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        start = time.perf_counter()
        self.measure_from = start + self.args.warmup
        self.deadline = self.measure_from + self.args.duration
        workers = [asyncio.ensure_future(self.worker()) for _ in range(self.args.concurrency)]
        await asyncio.gather(*workers)
        end = time.perf_counter()
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        return self.report(
            start, end, cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime
        )

    def report(self, start, end, cpu):
        lat = sorted(self.latencies)
        n_resp = len(lat)
        n_exc = sum(v for k, v in self.errors.items() if k.startswith("exc:"))
        requests = n_resp + n_exc
        n_err = sum(self.errors.values())
        elapsed = max(1e-9, (self.last_done or end) - self.measure_from)

        def ms(v):
            return None if v is None else round(v * 1000.0, 3)

        out = {
            "label": self.args.label,
            "url": self.args.url,
            "method": self.method,
            "concurrency": self.args.concurrency,
            "warmup_s": self.args.warmup,
            "elapsed_s": round(elapsed, 3),
            "requests": requests,
            "ok": requests - n_err,
            "errors": dict(sorted(self.errors.items())),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "throughput_rps": round(requests / elapsed, 2),
            "ok_rps": round((requests - n_err) / elapsed, 2),
            "latency_ms": {
                "p50": ms(percentile(lat, 50)),
                "p90": ms(percentile(lat, 90)),
                "p99": ms(percentile(lat, 99)),
                "max": ms(lat[-1] if lat else None),
                "mean": ms(sum(lat) / n_resp if n_resp else None),
            },
            "connections": self.connections,
            "retries": self.retries,
            "client_cpu_s": round(cpu, 3),
        }
        if self.bodies is not None:
            out["bodies_total"] = self.bodies_total
            out["bodies_left"] = len(self.bodies)
        if self.args.save_field:
            out["saved"] = len(self.saved)
        if self.first_error:
            out["first_error"] = self.first_error
        return out


def main(argv=None):
    p = argparse.ArgumentParser(
        description="HTTP/1.1 load generator for loopback servers (stdlib only).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n", 1)[1],
    )
    p.add_argument("--url", required=True, help="http://127.0.0.1:PORT/path (loopback only)")
    p.add_argument("--method", type=str.upper, help="default: POST when a body is given, else GET")
    p.add_argument("--basic", metavar="ID:SECRET", help="HTTP Basic credentials")
    p.add_argument("--bearer", metavar="TOKEN", help="Authorization: Bearer TOKEN")
    p.add_argument("--header", "-H", action="append", metavar="'Name: value'")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--form", action="append", metavar="KEY=VALUE", help="form field (repeatable)")
    src.add_argument("--data", help="raw request body")
    src.add_argument("--bodies", metavar="FILE", help="one body per line, each sent once")
    p.add_argument("--content-type", default="application/x-www-form-urlencoded")
    p.add_argument("--concurrency", "-c", type=int, default=16)
    p.add_argument("--duration", "-d", type=float, default=10.0, help="seconds (max 600)")
    p.add_argument(
        "--warmup", type=float, default=0.0, help="seconds not counted, before --duration"
    )
    p.add_argument(
        "--requests", "-n", type=int, help="stop after this many requests (incl. warm-up)"
    )
    p.add_argument("--timeout", type=float, default=30.0, help="per-request timeout, seconds")
    p.add_argument(
        "--save-field", metavar="NAME", help="from each 2xx JSON response, keep this field"
    )
    p.add_argument("--save-to", metavar="FILE", help="write the kept values here, one per line")
    p.add_argument("--save-format", default="{}", help="line template; {} is the URL-quoted value")
    p.add_argument("--label", default="", help="free text copied into the JSON")
    args = p.parse_args(argv)

    if not 1 <= args.concurrency <= MAX_CONCURRENCY:
        p.error(f"--concurrency must be 1..{MAX_CONCURRENCY}")
    if not 0 < args.duration <= MAX_DURATION_S or not 0 <= args.warmup <= MAX_DURATION_S:
        p.error(
            f"--duration must be in (0, {MAX_DURATION_S:g}] and --warmup in [0, {MAX_DURATION_S:g}]"
        )
    if args.requests is not None and not 1 <= args.requests <= MAX_REQUESTS:
        p.error(f"--requests must be 1..{MAX_REQUESTS}")
    if args.requests is None:
        args.requests = MAX_REQUESTS
    if not 0 < args.timeout <= MAX_TIMEOUT_S:
        p.error(f"--timeout must be in (0, {MAX_TIMEOUT_S:g}]")
    if bool(args.save_field) != bool(args.save_to):
        p.error("--save-field and --save-to go together")
    if args.basic and args.bearer:
        p.error("--basic and --bearer both set the Authorization header")
    try:
        gen = LoadGen(args)
    except Refused as e:
        print(f"loadgen: {e}", file=sys.stderr)
        return 2

    out = asyncio.run(gen.run())
    if args.save_to:
        with open(args.save_to, "w") as f:
            f.writelines(line + "\n" for line in gen.saved)
    lat = out["latency_ms"]
    print(
        f"{out['label'] or out['url']}: {out['requests']} requests in {out['elapsed_s']}s, "
        f"{out['throughput_rps']} req/s, errors {out['errors'] or 0}, "
        f"p50 {lat['p50']} ms, p99 {lat['p99']} ms",
        file=sys.stderr,
        flush=True,
    )
    print(json.dumps(out, sort_keys=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
