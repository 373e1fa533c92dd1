"""Simulated ZKTeco terminals for the tests and ``linli demo``: a PUSH (ADMS) terminal that
posts to the agent (``PushTerminal``) and a terminal serving the classic TCP protocol on
port 4370 (``TcpTerminal``). Both speak the real protocol over real sockets.

    python -m hardware.simulators.zkteco push --url http://127.0.0.1:8088 --serial CKJ001
    python -m hardware.simulators.zkteco tcp --listen 127.0.0.1:4370 [--comm-key 1234]

Each punches a random user (``--pins 1-20``) every ``--every`` seconds until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
from collections.abc import Sequence

from hardware.simulators.zkteco_push import PushTerminal, UploadRefused
from hardware.simulators.zkteco_tcp import TcpTerminal
from linli.runtime import install_stop_handlers

__all__ = ["PushTerminal", "TcpTerminal", "UploadRefused", "main"]

log = logging.getLogger(__name__)


def _pins(text: str) -> list[str]:
    first, _, last = text.partition("-")
    try:
        low, high = int(first), int(last or first)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected N or N-M, not {text!r}") from exc
    if not 0 < low <= high:
        raise argparse.ArgumentTypeError(f"expected 0 < N <= M, not {text!r}")
    return [str(pin) for pin in range(low, high + 1)]


def build_parser() -> argparse.ArgumentParser:
    """The simulator's command line."""
    parser = argparse.ArgumentParser(prog="python -m hardware.simulators.zkteco",
                                     description="Simulated ZKTeco terminals")
    sub = parser.add_subparsers(dest="kind", required=True)
    for name, text in (("push", "a PUSH/ADMS terminal posting to the agent"),
                       ("tcp", "a terminal serving TCP port 4370")):
        command = sub.add_parser(name, help=text)
        command.add_argument("--serial", default="ZKSIM0001", help="the terminal's SN")
        command.add_argument("--pins", type=_pins, default=_pins("1-20"),
                             help="user ids that punch, N-M (default 1-20)")
        command.add_argument("--every", type=float, default=5.0, help="seconds between punches")
        command.add_argument("--verify", type=int, default=15, help="verify type (15 face)")
        command.add_argument("--timezone", default="Asia/Shanghai")
        command.add_argument("--seed", type=int, default=1)
    sub.choices["push"].add_argument("--url", required=True,
                                     help="the agent's listener, e.g. http://127.0.0.1:8088")
    sub.choices["tcp"].add_argument("--listen", default="127.0.0.1:4370", help="host:port")
    sub.choices["tcp"].add_argument("--comm-key", type=int, default=0)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one simulated terminal until SIGTERM or SIGINT."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s zkteco-sim %(message)s")
    stop = install_stop_handlers()
    draw = random.Random(args.seed)
    if args.kind == "push":
        terminal = PushTerminal(args.url, args.serial, timezone=args.timezone)
        log.info("PUSH terminal %s posting to %s", args.serial, args.url)
        while not stop.is_set():
            terminal.punch(draw.choice(args.pins), verify=args.verify)
            try:
                terminal.sync(timeout_s=args.every)
            except UploadRefused as exc:
                log.warning("upload not acknowledged (%s); %d waiting", exc, terminal.pending())
            stop.wait(args.every)
        return 0
    host, _, port = args.listen.rpartition(":")
    tcp = TcpTerminal(host, int(port), serial=args.serial, comm_key=args.comm_key,
                      timezone=args.timezone)
    log.info("TCP terminal %s listening on %s:%d", args.serial, *tcp.address)
    try:
        while not stop.wait(args.every):
            tcp.punch(draw.choice(args.pins), verify=args.verify)
    finally:
        tcp.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
