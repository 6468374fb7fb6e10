"""A tiny Chrome DevTools Protocol client over ``--remote-debugging-pipe`` (standard library only).

Chromium reads NUL-terminated JSON messages on fd 3 and writes them on fd 4, so no websocket
library is needed. :func:`inspect_page` opens a file in headless Chromium and returns what the page
did (network requests, console messages, log entries, exceptions), values evaluated in the page,
a full-page PNG screenshot and a PDF print.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps",
         "--disable-extensions", "--mute-audio", "--hide-scrollbars", "--disable-dev-shm-usage"]


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    def __init__(self, executable: str, user_data_dir: str, extra_flags=()):
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()

        def setup_fds():  # runs in the child: its fd 3 reads our commands, fd 4 carries replies
            high_r = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
            high_w = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)  # dup2 leaves the new descriptor inheritable
            os.dup2(high_w, 4)

        args = [executable, *FLAGS, *extra_flags, f"--user-data-dir={user_data_dir}", "--remote-debugging-pipe",
                "about:blank"]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, preexec_fn=setup_fds, close_fds=False)
        os.close(to_child_r)
        os.close(from_child_w)
        self._out = os.fdopen(to_child_w, "wb", buffering=0)
        self._in = os.fdopen(from_child_r, "rb", buffering=0)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("no message from chromium")
            chunk = self._in.read(1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the debugging pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 60) -> dict:
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self._out.write(json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 60) -> dict:
        for i, ev in enumerate(self.events):
            if ev.get("method") == method:
                return self.events[i]
        deadline = time.monotonic() + timeout
        while True:
            ev = self._read_message(deadline)
            self.events.append(ev)
            if ev.get("method") == method:
                return ev

    def close(self) -> str:
        try:
            self.send("Browser.close", timeout=10)
        except Exception:  # noqa: BLE001 - closing anyway
            pass
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
        for handle in (self._out, self._in):
            try:
                handle.close()
            except OSError:
                pass
        return err


EVALUATE = """JSON.stringify({
  keys: Array.from(document.querySelectorAll('[data-key]')).map(e => [e.dataset.key, e.dataset.value, e.textContent]),
  sections: Array.from(document.querySelectorAll('h2[id]')).map(e => [e.id, e.textContent.trim()]),
  images: Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.src.slice(0, 30)]),
  scripts: document.scripts.length,
  text: document.body.innerText,
  height: document.documentElement.scrollHeight
})"""


def inspect_page(path: str | Path, executable: str | None = None, width: int = 1200,
                 screenshot_height: int | None = None) -> dict:
    """Open ``path`` in headless Chromium; return events, page values, screenshot PNG and PDF bytes."""
    executable = executable or find_chromium()
    if executable is None:
        raise FileNotFoundError("chromium not found")
    url = Path(path).resolve().as_uri()
    with tempfile.TemporaryDirectory(prefix="icistop-chromium-") as profile:
        browser = Browser(executable, profile)
        try:
            target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Network", "Runtime", "Log"):
                browser.send(f"{domain}.enable", session=session)
            browser.send("Emulation.setDeviceMetricsOverride",
                         {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session=session)
            browser.send("Page.navigate", {"url": url}, session=session)
            browser.wait_for("Page.loadEventFired", timeout=120)
            time.sleep(0.5)  # let late console/log events arrive
            value = browser.send("Runtime.evaluate", {"expression": EVALUATE, "returnByValue": True}, session=session)
            page = json.loads(value["result"]["value"])
            height = screenshot_height or int(page["height"])
            shot = browser.send("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}}, session=session, timeout=180)
            pdf = browser.send("Page.printToPDF", {"printBackground": True, "preferCSSPageSize": True},
                               session=session, timeout=180)
        finally:
            stderr = browser.close()
    events = browser.events
    requests = [e["params"]["request"]["url"] for e in events if e.get("method") == "Network.requestWillBeSent"]
    console = [e["params"] for e in events if e.get("method") == "Runtime.consoleAPICalled"]
    logs = [e["params"]["entry"] for e in events if e.get("method") == "Log.entryAdded"]
    exceptions = [e["params"] for e in events if e.get("method") == "Runtime.exceptionThrown"]
    failed = [e["params"] for e in events if e.get("method") == "Network.loadingFailed"]
    return {"url": url, "requests": requests, "console": console, "logs": logs, "exceptions": exceptions,
            "failed": failed, "page": page, "screenshot": base64.b64decode(shot["data"]),
            "pdf": base64.b64decode(pdf["data"]), "stderr": stderr}


def external_requests(result: dict) -> list[str]:
    """Requests other than the page itself and inline data: URIs."""
    return [u for u in result["requests"] if not (u.startswith("data:") or u == result["url"])]


def errors(result: dict) -> list[str]:
    out = [f"console.{c.get('type')}: {c.get('args')}" for c in result["console"] if c.get("type") in ("error", "assert")]
    out += [f"log {e.get('level')}/{e.get('source')}: {e.get('text')}" for e in result["logs"]
            if e.get("level") in ("error", "warning")]
    out += [f"exception: {x.get('exceptionDetails', {}).get('text')}" for x in result["exceptions"]]
    out += [f"loading failed: {f.get('errorText')}" for f in result["failed"]]
    return out


if __name__ == "__main__":  # manual use: python tests/browser/cdp.py report.html out.png out.pdf
    import sys

    res = inspect_page(sys.argv[1])
    Path(sys.argv[2]).write_bytes(res["screenshot"])
    if len(sys.argv) > 3:
        Path(sys.argv[3]).write_bytes(res["pdf"])
    print(json.dumps({"external": external_requests(res), "errors": errors(res), "requests": len(res["requests"]),
                      "keys": len(res["page"]["keys"]), "sections": res["page"]["sections"],
                      "images": res["page"]["images"], "height": res["page"]["height"]}, indent=1))
