"""The review app under uvicorn on a socket bound first (so port 0 picks a free port and the
URL printed is the real one); served in the foreground by `rayscore review`, or in a thread
that `stop` ends (tests)."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from jobs.review.access import TOKEN_PARAM, new_token
from jobs.review.app import create_app
from jobs.review.review_run import ReviewRun

START_TIMEOUT_S = 30.0


class ReviewServer:
    def __init__(self, run: ReviewRun, host: str = "127.0.0.1", port: int = 0) -> None:
        self.token = new_token()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind((host, port))
        self.socket.listen()  # connections wait from now on: the URL printed answers at once
        self.host = host
        self.port = int(self.socket.getsockname()[1])
        config = uvicorn.Config(create_app(run, self.token), log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        """The URL to open: it carries the token."""
        return f"{self.base_url}/samples?{TOKEN_PARAM}={self.token}"

    def serve_forever(self) -> None:
        """Until SIGINT or SIGTERM (uvicorn's handlers)."""
        self.server.run(sockets=[self.socket])

    def start(self) -> str:
        """Serve in a thread; the URL once it answers."""
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"the review server did not start on {self.base_url}")
            time.sleep(0.05)
        return self.url

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=START_TIMEOUT_S)
        self.socket.close()
