"""Run the benchmarks and print their figures: `python bench/run.py [--quick] [--json FILE]`.

Every figure is measured next to its baseline in the same run and reported as a
ratio. `--quick` uses small sizes (under two minutes); the default sizes are
the ones of bench/RESULTS.md. Scratch databases and vhosts are removed at the end.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: import the project and bench from the root
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench import ingress, orders, parsing, relay, scaling, stock  # noqa: E402
from bench.env import Services, open_services  # noqa: E402
from bench.machine import describe  # noqa: E402
from bench.report import as_json, table, write_json  # noqa: E402
from bench.stats import Figure  # noqa: E402
from connectors.rakuten.sandbox import Sandbox  # noqa: E402

log = logging.getLogger("bench")

FIGURES = ("ingress", "relay", "orders", "stock", "scaling", "parsing")


@dataclass(frozen=True)
class Plan:
    """The sizes of every figure for one mode."""

    ingress: ingress.IngressParams
    relay: relay.RelayParams
    orders: orders.OrdersParams
    stock: stock.StockParams
    scaling: scaling.ScalingParams
    parsing: parsing.ParsingParams


FULL = Plan(
    ingress=ingress.IngressParams(events=20_000, reps=5),
    relay=relay.RelayParams(events=10_000, reps=3),
    orders=orders.OrdersParams(sales=10_000, reps=5),
    stock=stock.StockParams(push_interval_s=2.0, first_push_reps=7, rate=500, seconds=20.0),
    scaling=scaling.ScalingParams(events=100_000, sales=10_000),
    parsing=parsing.ParsingParams(sales=10_000, reps=5),
)
QUICK = Plan(
    ingress=ingress.IngressParams(events=5_000, reps=3),
    relay=relay.RelayParams(events=2_000, reps=3),
    orders=orders.OrdersParams(sales=2_000, reps=3),
    stock=stock.StockParams(push_interval_s=1.0, first_push_reps=3, rate=500, seconds=5.0),
    scaling=scaling.ScalingParams(events=20_000, sales=2_000),
    parsing=parsing.ParsingParams(sales=2_000, reps=3),
)


def _steps(plan: Plan, services: Services, sandbox: Sandbox) -> dict[str, Callable[[], list[Figure]]]:
    return {
        "ingress": lambda: [ingress.run(services, plan.ingress)],
        "relay": lambda: [relay.run(services, plan.relay)],
        "orders": lambda: [orders.run(services, sandbox, plan.orders)],
        "stock": lambda: stock.run(services, sandbox, plan.stock),
        "scaling": lambda: scaling.run(services, sandbox, plan.scaling),
        "parsing": lambda: parsing.run(sandbox, plan.parsing),
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes, under two minutes")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--only", nargs="+", choices=FIGURES, default=list(FIGURES),
                        help="run only these figures")
    parser.add_argument("-v", "--verbose", action="store_true", help="log each repetition")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the figures asked for, print the table, write the JSON; 1 if a target was missed."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log.setLevel(logging.INFO if args.verbose else logging.WARNING)
    plan, mode = (QUICK, "quick") if args.quick else (FULL, "full")
    started = time.monotonic()
    figures: list[Figure] = []
    with open_services() as services, Sandbox() as sandbox:
        machine = describe(services.admin_url, services.amqp_url)
        steps = _steps(plan, services, sandbox)
        for name in args.only:
            print(f"running {name} ...", file=sys.stderr, flush=True)
            figures.extend(steps[name]())
    seconds = time.monotonic() - started
    print(f"\nbench/run.py ({mode}, {seconds:.0f} s) on {machine['cpus']} CPU(s) "
          f"{machine['cpu_model']}, Python {machine['python']}, PostgreSQL {machine['postgresql']}, "
          f"RabbitMQ {machine['rabbitmq']}\n")
    print(table(figures))
    if args.json is not None:
        write_json(args.json, as_json(figures, mode=mode, machine=machine, seconds=seconds))
    return 1 if any(f.met is False for f in figures) else 0


if __name__ == "__main__":
    sys.exit(main())
